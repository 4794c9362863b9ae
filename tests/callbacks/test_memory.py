"""MemoryMonitor on the tiny RM and RLOO configs: logged keys, the summary table, CLI attachment, summary maths."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

from perl_lightning.callbacks.memory import SUMMARY_COLUMNS, MemoryMonitor
from perl_lightning.cli import PerlCLI
from perl_lightning.models.adapters import count_parameters
from perl_lightning.profiling import GIB, PhaseStats, StepSummary

CONF = Path(__file__).resolve().parents[2] / "conf"
RL_PHASES = ["rollout", "scoring", "reference", "update"]


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: a second intra-op thread only adds sync


def _fit(config: str, tmp_path: Path, *extra: str) -> PerlCLI:
    return PerlCLI(
        args=[
            "fit",
            "--config",
            str(CONF / config),
            "--trainer.max_steps=2",
            "--trainer.val_check_interval=2",
            "--trainer.limit_val_batches=1",
            f"--trainer.default_root_dir={tmp_path}",
            f"--trainer.logger.init_args.save_dir={tmp_path}",
            f"--model.init_args.save_dir={tmp_path / 'adapters'}",
            "--trainer.enable_progress_bar=false",
            *extra,
        ]
    )


def _monitor(cli: PerlCLI) -> MemoryMonitor:
    monitors = [cb for cb in cli.trainer.callbacks if isinstance(cb, MemoryMonitor)]
    assert len(monitors) == 1, cli.trainer.callbacks
    return monitors[0]


def _metrics(cli: PerlCLI) -> list[dict[str, str]]:
    """metrics.csv with the rows of each step merged (the callback and Lightning log separately at the same step)."""
    with open(Path(cli.trainer.logger.log_dir) / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    merged: dict[str, dict[str, str]] = {}
    for row in rows:
        merged.setdefault(row["step"], {}).update({k: v for k, v in row.items() if v != ""})
    return [merged[step] for step in sorted(merged, key=int)]


def _check_run(cli: PerlCLI, phases: list[str], capsys) -> MemoryMonitor:
    monitor = _monitor(cli)
    rows = _metrics(cli)
    step_rows = [r for r in rows if r.get("memory/" + phases[0] + "/rss_peak_gib")]
    assert len(step_rows) == 2  # one per training step (the tiny configs set trainer.log_every_n_steps: 1)
    for row in step_rows:
        for phase in phases:
            assert float(row[f"memory/{phase}/rss_peak_gib"]) > 0.05  # a process holding torch + a model
            assert float(row[f"time/{phase}_s"]) > 0
        assert float(row["time/tokens_per_s"]) > 0
    assert torch.cuda.is_available() or not any(k.startswith("memory/") and "cuda" in k for r in rows for k in r)
    trainable, total = count_parameters(cli.model)
    params = [r for r in rows if r.get("params/trainable")]
    assert params and int(params[0]["params/trainable"]) == trainable and int(params[0]["params/total"]) == total
    assert 0 < trainable < total and monitor.params == {"params/trainable": trainable, "params/total": total}

    summary = {row["phase"]: row for row in monitor.summary}
    assert list(summary) == [*phases, "total"]
    assert all(set(row) == set(SUMMARY_COLUMNS) for row in monitor.summary)
    for phase in phases:
        row = summary[phase]
        logged = [float(r[f"time/{phase}_s"]) for r in step_rows]
        assert row["steps"] == 2
        assert row["mean_s"] == pytest.approx(sum(logged) / 2) and row["max_s"] == pytest.approx(max(logged))
        peak = max(float(r[f"memory/{phase}/rss_peak_gib"]) for r in step_rows)
        assert row["peak_rss_gib"] == pytest.approx(peak)
        assert row["tokens_per_s"] is None
    assert summary["total"]["peak_rss_gib"] == max(summary[p]["peak_rss_gib"] for p in phases)
    assert summary["total"]["tokens_per_s"] > 0 and monitor.tokens_per_s == summary["total"]["tokens_per_s"]

    out = capsys.readouterr().out
    assert "MemoryMonitor: 2 training steps" in out
    assert "phase" in out and "peak RSS GiB" in out and "peak CUDA alloc GiB" in out and "tokens/s" in out
    for phase in [*phases, "total"]:
        assert f"\n{phase} " in out  # one table row per phase, then the total
    return monitor


def test_reward_model_run_logs_memory_time_and_params(tmp_path, capsys):
    cli = _fit("rm_tiny.yaml", tmp_path)
    monitor = _check_run(cli, ["step"], capsys)
    # RM tokens: the non-padding tokens of each batch, over the measured step time
    steps = monitor._steps
    assert len(steps) == 2 and all(0 < s.tokens <= 4 * 2 * 128 for s in steps)  # 4 pairs of <= 128 tokens
    assert monitor.tokens_per_s == pytest.approx(sum(s.tokens for s in steps) / sum(s.seconds for s in steps))
    assert not cli.model.meter.track_rss  # memory tracking is switched off again after the fit


def test_rl_run_logs_each_phase(tmp_path, capsys):
    cli = _fit("rl_tiny_rloo.yaml", tmp_path)
    _check_run(cli, RL_PHASES, capsys)
    steps = _monitor(cli)._steps  # the module logged its own time/ keys at every step (the monitor did not)
    assert len(steps) == 2 and all(s.time_logged and s.tokens_per_s > 0 for s in steps)
    assert float(cli.trainer.callback_metrics["time/tokens_per_s"]) > 0  # callback_metrics: the module's self.log


def test_attached_from_the_command_line(tmp_path, capsys):
    """``--trainer.callbacks+=`` appends to the config's callbacks: here a second monitor, with its own settings."""
    cli = _fit(
        "rm_tiny.yaml",
        tmp_path,
        "--trainer.callbacks+=perl_lightning.callbacks.memory.MemoryMonitor",
        "--trainer.callbacks.log_every_n_steps=2",
        "--trainer.callbacks.print_summary=false",
    )
    monitors = [cb for cb in cli.trainer.callbacks if isinstance(cb, MemoryMonitor)]
    assert [(m.log_every_n_steps, m.print_summary) for m in monitors] == [(None, True), (2, False)]
    assert all(len(m.summary) == 2 for m in monitors)
    assert capsys.readouterr().out.count("MemoryMonitor: 2 training steps") == 1


