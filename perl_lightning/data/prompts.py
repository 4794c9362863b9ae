"""PromptDataModule: prompts for RL rollouts, left-padded for generation, with held-out prompts for evaluation."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch.utils.data import DataLoader

from perl_lightning.data.base import TokenizerDataModule, grouped_split, own_generator
from perl_lightning.data.formatting import encode_prompt, pad
from perl_lightning.data.images import batch_images, checked_image_prompt
from perl_lightning.rl.types import ImageInputs, Prompt
from perl_lightning.sources import BadRowLog, BadRows, iter_rows, validated
from perl_lightning.tasks import PromptExample, Task, get_task
from perl_lightning.tasks.base import example_key
from perl_lightning.tasks.generic import Generic
from perl_lightning.tasks.generic import Schema as PromptSchema
from perl_lightning.tasks.harmlessness import dialogue_prompt

__all__ = ["PromptBatch", "PromptDataModule", "PromptExample", "PromptSchema", "dialogue_prompt"]


#: An encoded prompt: ``(ids, example)``, or ``(ids, example, pixel tensors)`` for a prompt with images.
Encoded = tuple[list[int], PromptExample] | tuple[list[int], PromptExample, dict[str, torch.Tensor]]


class PromptBatch(NamedTuple):
    """Left-padded prompts ready for ``generate``, with their texts and rows (for rewards and sample tables)."""

    input_ids: torch.Tensor  # (B, P) left-padded
    attention_mask: torch.Tensor  # (B, P) zeros on the left padding
    prompts: list[Prompt]  # B prompts (text or chat messages)
    row_ids: list[str] = []  # B data-row ids
    metadata: list[dict[str, Any]] = []  # B rows' extra fields
    images: ImageInputs | None = None  # the prompts' images (vision-language models)

    def select(self, rows: list[int]) -> PromptBatch:
        """The batch of the given rows only (in that order)."""
        return PromptBatch(
            self.input_ids[rows],
            self.attention_mask[rows],
            [self.prompts[i] for i in rows],
            [self.row_ids[i] for i in rows] if self.row_ids else [],
            [self.metadata[i] for i in rows] if self.metadata else [],
            None if self.images is None else self.images.select(rows),
        )


class PromptDataModule(TokenizerDataModule):
    """Prompts for RL (PPO / REINFORCE / RLOO / GRPO) rollouts and held-out prompts for evaluation, read through a task.

    The task builds each prompt (TL;DR post format, an HH transcript up to its last assistant turn, an SHP question,
    a Taskmaster context) and the metadata its rewards and metrics read (a reference summary, ...). Without a task,
    rows with a ``prompt`` column or HH-RLHF style dialogues (a ``chosen`` column alone, a ``dialogue`` text, or
    ``chosen`` + ``rejected`` pairs) are read by the column names below. Applies the tokenizer's chat template when it
    has one, keeps the *end* of prompts longer than ``max_prompt_length`` tokens, and pads on the LEFT so that
    ``generate`` appends to real tokens. Batches are :class:`PromptBatch`.

    A task whose prompts carry images (VQA) needs a vision-language policy: its processor (the LightningModule's
    ``processor``, or set ``processor``) renders the chat template, expands each image part into image tokens and
    makes the pixel tensors, which batches carry as :class:`~perl_lightning.rl.types.ImageInputs`. Such a prompt is
    never truncated (it would lose image tokens): one longer than ``max_prompt_length`` is an error naming its row.

    Args:
        task: a task name (``summarization``, ``harmlessness``, ``helpfulness``, ``dialogue``, ...) or instance;
            ``None`` reads the columns named below (the ``generic`` task).
        path: the task's built-in prompts when ``None`` (``builtin:prompts`` without a task: prompts written for this
            project), a local jsonl / json / parquet / csv file (``.gz`` ok), a local dataset directory, or a hub
            dataset id.
        name: hub dataset configuration name.
        split: split used for training (``train`` if not given).
        val_split: a split of the same source used for evaluation; when ``None`` a seeded ``val_fraction`` of the
            training prompts is held out.
        val_fraction: fraction held out when ``val_split`` is ``None``.
        limit: use only the first ``limit`` usable prompts (before the split); ``None`` for all.
        val_limit: evaluate on at most this many held-out prompts; ``None`` for all.
        schema: without a task: ``auto`` (``explicit`` when the row has ``prompt_key``, else ``dialogue``),
            ``explicit`` or ``dialogue``.
        prompt_key: without a task: column holding the prompt.
        dialogue_key: without a task: column holding an HH-style transcript (``chosen`` for HH-RLHF).
        max_prompt_length: most tokens a prompt keeps (its end: the latest turns and the assistant header).
        batch_size: prompts per rollout batch.
        eval_batch_size: prompts per evaluation batch (default ``batch_size``).
        chat_template: apply the tokenizer's chat template when it has one.
        deduplicate: drop repeated prompts (HH data repeats a prompt across pairs); the first row's id and fields
            are kept.
        id_key: without a task: column holding a row id; rows without it are named ``<file name>:<row number>``.
        metadata_keys: without a task: the row fields carried with each prompt to the reward functions and
            evaluation (e.g. a gold ``answer``); ``None`` carries every field but the prompt.
        bad_rows: ``error`` (default: stop at the first bad row, naming file, row and field) or ``skip`` (skip and
            count, warning with file and row).
        tokenizer: tokenizer name or path; ``None`` takes the tokenizer of the LightningModule being trained.
        num_workers: DataLoader workers.
        seed: seed of the shuffle and the train / evaluation split.
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
        schema: PromptSchema = "auto",
        prompt_key: str = "prompt",
        dialogue_key: str = "chosen",
        max_prompt_length: int = 256,
        batch_size: int = 8,
        eval_batch_size: int | None = None,
        chat_template: bool = True,
        deduplicate: bool = True,
        id_key: str = "id",
        metadata_keys: list[str] | None = None,
        bad_rows: BadRows = "error",
        tokenizer: str | None = None,
        num_workers: int = 0,
        seed: int = 42,
    ) -> None:
        super().__init__()
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
        if max_prompt_length < 1:
            raise ValueError(f"max_prompt_length must be >= 1, got {max_prompt_length}")
        self.save_hyperparameters(ignore=["task"])
        self.hparams["task"] = task if task is None or isinstance(task, str) else type(task).__name__
        self.task = (
            get_task(task)
            if task is not None
            else Generic(schema, prompt_key, dialogue_key=dialogue_key, id_key=id_key, metadata_keys=metadata_keys)
        )
        self.path = self.task.source("prompts", path)
        if path is None and val_split is None:  # built-in data may come with its own held-out split
            self.hparams["val_split"] = self.task.builtin_val_split
        self.examples: dict[str, list[PromptExample]] = {}
        self.encoded: dict[str, list[Encoded]] = {}
        self.skipped: list[str] = []

    def _read(self, split: str | None, bad: BadRowLog) -> list[PromptExample]:
        hp = self.hparams
        rows = iter_rows(self.path, split=split, name=hp.name)
        parsed = validated(rows, self.task.prompt, bad, what=f"{self.path} ({split or 'train'})")
        if hp.deduplicate:  # the first row of each prompt
            parsed = list({example_key(e): e for e in reversed(parsed)}.values())[::-1]
        return parsed[: hp.limit] if hp.limit else parsed

    def load_examples(self) -> dict[str, list[PromptExample]]:
        """Read, validate and split the prompts (no tokenizer needed)."""
        if self.examples:
            return self.examples
        hp = self.hparams
        bad = BadRowLog(hp.bad_rows)
        train = self._read(hp.split, bad)
        if hp.val_split is not None:
            val = self._read(hp.val_split, bad)
        else:
            train, val = grouped_split(train, example_key, hp.val_fraction, hp.seed, self.path)
        self.skipped = bad.skipped
        self.examples = {"train": train, "val": val[: hp.val_limit] if hp.val_limit else val}
        return self.examples

    def encode(self, example: PromptExample) -> list[int]:
        """Token ids of one prompt (chat template with the generation prompt), keeping its last tokens."""
        return self.encode_with_images(example)[0]

    def encode_with_images(self, example: PromptExample) -> tuple[list[int], dict[str, torch.Tensor] | None]:
        """Token ids of one prompt and, when it has images, its pixel tensors (through the processor)."""
        limit = self.hparams.max_prompt_length
        if not example.images:
            return encode_prompt(self.tokenizer, example.prompt, self.hparams.chat_template)[-limit:], None
        return checked_image_prompt(self.processor, example.prompt, example.images, limit + 1,
                                    f"prompt {example.row_id!r} (max_prompt_length={limit})")  # fmt: skip

    def setup(self, stage: str | None = None) -> None:
        """Load and tokenize once; later calls reuse the result. Items are ``(ids, example)``, and for a prompt with
        images ``(ids, example, pixel tensors)``."""
        if self.encoded:
            return
        for split, examples in self.load_examples().items():
            items: list[Encoded] = []
            for example in examples:
                ids, pixels = self.encode_with_images(example)
                items.append((ids, example) if pixels is None else (ids, example, pixels))
            self.encoded[split] = items

    def collate(self, items: list[Encoded]) -> PromptBatch:
        """Left-pad a batch of prompts: (B, P), with their texts, row ids and fields (and images, one entry a row)."""
        ids, mask = pad([item[0] for item in items], self.tokenizer.pad_token_id, side="left")
        examples, pixels = [item[1] for item in items], [item[2] if len(item) > 2 else None for item in items]
        images = batch_images(pixels, torch.arange(len(items)))
        return PromptBatch(ids, mask, [e.prompt for e in examples], [e.row_id for e in examples],
                           [e.metadata for e in examples], images)  # fmt: skip

    def _loader(self, data: list[Any], batch_size: int) -> DataLoader:
        return DataLoader(
            data,
            batch_size=batch_size,
            collate_fn=self.collate,
            num_workers=self.hparams.num_workers,
            generator=own_generator(self.hparams.seed),
        )

    def train_dataloader(self) -> DataLoader:
        hp = self.hparams
        return self.train_loader(self.encoded["train"], hp.batch_size, self.collate, hp.seed, hp.num_workers)

    def val_dataloader(self) -> DataLoader:
        """Held-out prompts, longest first: batches of similar lengths carry little left padding (generation cost
        grows with the padded width; the metrics are means, so the order changes nothing else)."""
        rows = sorted(self.encoded["val"], key=lambda item: -len(item[0]))
        return self._loader(rows, self.hparams.eval_batch_size or self.hparams.batch_size)

    def test_dataloader(self) -> DataLoader:
        return self.val_dataloader()

    def predict_dataloader(self) -> DataLoader:
        return self.val_dataloader()
