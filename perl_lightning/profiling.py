"""A small phase meter: wall time, peak process RSS and peak CUDA memory of named phases of a training step.

Pure Python + torch (no Lightning), so the math-free parts of a module can say ``with self.meter.phase("rollout"):``
and a callback (``perl_lightning.callbacks.memory.MemoryMonitor``) can read ``step_summary()`` after each step.

Peak RSS, by the first method that works (``PhaseMeter.rss_method``):

* ``clear_refs`` (Linux): at phase start write ``5`` to ``/proc/self/clear_refs``, which resets the kernel's RSS
  high-water mark to the current RSS; at phase end read ``VmHWM`` from ``/proc/self/status``. Exact (every page the
  kernel counted), no thread, a few microseconds per phase.
* ``sampler`` (``clear_refs`` not writable, e.g. some containers, or no ``/proc`` but ``psutil`` installed): a daemon
  thread reads the current RSS every ``sample_interval_s`` during the phase, plus once at its start and end. Light,
  but it can miss a peak shorter than the interval.
* ``ru_maxrss`` (neither available): ``resource.getrusage`` high-water mark. It cannot be reset, so a phase reports
  the process's peak so far, not its own.

CUDA (when ``track_cuda`` and a GPU is present): ``torch.cuda.reset_peak_memory_stats()`` at phase start,
``max_memory_allocated()`` / ``max_memory_reserved()`` at phase end; the device is synchronised at both ends so the
phase's wall time includes its kernels.

Nested phases are handled: before an inner phase resets a high-water mark, the mark so far is folded into every open
phase, and the inner phase's peak counts for the outer ones too. A phase entered several times in one step adds up
its time and keeps the largest peak. Memory figures are absolute process / device peaks (bytes), not increments.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from time import perf_counter
from typing import Literal

import psutil
import torch

try:  # POSIX only
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]

RssMethod = Literal["clear_refs", "sampler", "ru_maxrss"]
GIB = 1024**3
_STATUS = "/proc/self/status"
_CLEAR_REFS = "/proc/self/clear_refs"


@dataclass
class PhaseStats:
    """What one phase cost within a step (memory fields are ``None`` when not tracked).

    Attributes:
        seconds: wall time, summed over the phase's entries in the step.
        calls: how many times the phase was entered in the step.
        rss_peak: peak process resident set size during the phase, bytes.
        cuda_allocated_peak: peak memory allocated by torch tensors on the current CUDA device, bytes.
        cuda_reserved_peak: peak memory reserved by torch's CUDA caching allocator, bytes.
    """

    seconds: float = 0.0
    calls: int = 0
    rss_peak: int | None = None
    cuda_allocated_peak: int | None = None
    cuda_reserved_peak: int | None = None


@dataclass
class StepSummary:
    """One step as measured by a ``PhaseMeter``.

    Attributes:
        phases: phase name -> its ``PhaseStats``, in the order the phases were first entered.
        tokens: tokens the step processed (``PhaseMeter.add_tokens``).
        seconds: wall time of the step's outermost phases (nested phases are not counted twice).
        time_logged: the module already logged ``time_metrics()`` for this step (a callback need not).
    """

    phases: dict[str, PhaseStats] = field(default_factory=dict)
    tokens: int = 0
    seconds: float = 0.0
    time_logged: bool = False

    @property
    def tokens_per_s(self) -> float:
        """Tokens per second of measured phase time (0 when nothing was measured)."""
        return self.tokens / self.seconds if self.seconds > 0 else 0.0


def _read_status_kib(field_name: str) -> int | None:
    try:
        with open(_STATUS, encoding="ascii") as handle:
            for line in handle:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])  # "VmHWM:   123456 kB"
    except OSError:
        return None
    return None


def current_rss() -> int | None:
    """Current resident set size of this process in bytes (``/proc`` or ``psutil``), ``None`` if unknown."""
    kib = _read_status_kib("VmRSS")
    if kib is not None:
        return kib * 1024
    return int(psutil.Process().memory_info().rss)


def _ru_maxrss() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024  # macOS: bytes; Linux: KiB


def _clear_refs_works() -> bool:
    try:
        with open(_CLEAR_REFS, "w", encoding="ascii") as handle:
            handle.write("5")
    except OSError:
        return False
    return _read_status_kib("VmHWM") is not None


def detect_rss_method() -> RssMethod:
    """The best peak-RSS method this process may use (see the module docstring)."""
    if _clear_refs_works():
        return "clear_refs"
    if current_rss() is not None:
        return "sampler"
    return "ru_maxrss"


class _Sampler:
    """A daemon thread keeping the largest current RSS it saw until ``stop()``."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self.peak = current_rss() or 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="perl-rss-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(self.interval_s):
            self.peak = max(self.peak, current_rss() or 0)

    def take(self) -> int:
        """The peak so far, including a reading now."""
        self.peak = max(self.peak, current_rss() or 0)
        return self.peak

    def stop(self) -> int:
        self._done.set()
        self._thread.join()
        return self.take()


