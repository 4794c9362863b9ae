"""The peer benchmark harness (``benchmarks/peers``) cannot rot: its smoke variant runs our side of both jobs on the
tiny model and the built-in data, and the TRL side's script parses its arguments and checks its data, without TRL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PEERS = ROOT / "benchmarks" / "peers"
ENV = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")

FIELDS = ("ours_s_per_step", "trl_s_per_step", "time_ratio", "ours_peak_rss_gib", "trl_peak_rss_gib", "memory_ratio",
          "ours_tokens_per_s", "trl_tokens_per_s", "mfu_update", "steps", "date")  # fmt: skip


def test_smoke_run_writes_every_field(suite_smoke):
    """The suite's smoke run ran ``peers/run.py --smoke`` (tests/benchmarks/conftest.py)."""
    result, tmp_path, stdout = suite_smoke.out / "peers.json", suite_smoke.out / "peers", suite_smoke.stdout
    report = json.loads(result.read_text())
    assert report["model"] == "tiny-llama" and report["data"] == "builtin" and report["pairs"] > 8
    for name in ("rm_lora", "rl_lora"):
        job = report["jobs"][name]
        assert set(FIELDS) <= job.keys(), FIELDS
        assert job["trl_s_per_step"] is None and job["time_ratio"] is None  # no TRL in the smoke run
        assert job["ours_s_per_step"] > 0 and job["ours_peak_rss_gib"] > 0.1 and job["ours_tokens_per_s"] > 0
        assert 0 < job["mfu_update"] < 1 and job["steps"] == 2
        (run,) = job["ours_runs"]
        assert len(run["step_times"]) == 3  # 1 warm-up + 2 measured
    rl = report["jobs"]["rl_lora"]
    assert rl["decode_step_ms"] > 0 and rl["decode_ceiling_ms"] > 0
    assert rl["decode_ceiling_ms"] == max(rl["decode_weight_read_ms"], rl["decode_matmul_ms"])
    assert {"rollout_s", "update_s"} <= {k.removeprefix("time/") for k in rl["ours_phases_s"]}
    assert "| rm_lora |" in stdout and "decode step" in stdout
    # the same ids both sides read: every pair fits the length budget, prompts carry their text and ids
    pairs = [json.loads(x) for x in (tmp_path / "rm_pairs.jsonl").read_text().splitlines()]
    assert all(max(len(p["chosen_input_ids"]), len(p["rejected_input_ids"])) <= 256 for p in pairs)
    prompts = [json.loads(x) for x in (tmp_path / "rl_prompts.jsonl").read_text().splitlines()]
    assert prompts and all(p["prompt"] and 0 < len(p["prompt_ids"]) <= 128 for p in prompts)


def test_trl_side_parses_and_names_a_bad_row_without_trl(tmp_path):
    script = str(PEERS / "trl_job.py")
    help_text = subprocess.run([sys.executable, script, "--help"], env=ENV, capture_output=True, text=True)
    assert help_text.returncode == 0 and "--gradient-checkpointing" in help_text.stdout
    bad = tmp_path / "pairs.jsonl"
    bad.write_text('{"chosen_input_ids": [1, 2], "rejected_input_ids": [1, 3]}\n{"chosen_input_ids": [1]}\n')
    args = ["--job", "rm", "--data", str(bad), "--model", "unused", "--steps", "1", "--out", str(tmp_path / "o.json")]
    proc = subprocess.run([sys.executable, script, *args], env=ENV, capture_output=True, text=True)
    assert proc.returncode == 2 and "row 2" in proc.stderr and "rejected_input_ids" in proc.stderr
