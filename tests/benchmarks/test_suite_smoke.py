"""``make bench`` cannot rot: the suite's smoke variant runs every section (RM LoRA vs full, the rank ablation, the
three RL layouts, our side of the peer comparison) on the tiny model and writes the results, tables and plots."""

from __future__ import annotations

import json

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
