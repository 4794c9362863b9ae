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
from perl_lightning.rl.config import SamplingConfig
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
