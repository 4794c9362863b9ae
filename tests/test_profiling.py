"""PhaseMeter: time adds up per phase and step, peak RSS sees a 200 MiB tensor, nesting keeps outer peaks."""

from __future__ import annotations

import mmap
import time

import pytest
import torch

from perl_lightning.profiling import PhaseMeter, current_rss, detect_rss_method

MIB = 1024**2


def _alloc() -> mmap.mmap:
    """200 MiB of fresh anonymous pages, every one written, so resident; unmapped when the object goes.

    Not ``torch.ones``: after a large model has run in this process (the suite's earlier tests) the allocator holds
    freed pages that are still resident, and a new tensor can land on them without raising RSS at all.
    """
    buf = mmap.mmap(-1, 200 * MIB)
    view = torch.frombuffer(buf, dtype=torch.uint8)
    view.fill_(1)
    del view  # releases the buffer export, so the mapping can close when the caller drops it
    return buf


def _methods() -> list[str]:
    methods = ["ru_maxrss"]
    if current_rss() is not None:
        methods.append("sampler")
    if detect_rss_method() == "clear_refs":
        methods.append("clear_refs")
    return methods


class FakeClock:
    """perf_counter stand-in: each phase body advances it by a known amount."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr("perl_lightning.profiling.perf_counter", fake)
    return fake


def test_time_accumulates_over_repeated_and_nested_phases(clock):
    meter = PhaseMeter()
    meter.reset()
    with meter.phase("rollout"):
        clock.now += 2.0
        with meter.phase("inner"):
            clock.now += 0.5
    with meter.phase("update"):
        clock.now += 1.0
    with meter.phase("rollout"):  # entered again in the same step: times add up
        clock.now += 3.0
    meter.add_tokens(30)
    meter.add_tokens(torch.tensor(20))
    s = meter.step_summary()
    assert list(s.phases) == ["rollout", "inner", "update"]
    assert s.phases["rollout"].seconds == pytest.approx(5.5) and s.phases["rollout"].calls == 2
    assert s.phases["inner"].seconds == pytest.approx(0.5) and s.phases["update"].seconds == pytest.approx(1.0)
    assert s.seconds == pytest.approx(6.5)  # outermost phases only: the nested 0.5 s is not counted twice
    assert s.tokens == 50 and s.tokens_per_s == pytest.approx(50 / 6.5)
    assert s.phases["rollout"].rss_peak is None and s.phases["rollout"].cuda_allocated_peak is None  # not tracked
    assert not s.time_logged
    assert meter.time_metrics(("rollout", "scoring")) == {
        "time/rollout_s": pytest.approx(5.5),
        "time/scoring_s": 0.0,
        "time/tokens_per_s": pytest.approx(50 / 6.5),
    }
    assert meter.step_summary().time_logged
    meter.reset()
    s = meter.step_summary()
    assert s.phases == {} and s.tokens == 0 and s.seconds == 0.0 and not s.time_logged


def test_summary_is_a_copy(clock):
    meter = PhaseMeter()
    with meter.phase("a"):
        clock.now += 1.0
    before = meter.step_summary()
    with meter.phase("a"):
        clock.now += 1.0
    assert before.phases["a"].seconds == pytest.approx(1.0)
    assert meter.step_summary().phases["a"].seconds == pytest.approx(2.0)


def test_time_is_recorded_when_the_phase_raises(clock):
    meter = PhaseMeter(track_rss=True)
    with pytest.raises(RuntimeError), meter.phase("boom"):
        clock.now += 1.0
        raise RuntimeError("x")
    assert meter.step_summary().phases["boom"].seconds == pytest.approx(1.0)
    with meter.phase("after"):  # the failed phase was closed: this one is outermost
        clock.now += 1.0
    assert meter.step_summary().seconds == pytest.approx(2.0)


@pytest.mark.parametrize("method", ["clear_refs", "sampler"])
def test_a_200_mib_tensor_raises_the_phase_peak_by_200_mib(method):
    if method not in _methods():
        pytest.skip(f"{method} is not available here")
    meter = PhaseMeter(track_rss=True, rss_method=method)
    with meter.phase("idle"):
        pass
    with meter.phase("alloc"):
        x = _alloc()
    del x
    with meter.phase("after"):  # the tensor is gone: the high-water mark was reset, the peak is back down
        pass
    phases = meter.step_summary().phases
    extra = (phases["alloc"].rss_peak - phases["idle"].rss_peak) / MIB
    assert 170 < extra < 260, extra
    assert abs(phases["after"].rss_peak - phases["idle"].rss_peak) < 40 * MIB


@pytest.mark.skipif("clear_refs" not in _methods(), reason="needs a writable /proc/self/clear_refs")
def test_nested_phase_keeps_the_outer_peak():
    meter = PhaseMeter(track_rss=True, rss_method="clear_refs")
    with meter.phase("outer"):
        x = _alloc()
        del x  # the outer peak happened before the inner phase resets the high-water mark
        with meter.phase("inner"):
            pass
    with meter.phase("idle"):
        pass
    phases = meter.step_summary().phases
    assert (phases["outer"].rss_peak - phases["idle"].rss_peak) / MIB > 170
    assert abs(phases["inner"].rss_peak - phases["idle"].rss_peak) < 40 * MIB
    meter.reset()
    with meter.phase("outer"), meter.phase("inner"):
        y = _alloc()  # an inner peak counts for the outer phase too
    del y
    phases = meter.step_summary().phases
    assert phases["outer"].rss_peak == phases["inner"].rss_peak


def test_repeated_phase_keeps_the_largest_peak():
    meter = PhaseMeter(track_rss=True, rss_method="sampler" if current_rss() is not None else "ru_maxrss")
    with meter.phase("step"):
        x = _alloc()
    del x
    first = meter.step_summary().phases["step"].rss_peak
    with meter.phase("step"):
        time.sleep(0.01)
    assert meter.step_summary().phases["step"].rss_peak == first


def test_ru_maxrss_fallback_reports_the_process_peak():
    meter = PhaseMeter(track_rss=True, rss_method="ru_maxrss")
    with meter.phase("p"):
        pass
    peak = meter.step_summary().phases["p"].rss_peak
    now = current_rss()
    assert peak > 0 and (now is None or peak >= now - MIB)


def test_cuda_tracking_without_a_gpu_is_silent(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    meter = PhaseMeter(track_cuda=True)
    with meter.phase("p"):
        pass
    assert not meter.cuda and meter.step_summary().phases["p"].cuda_allocated_peak is None


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_peaks_see_a_256_mib_tensor():
    meter = PhaseMeter(track_cuda=True)
    with meter.phase("idle"):
        pass
    with meter.phase("alloc"):
        x = torch.ones(64 * MIB, device="cuda")
    del x
    phases = meter.step_summary().phases
    extra = phases["alloc"].cuda_allocated_peak - phases["idle"].cuda_allocated_peak
    assert extra == 256 * MIB
    assert phases["alloc"].cuda_reserved_peak >= phases["alloc"].cuda_allocated_peak