class PhaseMeter:
    """Wall time and (optionally) peak memory of named phases, accumulated per step.

    Usage::

        meter.reset()                      # at the start of a step
        with meter.phase("rollout"):
            ...
        meter.add_tokens(n)
        summary = meter.step_summary()     # what the callback reads after the step

    Args:
        track_rss: record the peak process RSS of each phase (``MemoryMonitor`` switches this on).
        track_cuda: record peak CUDA allocated / reserved memory of each phase when CUDA is available.
        rss_method: ``None`` picks the best available (``clear_refs``, else ``sampler``, else ``ru_maxrss``).
        sample_interval_s: period of the ``sampler`` thread.
    """

    def __init__(
        self,
        track_rss: bool = False,
        track_cuda: bool = False,
        rss_method: RssMethod | None = None,
        sample_interval_s: float = 0.005,
    ) -> None:
        self.track_rss = track_rss
        self.track_cuda = track_cuda
        self._rss_method = rss_method
        self.sample_interval_s = sample_interval_s
        self._open: list[tuple[str, float, _Sampler | None]] = []  # the phases entered and not yet left
        self.reset()

    @property
    def rss_method(self) -> RssMethod:
        """How peak RSS is measured (detected on first use)."""
        if self._rss_method is None:
            self._rss_method = detect_rss_method()
        return self._rss_method

    @property
    def cuda(self) -> bool:
        """CUDA memory is tracked (asked for and a GPU is present)."""
        return self.track_cuda and torch.cuda.is_available()

    def reset(self) -> None:
        """Forget the current step's phases and tokens (call at the start of each step)."""
        self._phases: dict[str, PhaseStats] = {}
        self._tokens = 0
        self._seconds = 0.0
        self._time_logged = False

    def add_tokens(self, n: int | torch.Tensor) -> None:
        """Count ``n`` more tokens processed in this step (e.g. non-padding tokens of the batch)."""
        self._tokens += int(n)

    # ---- measuring -----------------------------------------------------------------------------------------------
    def _stats(self, name: str) -> PhaseStats:
        return self._phases.setdefault(name, PhaseStats())

    def _fold(self, names: list[str], rss: int | None, alloc: int | None, reserved: int | None) -> None:
        """Raise the peaks of the phases ``names`` to the given readings."""
        for name in names:
            stats = self._stats(name)
            if rss is not None:
                stats.rss_peak = max(stats.rss_peak or 0, rss)
            if alloc is not None:
                stats.cuda_allocated_peak = max(stats.cuda_allocated_peak or 0, alloc)
                stats.cuda_reserved_peak = max(stats.cuda_reserved_peak or 0, reserved or 0)

    def _read_peaks(self, sampler: _Sampler | None, stop: bool) -> tuple[int | None, int | None, int | None]:
        rss = None
        if self.track_rss:
            if sampler is not None:
                rss = sampler.stop() if stop else sampler.take()
            elif self.rss_method == "clear_refs":
                rss = (_read_status_kib("VmHWM") or 0) * 1024
            else:
                rss = _ru_maxrss()
        alloc = reserved = None
        if self.cuda:
            alloc, reserved = torch.cuda.max_memory_allocated(), torch.cuda.max_memory_reserved()
        return rss, alloc, reserved

    def _reset_peaks(self) -> _Sampler | None:
        if self.cuda:
            torch.cuda.reset_peak_memory_stats()
        if not self.track_rss:
            return None
        if self.rss_method == "clear_refs":
            with open(_CLEAR_REFS, "w", encoding="ascii") as handle:
                handle.write("5")
        elif self.rss_method == "sampler":
            return _Sampler(self.sample_interval_s)
        return None

    @contextmanager
    def phase(self, name: str) -> Iterator[PhaseStats]:
        """Measure the enclosed block as phase ``name`` (time adds up over repeated entries within a step)."""
        stats = self._stats(name)
        outer = [n for n, _, _ in self._open]
        if outer:  # keep the outer phases' peaks before this phase resets the high-water marks
            self._fold(outer, *self._read_peaks(self._open[-1][2], stop=False))
        if self.cuda:
            torch.cuda.synchronize()
        sampler = self._reset_peaks()
        start = perf_counter()
        self._open.append((name, start, sampler))
        try:
            yield stats
        finally:
            if self.cuda:
                torch.cuda.synchronize()
            seconds = perf_counter() - start
            self._open.pop()
            stats.seconds += seconds
            stats.calls += 1
            if not self._open:
                self._seconds += seconds
            if self.track_rss or self.cuda:
                self._fold([name, *outer], *self._read_peaks(sampler, stop=True))

    # ---- reading -------------------------------------------------------------------------------------------------
    def seconds(self, name: str) -> float:
        """Wall time of phase ``name`` in this step so far (0 if not entered)."""
        stats = self._phases.get(name)
        return stats.seconds if stats is not None else 0.0

    def time_metrics(self, phases: tuple[str, ...] | None = None) -> dict[str, float]:
        """``time/<phase>_s`` (for ``phases``, default: those entered) and ``time/tokens_per_s`` of this step.

        Marks the step's time as logged, so a ``MemoryMonitor`` does not log the same keys again.
        """
        self._time_logged = True
        names = phases if phases is not None else tuple(self._phases)
        summary = self.step_summary()
        return {**{f"time/{p}_s": self.seconds(p) for p in names}, "time/tokens_per_s": summary.tokens_per_s}

    def step_summary(self) -> StepSummary:
        """A copy of the current step's measurements."""
        phases = {name: PhaseStats(**vars(stats)) for name, stats in self._phases.items()}
        return StepSummary(phases, self._tokens, self._seconds, self._time_logged)


__all__ = ["GIB", "PhaseMeter", "PhaseStats", "StepSummary", "current_rss", "detect_rss_method"]
