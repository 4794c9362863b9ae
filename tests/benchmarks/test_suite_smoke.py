"""``make bench`` cannot rot: the suite's smoke variant runs every section (RM LoRA vs full, the rank ablation, the
three RL layouts, our side of the peer comparison) on the tiny model and writes the results, tables and plots."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import suite  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def test_smoke_suite_writes_results_table_and_plots(suite_smoke):
    tmp_path = suite_smoke.out
    results = json.loads((tmp_path / "smoke.json").read_text())
    assert results["smoke"] is True and {"rm", "ranks", "rl", "peers", "targets"} <= results.keys()
    rm = results["rm"]
    assert set(rm["modes"]) == {"lora", "full"}
    lora, full = rm["modes"]["lora"], rm["modes"]["full"]
    assert lora["trainable"] < full["trainable"] / 20  # a LoRA adapter and a head, not the whole model
    assert len(lora["correct"]) == len(full["correct"]) == lora["val_pairs"] > 0  # the same held-out pairs
    assert rm["time_lora_over_full"] > 0 and rm["memory_lora_over_full"] > 0
    assert rm["accuracy_diff_lora_over_full"]["n"] == lora["val_pairs"]
    ranks = results["ranks"]["modes"]
    assert list(ranks) == ["lora-r1", "lora-r4"] and ranks["lora-r1"]["trainable"] < ranks["lora-r4"]["trainable"]
    layouts = results["rl"]["layouts"]
    assert list(layouts) == ["hydra", "separate", "full"]
    assert layouts["hydra"]["trainable"] < layouts["full"]["trainable"] / 20
    for r in layouts.values():
        assert r["s_per_step"] > 0 and r["rollout_s"] > 0 and r["update_s"] > 0 and r["peak_gib"] > 0.1
        assert len(r["score"]) == len(r["reward"]) == 2 and r["score_gain"] is not None and r["kl_final"] is not None
    assert results["rl"]["memory_hydra_over_full"] > 0 and results["rl"]["memory_hydra_over_separate"] > 0
    assert {t["ratio"] for t in results["targets"]} >= {"memory_lora_over_full", "memory_hydra_over_full"}
    assert all(t["met"] in (True, False) for t in results["targets"])
    table = (tmp_path / "smoke.md").read_text()
    for heading in ("## Reward model", "## LoRA rank ablation", "## RL (PPO", "## perl_lightning vs TRL", "## Targets"):
        assert heading in table
    for name in ("memory", "phases", "rl-curves", "ranks"):
        png = tmp_path / f"smoke-{name}.png"
        assert png.read_bytes()[:8] == PNG and png.stat().st_size > 5000, name


def test_a_partial_run_keeps_the_other_sections(tmp_path, monkeypatch):
    """``--sections ranks`` after a full run: the rm / rl / peers results stay, with the command that measured
    them; the rank ablation is replaced. (``_run`` stubbed: this checks the bookkeeping, not the measurements.)"""
    earlier = {"command": "python benchmarks/suite.py --smoke --out X", "rm": {"modes": {}}, "rl": {"layouts": {}},
               "ranks": {"modes": {"lora-r1": "old"}}}  # fmt: skip
    (tmp_path / "smoke.json").write_text(json.dumps(earlier))
    rank = {
        "trainable": 10,
        "s_per_step": 1.0,
        "tokens_per_s": 5.0,
        "peak_gib": 1.0,
        "accuracy": 0.5,
        "correct": [1],
        "val_pairs": 1,
    }
    monkeypatch.setattr(suite, "_run", lambda script, args, path: {"lora-r1": dict(rank), "lora-r4": dict(rank)})
    monkeypatch.setattr(suite, "plots", lambda results, prefix: [])
    assert suite.main(["--smoke", "--sections", "ranks", "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "smoke.json").read_text())
    assert results["rm"] == {"modes": {}} and results["rl"] == {"layouts": {}}
    assert list(results["ranks"]["modes"]) == ["lora-r1", "lora-r4"]
    assert results["kept_from_earlier_run"] == {"rm": earlier["command"], "rl": earlier["command"]}
    assert f"Kept from an earlier run (rm, rl): `{earlier['command']}`" in (tmp_path / "smoke.md").read_text()
