"""What a run measured, written for a reader: ``summary.json`` (one section per stage) and PNG plots.

A stage's section holds its held-out metric before and after training, measured on the same held-out items, so the
standard error is that of the paired difference: ``sd(after_i - before_i) / sqrt(n)`` (items both versions get right,
or both wrong, add no noise). ``perl pipeline`` fills it; notebooks and benchmarks can call the same functions.

Plots are drawn with matplotlib's object API on an Agg canvas (no display and no global pyplot state).
"""

from __future__ import annotations

import csv
import json
import math
import textwrap
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from perl_lightning.io import atomic_write

#: the RL stage's logged training curves: CSV column -> plot title
CURVES = {"rl/reward_mean": "reward (train)", "rl/kl": "KL to the reference", "rl/response_length": "response tokens"}


@dataclass
class Paired:
    """Means of one metric before and after, on the same ``n`` items, and the standard error of their difference."""

    before: float
    after: float
    stderr: float
    n: int

    @property
    def diff(self) -> float:
        """``after - before``."""
        return self.after - self.before

    @property
    def diff_in_se(self) -> float:
        """The difference in standard errors (infinite when every item moved by the same amount)."""
        if self.stderr > 0:
            return self.diff / self.stderr
        return 0.0 if self.diff == 0 else math.copysign(math.inf, self.diff)


def paired(before: Sequence[float], after: Sequence[float]) -> Paired:
    """The paired comparison of per-item values (``before[i]`` and ``after[i]`` are the same item).

    Raises:
        ValueError: on different lengths or no items.
    """
    if len(before) != len(after) or not before:
        raise ValueError(f"paired values need the same, non-zero number of items (got {len(before)} and {len(after)})")
    n = len(before)
    diffs = [b - a for a, b in zip(before, after, strict=True)]
    mean = sum(diffs) / n
    var = sum((d - mean) ** 2 for d in diffs) / (n - 1) if n > 1 else 0.0
    return Paired(sum(before) / n, sum(after) / n, math.sqrt(var / n), n)


@dataclass
class StageSummary:
    """One stage's section of ``summary.json``.

    Attributes:
        metric: the held-out metric's name (e.g. ``pairwise_accuracy``, ``exact_action``).
        metric_before: its mean before the stage trained (the stage's starting model).
        metric_after: its mean after.
        stderr: standard error of the paired difference.
        n_heldout: held-out items measured.
        seconds: wall time of the stage, evaluations included.
        peak_rss_gib: peak resident memory of the process during the stage.
        kl: RL only: the mean KL of the final policy to its reference on the held-out prompts.
        extra: other figures of the stage (steps, the other metrics, ...).
    """

    metric: str
    metric_before: float
    metric_after: float
    stderr: float
    n_heldout: int
    seconds: float
    peak_rss_gib: float | None
    kl: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_paired(cls, metric: str, values: Paired, seconds: float, peak_rss_gib: float | None,
                    **kwargs: Any) -> StageSummary:  # fmt: skip
        """A section from a :class:`Paired` comparison."""
        return cls(metric, values.before, values.after, values.stderr, values.n, seconds, peak_rss_gib, **kwargs)

    @property
    def diff_in_se(self) -> float:
        """``(metric_after - metric_before) / stderr``."""
        return Paired(self.metric_before, self.metric_after, self.stderr, self.n_heldout).diff_in_se

    def to_json(self) -> dict[str, Any]:
        """The section as written: the fields (``kl`` only when set), ``diff_in_se``, then ``extra``."""
        out = {k: v for k, v in asdict(self).items() if k != "extra" and not (k == "kl" and v is None)}
        return {**out, "diff_in_se": _finite(self.diff_in_se), **self.extra}


def _finite(value: float) -> float | str:
    return value if math.isfinite(value) else str(value)  # JSON has no inf


def write_summary(path: Path, stages: dict[str, StageSummary], **info: Any) -> Path:
    """Write ``summary.json`` atomically: ``info`` (task, model, ...) and one section per stage, in order."""
    body = {**info, **{name: stage.to_json() for name, stage in stages.items()}}
    atomic_write(path, json.dumps(body, indent=2, default=str) + "\n")
    return path


