"""PreferenceDataModule: (prompt, chosen, rejected) pairs for reward-model training."""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

import torch
from torch.utils.data import DataLoader

from perl_lightning.data.base import TokenizerDataModule, grouped_split, own_generator
from perl_lightning.data.formatting import encode_prompt, encode_response, pad, truncate_pair
from perl_lightning.data.images import batch_images, checked_image_prompt
from perl_lightning.rl.types import ImageInputs
from perl_lightning.sources import BadRowLog, BadRows, Row, iter_rows, require_str, validated
from perl_lightning.tasks import PreferenceExample, Task, get_task, pairs_from_ratings
from perl_lightning.tasks.base import prompt_key, split_key
from perl_lightning.tasks.generic import Generic, Schema

__all__ = ["PreferenceBatch", "PreferenceDataModule", "PreferenceExample", "ResponseBatch"]


class PreferenceBatch(NamedTuple):
    """Chosen and rejected sequences stacked, so one forward pass scores both.

    Rows ``0..B-1`` are the chosen sequences, rows ``B..2B-1`` the rejected ones for the same prompts.
    """

    input_ids: torch.Tensor  # (2B, T)
    attention_mask: torch.Tensor  # (2B, T)
    images: ImageInputs | None = None  # a VLM task's images: one entry per pair, shared by its two rows

    @property
    def num_pairs(self) -> int:
        """B, the number of preference pairs."""
        return self.input_ids.shape[0] // 2


#: A pair with images: chosen ids, rejected ids, the prompt's pixel tensors.
EncodedImagePair = tuple[list[int], list[int], dict[str, torch.Tensor]]


class ResponseBatch(NamedTuple):
    """(prompt, response) sequences to score."""

    input_ids: torch.Tensor  # (B, T)
    attention_mask: torch.Tensor  # (B, T)


