"""Harmlessness: Anthropic HH-RLHF dialogues (``{chosen, rejected}`` full transcripts of ``Human:``/``Assistant:``
turns that share every turn but the last assistant reply).

The prompt is the shared transcript up to the last ``\\n\\nAssistant:`` marker, mapped onto chat messages (``Human``
-> ``user``, ``Assistant`` -> ``assistant``) so the tokenizer's chat template renders it; the responses are the two
final assistant replies. SFT takes the preferred reply as the demonstration; RL prompts are the transcripts cut
before the last assistant reply.
"""

from __future__ import annotations

import re
from typing import ClassVar

from perl_lightning.rl.types import Message
from perl_lightning.sources import DataError, Row
from perl_lightning.tasks.base import (
    Demonstration,
    PreferenceExample,
    PromptExample,
    Task,
    distinct,
    row_identity,
    text_field,
)

_TURN = re.compile(r"(?:^|\n\n)(Human|Assistant):[ ]?")
_ROLES = {"Human": "user", "Assistant": "assistant"}
ASSISTANT_MARK = "\n\nAssistant:"


def parse_dialogue(text: str) -> list[Message]:
    """Parse ``"\\n\\nHuman: ...\\n\\nAssistant: ..."`` text into chat messages (empty trailing turns dropped)."""
    parts = _TURN.split(text)
    if len(parts) < 3:
        return [{"role": "user", "content": text.strip()}]
    messages = []
    for role, content in zip(parts[1::2], parts[2::2], strict=True):
        messages.append({"role": _ROLES[role], "content": content.strip()})
    while messages and not messages[-1]["content"]:
        messages.pop()
    return messages


def is_dialogue(text: str) -> bool:
    """Whether ``text`` looks like an HH-RLHF transcript."""
    return bool(re.search(r"(?:^|\n\n)Human:", text))


def split_shared_prefix(chosen: str, rejected: str) -> tuple[str, str, str]:
    """Split two full dialogues into (prompt, chosen response, rejected response).

    The prompt is the longest shared prefix that ends at an assistant turn marker (``\\n\\nAssistant:``).

    Raises:
        DataError: when the two dialogues share no assistant turn (the caller adds file and row).
    """
    n = 0
    limit = min(len(chosen), len(rejected))
    while n < limit and chosen[n] == rejected[n]:
        n += 1
    cut = chosen.rfind(ASSISTANT_MARK, 0, n)  # last marker lying wholly inside the shared prefix
    if cut < 0:
        raise DataError("the two dialogues share no prefix ending at an assistant turn ('\\n\\nAssistant:')")
    end = cut + len(ASSISTANT_MARK)
    return chosen[:end], chosen[end:].strip(), rejected[end:].strip()


def dialogue_prompt(text: str) -> str:
    """An HH-style transcript cut after its last ``\\n\\nAssistant:`` marker (the turn the policy must write).

    Raises:
        DataError: when the transcript has no assistant turn (the caller adds file and row).
    """
    cut = text.rfind(ASSISTANT_MARK)
    if cut < 0:
        raise DataError("the dialogue has no assistant turn ('\\n\\nAssistant:')")
    return text[: cut + len(ASSISTANT_MARK)]


def transcript(row: Row, field: str) -> str:
    """An HH transcript field, checked to be one."""
    text = text_field(row, field)
    if not is_dialogue(text):
        raise DataError(
            f"{row.source}: row {row.number}: field '{field}' is not an HH-style dialogue "
            "('\\n\\nHuman: ... \\n\\nAssistant: ...')"
        )
    return text


def hh_pair(row: Row, chosen_field: str, rejected_field: str) -> tuple[str, str, str]:
    """(prompt transcript, chosen reply, rejected reply) of a row of two HH transcripts."""
    chosen, rejected = transcript(row, chosen_field), transcript(row, rejected_field)
    try:
        prompt, good, bad = split_shared_prefix(chosen, rejected)
    except DataError as err:
        raise DataError(f"{row.source}: row {row.number}: fields '{chosen_field}'/'{rejected_field}': {err}") from None
    for field, value in ((chosen_field, good), (rejected_field, bad)):
        if not value.strip():
            raise DataError(f"{row.source}: row {row.number}: field '{field}': empty response")
    distinct(row, good, bad, (chosen_field, rejected_field))
    return prompt, good, bad


def hh_prompt(row: Row, dialogue_field: str, rejected_field: str | None) -> str:
    """The prompt transcript of a row: the shared prefix of a chosen/rejected pair, else the transcript up to its last
    assistant turn."""
    text = transcript(row, dialogue_field)
    other = row.data.get(rejected_field) if rejected_field else None
    try:
        if isinstance(other, str) and is_dialogue(other) and other != text:
            return split_shared_prefix(text, other)[0]
        return dialogue_prompt(text)
    except DataError as err:
        raise DataError(f"{row.source}: row {row.number}: field '{dialogue_field}': {err}") from None


class Harmlessness(Task):
    """Anthropic HH-RLHF harmlessness (or helpfulness) pairs: ``{chosen, rejected}`` transcripts.

    Args:
        chosen_field: column of the preferred transcript.
        rejected_field: column of the dispreferred transcript.
        id_field: column of a row id (rows without one are named ``<file>:<row>``).
    """

    name: ClassVar[str] = "harmlessness"
    builtin: ClassVar[dict[str, str]] = {
        "sft": "builtin:harmlessness/harmless",
        "preference": "builtin:harmlessness/harmless",
        "prompts": "builtin:harmlessness/harmless",
    }

    def __init__(self, chosen_field: str = "chosen", rejected_field: str = "rejected", id_field: str = "id") -> None:
        self.chosen_field, self.rejected_field, self.id_field = chosen_field, rejected_field, id_field

    def preference(self, row: Row) -> PreferenceExample:
        """The shared transcript as chat messages, and the two final assistant replies."""
        prompt, chosen, rejected = hh_pair(row, self.chosen_field, self.rejected_field)
        return PreferenceExample(parse_dialogue(prompt), chosen, rejected)

    def demonstration(self, row: Row) -> Demonstration:
        """The preferred reply to the shared transcript."""
        prompt, chosen, _ = hh_pair(row, self.chosen_field, self.rejected_field)
        return Demonstration(parse_dialogue(prompt), chosen)

    def prompt(self, row: Row) -> PromptExample:
        """The transcript before the last assistant reply, as chat messages."""
        prompt = hh_prompt(row, self.chosen_field, self.rejected_field)
        return PromptExample(parse_dialogue(prompt), row_identity(row, self.id_field), {})