def test_log_every_n_steps(tmp_path):
    cli = _fit("rm_tiny.yaml", tmp_path, "--trainer.max_steps=4", "--trainer.callbacks.log_every_n_steps=2")
    monitor = _monitor(cli)
    assert monitor.log_every_n_steps == 2 and monitor.summary[0]["steps"] == 4  # the summary uses every step
    rows = [r for r in _metrics(cli) if r.get("train/loss")]
    assert [r["step"] for r in rows] == ["0", "1", "2", "3"]
    assert ["memory/step/rss_peak_gib" in r for r in rows] == [False, True, False, True]  # 2nd and 4th batch


def _step(phases: dict[str, tuple[float, int]], tokens: int) -> StepSummary:
    stats = {name: PhaseStats(seconds=s, calls=1, rss_peak=rss) for name, (s, rss) in phases.items()}
    return StepSummary(stats, tokens, sum(s for s, _ in phases.values()))


def test_summary_and_step_metrics_by_hand():
    monitor = MemoryMonitor()
    for step in (_step({"a": (1.0, 2 * GIB), "b": (3.0, GIB)}, 40), _step({"a": (2.0, GIB)}, 20)):
        monitor._steps.append(step)
        for name, stats in step.phases.items():
            monitor._phases.setdefault(name, []).append(stats)
    rows = {r["phase"]: r for r in monitor.summarize()}
    assert rows["a"] == {"phase": "a", "steps": 2, "mean_s": 1.5, "max_s": 2.0, "peak_rss_gib": 2.0,
                         "peak_cuda_alloc_gib": None, "tokens_per_s": None}  # fmt: skip
    assert rows["b"]["steps"] == 1 and rows["b"]["mean_s"] == 3.0 and rows["b"]["peak_rss_gib"] == 1.0
    assert rows["total"] == {
        "phase": "total",
        "steps": 2,
        "mean_s": 3.0,
        "max_s": 4.0,
        "peak_rss_gib": 2.0,
        "peak_cuda_alloc_gib": None,
        "tokens_per_s": 10.0,
    }  # fmt: skip  (60 tokens / 6 s)
    step = _step({"a": (2.0, GIB // 2)}, 10)
    assert monitor.step_metrics(step) == {"memory/a/rss_peak_gib": 0.5, "time/a_s": 2.0, "time/tokens_per_s": 5.0}
    step.time_logged = True  # the module logged its own time/ keys: only memory is added
    assert monitor.step_metrics(step) == {"memory/a/rss_peak_gib": 0.5}
    table = MemoryMonitor.format_table(monitor.summarize()).splitlines()
    assert table[0].split(" | ")[0].strip() == "phase" and table[2].startswith("a ")
    assert table[-1].split("|")[-1].strip() == "10.000" and table[2].split("|")[5].strip() == "-"


def test_rejects_bad_interval():
    with pytest.raises(ValueError, match="log_every_n_steps"):
        MemoryMonitor(log_every_n_steps=0)
