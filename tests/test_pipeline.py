"""The main job end to end on the tiny model: the reward adapter of stage 1 is what stage 2 scores with."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import perl_lightning.pipeline as pipeline
from perl_lightning.models.embedded_vlm import VisionSpec
from perl_lightning.models.vlm import load_vlm
from perl_lightning.pipeline import _rl_rewards, main
from perl_lightning.rewards.layer import RewardSpec
from perl_lightning.stages import run_align_stage, run_reward_stage, run_rl_stage
from perl_lightning.tasks import get_task


def test_stage_one_adapter_feeds_stage_two(tmp_path):
    rm = run_reward_stage(tmp_path, model="tiny-llama", steps=3, batch_size=4, max_length=96)
    assert rm.adapter_dir == tmp_path / "reward_adapter"
    saved = load_file(rm.adapter_dir / "adapter_model.safetensors")
    assert 0.0 <= rm.accuracy_before <= 1.0 and 0.0 <= rm.accuracy_after <= 1.0

    rl = run_rl_stage(
        tmp_path, rm.adapter_dir, model="tiny-llama", rollouts=2, batch_size=2, max_new_tokens=6, eval_prompts=2
    )
    assert rl.rollouts == 2
    assert (rl.adapter_dir / "policy" / "adapter_model.safetensors").is_file()
    assert set(rl.phase_seconds) == {"rollout_s", "scoring_s", "reference_s", "update_s"}
    assert len(rl.samples) == 2 and {"prompt", "before", "after"} <= set(rl.samples[0])
    # stage 1's file is untouched by stage 2 (the reward adapter is frozen during RL)
    after = load_file(rm.adapter_dir / "adapter_model.safetensors")
    assert saved.keys() == after.keys() and all(torch.equal(saved[k], after[k]) for k in saved)


def test_main_writes_a_summary_with_paired_errors_and_plots(tmp_path, capsys):
    """A task without a programmatic reward: RL on the reward model. Every stage's section has its metric before and
    after on the same held-out items; the console ends pointing at the files."""
    code = main(["--task", "harmlessness", "--model", "tiny-llama", "--sft-steps", "1", "--rm-steps", "2",
                 "--rl-rollouts", "1", "--rl-prompts", "2", "--rl-new-tokens", "4", "--max-length", "96",
                 "--rl-eval-prompts", "4", "--batch-size", "2", "--out", str(tmp_path)])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    body = json.loads((tmp_path / "summary.json").read_text())
    assert [k for k in body if isinstance(body[k], dict)] == ["sft", "rm", "rl"] and body["task"] == "harmlessness"
    required = {"metric", "metric_before", "metric_after", "stderr", "n_heldout", "seconds", "peak_rss_gib"}
    for name in ("sft", "rm", "rl"):
        assert required <= set(body[name]), name
        assert body[name]["n_heldout"] > 0 and body[name]["seconds"] > 0 and body[name]["peak_rss_gib"] > 0.05
    assert body["sft"]["metric"] == "heldout_token_nll" and body["rm"]["metric"] == "pairwise_accuracy"
    assert body["rm"]["metric_before"] == 0.5  # a zero head ties every pair
    assert body["rl"]["metric"] == "reward" and "kl" in body["rl"] and body["rl"]["n_heldout"] == 4
    for png in ("before_after.png", "rl_curves.png"):
        assert (tmp_path / "plots" / png).read_bytes()[:4] == b"\x89PNG"
    assert "reward model" in out and "held-out example 1" in out
    assert out.rstrip().splitlines()[-1].startswith("written: ") and str(tmp_path / "summary.json") in out


def test_main_runs_ui_automation_with_its_programmatic_reward_and_a_multi_step_stage(
    tmp_path, capsys, monkeypatch, our_warnings
):
    """... and raises no warning our own code causes (the console's filter off, so that every warning is seen)."""
    monkeypatch.setattr(pipeline, "quiet_third_party", contextlib.nullcontext)
    args = ["--task", "ui_automation", "--model", "tiny-llama", "--sft-steps", "1", "--rm-steps", "1",
            "--rl-rollouts", "1", "--episode-rollouts", "1", "--rl-prompts", "2", "--rl-new-tokens", "4",
            "--max-length", "128", "--rl-eval-prompts", "2", "--batch-size", "2", "--out", str(tmp_path)]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "[4/4] multi-step RL" in out and "rl_multistep: success" in out and "rl: exact_action" in out
    assert "task metric exact_action" in out and "task metric element_accuracy" in out
    assert (tmp_path / "multistep" / "rl_adapters" / "policy" / "adapter_model.safetensors").is_file()
    body = json.loads((tmp_path / "summary.json").read_text())
    assert body["rl"]["metric"] == "exact_action" and body["rl"]["n_heldout"] == 2
    # the recipe: unseen screens of the training families, each answered twice at the rollout temperature
    assert body["rl"]["heldout"] == "split 'validation'"
    assert body["rl"]["evaluation"] == "mean of 2 samples at temperature 1"
    assert "answered: mean of 2 samples at temperature 1" in out
    assert body["rl_multistep"]["metric"] == "success"
    # the one warning that belongs: a random tiny model ties every group, so its batch makes no update (said once)
    caused = [w for w in our_warnings() if "equal rewards" not in w]
    assert not caused, "\n".join(caused)
    assert "[SFT] step 1/1" in out and "[RL] step 1/1" in out  # plain progress lines (the output is no terminal)


def test_main_runs_vqa_on_a_vision_language_model(tmp_path, capsys):
    """The VQA recipe (GRPO, redrawn ties, held-out questions answered 4 times) runs end to end on a tiny VLM."""
    args = ["--task", "vqa", "--model", "tiny-llava", "--sft-steps", "1", "--rm-steps", "1", "--rl-rollouts", "1",
            "--rl-samples", "2", "--rl-prompts", "2", "--rl-new-tokens", "4", "--max-length", "128",
            "--rl-eval-prompts", "2", "--batch-size", "2", "--out", str(tmp_path)]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "[3/3] RL" in out and "task metric vqa_accuracy" in out
    assert "mean of 4 samples at temperature 1" in out
    assert (tmp_path / "rl_adapters" / "policy" / "adapter_model.safetensors").is_file()


def test_vqa_defaults_to_the_embedded_vlm_and_builds_it_first(tmp_path, monkeypatch):
    """Without --model a task with images runs on smollm2-135m-vlm, aligning it first when its cache is missing."""
    built: list[tuple[Path, int]] = []

    def stop_after_align(out: Path, steps: int, seed: int) -> Path:
        built.append((out, steps))
        raise SystemExit("aligned")

    monkeypatch.setattr(pipeline, "ensure_embedded_vlm", stop_after_align)
    with pytest.raises(SystemExit, match="aligned"):
        main(["--task", "vqa", "--align-steps", "7", "--out", str(tmp_path)])
    assert built == [(tmp_path, 7)]


def test_align_stage_writes_a_vlm_with_its_final_metrics(tmp_path):
    spec = VisionSpec(hidden_size=32, intermediate_size=64, num_layers=1, num_heads=2)
    result = run_align_stage(tmp_path / "run", steps=3, batch_size=4, vision=spec, save_dir=tmp_path / "vlm",
                             val_scenes=8)  # fmt: skip
    assert result.model_dir == tmp_path / "vlm" and result.steps == 3
    assert result.after["val/loss"] < result.before["val/loss"]
    record = json.loads((result.model_dir / "alignment.json").read_text())
    assert record["steps"] == 3 and record["metrics"]["val/loss"] == pytest.approx(result.after["val/loss"], abs=1e-4)
    assert load_vlm(str(result.model_dir))[0].config.vision_config.hidden_size == 32


def test_rl_reward_choice():
    task, rm = get_task("ui_automation"), Path("runs/rm")
    assert [s.source for s in _rl_rewards(None, task, rm, "steps")] == [
        "perl_lightning.tasks.ui_automation:action_reward"
    ]
    assert [s.source for s in _rl_rewards("both", task, rm, "steps")] == [
        "runs/rm", "perl_lightning.tasks.ui_automation:action_reward"]  # fmt: skip
    assert [s.source for s in _rl_rewards(None, get_task("dialogue"), rm, "steps")] == ["runs/rm"]
    with pytest.raises(SystemExit, match="has no programmatic reward"):
        _rl_rewards("function", get_task("summarization"), rm, "steps")


def test_rl_headline_is_the_task_metric_only_when_rl_optimises_a_programmatic_reward(tmp_path):
    """RL on the reward model alone is judged by that model's held-out score, not by a task metric it never saw."""
    ui, dialogue = get_task("ui_automation"), get_task("dialogue")
    function = RewardSpec("perl_lightning.tasks.ui_automation:action_reward")
    model = RewardSpec(str(tmp_path))  # an existing directory: a reward model
    assert pipeline.rl_headline(ui, [function]) == "exact_action"
    assert pipeline.rl_headline(ui, [model, function]) == "exact_action"
    assert pipeline.rl_headline(ui, [model]) is None
    assert pipeline.rl_headline(dialogue, [model]) is None  # well_formed is a guard there, not the headline
