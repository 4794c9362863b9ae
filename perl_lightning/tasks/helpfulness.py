"""Helpfulness: Stanford Human Preferences (SHP), Reddit questions with two answers ranked by the community.

Rows are SHP's: ``history`` (the question post), ``human_ref_A`` / ``human_ref_B`` (two top-level comments),
``labels`` (1 when A is preferred, 0 when B is), ``score_A`` / ``score_B`` and ``score_ratio``. ``labels`` decides
which comment is chosen (mapping the columns by hand without it swaps half the pairs). As in the SHP paper, pairs
whose score ratio is below ``min_score_ratio`` can be filtered out (ratio of the larger to the smaller score; the
row's ``score_ratio`` when present): the weaker the community's preference, the noisier the label.
"""

from __future__ import annotations

from typing import ClassVar

from perl_lightning.sources import DataError, Row
from perl_lightning.tasks.base import (
    Demonstration,
    PreferenceExample,
    PromptExample,
    Task,
    distinct,
    field_value,
    number_field,
    row_identity,
    text_field,
    where,
)


class Helpfulness(Task):
    """Stanford SHP helpfulness pairs.

    Args:
        min_score_ratio: keep only pairs whose score ratio is at least this (the SHP paper trains on ratio >= 2);
            ``None`` keeps every pair. Filtered rows are counted in the log, not errors.
    """

    name: ClassVar[str] = "helpfulness"
    builtin: ClassVar[dict[str, str]] = {
        "sft": "builtin:helpfulness/shp",
        "preference": "builtin:helpfulness/shp",
        "prompts": "builtin:helpfulness/shp",
    }

    def __init__(self, min_score_ratio: float | None = None) -> None:
        if min_score_ratio is not None and min_score_ratio < 1.0:
            raise ValueError(
                f"min_score_ratio is a ratio of the larger to the smaller score (>= 1), got {min_score_ratio}"
            )
        self.min_score_ratio = min_score_ratio

    def score_ratio(self, row: Row) -> float:
        """The row's ``score_ratio``, else ``max(score_A, score_B) / min(score_A, score_B)``."""
        if row.data.get("score_ratio") is not None:
            return number_field(row, "score_ratio")
        a, b = number_field(row, "score_A"), number_field(row, "score_B")
        if min(a, b) <= 0:
            raise DataError(f"{where(row, 'score_A')}/'score_B' must be positive to form a ratio, got {a} and {b}")
        return max(a, b) / min(a, b)

    def _label(self, row: Row) -> int:
        label = field_value(row, "labels")
        if isinstance(label, bool) or label not in (0, 1):
            raise DataError(f"{where(row, 'labels')} must be 1 (A preferred) or 0 (B preferred), got {label!r}")
        return int(label)

    def _pair(self, row: Row) -> PreferenceExample | None:
        question = text_field(row, "history")
        a, b = text_field(row, "human_ref_A"), text_field(row, "human_ref_B")
        label = self._label(row)
        if self.min_score_ratio is not None and self.score_ratio(row) < self.min_score_ratio:
            return None
        distinct(row, a, b, ("human_ref_A", "human_ref_B"))
        return PreferenceExample(question, a, b) if label == 1 else PreferenceExample(question, b, a)

    def preference(self, row: Row) -> PreferenceExample | None:
        """The question, the preferred comment (per ``labels``) and the other; ``None`` below the ratio filter."""
        return self._pair(row)

    def demonstration(self, row: Row) -> Demonstration | None:
        """The preferred comment as the answer to imitate (same filter)."""
        pair = self._pair(row)
        return Demonstration(pair.prompt, pair.chosen) if pair is not None else None

    def prompt(self, row: Row) -> PromptExample:
        """The question; ``post_id`` names the row and ``domain`` rides along."""
        return PromptExample(text_field(row, "history"), row_identity(row, "post_id"),
                             {"domain": row.data.get("domain")})  # fmt: skip
