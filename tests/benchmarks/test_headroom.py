"""The headroom summary (``benchmarks/headroom.py``): greedy vs pass@k vs mean sampled accuracy per group."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from greedy_eval import load_results, save_results  # noqa: E402
from headroom import summarise  # noqa: E402


def test_summary_separates_greedy_from_pass_at_k_per_group():
    items = [
        {"group": "exists", "greedy": 0.0, "sampled": [0.0, 1.0, 0.0], "response": "yes"},
        {"group": "exists", "greedy": 1.0, "sampled": [1.0, 1.0, 0.0], "response": "yes"},
        {"group": "count", "greedy": 0.0, "sampled": [0.0, 0.0, 0.0], "response": "1"},
        {"group": "count", "greedy": 0.0, "sampled": [0.0, 0.6, 0.0], "response": "1"},  # partial credit is no pass
    ]
    summary = summarise(items)
    exists, count = summary["groups"]["exists"], summary["groups"]["count"]
    assert exists["greedy"]["value"] == 0.5 and exists["pass_at_k"]["value"] == 1.0
    assert exists["sampled"]["value"] == pytest.approx(0.5)
    assert count["pass_at_k"]["value"] == 0.0 and count["sampled"]["value"] == pytest.approx(0.1)
    assert exists["top_greedy_responses"] == [("yes", 2)]  # a constant greedy answer shows
    assert summary["all"]["greedy"]["n"] == 4 and summary["all"]["pass_at_k"]["value"] == 0.5
    assert summary["all"]["greedy"]["se"] == pytest.approx(0.25)  # sd 0.5 over 4 items


def test_results_round_trip_and_merge(tmp_path):
    path = tmp_path / "r" / "headroom.json"
    assert load_results(path) == {}
    save_results({"a": {"x": 1}}, path)
    results = load_results(path)
    results["b"] = {"y": [1, 2]}
    save_results(results, path)
    assert load_results(path) == {"a": {"x": 1}, "b": {"y": [1, 2]}}
    assert not path.with_suffix(".json.tmp").exists()
