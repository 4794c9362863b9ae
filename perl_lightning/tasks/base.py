"""The task contract: one task turns its native rows into the typed examples of every stage.

A task owns a published data schema (TL;DR comparisons, HH-RLHF transcripts, SHP, Taskmaster ratings, ...), the
prompt format its model sees (chat messages, rendered later through the tokenizer's chat template), the metrics its
generations are judged by, and optionally a programmatic reward. The DataModules call it row by row:

============  ======================  =====================================================================
stage         method                  example
============  ======================  =====================================================================
SFT           :meth:`demonstration`   :class:`Demonstration` (prompt, response)
reward model  :meth:`preference`      :class:`PreferenceExample` (prompt, chosen, rejected)
reward model  :meth:`rated`           :class:`RatedExample` (prompt, response, label 1 liked / 0 disliked)
RL            :meth:`prompt`          :class:`PromptExample` (prompt, row id, metadata for rewards and metrics)
============  ======================  =====================================================================

Each method raises :class:`~perl_lightning.sources.DataError` naming source, row and field for a row that does not
fit the schema, and returns ``None`` for a row the task's own rules filter out (e.g. SHP's score-ratio filter).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal, NamedTuple, Protocol

import torch

from perl_lightning.rl.types import Message, Prompt, prompt_text
from perl_lightning.sources import DataError, Row

Stage = Literal["sft", "preference", "rated", "prompts"]
Feedback = Literal["pairwise", "pointwise"]


class Demonstration(NamedTuple):
    """A prompt and the response to imitate (SFT), with the images of the prompt's image parts (VLM tasks)."""

    prompt: Prompt
    response: str
    images: tuple[Any, ...] = ()  # PIL images, one per image part of the prompt


class PreferenceExample(NamedTuple):
    """One preference pair: the same prompt with a preferred and a dispreferred response (and the prompt's images)."""

    prompt: Prompt
    chosen: str
    rejected: str
    images: tuple[Any, ...] = ()  # PIL images, one per image part of the prompt


class RatedExample(NamedTuple):
    """One rated response (pointwise feedback: thumbs up 1 / down 0), with the key of its context so that a liked
    and a disliked response to the same context can be paired, and the key of what a held-out split keeps together
    (e.g. the conversation, whose successive contexts share turns; the context itself when empty)."""

    prompt: Prompt
    response: str
    label: float
    group: str
    split_group: str = ""


def split_key(example: RatedExample) -> str:
    """What a held-out split keeps on one side for a rated example: its ``split_group``, else its ``group``."""
    return example.split_group or example.group


class PromptExample(NamedTuple):
    """One RL prompt with its row: the id and the row's other fields (gold answers, references, ...), and for a
    vision-language task the images its ``{"type": "image"}`` message parts stand for, in order."""

    prompt: Prompt
    row_id: str = ""  # the row's id, else ``<file name>:<row number>``
    metadata: dict[str, Any] = {}  # the row's other fields, for reward functions and evaluation
    images: tuple[Any, ...] = ()  # PIL images, one per image part of the prompt


class EnvStep(Protocol):
    """What an environment returns for one action: the next observation (the content of the next user turn; ``None``
    once the episode is over), the step's reward and whether the episode is over."""

    observation: str | None
    reward: float
    done: bool


class Environment(Protocol):
    """One multi-turn episode started from a prompt's row (see :meth:`Task.environment`): the policy's prompt is the
    first observation; each of its turns is one ``step``."""

    def step(self, action: str) -> EnvStep: ...

    def summary(self) -> dict[str, Any]:
        """Episode figures (``success``, ``steps``, ``reward`` (the episode's total), ...), written into the rollout's
        metadata as ``episode`` for reward functions and metrics."""
        ...


def where(row: Row, field: str) -> str:
    """``<source>: row <n>: field '<field>'``, the prefix of every row-level error."""
    return f"{row.source}: row {row.number}: field '{field}'"


def field_value(row: Row, field: str) -> Any:
    """A field that must be present (``a.b`` reads nested objects); ``DataError`` naming it otherwise."""
    value: Any = row.data
    for i, part in enumerate(field.split(".")):
        if not isinstance(value, dict) or part not in value or value[part] is None:
            seen = sorted(value) if isinstance(value, dict) else type(value).__name__
            parent = ".".join(field.split(".")[:i]) or "the row"
            raise DataError(f"{row.source}: row {row.number}: missing field '{field}' ({parent} has: {seen})")
        value = value[part]
    return value


