"""DDP with 2 CPU processes (gloo) through ``perl fit --config <job> --config conf/strategy/ddp.yaml``.

Each test runs the real CLI in a subprocess (Lightning's DDP launcher re-runs the command once per rank) with a
probe callback (``_probe.py``) that writes what every rank saw: its training batches, its RL rollouts, the local
validation values it logged (before any reduction) and the reduced metrics, and a hash of its trainable weights.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("_probe.py")


def run_ddp(
    tmp_path: Path,
    job: str,
    *overrides: str,
    devices: int = 2,
    strategy: str = "ddp",
    accelerator: str = "cpu",
    timeout: float = 240,
) -> list[dict[str, Any]]:
    """``perl fit --config conf/<job> --config conf/strategy/<strategy>.yaml`` on ``devices`` processes with the probe.

    Returns each rank's record, in rank order.
    """
    probe_dir, out = tmp_path / "probe", tmp_path / "out"
    probe_dir.mkdir()
    shutil.copy(PROBE, probe_dir / "_probe.py")
    callback = json.dumps({"class_path": "_probe.RankProbe", "init_args": {"out_dir": str(out)}})
    cmd = [
        sys.executable, "-m", "perl_lightning.cli", "fit",
        "--config", f"conf/{job}", "--config", f"conf/strategy/{strategy}.yaml",
        f"--trainer.accelerator={accelerator}", f"--trainer.devices={devices}",
        "--trainer.num_sanity_val_steps=0", "--trainer.enable_progress_bar=false",
        f"--trainer.default_root_dir={tmp_path}", f"--trainer.logger.init_args.save_dir={tmp_path}",
        f"--model.init_args.save_dir={tmp_path / 'adapters'}",
        f"--trainer.callbacks+={callback}",
        *overrides,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(probe_dir), os.environ.get("PYTHONPATH")]))}
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", WANDB_MODE="offline", TOKENIZERS_PARALLELISM="false")
    env.update(OMP_NUM_THREADS="1")  # two ranks share the CPU cores
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"perl fit failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    records = [json.loads((out / f"rank{r}.json").read_text()) for r in range(devices)]
    assert [r["rank"] for r in records] == list(range(devices))
    assert all(r["world_size"] == devices for r in records)
    names = {r["strategy"].lower() for r in records}  # e.g. {"ddpstrategy"}
    assert len(names) == 1 and strategy.split("_")[0] in names.pop()
    return records


def union_mean(records: list[dict[str, Any]], key: str) -> float:
    """Batch-size-weighted mean of one logged validation value over every rank's batches."""
    rows = [row for r in records for row in r["val_logged"] if key in row]
    return sum(row[key] * row["batch_size"] for row in rows) / sum(row["batch_size"] for row in rows)


def key_of(item: Any) -> str:
    return json.dumps(item)


def check_sharded(records: list[dict[str, Any]], steps: int) -> None:
    """Every step, the ranks got disjoint examples; over the run, no example was seen by two ranks."""
    for r in records:
        assert len(r["train_batches"]) == steps
    for step in range(steps):
        per_rank = [{key_of(x) for x in r["train_batches"][step]} for r in records]
        assert all(per_rank), "a rank got an empty batch"
        assert not per_rank[0] & per_rank[1], f"step {step}: both ranks got the same examples"
    seen = [{key_of(x) for batch in r["train_batches"] for x in batch} for r in records]
    assert not seen[0] & seen[1]


def check_weights_synced(records: list[dict[str, Any]]) -> None:
    """Gradients are all-reduced: the ranks' trained weights are bit-identical, and they did change."""
    assert records[0]["initial_params"] == records[1]["initial_params"]
    assert records[0]["final_params"] == records[1]["final_params"]
    assert records[0]["final_params"] != records[0]["initial_params"]


def test_reward_model_ddp_shards_pairs_and_reduces_metrics(tmp_path):
    records = run_ddp(
        tmp_path,
        "rm_tiny.yaml",
        "--trainer.max_steps=2",
        "--trainer.val_check_interval=2",
        "--trainer.limit_val_batches=1",
    )
    check_sharded(records, steps=2)
    check_weights_synced(records)
    # val/accuracy (a torchmetrics MeanMetric, synced on compute) equals the accuracy over both ranks' pairs.
    margins = [m for r in records for m in r["val_pairs"]]
    assert all(r["val_pairs"] for r in records), "each rank scores its own validation pairs"
    expected = sum(1.0 if m > 0 else 0.5 if m == 0 else 0.0 for m in margins) / len(margins)
    mean_margin = sum(margins) / len(margins)
    for r in records:  # every rank holds the same reduced values
        reduced = r["val_reduced"][-1]
        assert reduced["val/accuracy"] == pytest.approx(expected, abs=1e-6)
        assert reduced["val/margin"] == pytest.approx(mean_margin, abs=1e-5)
        assert reduced["val/loss"] == pytest.approx(union_mean(records, "val/loss"), abs=1e-5)
    local_margins = [sum(r["val_pairs"]) / len(r["val_pairs"]) for r in records]
    assert local_margins[0] != pytest.approx(local_margins[1]), "ranks' data must differ for the check to mean much"


def test_policy_ddp_rolls_out_per_rank_and_reduces_val_metrics(tmp_path):
    records = run_ddp(
        tmp_path,
        "rl_tiny_ppo.yaml",
        "--trainer.max_steps=8",  # 2 rollout batches x 4 PPO epochs
        "--trainer.val_check_interval=2",
        "--trainer.limit_val_batches=1",
        "--data.init_args.batch_size=4",
    )
    check_sharded(records, steps=2)
    check_weights_synced(records)
    for r in records:  # each rank sampled responses for exactly its own prompts
        assert [ro["prompts"] for ro in r["rollouts"]] == r["train_batches"]
        assert all(len(ro["responses"]) == len(ro["prompts"]) for ro in r["rollouts"])
    keys = ["val/reward", "val/reward_initial", "val/win_rate", "val/kl", "val/response_length", "val/no_eos_fraction"]
    for r in records:
        reduced = r["val_reduced"][-1]
        for key in keys:
            assert reduced[key] == pytest.approx(union_mean(records, key), abs=1e-5), key
    local_kl = [[row["val/kl"] for row in r["val_logged"] if "val/kl" in row] for r in records]
    assert local_kl[0] != local_kl[1], "ranks' validation prompts must differ for the check to mean much"
