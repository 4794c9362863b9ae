"""Toy verifiable rewards for tiny configs, tests and smoke runs (usable as ``rewards: [{source: ...}]``)."""

from __future__ import annotations

from collections.abc import Sequence


def newline_reward(completions: Sequence[str], **_: object) -> list[float]:
    """Number of line breaks per response: a dense reward even a tiny random policy can learn."""
    return [float(r.count("\n")) for r in completions]


def brevity_reward(completions: Sequence[str], **_: object) -> list[float]:
    """``-words / 10``: prefers short answers (watch it hack with empty responses)."""
    return [-len(r.split()) / 10 for r in completions]