def text_field(row: Row, field: str, allow_empty: bool = False) -> str:
    """A string field (``a.b`` for nested ones), non-empty unless ``allow_empty``."""
    value = field_value(row, field)
    if not isinstance(value, str):
        raise DataError(f"{where(row, field)} must be a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise DataError(f"{where(row, field)} is empty")
    return value


def first_field(row: Row, fields: Sequence[str]) -> str:
    """The first of ``fields`` the row has (for schemas whose copies name a column differently)."""
    for name in fields:
        if name in row.data and row.data[name] is not None:
            return name
    raise DataError(
        f"{row.source}: row {row.number}: missing field '{fields[0]}' (or {', '.join(repr(f) for f in fields[1:])}; "
        f"fields: {sorted(row.data)})"
    )


def number_field(row: Row, field: str) -> float:
    """A numeric field (not a bool)."""
    value = field_value(row, field)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DataError(f"{where(row, field)} must be a number, got {type(value).__name__} {value!r}")
    return float(value)


def json_field(row: Row, field: str) -> Any:
    """A field holding JSON-encoded text (or the decoded value itself), decoded."""
    value = field_value(row, field)
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as err:
        raise DataError(f"{where(row, field)} is not valid JSON ({err.msg}, column {err.colno})") from None


def distinct(row: Row, chosen: str, rejected: str, fields: tuple[str, str]) -> None:
    """A pair whose two responses are the same text teaches nothing: ``DataError`` naming both fields."""
    if chosen.strip() == rejected.strip():
        raise DataError(f"{row.source}: row {row.number}: fields '{fields[0]}' and '{fields[1]}' are identical")


def row_identity(row: Row, id_field: str = "id") -> str:
    """The row's ``id_field`` value when it has one, else ``<file name>:<row number>`` (stable across splits)."""
    value = row.data.get(id_field)
    if value is not None and value != "":
        return str(value)
    return f"{Path(str(row.source)).name}:{row.number}"


def prompt_key(prompt: Prompt) -> str:
    """A hashable key of a prompt (for de-duplication and grouping)."""
    return prompt if isinstance(prompt, str) else json.dumps(prompt, sort_keys=True, ensure_ascii=False)


def image_key(image: Any) -> str:
    """A content key of a PIL image (mode, size and pixels), so that equal images give equal keys."""
    digest = hashlib.blake2b(f"{image.mode}:{image.size}".encode(), digest_size=16)
    digest.update(image.tobytes())
    return digest.hexdigest()


def example_key(example: PromptExample) -> str:
    """A hashable key of an RL prompt and its images: the same question about another image is another prompt."""
    key = prompt_key(example.prompt)
    return key if not example.images else key + "\x00" + ",".join(image_key(i) for i in example.images)


def pairs_from_ratings(rated: Iterable[RatedExample]) -> list[PreferenceExample]:
    """Preference pairs from pointwise ratings: every liked x disliked response to the same context (``group``), in
    order of first appearance; contexts rated only one way give no pair."""
    liked: dict[str, list[RatedExample]] = defaultdict(list)
    disliked: dict[str, list[RatedExample]] = defaultdict(list)
    for example in rated:
        (liked if example.label >= 0.5 else disliked)[example.group].append(example)
    pairs = []
    for group, good in liked.items():
        for g in good:
            for b in disliked.get(group, []):
                if g.response.strip() != b.response.strip():
                    pairs.append(PreferenceExample(g.prompt, g.response, b.response))
    return pairs


class Task:
    """A task: its schema, prompt format, metrics and (optionally) programmatic rewards.

    Subclasses implement the stage methods their data has and name their built-in samples in ``builtin`` (stage ->
    a source for :func:`perl_lightning.sources.iter_rows`). A stage a task has no data for raises a ``ValueError``
    that says which stages it has.
    """

    #: The name ``--task`` and ``task:`` accept.
    name: ClassVar[str] = ""
    #: Built-in sample per stage: ``{"sft": "builtin:summarization/sft", ...}``.
    builtin: ClassVar[dict[str, str]] = {}
    #: The split of the built-in data the DataModules evaluate on (``None``: a seeded fraction of the training rows).
    builtin_val_split: ClassVar[str | None] = None
    #: ``pairwise`` (preference pairs) or ``pointwise`` (rated responses) human feedback.
    feedback: ClassVar[Feedback] = "pairwise"
    #: A programmatic reward exact enough to train on without a reward model (``module:function``), per kind of RL
    #: prompt: ``{"steps": ..., "episodes": ...}``; ``perl pipeline`` uses it (``--rl-reward function``).
    programmatic_rewards: ClassVar[dict[str, str]] = {}
    #: Python reward functions this task offers (``module:function``), usable as ``rewards: [{source: ...}]``.
    reward_functions: ClassVar[tuple[str, ...]] = ()
    #: Prompts carry images: the stages need a vision-language model (``perl pipeline`` then defaults to the
    #: embedded ``smollm2-135m-vlm``).
    needs_images: ClassVar[bool] = False
    #: The task metric (a key of :meth:`evaluate`) that a run's summary reports for RL; ``None``: the held-out reward.
    headline_metric: ClassVar[str | None] = None
    #: A prompt-metadata field whose value splits held-out results into groups (screen family, question type): the
    #: RL evaluation's per-row records carry it as ``group``.
    group_by: ClassVar[str | None] = None

    # ---- stages (override the ones the task has) -----------------------------------------------------------------
    def demonstration(self, row: Row) -> Demonstration | None:
        """An SFT demonstration from one row."""
        raise self._no("sft")

    def preference(self, row: Row) -> PreferenceExample | None:
        """A preference pair from one row."""
        raise self._no("preference")

    def rated(self, row: Row) -> RatedExample | None:
        """A rated response from one row."""
        raise self._no("rated")

    def prompt(self, row: Row) -> PromptExample | None:
        """An RL prompt from one row (with the fields the task's rewards and metrics read)."""
        raise self._no("prompts")

    def environment(self, metadata: dict[str, Any]) -> Environment:
        """A multi-turn environment for one RL prompt's row (its metadata); tasks without episodes have none."""
        raise ValueError(f"task '{self.name}' has no multi-turn environment")

    def _no(self, stage: Stage) -> ValueError:
        return ValueError(f"task '{self.name}' has no {stage} examples (it has: {', '.join(self.stages())})")

    @classmethod
    def stages(cls) -> list[Stage]:
        """The stages this task has examples for."""
        methods = {"sft": "demonstration", "preference": "preference", "rated": "rated", "prompts": "prompt"}
        return [s for s, m in methods.items() if getattr(cls, m) is not getattr(Task, m)]  # type: ignore[misc]

    def source(self, stage: Stage, path: str | None) -> str:
        """``path``, or the task's built-in sample for ``stage`` when ``path`` is ``None``."""
        if path is not None:
            return path
        if stage not in self.builtin:
            raise ValueError(f"task '{self.name}' has no built-in {stage} data: give a path")
        return self.builtin[stage]

    # ---- evaluation ----------------------------------------------------------------------------------------------
    def evaluate(self, responses: Sequence[str], metadata: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor]:
        """Per-row task metrics of generated responses (``name -> (N,)`` float, NaN where a row lacks what the
        metric needs, e.g. a reference); the modules log their means as ``val/<name>``. None by default."""
        return {}

    def describe(self) -> str:
        """One line for logs: name, feedback kind and stages."""
        return f"{self.name} ({self.feedback} feedback; stages: {', '.join(self.stages())})"


def chat(prompt: Prompt) -> list[Message]:
    """A prompt as chat messages (a plain-text prompt is one user turn)."""
    return [{"role": "user", "content": prompt}] if isinstance(prompt, str) else [dict(m) for m in prompt]


__all__ = [
    "Demonstration",
    "EnvStep",
    "Environment",
    "Feedback",
    "PreferenceExample",
    "PromptExample",
    "RatedExample",
    "Stage",
    "Task",
    "chat",
    "distinct",
    "field_value",
    "first_field",
    "json_field",
    "number_field",
    "pairs_from_ratings",
    "prompt_key",
    "prompt_text",
    "row_identity",
    "split_key",
    "text_field",
    "where",
]
