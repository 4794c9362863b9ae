"""PromptDataModule: prompts for RL rollouts, left-padded for generation, with held-out prompts for evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, NamedTuple

import torch
from torch.utils.data import DataLoader

from perl_lightning.data.base import TokenizerDataModule, own_generator, seeded_split
from perl_lightning.data.formatting import ASSISTANT_MARK, encode_prompt, is_dialogue, pad, split_shared_prefix
from perl_lightning.data.sources import BadRowLog, BadRows, DataError, Row, load_rows, require_str, validated

PromptSchema = Literal["auto", "explicit", "dialogue"]


class PromptExample(NamedTuple):
    """One parsed prompt (text: plain or an HH-style transcript ending at an assistant turn) and its row."""

    prompt: str
    row_id: str = ""  # the row's ``id_key`` value, else ``<file name>:<row number>``
    metadata: dict[str, Any] = {}  # the row's other fields (gold answers, ...), for reward functions and evaluation


class PromptBatch(NamedTuple):
    """Left-padded prompts ready for ``generate``, with their texts and rows (for rewards and sample tables)."""

    input_ids: torch.Tensor  # (B, P) left-padded
    attention_mask: torch.Tensor  # (B, P) zeros on the left padding
    prompts: list[str]  # B prompt texts
    row_ids: list[str] = []  # B data-row ids
    metadata: list[dict[str, Any]] = []  # B rows' extra fields

    def select(self, rows: list[int]) -> PromptBatch:
        """The batch of the given rows only (in that order)."""
        return PromptBatch(
            self.input_ids[rows],
            self.attention_mask[rows],
            [self.prompts[i] for i in rows],
            [self.row_ids[i] for i in rows] if self.row_ids else [],
            [self.metadata[i] for i in rows] if self.metadata else [],
        )


def dialogue_prompt(text: str) -> str:
    """An HH-style transcript cut after its last ``\\n\\nAssistant:`` marker (the turn the policy must write).

    Raises:
        DataError: when the transcript has no assistant turn (the caller adds file and row).
    """
    cut = text.rfind(ASSISTANT_MARK)
    if cut < 0:
        raise DataError("the dialogue has no assistant turn ('\\n\\nAssistant:')")
    return text[: cut + len(ASSISTANT_MARK)]


def row_identity(row: Row, id_key: str) -> str:
    """The row's ``id_key`` value when it has one, else ``<file name>:<row number>`` (stable across splits)."""
    value = row.data.get(id_key)
    if value is not None and value != "":
        return str(value)
    return f"{Path(str(row.source)).name}:{row.number}"


def parse_prompt(
    row: Row,
    schema: PromptSchema,
    prompt_key: str,
    dialogue_key: str,
    rejected_key: str = "rejected",
    id_key: str = "id",
    metadata_keys: list[str] | None = None,
) -> PromptExample:
    """Parse one raw row into a prompt; raises ``DataError`` naming source, row and field for an unusable row.

    The example carries the row's id and its other fields (``metadata_keys`` only, when given; missing keys are an
    error). ``explicit`` reads ``prompt_key``. ``dialogue`` reads an HH transcript from ``dialogue_key``: with a
    ``rejected_key`` dialogue in the same row the prompt is their shared prefix (as for preference data), otherwise
    the transcript up to its last assistant turn. ``auto`` picks ``explicit`` when the row has ``prompt_key``.
    """
    row_id = row_identity(row, id_key)
    if metadata_keys is None:
        meta = {k: v for k, v in row.data.items() if k != prompt_key}
    else:
        missing = [k for k in metadata_keys if k not in row.data]
        if missing:
            raise DataError(f"{row.source}: row {row.number}: missing field '{missing[0]}' (listed in metadata_keys)")
        meta = {k: row.data[k] for k in metadata_keys}
    if schema == "explicit" or (schema == "auto" and prompt_key in row.data):
        return PromptExample(require_str(row, prompt_key), row_id, meta)
    if dialogue_key not in row.data and schema == "auto":
        raise DataError(
            f"{row.source}: row {row.number}: no '{prompt_key}' field and no '{dialogue_key}' dialogue "
            f"(fields: {sorted(row.data)})"
        )
    text = require_str(row, dialogue_key)
    if not is_dialogue(text):
        raise DataError(
            f"{row.source}: row {row.number}: field '{dialogue_key}' is not an HH-style dialogue "
            "('\\n\\nHuman: ... \\n\\nAssistant: ...')"
        )
    try:
        other = row.data.get(rejected_key)
        if isinstance(other, str) and is_dialogue(other) and other != text:
            prompt = split_shared_prefix(text, other)[0]
        else:
            prompt = dialogue_prompt(text)
    except DataError as err:
        raise DataError(f"{row.source}: row {row.number}: field '{dialogue_key}': {err}") from None
    return PromptExample(prompt, row_id, meta)


