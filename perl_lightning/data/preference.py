"""PreferenceDataModule: (prompt, chosen, rejected) pairs for reward-model training."""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

import torch
from torch.utils.data import DataLoader

from perl_lightning.data.base import TokenizerDataModule, own_generator, seeded_split
from perl_lightning.data.formatting import (
    encode_prompt,
    encode_response,
    is_dialogue,
    pad,
    split_shared_prefix,
    truncate_pair,
)
from perl_lightning.data.sources import BadRowLog, BadRows, DataError, Row, load_rows, require_str, validated

Schema = Literal["auto", "explicit", "dialogue"]


class PreferenceExample(NamedTuple):
    """One parsed preference pair (text)."""

    prompt: str
    chosen: str
    rejected: str


class PreferenceBatch(NamedTuple):
    """Chosen and rejected sequences stacked, so one forward pass scores both.

    Rows ``0..B-1`` are the chosen sequences, rows ``B..2B-1`` the rejected ones for the same prompts.
    """

    input_ids: torch.Tensor  # (2B, T)
    attention_mask: torch.Tensor  # (2B, T)

    @property
    def num_pairs(self) -> int:
        """B, the number of preference pairs."""
        return self.input_ids.shape[0] // 2


class ResponseBatch(NamedTuple):
    """(prompt, response) sequences to score."""

    input_ids: torch.Tensor  # (B, T)
    attention_mask: torch.Tensor  # (B, T)


def parse_preference(
    row: Row, schema: Schema, prompt_key: str, chosen_key: str, rejected_key: str
) -> PreferenceExample:
    """Parse one raw row; raises ``DataError`` naming source, row and field for any unusable row."""
    chosen = require_str(row, chosen_key)
    rejected = require_str(row, rejected_key)
    use_dialogue = schema == "dialogue" or (schema == "auto" and prompt_key not in row.data)
    if use_dialogue:
        if not (is_dialogue(chosen) and is_dialogue(rejected)):
            raise DataError(
                f"{row.source}: row {row.number}: field '{chosen_key}'/'{rejected_key}': no "
                f"'{prompt_key}' field and not an HH-style dialogue ('\\n\\nHuman: ... \\n\\nAssistant: ...')"
            )
        try:
            prompt, chosen, rejected = split_shared_prefix(chosen, rejected)
        except DataError as err:
            raise DataError(f"{row.source}: row {row.number}: fields '{chosen_key}'/'{rejected_key}': {err}") from None
    else:
        prompt = require_str(row, prompt_key)
    for key, value in ((chosen_key, chosen), (rejected_key, rejected)):
        if not value.strip():
            raise DataError(f"{row.source}: row {row.number}: field '{key}': empty response")
    if chosen.strip() == rejected.strip():
        raise DataError(f"{row.source}: row {row.number}: fields '{chosen_key}' and '{rejected_key}' are identical")
    return PreferenceExample(prompt, chosen, rejected)


class PreferenceDataModule(TokenizerDataModule):
    """Preference pairs for a Bradley-Terry reward model.

    Reads ``{prompt, chosen, rejected}`` rows, or full HH-RLHF style dialogues ``{chosen, rejected}`` where the
    longest shared prefix ending at an assistant turn is the prompt. Applies the tokenizer's chat template when it
    has one, truncates per ``perl_lightning.data.formatting.truncate_pair`` and pads dynamically per batch.

    Args:
        path: ``builtin`` (pairs written for this project), a local jsonl / json / parquet / csv file (``.gz`` ok),
            a local dataset directory, or a hub dataset id.
        name: hub dataset configuration name.
        split: split used for training (``train`` if not given).
        val_split: a split of the same source used for validation; when ``None`` a seeded ``val_fraction`` of the
            training rows is held out.
        val_fraction: fraction held out when ``val_split`` is ``None``.
        limit: use only the first ``limit`` usable rows (before the split); ``None`` for all.
        schema: ``auto`` (dialogue when there is no prompt column), ``explicit`` or ``dialogue``.
        prompt_key: column holding the prompt.
        chosen_key: column holding the preferred response (or dialogue).
        rejected_key: column holding the dispreferred response (or dialogue).
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
        path: str = "builtin",
        name: str | None = None,
        split: str | None = None,
        val_split: str | None = None,
        val_fraction: float = 0.1,
        limit: int | None = None,
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
        self.save_hyperparameters()
        self.max_prompt_length = max_prompt_length or max_length // 2
        self.examples: dict[str, list[PreferenceExample]] = {}
        self.encoded: dict[str, list[tuple[list[int], list[int]]]] = {}
        self.skipped: list[str] = []

    def _read(self, split: str | None, bad: BadRowLog) -> list[PreferenceExample]:
        hp = self.hparams
        rows = load_rows(hp.path, split=split, name=hp.name, bad=bad)
        parsed = validated(
            rows,
            lambda r: parse_preference(r, hp.schema, hp.prompt_key, hp.chosen_key, hp.rejected_key),
            bad,
            what=f"{hp.path} ({split or 'train'})",
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
            train, val = seeded_split(train, hp.val_fraction, hp.seed, str(hp.path), allow_empty_train=True)
        self.skipped = bad.skipped
        self.examples = {"train": train, "val": val}
        return self.examples

    def encode(self, example: PreferenceExample) -> tuple[list[int], list[int]]:
        """Token ids of the chosen and rejected sequences of one pair, truncated per the policy."""
        tok, hp = self.tokenizer, self.hparams
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

    def collate(self, pairs: list[tuple[list[int], list[int]]]) -> PreferenceBatch:
        """Pad chosen and rejected sequences of a batch together: (2B, T)."""
        sequences = [c for c, _ in pairs] + [r for _, r in pairs]
        ids, mask = pad(sequences, self.tokenizer.pad_token_id, self.hparams.padding_side)
        return PreferenceBatch(ids, mask)

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
        rows = load_rows(hp.predict_path, bad=bad)

        def parse(row: Row) -> list[int]:
            prompt = encode_prompt(self.tokenizer, require_str(row, hp.prompt_key), hp.chat_template)
            response = encode_response(self.tokenizer, require_str(row, "response"), hp.chat_template)
            p, r = truncate_pair(prompt, response, hp.max_length, self.max_prompt_length)
            return p + r

        sequences = validated(rows, parse, bad, what=hp.predict_path)
        return self._loader(sequences, self._eval_batch_size, self.collate_responses)
