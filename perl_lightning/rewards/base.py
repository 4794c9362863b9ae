"""The reward protocol every source follows, and the error a broken source raises.

A reward source is called with a :class:`~perl_lightning.rl.types.Rollout` (prompts, responses, token ids, and the
rows' ``row_ids`` and ``metadata``: the task's extra fields such as a gold answer) and returns one float32 score per
response, ``NaN`` where the source does not apply to that row (a Python reward function says so with ``None``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import torch

from perl_lightning.rl.types import Rollout, prompt_text


@runtime_checkable
class RewardSource(Protocol):
    """Anything with a ``name`` that maps a rollout to scores (N,), NaN where it does not apply."""

    name: str

    def __call__(self, rollout: Rollout) -> torch.Tensor: ...


class RewardError(RuntimeError):
    """A reward source failed, returned the wrong number of scores, or a non-finite score; names source and row."""


def describe_row(rollout: Rollout, i: int) -> str:
    """``row <id> (prompt '...')`` for error messages."""
    row = rollout.row_ids[i] if rollout.row_ids else f"#{i} of the batch"
    prompt = " ".join(prompt_text(rollout.prompts[i]).split())
    return f"row {row} (prompt {prompt[:60] + ('...' if len(prompt) > 60 else '')!r})"


def check_scores(name: str, scores: Sequence[float | None] | torch.Tensor, rollout: Rollout) -> torch.Tensor:
    """Scores as float32 (N,) with NaN for ``None``; raise :class:`RewardError` naming the source and the row for a
    wrong count or a non-finite value (``None`` is the way to say "not applicable", never NaN or inf)."""
    n = len(rollout.responses)
    values = scores.detach().float().cpu().tolist() if isinstance(scores, torch.Tensor) else list(scores)
    if len(values) != n:
        first = describe_row(rollout, 0) if n else "an empty batch"
        raise RewardError(f"reward '{name}' returned {len(values)} scores for {n} responses (batch from {first})")
    out = []
    for i, v in enumerate(values):
        if v is None:
            out.append(float("nan"))
            continue
        try:
            f = float(v)
        except (TypeError, ValueError) as err:
            raise RewardError(f"reward '{name}' returned {v!r} for {describe_row(rollout, i)}: not a number") from err
        if not math.isfinite(f):
            raise RewardError(
                f"reward '{name}' returned a non-finite score {f} for {describe_row(rollout, i)}; "
                "return None for a response the reward does not apply to"
            )
        out.append(f)
    return torch.tensor(out, dtype=torch.float32)