def read_curves(metrics_csv: Path, columns: Sequence[str] = tuple(CURVES)) -> dict[str, list[tuple[int, float]]]:
    """``column -> [(step, value)]`` of a CSVLogger ``metrics.csv`` (rows where the column has a value)."""
    curves: dict[str, list[tuple[int, float]]] = {c: [] for c in columns}
    with open(metrics_csv, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            for column in columns:
                if row.get(column):
                    curves[column].append((int(float(row.get("step") or 0)), float(row[column])))
    return curves


def plot_curves(curves: dict[str, list[tuple[int, float]]], path: Path, title: str = "RL training") -> Path:
    """One panel per curve (step on x), written as a PNG."""
    shown = {k: v for k, v in curves.items() if v}
    fig = Figure(figsize=(4 * max(len(shown), 1), 3.2), layout="constrained")
    axes = fig.subplots(1, max(len(shown), 1), squeeze=False)[0]
    for ax, (column, points) in zip(axes, shown.items(), strict=False):
        ax.plot([s for s, _ in points], [v for _, v in points], marker=".", linewidth=1)
        ax.set_title(CURVES.get(column, column), fontsize=10)
        ax.set_xlabel("optimizer step")
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=11)
    return save_figure(fig, path)


def plot_before_after(stages: dict[str, StageSummary], path: Path) -> Path:
    """One panel per stage: its held-out metric before and after, the after bar with +-2 standard errors of the
    paired difference."""
    fig = Figure(figsize=(3.2 * max(len(stages), 1), 3.4), layout="constrained")
    axes = fig.subplots(1, max(len(stages), 1), squeeze=False)[0]
    for ax, (name, stage) in zip(axes, stages.items(), strict=False):
        ax.bar([0, 1], [stage.metric_before, stage.metric_after], color=["#9aa5b1", "#2f6fb0"],
               yerr=[0.0, 2 * stage.stderr], capsize=6)  # fmt: skip
        ax.set_xticks([0, 1], ["before", "after"])
        ax.set_title(f"{name}: {stage.metric}\n{stage.diff_in_se:+.1f} SE, n={stage.n_heldout}", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("held-out metric per stage (error bar: 2 SE of the paired difference)", fontsize=10)
    return save_figure(fig, path)


def paired_by_group(records: Sequence[dict[str, Any]], metric: str) -> dict[str, Paired]:
    """The paired comparison of ``metric`` (initial policy: ``<metric>_initial``) per ``group`` of the RL stage's
    per-row records (``RLStageResult.records``; the task's ``group_by``), then over every row as ``"all"``. Rows
    without the metric (NaN, or absent) are left out; groups with no rows too."""
    rows: dict[str, list[tuple[float, float]]] = {}
    for r in records:
        before, after = r.get(f"{metric}_initial", math.nan), r.get(metric, math.nan)
        if math.isfinite(before) and math.isfinite(after):
            for group in (str(r.get("group", "")), "all"):
                rows.setdefault(group, []).append((before, after))
    rows.pop("", None)
    ordered = sorted(k for k in rows if k != "all") + (["all"] if "all" in rows else [])
    return {k: paired([b for b, _ in rows[k]], [a for _, a in rows[k]]) for k in ordered}


def plot_groups(groups: dict[str, Paired], path: Path, metric: str, title: str = "held-out, before and after") -> Path:
    """Before / after bars of one metric per group (screen family, question type), the after bar with +-2 standard
    errors of the paired difference, written as a PNG."""
    fig = Figure(figsize=(max(4.0, 1.3 * len(groups) + 1.5), 3.4), layout="constrained")
    ax = fig.subplots()
    xs = list(range(len(groups)))
    ax.bar([x - 0.2 for x in xs], [g.before for g in groups.values()], width=0.4, color="#9aa5b1", label="before")
    ax.bar([x + 0.2 for x in xs], [g.after for g in groups.values()], width=0.4, color="#2f6fb0", label="after",
           yerr=[2 * g.stderr for g in groups.values()], capsize=4)  # fmt: skip
    ax.set_xticks(xs, [f"{k}\nn={g.n}" for k, g in groups.items()], fontsize=8)
    ax.set_ylabel(metric)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title, fontsize=10)
    return save_figure(fig, path)


