"""MemoryMonitor: peak memory, time and token throughput of each phase of a training step, and a summary table."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_only, rank_zero_warn

from perl_lightning.models.adapters import count_parameters
from perl_lightning.profiling import GIB, PhaseMeter, PhaseStats, StepSummary

#: Columns of ``MemoryMonitor.summary`` (and of the printed / W&B table).
SUMMARY_COLUMNS = ["phase", "steps", "mean_s", "max_s", "peak_rss_gib", "peak_cuda_alloc_gib", "tokens_per_s"]
_HEADERS = ["phase", "steps", "mean s", "max s", "peak RSS GiB", "peak CUDA alloc GiB", "tokens/s"]


def _gib(value: int | None) -> float | None:
    return None if value is None else value / GIB


def _max(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


class MemoryMonitor(L.Callback):
    """Log the peak memory and wall time of each phase of a training step, tokens/s, and the parameter counts.

    The module measures its own phases with a ``perl_lightning.profiling.PhaseMeter`` held as ``pl_module.meter``
    (``RewardModelModule``: one phase ``step``; ``PolicyModule``: ``rollout``, ``scoring``, ``reference``,
    ``update``) and counts the tokens each step processes; this callback switches the meter's memory tracking on
    for the fit and, every ``log_every_n_steps`` training batches, sends to the loggers (at the step Lightning logs
    that batch's metrics at, as ``DeviceStatsMonitor`` does):

    * ``memory/<phase>/rss_peak_gib``: peak resident memory of the process during the phase (see
      ``perl_lightning.profiling`` for how it is measured on each system);
    * ``memory/<phase>/cuda_allocated_gib`` and ``memory/<phase>/cuda_reserved_gib``: peak CUDA memory allocated
      by tensors / reserved by the caching allocator during the phase (only when CUDA is present);
    * ``time/<phase>_s`` and ``time/tokens_per_s`` (unless the module already logged them itself, as
      ``PolicyModule`` does); tokens/s is the step's tokens over the wall time of its phases;

    plus ``params/trainable`` and ``params/total`` once at the start of training. At the end of training it prints
    (rank zero) a table, phase | steps | mean s | max s | peak RSS GiB | peak CUDA alloc GiB | tokens/s, with a
    ``total`` row for whole steps, keeps it as ``summary`` (a list of dicts keyed by ``SUMMARY_COLUMNS``) and logs
    it as the W&B table ``memory/summary`` when a logger is a ``WandbLogger``.

    Lightning's ``ThroughputMonitor`` and ``DeviceStatsMonitor`` are not reused: both look at a step from outside
    (whole batches, including data loading and hooks; device statistics sampled at batch boundaries, CPU statistics
    system-wide), while the costs worth knowing here are per phase inside one step (generation vs scoring vs the
    update) and the tokens of an RL step are mostly generated inside it, not found in the input batch.

    Args:
        log_every_n_steps: log the per-step metrics every n training batches; ``None`` follows the trainer's
            ``log_every_n_steps`` (0 there: no per-step metrics). The summary uses every step either way.
        track_rss: measure the peak process RSS of each phase.
        track_cuda: measure peak CUDA memory of each phase (ignored without CUDA).
        print_summary: print the summary table at the end of training.
    """

    def __init__(
        self,
        log_every_n_steps: int | None = None,
        track_rss: bool = True,
        track_cuda: bool = True,
        print_summary: bool = True,
    ) -> None:
        super().__init__()
        if log_every_n_steps is not None and log_every_n_steps < 1:
            raise ValueError(f"MemoryMonitor: log_every_n_steps must be >= 1, got {log_every_n_steps}")
        self.log_every_n_steps = log_every_n_steps
        self.track_rss = track_rss
        self.track_cuda = track_cuda
        self.print_summary = print_summary
        self.summary: list[dict[str, Any]] = []
        self.tokens_per_s: float | None = None
        self.params: dict[str, int] = {}
        self._previous: tuple[bool, bool] | None = None
        self._reset_records()

    def _reset_records(self) -> None:
        self._phases: dict[str, list[PhaseStats]] = {}
        self._steps: list[StepSummary] = []

    @staticmethod
    def _log_step(trainer: L.Trainer) -> int:
        """The step at which Lightning logs the current training batch's metrics (batches that stepped so far)."""
        return trainer.fit_loop.epoch_loop._batches_that_stepped

    @staticmethod
    def _meter(pl_module: L.LightningModule) -> PhaseMeter | None:
        meter = getattr(pl_module, "meter", None)
        return meter if isinstance(meter, PhaseMeter) else None

    # ---- hooks ---------------------------------------------------------------------------------------------------
    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        meter = self._meter(pl_module)
        if stage != "fit":
            return
        if meter is None:
            rank_zero_warn(f"MemoryMonitor: {type(pl_module).__name__} has no PhaseMeter `meter`; logging params only")
            return
        self._previous = (meter.track_rss, meter.track_cuda)
        meter.track_rss, meter.track_cuda = self.track_rss, self.track_cuda

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        meter = self._meter(pl_module)
        if stage == "fit" and meter is not None and self._previous is not None:
            meter.track_rss, meter.track_cuda = self._previous
            self._previous = None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._reset_records()
        self.summary, self.tokens_per_s = [], None
        trainable, total = count_parameters(pl_module)
        self.params = {"params/trainable": trainable, "params/total": total}
        for logger in trainer.loggers:
            logger.log_metrics(dict(self.params), step=self._log_step(trainer))

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        meter = self._meter(pl_module)
        if meter is None:
            return
        step = meter.step_summary()
        if not step.phases:
            return
        self._steps.append(step)
        for name, stats in step.phases.items():
            self._phases.setdefault(name, []).append(stats)
        log_step, every = self._log_step(trainer), self.log_every_n_steps or trainer.log_every_n_steps
        if every and ((log_step + 1) % every == 0 or trainer.should_stop):  # Lightning's rule for its step metrics
            metrics = self.step_metrics(step)
            for logger in trainer.loggers:
                logger.log_metrics(metrics, step=log_step)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self._steps:
            return
        meter = self._meter(pl_module)
        self.summary = self.summarize()
        self.tokens_per_s = self.summary[-1]["tokens_per_s"]
        method = meter.rss_method if meter is not None and self.track_rss else None
        self._report(trainer, method)

    # ---- metrics and the summary ---------------------------------------------------------------------------------
    def step_metrics(self, step: StepSummary) -> dict[str, float]:
        """The metrics logged for one step: peaks per phase in GiB and, unless the module logged them, times."""
        metrics: dict[str, float] = {}
        for name, stats in step.phases.items():
            for key, value in (
                ("rss_peak_gib", stats.rss_peak),
                ("cuda_allocated_gib", stats.cuda_allocated_peak),
                ("cuda_reserved_gib", stats.cuda_reserved_peak),
            ):
                if value is not None:
                    metrics[f"memory/{name}/{key}"] = value / GIB
        if not step.time_logged:
            metrics.update({f"time/{name}_s": stats.seconds for name, stats in step.phases.items()})
            metrics["time/tokens_per_s"] = step.tokens_per_s
        return metrics

    def summarize(self) -> list[dict[str, Any]]:
        """One row per phase (in first-seen order) and a ``total`` row for whole steps, keyed by ``SUMMARY_COLUMNS``.

        ``mean_s`` / ``max_s`` are over the steps in which the phase ran (a phase's time within a step is summed
        over its entries); peaks are maxima over those steps, in GiB (``None`` when not measured); ``tokens_per_s``
        (``total`` row only) is all tokens over all measured step time.
        """
        rows = []
        for name, records in self._phases.items():
            seconds = [r.seconds for r in records]
            rows.append({
                "phase": name, "steps": len(records), "mean_s": sum(seconds) / len(seconds), "max_s": max(seconds),
                "peak_rss_gib": _gib(_max([r.rss_peak for r in records])),
                "peak_cuda_alloc_gib": _gib(_max([r.cuda_allocated_peak for r in records])),
                "tokens_per_s": None,
            })  # fmt: skip
        seconds = [s.seconds for s in self._steps]
        total_s = sum(seconds)
        rows.append({
            "phase": "total", "steps": len(self._steps), "mean_s": total_s / len(seconds), "max_s": max(seconds),
            "peak_rss_gib": _max([r["peak_rss_gib"] for r in rows]),
            "peak_cuda_alloc_gib": _max([r["peak_cuda_alloc_gib"] for r in rows]),
            "tokens_per_s": sum(s.tokens for s in self._steps) / total_s if total_s > 0 else 0.0,
        })  # fmt: skip
        return rows

    @staticmethod
    def format_table(rows: list[dict[str, Any]]) -> str:
        """The summary rows as a plain-text table (``-`` where a value was not measured)."""

        def cell(value: Any) -> str:
            if value is None:
                return "-"
            return f"{value:.3f}" if isinstance(value, float) else str(value)

        cells = [_HEADERS, *[[cell(row[c]) for c in SUMMARY_COLUMNS] for row in rows]]
        widths = [max(len(line[i]) for line in cells) for i in range(len(_HEADERS))]
        lines = [
            " | ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(line, widths, strict=True)))
            for line in cells
        ]
        lines.insert(1, "-+-".join("-" * w for w in widths))
        return "\n".join(lines)

    @rank_zero_only
    def _report(self, trainer: L.Trainer, rss_method: str | None) -> None:
        if self.print_summary:
            how = f", peak RSS by {rss_method}" if rss_method else ""
            cuda = "" if torch.cuda.is_available() else ", no CUDA"
            print(f"MemoryMonitor: {len(self._steps)} training steps{how}{cuda}")
            print(self.format_table(self.summary), flush=True)
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                data = [[row[c] for c in SUMMARY_COLUMNS] for row in self.summary]
                logger.log_table(key="memory/summary", columns=SUMMARY_COLUMNS, data=data)