class PromptDataModule(TokenizerDataModule):
    """Prompts for RL (PPO / REINFORCE / RLOO) rollouts and held-out prompts for evaluation.

    Reads the same sources and schemas as the preference data: rows with a ``prompt`` column, or HH-RLHF style
    dialogues (a ``chosen`` column alone, a ``dialogue`` text, or ``chosen`` + ``rejected`` pairs) whose prompt is the
    transcript up to the last assistant turn. Applies the tokenizer's chat template when it has one, keeps the *end*
    of prompts longer than ``max_prompt_length`` tokens, and pads on the LEFT so that ``generate`` appends to real
    tokens. Batches are :class:`PromptBatch`.

    Args:
        path: ``builtin:prompts`` (prompts written for this project), ``builtin`` (the preference pairs' prompts), a
            local jsonl / json / parquet / csv file (``.gz`` ok), a local dataset directory, or a hub dataset id.
        name: hub dataset configuration name.
        split: split used for training (``train`` if not given).
        val_split: a split of the same source used for evaluation; when ``None`` a seeded ``val_fraction`` of the
            training prompts is held out.
        val_fraction: fraction held out when ``val_split`` is ``None``.
        limit: use only the first ``limit`` usable prompts (before the split); ``None`` for all.
        val_limit: evaluate on at most this many held-out prompts; ``None`` for all.
        schema: ``auto`` (``explicit`` when the row has ``prompt_key``, else ``dialogue``), ``explicit`` or
            ``dialogue``.
        prompt_key: column holding the prompt.
        dialogue_key: column holding an HH-style transcript (``chosen`` for HH-RLHF, or e.g. ``dialogue``).
        max_prompt_length: most tokens a prompt keeps (its end: the latest turns and the assistant header).
        batch_size: prompts per rollout batch.
        eval_batch_size: prompts per evaluation batch (default ``batch_size``).
        chat_template: apply the tokenizer's chat template when it has one.
        deduplicate: drop repeated prompts (HH data repeats a prompt across pairs); the first row's id and fields
            are kept.
        id_key: column holding a row id; rows without it are named ``<file name>:<row number>``.
        metadata_keys: the row fields carried with each prompt to the reward functions and evaluation (e.g. a gold
            ``answer``); ``None`` carries every field but the prompt.
        bad_rows: ``error`` (default: stop at the first bad row, naming file, row and field) or ``skip`` (skip and
            count, warning with file and row).
        tokenizer: tokenizer name or path; ``None`` takes the tokenizer of the LightningModule being trained.
        num_workers: DataLoader workers.
        seed: seed of the shuffle and the train / evaluation split.
    """

    def __init__(
        self,
        path: str = "builtin:prompts",
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
        self.save_hyperparameters()
        self.examples: dict[str, list[PromptExample]] = {}
        self.encoded: dict[str, list[tuple[list[int], PromptExample]]] = {}
        self.skipped: list[str] = []

    def _read(self, split: str | None, bad: BadRowLog) -> list[PromptExample]:
        hp = self.hparams
        rows = load_rows(hp.path, split=split, name=hp.name, bad=bad)
        parsed = validated(
            rows,
            lambda r: parse_prompt(
                r, hp.schema, hp.prompt_key, hp.dialogue_key, id_key=hp.id_key, metadata_keys=hp.metadata_keys
            ),
            bad,
            what=f"{hp.path} ({split or 'train'})",
        )
        if hp.deduplicate:
            parsed = list({e.prompt: e for e in reversed(parsed)}.values())[::-1]  # first row of each prompt
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
            train, val = seeded_split(train, hp.val_fraction, hp.seed, what=str(hp.path))
        self.skipped = bad.skipped
        self.examples = {"train": train, "val": val[: hp.val_limit] if hp.val_limit else val}
        return self.examples

    def encode(self, example: PromptExample) -> list[int]:
        """Token ids of one prompt (chat template with the generation prompt), keeping its last tokens."""
        ids = encode_prompt(self.tokenizer, example.prompt, self.hparams.chat_template)
        return ids[-self.hparams.max_prompt_length :]

    def setup(self, stage: str | None = None) -> None:
        """Load and tokenize once; later calls reuse the result."""
        if self.encoded:
            return
        for split, examples in self.load_examples().items():
            self.encoded[split] = [(self.encode(e), e) for e in examples]

    def collate(self, items: list[tuple[list[int], PromptExample]]) -> PromptBatch:
        """Left-pad a batch of prompts: (B, P), with their texts, row ids and fields."""
        ids, mask = pad([ids for ids, _ in items], self.tokenizer.pad_token_id, side="left")
        examples = [e for _, e in items]
        return PromptBatch(ids, mask, [e.prompt for e in examples], [e.row_id for e in examples],
                           [e.metadata for e in examples])  # fmt: skip

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
        return self._loader(self.encoded["val"], self.hparams.eval_batch_size or self.hparams.batch_size)

    def test_dataloader(self) -> DataLoader:
        return self.val_dataloader()

    def predict_dataloader(self) -> DataLoader:
        return self.val_dataloader()
