"""Bring your own columns: the task for data in no published schema, read by column names.

Preference rows are ``{prompt, chosen, rejected}``, or HH-style transcripts ``{chosen, rejected}`` whose shared
prefix is the prompt; prompt rows are ``{prompt}`` or a transcript; demonstrations ``{prompt, response}``; ratings
``{prompt, response, label}``. Prompts stay text (an HH transcript is mapped onto chat turns when tokenized).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from perl_lightning.sources import DataError, Row
from perl_lightning.tasks.base import (
    Demonstration,
    PreferenceExample,
    PromptExample,
    RatedExample,
    Task,
    distinct,
    number_field,
    row_identity,
    text_field,
)
from perl_lightning.tasks.harmlessness import hh_pair, hh_prompt, is_dialogue

Schema = Literal["auto", "explicit", "dialogue"]


class Generic(Task):
    """Columns named by the user; ``auto`` reads a transcript when the row has no prompt column.

    Args:
        schema: ``auto`` (``explicit`` when the row has ``prompt_key``, else ``dialogue``), ``explicit`` or
            ``dialogue`` (HH-style ``Human:``/``Assistant:`` transcripts).
        prompt_key: column holding the prompt.
        chosen_key: column holding the preferred response (or transcript).
        rejected_key: column holding the dispreferred response (or transcript).
        dialogue_key: column holding the transcript an RL prompt is cut from (``chosen`` for HH-RLHF).
        response_key: column holding a demonstration's or rated row's response.
        label_key: column holding a rated response's label (1 liked, 0 disliked; any value in [0, 1]).
        id_key: column holding a row id; rows without it are named ``<file name>:<row number>``.
        metadata_keys: the row fields carried with each RL prompt to reward functions and evaluation; ``None``
            carries every field but the prompt.
    """

    name: ClassVar[str] = "generic"
    builtin: ClassVar[dict[str, str]] = {"preference": "builtin", "prompts": "builtin:prompts"}

    def __init__(
        self,
        schema: Schema = "auto",
        prompt_key: str = "prompt",
        chosen_key: str = "chosen",
        rejected_key: str = "rejected",
        dialogue_key: str = "chosen",
        response_key: str = "response",
        label_key: str = "label",
        id_key: str = "id",
        metadata_keys: list[str] | None = None,
    ) -> None:
        if schema not in ("auto", "explicit", "dialogue"):
            raise ValueError(f"schema must be 'auto', 'explicit' or 'dialogue', not {schema!r}")
        self.schema, self.prompt_key, self.chosen_key, self.rejected_key = schema, prompt_key, chosen_key, rejected_key
        self.dialogue_key, self.response_key, self.label_key = dialogue_key, response_key, label_key
        self.id_key, self.metadata_keys = id_key, metadata_keys

    def _explicit(self, row: Row) -> bool:
        return self.schema == "explicit" or (self.schema == "auto" and self.prompt_key in row.data)

    def preference(self, row: Row) -> PreferenceExample:
        """``{prompt, chosen, rejected}``, or two transcripts split at their shared prefix."""
        if self._explicit(row):
            prompt = text_field(row, self.prompt_key)
            chosen, rejected = text_field(row, self.chosen_key), text_field(row, self.rejected_key)
            distinct(row, chosen, rejected, (self.chosen_key, self.rejected_key))
            return PreferenceExample(prompt, chosen, rejected)
        chosen, rejected = text_field(row, self.chosen_key), text_field(row, self.rejected_key)
        if not (is_dialogue(chosen) and is_dialogue(rejected)):
            raise DataError(
                f"{row.source}: row {row.number}: field '{self.chosen_key}'/'{self.rejected_key}': no "
                f"'{self.prompt_key}' field and not an HH-style dialogue ('\\n\\nHuman: ... \\n\\nAssistant: ...')"
            )
        return PreferenceExample(*hh_pair(row, self.chosen_key, self.rejected_key))

    def demonstration(self, row: Row) -> Demonstration:
        """``{prompt, response}``."""
        return Demonstration(text_field(row, self.prompt_key), text_field(row, self.response_key))

    def rated(self, row: Row) -> RatedExample:
        """``{prompt, response, label}``; the prompt text is the context that pairs are formed within."""
        prompt = text_field(row, self.prompt_key)
        label = number_field(row, self.label_key)
        if not 0.0 <= label <= 1.0:
            raise DataError(f"{row.source}: row {row.number}: field '{self.label_key}' must be in [0, 1], got {label}")
        return RatedExample(prompt, text_field(row, self.response_key), label, prompt)

    def prompt(self, row: Row) -> PromptExample:
        """``{prompt}`` or a transcript cut before its last assistant reply; the other fields as metadata."""
        row_id = row_identity(row, self.id_key)
        if self.metadata_keys is None:
            meta: dict[str, Any] = {k: v for k, v in row.data.items() if k != self.prompt_key}
        else:
            missing = [k for k in self.metadata_keys if k not in row.data]
            if missing:
                raise DataError(
                    f"{row.source}: row {row.number}: missing field '{missing[0]}' (listed in metadata_keys)"
                )
            meta = {k: row.data[k] for k in self.metadata_keys}
        if self._explicit(row):
            return PromptExample(text_field(row, self.prompt_key), row_id, meta)
        if self.dialogue_key not in row.data and self.schema == "auto":
            raise DataError(
                f"{row.source}: row {row.number}: no '{self.prompt_key}' field and no '{self.dialogue_key}' dialogue "
                f"(fields: {sorted(row.data)})"
            )
        return PromptExample(hh_prompt(row, self.dialogue_key, self.rejected_key), row_id, meta)
