"""SFTDataModule: (prompt, response) demonstrations for supervised fine-tuning, in length-grouped batches."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import torch
from torch.utils.data import DataLoader, DistributedSampler

from perl_lightning.data.base import ResumableSampler, TokenizerDataModule, grouped_split, own_generator
from perl_lightning.data.formatting import encode_prompt, encode_response, pad, truncate_pair
from perl_lightning.data.images import batch_images, checked_image_prompt
from perl_lightning.rl.supervised import IGNORE_INDEX
from perl_lightning.rl.types import ImageInputs
from perl_lightning.sources import BadRowLog, BadRows, iter_rows, validated
from perl_lightning.tasks import Demonstration, Task, get_task
from perl_lightning.tasks.base import prompt_key
from perl_lightning.tasks.generic import Generic

__all__ = ["Demonstration", "EncodedDemonstration", "LengthGroupedSampler", "SFTBatch", "SFTDataModule", "sft_batch"]

#: How many batches' worth of the shuffled order are sorted by length together (a window); larger windows pad less
#: but make a batch's neighbours in length more predictable.
LENGTH_GROUP_WINDOW = 50


class EncodedDemonstration(NamedTuple):
    """One tokenised demonstration: prompt then response ids (the response closed by the end token)."""

    input_ids: list[int]
    prompt_length: int  # the first ``prompt_length`` ids are the prompt
    pixels: dict[str, torch.Tensor] | None = None  # the prompt's image tensors (a VLM task), leading dimension 1


class SFTBatch(NamedTuple):
    """Demonstrations, right-padded: each row is prompt, response (with its end token), then padding."""

    input_ids: torch.Tensor  # (B, T) prompt + response ids, pad id after
    attention_mask: torch.Tensor  # (B, T) 1 on prompt and response tokens, 0 on padding
    labels: torch.Tensor  # (B, T) the input id on response tokens (end token included), -100 on prompt and padding
    images: ImageInputs | None = None  # the prompts' images (vision-language models), one entry per row

    @property
    def num_tokens(self) -> torch.Tensor:
        """() long: the labelled (response) tokens, the ones the loss averages over."""
        return (self.labels != IGNORE_INDEX).sum()


def sft_batch(examples: Sequence[EncodedDemonstration], pad_id: int) -> SFTBatch:
    """Right-pad demonstrations and label their response tokens (prompt and padding get ``IGNORE_INDEX``)."""
    ids, mask = pad([e.input_ids for e in examples], pad_id, "right")  # (B, T) each
    labels = ids.masked_fill(mask == 0, IGNORE_INDEX)
    for i, example in enumerate(examples):
        labels[i, : example.prompt_length] = IGNORE_INDEX
    return SFTBatch(ids, mask, labels, batch_images([e.pixels for e in examples], torch.arange(len(examples))))


def length_grouped_order(
    order: Sequence[int], lengths: Sequence[int], batch_size: int, window: int, rng: random.Random
) -> list[int]:
    """Reorder ``order`` so that batches of ``batch_size`` consecutive indices hold similar lengths.

    Windows of ``window * batch_size`` consecutive indices are each sorted by length (longest first, stable), the
    sorted sequence is cut into batches, and the full batches are shuffled by ``rng``; a last, short batch (when
    ``len(order)`` is not a multiple of ``batch_size``) stays last. The result is a permutation of ``order``: cutting
    it into ``batch_size`` pieces gives exactly those batches, which is what a ``DataLoader(batch_size=...)`` does.
    """
    span = max(1, window) * batch_size
    grouped: list[int] = []
    for start in range(0, len(order), span):
        grouped += sorted(order[start : start + span], key=lambda i: -lengths[i])
    batches = [grouped[s : s + batch_size] for s in range(0, len(grouped), batch_size)]
    tail = [batches.pop()] if batches and len(batches[-1]) < batch_size else []
    rng.shuffle(batches)
    return [i for batch in batches + tail for i in batch]


class LengthGroupedSampler(ResumableSampler):
    """:class:`ResumableSampler` whose epoch order is length-grouped (:func:`length_grouped_order`), to cut padding.

    The order of epoch ``e`` on a rank is a function of ``(seed, e, rank, num_replicas)`` alone: the rank's share of
    ``DistributedSampler``'s seeded shuffle, grouped by length within windows, the batches shuffled by a generator
    seeded from ``(seed, e)``. ``skip`` (whole batches' worth of indices after a resume) drops the start of that same
    order, so a resumed run trains on the batches an uninterrupted one would.

    Args:
        dataset: the training data.
        lengths: the length of every item (tokens).
        batch_size: items per batch of the DataLoader this sampler feeds.
        window: batches per window sorted by length together.
        num_replicas: number of ranks.
        rank: this rank.
        seed: seed of the shuffles.
        epoch: the epoch the first iteration belongs to (set again by Lightning via ``set_epoch``).
        skip: indices of this rank's order to skip in the first iteration (a multiple of ``batch_size``).
    """

    def __init__(
        self,
        dataset: Sequence,
        lengths: Sequence[int],
        batch_size: int,
        window: int = LENGTH_GROUP_WINDOW,
        num_replicas: int = 1,
        rank: int = 0,
        seed: int = 0,
        epoch: int = 0,
        skip: int = 0,
    ) -> None:
        super().__init__(dataset, num_replicas, rank, shuffle=True, seed=seed, epoch=epoch, skip=skip)
        if len(lengths) != len(dataset):
            raise ValueError(f"{len(lengths)} lengths for {len(dataset)} items")
        self.lengths, self.batch_size, self.window = list(lengths), batch_size, window

    def __iter__(self) -> Iterator[int]:
        share = list(DistributedSampler.__iter__(self))  # this rank's share of the seeded shuffle of this epoch
        rng = random.Random(f"length-grouped:{self.seed}:{self.epoch}")  # str seeds hash the same in every process
        order = length_grouped_order(share, self.lengths, self.batch_size, self.window, rng)
        skip, self.skip = self.skip, 0
        return iter(order[skip:])


class SFTDataModule(TokenizerDataModule):
    """Demonstrations (prompt, response) for supervised fine-tuning, read through a task.

    The task turns its native rows into demonstrations (HH-RLHF: the preferred reply to the shared transcript); without
    a task, ``{prompt, response}`` rows are read (the ``generic`` task). The held-out split keeps every demonstration
    of one prompt on the same side. Prompts get the tokenizer's chat template (with the assistant header) when it has
    one, responses are closed by the end token, pairs are truncated per
    ``perl_lightning.data.formatting.truncate_pair`` (the prompt loses its start first, the response always keeps
    ``max_length - max_prompt_length`` tokens), and batches are right-padded :class:`SFTBatch` es whose labels mark
    the response tokens only.

    Training batches are length-grouped by default: each epoch's seeded shuffle is sorted by length within windows of
    50 batches and the batches are shuffled, so a batch holds demonstrations of similar length and pads little, while
    every demonstration is still seen once per epoch in an order that changes each epoch. A resumed run (``.ckpt``)
    continues with the batches an uninterrupted run would train on. Validation batches come in a fixed order (longest
    first when length-grouped).

    Args:
        task: a task name (``harmlessness``, ...) or instance; ``None`` reads ``{prompt, response}`` columns (the
            ``generic`` task; ``class_path: perl_lightning.tasks.Generic`` with ``init_args`` renames them).
        path: the task's built-in SFT sample when ``None``, a local jsonl / json / parquet / csv file (``.gz`` ok), a
            local dataset directory, or a hub dataset id.
        name: hub dataset configuration name.
        split: split used for training (``train`` if not given).
        val_split: a split of the same source used for validation; when ``None`` a seeded ``val_fraction`` of the
            prompts is held out (with all their demonstrations).
        val_fraction: fraction of the prompts held out when ``val_split`` is ``None``.
        limit: use only the first ``limit`` usable rows (before the split); ``None`` for all.
        val_limit: validate on at most this many held-out demonstrations; ``None`` for all.
        max_length: maximum tokens of prompt + response.
        max_prompt_length: most tokens the prompt keeps when a pair is too long (default ``max_length // 2``).
        batch_size: demonstrations per training batch.
        eval_batch_size: demonstrations per validation / test batch (default ``2 * batch_size``).
        length_grouped: group training batches by length (less padding); ``False`` batches the plain seeded shuffle.
        chat_template: apply the tokenizer's chat template when it has one.
        bad_rows: ``error`` (default: stop at the first bad row, naming file, row and field) or ``skip`` (skip and
            count, warning with file and row).
        tokenizer: tokenizer name or path; ``None`` takes the tokenizer of the LightningModule being trained.
        num_workers: DataLoader workers.
        seed: seed of the shuffle and the train / validation split.
    """

    def __init__(
        self,
        task: str | Task | None = None,
        path: str | None = None,
        name: str | None = None,
        split: str | None = None,
        val_split: str | None = None,
        val_fraction: float = 0.1,
        limit: int | None = None,
        val_limit: int | None = None,
        max_length: int = 512,
        max_prompt_length: int | None = None,
        batch_size: int = 8,
        eval_batch_size: int | None = None,
        length_grouped: bool = True,
        chat_template: bool = True,
        bad_rows: BadRows = "error",
        tokenizer: str | None = None,
        num_workers: int = 0,
        seed: int = 42,
    ) -> None:
        super().__init__()
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
        self.save_hyperparameters(ignore=["task"])
        self.hparams["task"] = task if task is None or isinstance(task, str) else type(task).__name__
        self.task = get_task(task) if task is not None else Generic()
        self.path = self.task.source("sft", path)
        if path is None and val_split is None:  # built-in data may come with its own held-out split
            self.hparams["val_split"] = self.task.builtin_val_split
        self.max_prompt_length = max_prompt_length or max_length // 2
        self.examples: dict[str, list[Demonstration]] = {}
        self.encoded: dict[str, list[EncodedDemonstration]] = {}
        self.skipped: list[str] = []

    def _read(self, split: str | None, bad: BadRowLog) -> list[Demonstration]:
        hp = self.hparams
        rows = iter_rows(self.path, split=split, name=hp.name)
        parsed = validated(rows, self.task.demonstration, bad, f"{self.path} ({split or 'train'})")
        return parsed[: hp.limit] if hp.limit else parsed

    def load_examples(self) -> dict[str, list[Demonstration]]:
        """Read, validate and split the demonstrations (no tokenizer needed)."""
        if self.examples:
            return self.examples
        hp = self.hparams
        bad = BadRowLog(hp.bad_rows)
        train = self._read(hp.split, bad)
        if hp.val_split is not None:
            val = self._read(hp.val_split, bad)
        else:
            train, val = grouped_split(  # every demonstration of a prompt lands on one side
                train, lambda e: prompt_key(e.prompt), hp.val_fraction, hp.seed, self.path, allow_empty_train=True
            )
        self.skipped = bad.skipped
        self.examples = {"train": train, "val": val[: hp.val_limit] if hp.val_limit else val}
        return self.examples

    def encode(self, example: Demonstration) -> EncodedDemonstration:
        """Token ids of one demonstration (prompt, then response with its end token), truncated per the policy."""
        tok, hp = self.tokenizer, self.hparams
        if example.images:
            return self._encode_with_images(example)
        prompt = encode_prompt(tok, example.prompt, hp.chat_template)
        response = encode_response(tok, example.response, hp.chat_template)
        prompt, response = truncate_pair(prompt, response, hp.max_length, self.max_prompt_length)
        return EncodedDemonstration(prompt + response, len(prompt))

    def _encode_with_images(self, example: Demonstration) -> EncodedDemonstration:
        """A demonstration whose prompt has images: the processor's ids (image tokens expanded) and pixel tensors.
        The prompt is never cut (it would lose image tokens); the response loses its end when the pair is too long."""
        limit = self.hparams.max_length
        prompt, pixels = checked_image_prompt(self.processor, example.prompt, example.images, limit,
                                              f"a demonstration's prompt (max_length={limit})")  # fmt: skip
        response = encode_response(self.tokenizer, example.response, self.hparams.chat_template)
        return EncodedDemonstration(prompt + response[: limit - len(prompt)], len(prompt), pixels)

    def setup(self, stage: str | None = None) -> None:
        """Load and tokenize once; later calls reuse the result."""
        if self.encoded:
            return
        for split, examples in self.load_examples().items():
            self.encoded[split] = [self.encode(e) for e in examples]

    def collate(self, examples: list[EncodedDemonstration]) -> SFTBatch:
        """Right-pad a batch and label its response tokens: :class:`SFTBatch` (B, T)."""
        return sft_batch(examples, self.tokenizer.pad_token_id)

    # ---- loaders -------------------------------------------------------------------------------------------------
    def train_dataloader(self) -> DataLoader:
        """Seeded shuffle per epoch (length-grouped by default) that resumes exactly after a ``.ckpt``."""
        hp, data = self.hparams, self.encoded["train"]
        plain = self.train_loader(data, hp.batch_size, self.collate, hp.seed, hp.num_workers)
        if not hp.length_grouped:
            return plain
        resumable: ResumableSampler = plain.sampler  # type: ignore[assignment]  # where the epoch starts (resume)
        sampler = LengthGroupedSampler(
            data,
            [len(e.input_ids) for e in data],
            hp.batch_size,
            num_replicas=resumable.num_replicas,
            rank=resumable.rank,
            seed=hp.seed,
            epoch=resumable.epoch,
            skip=resumable.skip,
        )
        return DataLoader(
            data,
            batch_size=hp.batch_size,
            sampler=sampler,
            collate_fn=self.collate,
            num_workers=hp.num_workers,
            generator=own_generator(hp.seed),
        )

    def _eval_loader(self) -> DataLoader:
        hp, data = self.hparams, self.encoded["val"]
        if hp.length_grouped:  # a fixed order, longest first: batches of similar lengths pad little
            data = sorted(data, key=lambda e: -len(e.input_ids))
        return DataLoader(
            data,
            batch_size=hp.eval_batch_size or 2 * hp.batch_size,
            collate_fn=self.collate,
            num_workers=hp.num_workers,
            generator=own_generator(hp.seed),
        )

    def val_dataloader(self) -> DataLoader:
        return self._eval_loader()

    def test_dataloader(self) -> DataLoader:
        return self._eval_loader()
