"""Summarization: Reddit TL;DR, with OpenAI's summarize-from-feedback human comparisons.

Preference rows come in the comparisons schema (``info.{post, title, subreddit}``, ``summaries[].text``, ``choice``
indexing the preferred summary) or the flat layout hub copies use (``{prompt, chosen, rejected}``, the prompt
already in TL;DR format, the summaries possibly starting with ``TL;DR:``). Demonstrations are ``{post | prompt,
summary | label}`` (with ``title`` and ``subreddit`` when present). The prompt is the TL;DR format::

    SUBREDDIT: r/<subreddit>
    TITLE: <title>
    POST: <post>
    TL;DR:

as one user turn. Generated summaries are scored with ROUGE-1/2/L (torchmetrics) against the row's reference summary
where it has one; ``rouge_l_reward`` offers the same as a programmatic reward.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torchmetrics.functional.text.rouge import rouge_score

from perl_lightning.sources import DataError, Row
from perl_lightning.tasks.base import (
    Demonstration,
    PreferenceExample,
    PromptExample,
    Task,
    distinct,
    field_value,
    first_field,
    row_identity,
    text_field,
    where,
)

TLDR = "TL;DR:"
ROUGE_KEYS = ("rouge1", "rouge2", "rougeL")


def tldr_prompt(post: str, title: str | None = None, subreddit: str | None = None) -> str:
    """The TL;DR prompt of a post (the lines without a value are left out)."""
    lines = []
    if subreddit:
        lines.append(f"SUBREDDIT: r/{subreddit.strip().removeprefix('r/')}")
    if title:
        lines.append(f"TITLE: {title.strip()}")
    lines.append(f"POST: {post.strip()}")
    return "\n".join(lines) + f"\n{TLDR}"


def strip_tldr(summary: str) -> str:
    """A summary without a leading ``TL;DR:`` (hub copies keep it in the response)."""
    text = summary.strip()
    return text[len(TLDR) :].strip() if text.upper().startswith(TLDR.upper()) else text


def _optional(row: Row, field: str) -> str | None:
    value: Any = row.data
    for part in field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value if isinstance(value, str) and value.strip() else None


class Summarization(Task):
    """Reddit TL;DR summarization (OpenAI summarize-from-feedback comparisons; TL;DR SFT rows).

    Args:
        max_post_words: keep at most this many words of a post (its start; ``None``: all), so the prompt's
            subreddit and title survive the DataModule's token budget, which cuts prompts from the start.
    """

    name: ClassVar[str] = "summarization"
    builtin: ClassVar[dict[str, str]] = {
        "sft": "builtin:summarization/sft",
        "preference": "builtin:summarization/comparisons",
        "prompts": "builtin:summarization/sft",
    }
    reward_functions: ClassVar[tuple[str, ...]] = ("perl_lightning.tasks.summarization:rouge_l_reward",)
    headline_metric: ClassVar[str | None] = "rougeL"

    def __init__(self, max_post_words: int | None = 300) -> None:
        if max_post_words is not None and max_post_words < 1:
            raise ValueError(f"max_post_words must be >= 1 or None, got {max_post_words}")
        self.max_post_words = max_post_words

    def _post(self, row: Row, field: str) -> str:
        words = text_field(row, field).split()
        return " ".join(words[: self.max_post_words] if self.max_post_words else words)

    def _prompt(self, row: Row) -> str:
        """The TL;DR prompt of a comparisons row (``info.*``), a post row, or a row whose ``prompt`` is one."""
        if "info" in row.data:
            return tldr_prompt(self._post(row, "info.post"), _optional(row, "info.title"),
                               _optional(row, "info.subreddit"))  # fmt: skip
        field = first_field(row, ("post", "prompt"))
        if field == "prompt":
            prompt = text_field(row, "prompt").rstrip()
            return prompt if prompt.endswith(TLDR) else tldr_prompt(prompt)
        return tldr_prompt(self._post(row, "post"), _optional(row, "title"), _optional(row, "subreddit"))

    def preference(self, row: Row) -> PreferenceExample:
        """A comparisons row (``choice`` indexes the preferred of two ``summaries``), or ``{prompt, chosen,
        rejected}``."""
        if "summaries" not in row.data and "chosen" in row.data:
            chosen, rejected = strip_tldr(text_field(row, "chosen")), strip_tldr(text_field(row, "rejected"))
            for field, value in (("chosen", chosen), ("rejected", rejected)):
                if not value:
                    raise DataError(f"{where(row, field)} is empty after its 'TL;DR:'")
            distinct(row, chosen, rejected, ("chosen", "rejected"))
            return PreferenceExample(self._prompt(row), chosen, rejected)
        summaries = field_value(row, "summaries")
        if not isinstance(summaries, list) or len(summaries) != 2:
            raise DataError(f"{where(row, 'summaries')} must be a list of two summaries, got {summaries!r:.80}")
        texts = []
        for i, item in enumerate(summaries):
            text = item.get("text") if isinstance(item, dict) else None
            if not isinstance(text, str) or not text.strip():
                raise DataError(f"{where(row, f'summaries[{i}].text')} is missing or empty")
            texts.append(strip_tldr(text))
        choice = field_value(row, "choice")
        if isinstance(choice, bool) or choice not in (0, 1):
            raise DataError(
                f"{where(row, 'choice')} must be 0 or 1 (the index of the preferred summary), got {choice!r}"
            )
        distinct(row, texts[0], texts[1], ("summaries[0].text", "summaries[1].text"))
        return PreferenceExample(self._prompt(row), texts[choice], texts[1 - choice])

    def demonstration(self, row: Row) -> Demonstration:
        """``{post | prompt, summary | label}``."""
        return Demonstration(self._prompt(row), strip_tldr(text_field(row, first_field(row, ("summary", "label")))))

    def prompt(self, row: Row) -> PromptExample:
        """The TL;DR prompt; the reference summary (``summary`` / ``label``) rides along as ``reference`` for ROUGE
        (comparisons rows have none)."""
        meta: dict[str, Any] = {}
        for field in ("summary", "label"):
            if isinstance(row.data.get(field), str) and row.data[field].strip():
                meta["reference"] = strip_tldr(row.data[field])
                break
        ident = row.data.get("info", {}).get("id") if isinstance(row.data.get("info"), dict) else None
        return PromptExample(self._prompt(row), str(ident) if ident else row_identity(row), meta)

    def evaluate(self, responses: Sequence[str], metadata: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor]:
        """ROUGE-1/2/L F-measure against the reference (NaN without one) and the summary's length in words."""
        scores = {key: [] for key in ROUGE_KEYS}
        for response, meta in zip(responses, metadata, strict=True):
            values = rouge_pair(response, meta.get("reference"))
            for key in ROUGE_KEYS:
                scores[key].append(values[key] if values else float("nan"))
        out = {key: torch.tensor(v, dtype=torch.float32) for key, v in scores.items()}
        out["summary_words"] = torch.tensor([float(len(r.split())) for r in responses])
        return out


def rouge_pair(summary: str, reference: str | None) -> dict[str, float] | None:
    """ROUGE-1/2/L F-measures of one summary against one reference (``None`` without a reference)."""
    if not reference:
        return None
    if not summary.strip():
        return dict.fromkeys(ROUGE_KEYS, 0.0)
    values = rouge_score(strip_tldr(summary), reference, rouge_keys=ROUGE_KEYS)
    return {key: float(values[f"{key}_fmeasure"]) for key in ROUGE_KEYS}


def rouge_l_reward(
    completions: Sequence[str], reference: Sequence[str | None] | None = None, **_: Any
) -> list[float | None]:
    """ROUGE-L F-measure against the row's reference summary, as a reward (``None`` for rows without one)."""
    references = reference or [None] * len(completions)
    out: list[float | None] = []
    for text, ref in zip(completions, references, strict=True):
        values = rouge_pair(text, ref)
        out.append(values["rougeL"] if values else None)
    return out