class PreferenceDataModule(TokenizerDataModule):
    """Preference pairs for a Bradley-Terry reward model, read through a task.

    The task turns its native rows into (prompt, chosen, rejected) pairs: TL;DR comparisons, HH-RLHF transcripts,
    SHP's ``labels``; a task with pointwise feedback (Taskmaster ratings) gives every liked x disliked pair of
    responses to the same context. Without a task, ``{prompt, chosen, rejected}`` rows or HH-style transcripts are
    read by the column names below. The held-out split keeps every pair of one prompt on the same side (no prompt is
    both trained and evaluated on). Applies the tokenizer's chat template when it has one, truncates per
    ``perl_lightning.data.formatting.truncate_pair`` and pads dynamically per batch.

    Args:
        task: a task name (``summarization``, ``harmlessness``, ``helpfulness``, ``dialogue``, ...) or instance
            (``class_path: perl_lightning.tasks.Helpfulness`` with its ``init_args``); ``None`` reads the columns
            named below (the ``generic`` task).
        path: the task's built-in sample when ``None`` (``builtin`` without a task: pairs written for this project),
            a local jsonl / json / parquet / csv file (``.gz`` ok), a local dataset directory, or a hub dataset id.
        name: hub dataset configuration name.
        split: split used for training (``train`` if not given).
        val_split: a split of the same source used for validation; when ``None`` a seeded ``val_fraction`` of the
            training rows is held out.
        val_fraction: fraction held out when ``val_split`` is ``None``.
        limit: use only the first ``limit`` usable rows (before the split); ``None`` for all.
        val_limit: keep at most the first ``val_limit`` validation pairs; ``None`` for all.
        schema: without a task: ``auto`` (dialogue when there is no prompt column), ``explicit`` or ``dialogue``.
        prompt_key: without a task: column holding the prompt.
        chosen_key: without a task: column holding the preferred response (or dialogue).
        rejected_key: without a task: column holding the dispreferred response (or dialogue).
        max_length: maximum tokens of prompt + response.
        max_prompt_length: most tokens the prompt keeps when a pair is too long (default ``max_length // 2``).
        batch_size: pairs per training batch.
        eval_batch_size: pairs per validation / test / predict batch (default ``2 * batch_size``).
        padding_side: ``right`` or ``left``; the reward model reads the last real token either way.
        chat_template: apply the tokenizer's chat template when it has one.
        bad_rows: ``error`` (default: stop at the first bad row, naming file, row and field) or ``skip`` (skip and
            count, warning with file and row).
        tokenizer: tokenizer name or path; ``None`` takes the tokenizer of the LightningModule being trained.
        predict_path: rows ``{prompt, response}`` to score in ``predict``; ``None`` predicts the validation pairs.
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
        schema: Schema = "auto",
        prompt_key: str = "prompt",
        chosen_key: str = "chosen",
        rejected_key: str = "rejected",
        max_length: int = 256,
        max_prompt_length: int | None = None,
        batch_size: int = 8,
        eval_batch_size: int | None = None,
        padding_side: Literal["right", "left"] = "right",
        chat_template: bool = True,
        bad_rows: BadRows = "error",
        tokenizer: str | None = None,
        predict_path: str | None = None,
        num_workers: int = 0,
        seed: int = 42,
    ) -> None:
        super().__init__()
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
        self.save_hyperparameters(ignore=["task"])
        self.hparams["task"] = task if task is None or isinstance(task, str) else type(task).__name__
        self.task = get_task(task) if task is not None else Generic(schema, prompt_key, chosen_key, rejected_key)
        self.path = self.task.source("rated" if self.task.feedback == "pointwise" else "preference", path)
        if path is None and val_split is None:  # built-in data may come with its own held-out split
            self.hparams["val_split"] = self.task.builtin_val_split
        self.max_prompt_length = max_prompt_length or max_length // 2
        self.examples: dict[str, list[PreferenceExample]] = {}
        self.encoded: dict[str, list[tuple[list[int], list[int]] | EncodedImagePair]] = {}
        self.skipped: list[str] = []

    def _read(self, split: str | None, bad: BadRowLog) -> list[Any]:
        """The task's examples of one split: pairs, or rated responses for a pointwise task."""
        hp, task = self.hparams, self.task
        parse = task.rated if task.feedback == "pointwise" else task.preference
        parsed = validated(
            iter_rows(self.path, split=split, name=hp.name), parse, bad, f"{self.path} ({split or 'train'})"
        )
        return parsed[: hp.limit] if hp.limit else parsed

    def load_examples(self) -> dict[str, list[PreferenceExample]]:
        """Read, validate and split the text pairs (no tokenizer needed)."""
        if self.examples:
            return self.examples
        hp = self.hparams
        bad = BadRowLog(hp.bad_rows)
        train = self._read(hp.split, bad)
        if hp.val_split is not None:
            val = self._read(hp.val_split, bad)
        else:
            group = split_key if self.task.feedback == "pointwise" else (lambda e: prompt_key(e.prompt))
            train, val = grouped_split(train, group, hp.val_fraction, hp.seed, self.path, allow_empty_train=True)
        if self.task.feedback == "pointwise":  # pairs within each split: one context never lands on both sides
            train, val = pairs_from_ratings(train), pairs_from_ratings(val)
        self.skipped = bad.skipped
        self.examples = {"train": train, "val": val[: hp.val_limit] if hp.val_limit else val}
        return self.examples

    def encode(self, example: PreferenceExample) -> tuple[list[int], list[int]] | EncodedImagePair:
        """Token ids of the chosen and rejected sequences of one pair, truncated per the policy (and, for a prompt
        with images, its pixel tensors: the prompt is then never cut, the responses lose their ends)."""
        tok, hp = self.tokenizer, self.hparams
        if example.images:
            what = f"a preference pair's prompt (max_length={hp.max_length})"
            prompt, pixels = checked_image_prompt(self.processor, example.prompt, example.images, hp.max_length, what)
            room = hp.max_length - len(prompt)
            chosen, rejected = (
                encode_response(tok, r, hp.chat_template)[:room] for r in (example.chosen, example.rejected)
            )
            return prompt + chosen, prompt + rejected, pixels
        prompt = encode_prompt(tok, example.prompt, hp.chat_template)
        out = []
        for response in (example.chosen, example.rejected):
            p, r = truncate_pair(
                prompt, encode_response(tok, response, hp.chat_template), hp.max_length, self.max_prompt_length
            )
            out.append(p + r)
        return out[0], out[1]

    def setup(self, stage: str | None = None) -> None:
        """Load and tokenize once; later calls reuse the result."""
        if self.encoded:
            return
        for split, examples in self.load_examples().items():
            self.encoded[split] = [self.encode(e) for e in examples]

    def collate(self, pairs: list[tuple[list[int], list[int]]] | list[EncodedImagePair]) -> PreferenceBatch:
        """Pad chosen and rejected sequences of a batch together: (2B, T); a pair's image is stored once."""
        sequences = [p[0] for p in pairs] + [p[1] for p in pairs]
        ids, mask = pad(sequences, self.tokenizer.pad_token_id, self.hparams.padding_side)
        pixels = [p[2] if len(p) > 2 else None for p in pairs]
        return PreferenceBatch(ids, mask, batch_images(pixels, torch.arange(len(pairs)).repeat(2)))

    def collate_responses(self, sequences: list[list[int]]) -> ResponseBatch:
        """Pad (prompt + response) sequences: (B, T)."""
        return ResponseBatch(*pad(sequences, self.tokenizer.pad_token_id, self.hparams.padding_side))

    def _loader(self, data: list[Any], batch_size: int, collate) -> DataLoader:
        return DataLoader(
            data,
            batch_size=batch_size,
            collate_fn=collate,
            num_workers=self.hparams.num_workers,
            generator=own_generator(self.hparams.seed),
        )

    @property
    def _eval_batch_size(self) -> int:
        return self.hparams.eval_batch_size or 2 * self.hparams.batch_size

    def train_dataloader(self) -> DataLoader:
        hp = self.hparams
        return self.train_loader(self.encoded["train"], hp.batch_size, self.collate, hp.seed, hp.num_workers)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.encoded["val"], self._eval_batch_size, self.collate)

    def test_dataloader(self) -> DataLoader:
        return self.val_dataloader()

    def predict_dataloader(self) -> DataLoader:
        if self.hparams.predict_path is None:
            return self.val_dataloader()
        hp = self.hparams
        bad = BadRowLog(hp.bad_rows)
        rows = iter_rows(hp.predict_path)

        def parse(row: Row) -> list[int]:
            prompt = encode_prompt(self.tokenizer, require_str(row, hp.prompt_key), hp.chat_template)
            response = encode_response(self.tokenizer, require_str(row, "response"), hp.chat_template)
            p, r = truncate_pair(prompt, response, hp.max_length, self.max_prompt_length)
            return p + r

        sequences = validated(rows, parse, bad, what=hp.predict_path)
        return self._loader(sequences, self._eval_batch_size, self.collate_responses)