def plot_reward_scores(
    scores: Sequence[tuple[float, float]], path: Path, objective: str = "pairwise", title: str = "held-out rewards"
) -> Path:  # fmt: skip
    """Histograms of a reward model's held-out rewards (``RewardStageResult.scores_after``): chosen vs rejected
    responses (``pairwise``: items are (chosen, rejected)) or liked vs disliked (``pointwise``: (reward, label)),
    and of the pairs' margins; written as a PNG."""
    if not scores:
        raise ValueError("no held-out rewards to plot")
    if objective == "pairwise":
        good, bad = [c for c, _ in scores], [r for _, r in scores]
        names, margins = ("chosen", "rejected"), [c - r for c, r in scores]
    else:
        good, bad = [s for s, y in scores if y >= 0.5], [s for s, y in scores if y < 0.5]
        names, margins = ("liked", "disliked"), []
    fig = Figure(figsize=(8.0 if margins else 4.5, 3.2), layout="constrained")
    axes = fig.subplots(1, 2 if margins else 1, squeeze=False)[0]
    bins = 30
    for values, name, color in ((good, names[0], "#2f6fb0"), (bad, names[1], "#c0504d")):
        axes[0].hist(values, bins=bins, alpha=0.6, color=color, label=f"{name} (n={len(values)})")
    axes[0].set_xlabel("reward")
    axes[0].legend(fontsize=8)
    axes[0].set_title(title, fontsize=10)
    if margins:
        axes[1].hist(margins, bins=bins, color="#6a9f58")
        axes[1].axvline(0.0, color="black", linewidth=1)
        right = sum(m > 0 for m in margins) / len(margins)
        axes[1].set_title(f"chosen - rejected ({right:.0%} of pairs > 0)", fontsize=10)
        axes[1].set_xlabel("margin")
    return save_figure(fig, path)


def samples_markdown(samples: Sequence[dict[str, Any]], n: int = 4, prompt_chars: int = 400) -> str:
    """A markdown table of held-out samples (``RLStageResult.samples``): the prompt's end (where a question or goal
    is), the initial policy's response and the trained one's, each with its reward."""

    def cell(text: Any, limit: int | None = None, tail: bool = False) -> str:
        flat = " ".join(str(text).split())
        if limit is not None and len(flat) > limit:
            flat = "..." + flat[3 - limit :] if tail else flat[: limit - 3] + "..."
        return flat.replace("|", "\\|")

    lines = ["| prompt (its end) | before | after |", "|---|---|---|"]
    for s in samples[:n]:
        before = f"{cell(s['before'])} ({float(s['reward_before']):+.2f})"
        after = f"{cell(s['after'])} ({float(s['reward_after']):+.2f})"
        lines.append(f"| {cell(s['prompt'], prompt_chars, tail=True)} | {before} | {after} |")
    return "\n".join(lines)


def plot_image_samples(samples: Sequence[dict[str, Any]], path: Path, n: int = 6, question_chars: int = 120) -> Path:
    """Held-out samples of a vision-language policy (``RLStageResult.samples`` with an ``image``): each image with
    the prompt's last ``question_chars`` characters (the question and any answer instruction, wrapped), the initial
    policy's answer and the trained one's; written as a PNG.

    Raises:
        ValueError: no sample carries an image.
    """
    shown = [s for s in samples if s.get("image") is not None][:n]
    if not shown:
        raise ValueError("no sample carries an image (a vision-language policy's samples do)")
    cols = min(3, len(shown))
    rows = math.ceil(len(shown) / cols)
    fig = Figure(figsize=(3.4 * cols, 4.0 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, s in zip(axes, shown, strict=False):
        ax.imshow(s["image"])
        question = textwrap.fill(" ".join(str(s["prompt"]).split())[-question_chars:], 48)
        before, after = " ".join(str(s["before"]).split())[:30], " ".join(str(s["after"]).split())[:30]
        ax.set_title(f"{question}\nbefore: {before} ({float(s['reward_before']):+.2f})\n"
                     f"after: {after} ({float(s['reward_after']):+.2f})", fontsize=7)  # fmt: skip
    for ax in axes:
        ax.set_axis_off()
    return save_figure(fig, path)


def save_figure(fig: Figure, path: Path) -> Path:
    """Write ``fig`` as a PNG at ``path``, its folder made, through a temporary file and a rename (atomic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    tmp.replace(path)
    return path
