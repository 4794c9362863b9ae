"""Task-oriented dialogue: Taskmaster rated generations, the thumbs-up/down data released with the PERL paper.

Rows are ``{conversation_id, context, generation, reward}``: ``context`` is a JSON-encoded list of turns, each
``{"role": "user", "text"}``, ``{"role": "agent", "text"}``, ``{"role": "agent", "api": {fn: {args}}}`` or
``{"role": "api", "response": {fn: {result}}}``; ``generation`` is one JSON-encoded agent turn (text or API call);
``reward`` is 1 (thumbs up) or 0 (down). Every Taskmaster reward release (Coffee, and the others in this schema)
reads unchanged. In the releases ``conversation_id`` names the rated example, not the conversation (every row has
its own), so the held-out split keeps together the contexts that open with the same user request: the successive
prefixes of one conversation, whose turns overlap, never land on both sides.

Turns map onto chat messages: user -> ``user``, agent text -> ``assistant``, an agent's API call -> ``assistant``
with content ``API call: {"fn": {...}}`` (exact JSON, so it parses back), an API response -> ``tool`` (configurable)
with content ``API response: {...}``. The policy writes the next agent turn in the same form. A thumbs-up generation
is an SFT demonstration; a liked and a disliked generation for the same context form a preference pair.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import torch

from perl_lightning.rl.types import Message
from perl_lightning.sources import DataError, Row
from perl_lightning.tasks.base import (
    Demonstration,
    PromptExample,
    RatedExample,
    Task,
    json_field,
    number_field,
    text_field,
    where,
)

API_CALL = "API call: "
API_RESPONSE = "API response: "


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def agent_turn_text(turn: dict[str, Any]) -> str:
    """The text an agent turn is written as: its text, or ``API call: {"fn": {...}}``."""
    if "api" in turn:
        return API_CALL + _compact(turn["api"])
    return str(turn["text"]).strip()


def parse_api_call(text: str) -> dict[str, Any] | None:
    """The ``{"fn": {args}}`` of a response written as an API call; ``None`` when it is plain text.

    Raises:
        ValueError: the response starts like an API call but is not one ``{"name": {arguments}}`` JSON object.
    """
    text = text.strip()
    if not text.startswith(API_CALL.strip()):
        return None
    body = text[len(API_CALL.strip()) :].strip()
    try:
        call, end = json.JSONDecoder().raw_decode(body)
    except json.JSONDecodeError as err:
        raise ValueError(f"API call is not JSON ({err.msg})") from None
    if body[end:].strip():
        raise ValueError("text after the API call's JSON")
    if not (isinstance(call, dict) and len(call) == 1 and isinstance(next(iter(call.values())), dict)):
        raise ValueError('an API call is one {"function": {arguments}} object')
    return call


def _turn(row: Row, field: str, i: int | None, turn: Any) -> dict[str, Any]:
    at = f"{where(row, field)}" + (f" turn {i}" if i is not None else "")
    if not isinstance(turn, dict):
        raise DataError(f"{at}: a turn must be a JSON object, got {type(turn).__name__}")
    role = turn.get("role")
    if role == "user" or (role == "agent" and "api" not in turn):
        if not isinstance(turn.get("text"), str) or not turn["text"].strip():
            raise DataError(f"{at}: a {role} turn needs a non-empty 'text'")
    elif role == "agent":
        if not (isinstance(turn["api"], dict) and turn["api"]):
            raise DataError(f"{at}: 'api' must be a non-empty object {{function: {{arguments}}}}")
    elif role == "api":
        if "response" not in turn:
            raise DataError(f"{at}: an api turn needs a 'response'")
    else:
        raise DataError(f"{at}: unknown role {role!r} (expected user, agent or api)")
    return turn


class Dialogue(Task):
    """Taskmaster rated next-agent-turn generations (pointwise thumbs up / down feedback).

    Args:
        api_response_role: chat role of API responses (``tool``; ``user`` for chat templates without a tool role).
        api_responses: which API responses the context keeps: ``last`` (the most recent one, whose ids and options
            the next turn must use; older ones are dropped, the calls that asked for them stay), ``all``, or
            ``none``. API responses are long (menus, option lists): on Taskmaster Coffee with SmolLM2's template the
            median context is 167 tokens with all of them and 10% exceed 697, so a token budget that keeps the
            latest tokens cuts the user's request away, and the request is what a rated turn is judged against.
        agent_greeting: keep the agent's opening turn when it is text (Taskmaster's canned "Welcome to the Coffee
            Bar ..." greeting, ~30 tokens that say nothing about the order).
        max_turns: keep only the last ``max_turns`` turns of a context (``None``: all; the token budget of the
            DataModule then keeps the latest tokens).
    """

    name: ClassVar[str] = "dialogue"
    feedback: ClassVar[str] = "pointwise"  # type: ignore[assignment]
    headline_metric: ClassVar[str | None] = "well_formed"
    builtin: ClassVar[dict[str, str]] = {
        "sft": "builtin:dialogue/reward_00",
        "rated": "builtin:dialogue/reward_00",
        "prompts": "builtin:dialogue/reward_00",
    }
    reward_functions: ClassVar[tuple[str, ...]] = ("perl_lightning.tasks.dialogue:well_formed_turn",)

    def __init__(
        self,
        api_response_role: str = "tool",
        api_responses: Literal["last", "all", "none"] = "last",
        agent_greeting: bool = True,
        max_turns: int | None = None,
    ) -> None:
        if max_turns is not None and max_turns < 1:
            raise ValueError(f"max_turns must be >= 1 or None, got {max_turns}")
        if api_responses not in ("last", "all", "none"):
            raise ValueError(f"api_responses must be 'last', 'all' or 'none', not {api_responses!r}")
        self.api_response_role, self.api_responses = api_response_role, api_responses
        self.agent_greeting, self.max_turns = agent_greeting, max_turns

    def messages(self, turns: Sequence[dict[str, Any]]) -> list[Message]:
        """Context turns as chat messages (API responses and the greeting kept as configured)."""
        kept = [t for i, t in enumerate(turns) if self.agent_greeting or i > 0 or t["role"] != "agent" or "api" in t]
        responses = [i for i, t in enumerate(kept) if t["role"] == "api"]
        keep_response = {"all": set(responses), "last": set(responses[-1:]), "none": set()}[self.api_responses]
        kept = [t for i, t in enumerate(kept) if t["role"] != "api" or i in keep_response]
        out = []
        for turn in kept[-self.max_turns :] if self.max_turns else kept:
            if turn["role"] == "user":
                out.append({"role": "user", "content": turn["text"].strip()})
            elif turn["role"] == "agent":
                out.append({"role": "assistant", "content": agent_turn_text(turn)})
            else:
                out.append({"role": self.api_response_role, "content": API_RESPONSE + _compact(turn["response"])})
        return out

    def _context(self, row: Row) -> tuple[list[Message], str, str]:
        turns = json_field(row, "context")
        if not isinstance(turns, list):  # an empty list is valid: the agent opens the conversation
            raise DataError(f"{where(row, 'context')} must be a JSON list of turns, got {type(turns).__name__}")
        checked = [_turn(row, "context", i, t) for i, t in enumerate(turns)]
        opening = next((t["text"].strip() for t in checked if t["role"] == "user"), "")
        return self.messages(checked), json.dumps(turns, sort_keys=True, ensure_ascii=False), opening

    def _generation(self, row: Row) -> str:
        turn = _turn(row, "generation", None, json_field(row, "generation"))
        if turn["role"] != "agent":
            raise DataError(f"{where(row, 'generation')}: the generation must be an agent turn, got {turn['role']!r}")
        return agent_turn_text(turn)

    def _label(self, row: Row) -> float:
        label = number_field(row, "reward")
        if not 0.0 <= label <= 1.0:
            raise DataError(f"{where(row, 'reward')} must be 1 (thumbs up) or 0 (down), got {label}")
        return label

    def rated(self, row: Row) -> RatedExample:
        """The context as chat messages, the generated agent turn and its thumbs up (1) / down (0)."""
        text_field(row, "conversation_id")
        messages, context_key, opening = self._context(row)
        return RatedExample(messages, self._generation(row), self._label(row), context_key, opening)

    def demonstration(self, row: Row) -> Demonstration | None:
        """A thumbs-up generation after its context; thumbs-down rows are filtered out."""
        example = self.rated(row)
        return Demonstration(example.prompt, example.response) if example.label >= 0.5 else None

    def prompt(self, row: Row) -> PromptExample:
        """The context (the policy writes the next agent turn); metadata: the conversation id and the names of the
        API functions the context used (read by :func:`well_formed_turn`)."""
        conversation = str(text_field(row, "conversation_id"))
        messages, _, _ = self._context(row)
        functions = sorted({name for t in json.loads(_context_json(row)) if "api" in t for name in t["api"]})
        return PromptExample(messages, f"{conversation}:{row.number}", {"conversation_id": conversation,
                                                                        "functions": functions})  # fmt: skip

    def evaluate(self, responses: Sequence[str], metadata: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor]:
        """``well_formed`` (the turn is text, or an API call that parses) and ``api_call`` (the turn calls the API)."""
        calls, formed = [], []
        for text in responses:
            try:
                calls.append(float(parse_api_call(text) is not None))
                formed.append(float(bool(text.strip())))
            except ValueError:
                calls.append(1.0)
                formed.append(0.0)
        return {"well_formed": torch.tensor(formed), "api_call": torch.tensor(calls)}


def _context_json(row: Row) -> str:
    value = row.data["context"]
    return value if isinstance(value, str) else json.dumps(value)


def well_formed_turn(completions: Sequence[str], functions: Sequence[list[str]] | None = None, **_: Any) -> list[float]:
    """A programmatic reward for Taskmaster turns: 1 for a non-empty text turn or an API call that parses and names a
    function the conversation has used (any function when unknown), 0.5 for a parsable call to another function,
    -1 for an empty turn or an API call that does not parse."""
    known = functions or [None] * len(completions)
    scores = []
    for text, names in zip(completions, known, strict=True):
        try:
            call = parse_api_call(text)
        except ValueError:
            scores.append(-1.0)
            continue
        if call is None:
            scores.append(1.0 if text.strip() else -1.0)
        else:
            scores.append(1.0 if not names or next(iter(call)) in names else 0.5)
    return scores
