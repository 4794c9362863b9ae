"""The policy's held-out evaluation logs its data's task metrics (here TL;DR ROUGE) for the current and the initial
policy, over the rows the metric applies to."""

from __future__ import annotations

import json
import math

import lightning as L
import pytest

from perl_lightning.data.prompts import PromptDataModule
from perl_lightning.models.adapters import LoRAConfig
from perl_lightning.modules.policy import PolicyModule
from perl_lightning.rewards import RewardSpec
from perl_lightning.rl.config import EvalConfig, SamplingConfig
from perl_lightning.tasks.summarization import rouge_pair


def test_validation_logs_rouge_of_current_and_initial_policy(tmp_path):
    rows = [{"id": f"t3_{i}", "subreddit": "pets", "title": f"Dog {i}", "post": f"My dog number {i} barks at night.",
             "summary": f"dog {i} barks at night"} for i in range(6)]  # fmt: skip
    rows.append({"id": "t3_noref", "post": "A post without a reference summary."})
    path = tmp_path / "sft.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    dm = PromptDataModule(task="summarization", path=str(path), val_fraction=0.5, batch_size=4, eval_batch_size=8)
    module = PolicyModule("tiny-llama", algorithm="grpo", lora=LoRAConfig(r=4, alpha=8),
                          sampling=SamplingConfig(max_new_tokens=5),
                          rewards=[RewardSpec("perl_lightning.tasks.summarization:rouge_l_reward"),
                                   RewardSpec("perl_lightning.rewards.toy:brevity_reward", weight=0.0)])  # fmt: skip
    trainer = L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False,
                        default_root_dir=tmp_path)  # fmt: skip
    metrics = trainer.validate(module, dm, verbose=False)[0]
    assert {"val/rouge1", "val/rouge2", "val/rougeL", "val/summary_words", "val/rouge1_initial"} <= set(metrics)
    expected = []
    for sample in module.eval_samples:  # greedy evaluation of the untrained LoRA: current == initial
        meta = next(r for r in rows if r["id"] == sample["row_id"])
        if "summary" in meta:
            expected.append(rouge_pair(sample["after"], meta["summary"])["rouge1"])
    assert len(expected) >= 1 and not math.isnan(metrics["val/rouge1"])
    assert metrics["val/rouge1"] == pytest.approx(sum(expected) / len(expected), abs=1e-5)
    assert metrics["val/rouge1"] == pytest.approx(metrics["val/rouge1_initial"], abs=1e-6)
    # per held-out row: its rewards, KL and task metrics, current and initial, in the order evaluated
    records = module.eval_records
    assert len(records) == len(dm.examples["val"]) and len({r["row_id"] for r in records}) == len(records)
    for record in records:
        meta = next(r for r in rows if r["id"] == record["row_id"])
        sample = next((s for s in module.eval_samples if s["row_id"] == record["row_id"]), None)
        if "summary" not in meta:
            assert math.isnan(record["rouge1"]) and math.isnan(record["rouge1_initial"])
        elif sample is not None:
            assert record["rouge1"] == pytest.approx(rouge_pair(sample["after"], meta["summary"])["rouge1"])
            assert record["reward"] == pytest.approx(sample["reward_after"])
        assert {"reward", "reward_initial", "kl", "rougeL", "rougeL_initial"} <= set(record)
        assert "group" not in record  # summarization has no group_by
    valid = [r["rouge1"] for r in records if not math.isnan(r["rouge1"])]
    assert metrics["val/rouge1"] == pytest.approx(sum(valid) / len(valid), abs=1e-5)


def test_sampled_evaluation_averages_k_samples_per_prompt(tmp_path):
    """``evaluation.samples_per_prompt`` k: every held-out prompt is answered k times (by the current and by the
    initial policy), and its reward, KL and task metrics are the means over those k samples."""
    rows = [{"id": f"t3_{i}", "subreddit": "pets", "title": f"Dog {i}", "post": f"My dog number {i} barks at night.",
             "summary": f"dog {i} barks at night"} for i in range(8)]  # fmt: skip
    path = tmp_path / "sft.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    dm = PromptDataModule(task="summarization", path=str(path), val_fraction=0.5, batch_size=4, eval_batch_size=8)
    k = 3
    sampling = SamplingConfig(max_new_tokens=6, temperature=1.0)
    module = PolicyModule("tiny-llama", algorithm="grpo", lora=LoRAConfig(r=4, alpha=8), sampling=sampling,
                          rewards=[RewardSpec("perl_lightning.tasks.summarization:rouge_l_reward")],
                          evaluation=EvalConfig(sampling=sampling, samples_per_prompt=k))  # fmt: skip
    scored = []
    score = module.score
    module.score = lambda rollout: scored.append((rollout, out := score(rollout))) or out  # type: ignore[method-assign]
    trainer = L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False,
                        default_root_dir=tmp_path)  # fmt: skip
    metrics = trainer.validate(module, dm, verbose=False)[0]
    records = module.eval_records
    n = len(dm.examples["val"])
    assert len(records) == n and len(scored) == 2  # the current policy, then the initial one, k rows per prompt
    (current, current_reward), (initial, _) = scored
    assert len(current.responses) == len(initial.responses) == n * k
    assert len(set(current.responses)) > n  # samples of a prompt differ: k real draws, not one response repeated
    for i, record in enumerate(records):
        assert record["row_id"] == current.row_ids[i * k] == current.row_ids[i * k + k - 1]
        assert record["reward"] == pytest.approx(float(current_reward.total[i * k : (i + 1) * k].mean()), abs=1e-6)
        meta = next(r for r in rows if r["id"] == record["row_id"])
        rouge = [rouge_pair(text, meta["summary"])["rouge1"] for text in current.responses[i * k : (i + 1) * k]]
        assert record["rouge1"] == pytest.approx(sum(rouge) / k, abs=1e-5)
    # the untrained LoRA is the initial policy and the samples are seeded alike: the same k draws, a tie
    assert initial.responses == current.responses
    assert metrics["val/reward"] == pytest.approx(metrics["val/reward_initial"], abs=1e-6)
    assert metrics["val/win_rate"] == pytest.approx(0.5)
    assert abs(metrics["val/kl"]) < 1e-4  # the sampler's log-probs (evaluation at the training temperature) = pi_ref's
    assert metrics["val/rouge1"] == pytest.approx(sum(r["rouge1"] for r in records) / n, abs=1e-5)
    assert module.eval_samples[0]["after"] == current.responses[0]


def test_evaluation_describes_how_prompts_are_answered():
    assert EvalConfig().describe() == "greedy"
    assert EvalConfig(sampling=SamplingConfig(do_sample=False)).describe() == "greedy"
    sampled = EvalConfig(sampling=SamplingConfig(temperature=0.7), samples_per_prompt=4)
    assert sampled.describe() == "mean of 4 samples at temperature 0.7"


def test_sampled_evaluation_needs_sampling():
    with pytest.raises(ValueError, match="samples_per_prompt=4 needs a sampling evaluation"):
        EvalConfig(samples_per_prompt=4)
    with pytest.raises(ValueError, match="samples_per_prompt=2 needs a sampling evaluation"):
        EvalConfig(sampling=SamplingConfig(do_sample=False), samples_per_prompt=2)
    with pytest.raises(ValueError, match="must be >= 1"):
        EvalConfig(sampling=SamplingConfig(), samples_per_prompt=0)
