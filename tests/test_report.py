"""report: paired standard errors by hand, summary.json sections, plots written as PNG files."""

from __future__ import annotations

import json
import math

import pytest

from perl_lightning.report import (
    StageSummary,
    paired,
    paired_by_group,
    plot_before_after,
    plot_curves,
    plot_groups,
    plot_image_samples,
    plot_reward_scores,
    read_curves,
    samples_markdown,
    write_summary,
)

PNG = b"\x89PNG\r\n\x1a\n"


def test_paired_standard_error_is_that_of_the_differences():
    before, after = [0, 0, 1, 1, 0], [1, 0, 1, 1, 1]  # diffs 1, 0, 0, 0, 1: mean 0.4, sd sqrt(0.3)
    p = paired(before, after)
    assert (p.before, p.after, p.n) == (pytest.approx(0.4), pytest.approx(0.8), 5)
    assert p.stderr == pytest.approx(math.sqrt(0.3 / 5))
    assert p.diff_in_se == pytest.approx(0.4 / math.sqrt(0.06))
    # items both versions get right or wrong add no noise: tighter than two independent binomial errors
    independent = math.sqrt(0.4 * 0.6 / 5 + 0.8 * 0.2 / 5)
    assert p.stderr < independent


def test_paired_edge_cases():
    assert paired([1.0], [2.0]).stderr == 0.0
    assert paired([0, 0], [1, 1]).diff_in_se == math.inf  # every item moved the same way
    assert paired([1, 1], [1, 1]).diff_in_se == 0.0
    with pytest.raises(ValueError, match="same, non-zero number"):
        paired([1, 2], [1])
    with pytest.raises(ValueError, match="same, non-zero number"):
        paired([], [])


def test_summary_has_a_section_per_stage_with_the_required_fields(tmp_path):
    stages = {
        "rm": StageSummary.from_paired("pairwise_accuracy", paired([0.5] * 4, [1, 1, 0, 1]), 12.0, 1.5),
        "rl": StageSummary.from_paired(
            "exact_action", paired([0, 0, 1, 0], [1, 0, 1, 1]), 30.0, 2.0, kl=0.25, extra={"steps": 3}
        ),
    }
    path = write_summary(tmp_path / "run" / "summary.json", stages, task="ui_automation")
    body = json.loads(path.read_text())
    assert list(body) == ["task", "rm", "rl"] and body["task"] == "ui_automation"
    required = {"metric", "metric_before", "metric_after", "stderr", "n_heldout", "seconds", "peak_rss_gib"}
    assert required <= set(body["rm"]) and "kl" not in body["rm"]
    assert required | {"kl", "steps"} <= set(body["rl"]) and body["rl"]["kl"] == 0.25
    assert body["rl"]["metric_before"] == 0.25 and body["rl"]["metric_after"] == 0.75 and body["rl"]["n_heldout"] == 4
    assert body["rl"]["stderr"] == pytest.approx(paired([0, 0, 1, 0], [1, 0, 1, 1]).stderr)
    assert not list(tmp_path.joinpath("run").glob(".*"))  # written atomically: no temporary file left


def test_plots_are_png_files(tmp_path):
    csv_path = tmp_path / "metrics.csv"
    csv_path.write_text("step,rl/reward_mean,rl/kl,rl/response_length,val/kl\n0,0.1,0.0,5,\n1,0.3,0.02,4,\n"
                        "1,,,,0.5\n2,0.6,0.05,4,\n")  # fmt: skip
    curves = read_curves(csv_path)
    assert curves["rl/reward_mean"] == [(0, 0.1), (1, 0.3), (2, 0.6)] and len(curves["rl/kl"]) == 3
    png = plot_curves(curves, tmp_path / "plots" / "curves.png")
    stages = {"rl": StageSummary.from_paired("exact_action", paired([0, 1], [1, 1]), 1.0, None, kl=0.1)}
    bars = plot_before_after(stages, tmp_path / "plots" / "before_after.png")
    for path in (png, bars):
        assert path.read_bytes()[:8] == PNG and path.stat().st_size > 5000
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["before_after.png", "curves.png"]


def test_paired_by_group_splits_rows_by_group_and_adds_all():
    records = [{"group": "cart", "exact_action_initial": 0.0, "exact_action": 1.0},
               {"group": "cart", "exact_action_initial": 0.0, "exact_action": 0.0},
               {"group": "signup", "exact_action_initial": 1.0, "exact_action": 1.0},
               {"group": "signup", "exact_action_initial": math.nan, "exact_action": 1.0},  # metric absent: left out
               {"exact_action_initial": 1.0, "exact_action": 0.0}]  # fmt: skip  # no group: only in "all"
    groups = paired_by_group(records, "exact_action")
    assert list(groups) == ["cart", "signup", "all"]
    assert (groups["cart"].before, groups["cart"].after, groups["cart"].n) == (0.0, 0.5, 2)
    assert (groups["signup"].n, groups["all"].n) == (1, 4)
    assert groups["all"].after == pytest.approx(0.5) and groups["all"].before == pytest.approx(0.5)
    assert paired_by_group(records, "success") == {}


def test_group_and_reward_plots_are_png_files(tmp_path):
    groups = {"cart": paired([0, 1, 0], [1, 1, 0]), "all": paired([0, 1, 0, 1], [1, 1, 0, 1])}
    bars = plot_groups(groups, tmp_path / "groups.png", "exact_action")
    pairs = [(1.0 + 0.1 * i, 0.2 * i - 1.0) for i in range(20)]
    hist = plot_reward_scores(pairs, tmp_path / "pairs.png")
    rated = plot_reward_scores([(0.5, 1.0), (-0.3, 0.0), (0.1, 1.0)], tmp_path / "rated.png", objective="pointwise")
    for path in (bars, hist, rated):
        assert path.read_bytes()[:8] == PNG and path.stat().st_size > 5000
    with pytest.raises(ValueError, match="no held-out rewards"):
        plot_reward_scores([], tmp_path / "none.png")


def test_samples_markdown_keeps_the_prompts_end_and_escapes_pipes():
    samples = [{"prompt": "x" * 500 + " Goal: open a|b", "before": "click(e1)", "after": "click(e2)",
                "reward_before": 0.0, "reward_after": 1.0}] * 3  # fmt: skip
    table = samples_markdown(samples, n=2, prompt_chars=40).splitlines()
    assert len(table) == 4 and table[0].startswith("| prompt")
    assert "Goal: open a\\|b" in table[2] and "xxxxx" in table[2] and len(table[2].split(" | ")[0]) < 60
    assert "click(e1) (+0.00)" in table[2] and "click(e2) (+1.00)" in table[2]


def test_image_samples_plot_draws_each_image(tmp_path):
    from PIL import Image

    samples = [{"prompt": "How many squares?", "before": "1", "after": "3", "reward_before": 0.0, "reward_after": 1.0,
                "image": Image.new("RGB", (32, 32), (200, 30, 30))} for _ in range(4)]  # fmt: skip
    path = plot_image_samples(samples + [{**samples[0], "image": None}], tmp_path / "vqa.png", n=6)
    assert path.read_bytes()[:8] == PNG and path.stat().st_size > 5000
    with pytest.raises(ValueError, match="no sample carries an image"):
        plot_image_samples([{**samples[0], "image": None}], tmp_path / "none.png")
