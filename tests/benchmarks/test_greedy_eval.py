"""The task benchmarks' scoring helpers: greedy and k-sampled scores line up item by item with their metadata, and
a sampled evaluation draws the same samples again under the same seed (so two adapters are compared on one stream)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from greedy_eval import greedy_scores, sampled_scores  # noqa: E402
from ui_family_eval import start_screens  # noqa: E402

from perl_lightning.data.prompts import PromptDataModule  # noqa: E402
from perl_lightning.modules.policy import PolicyModule  # noqa: E402
from perl_lightning.rewards.layer import RewardSpec  # noqa: E402
from perl_lightning.rl.config import SamplingConfig  # noqa: E402
from perl_lightning.tasks import UIAutomation  # noqa: E402

NAMES = ("exact_action", "invalid_action")


def test_greedy_and_sampled_scores_per_item(tmp_path):
    task = UIAutomation()
    screens = start_screens(task, "validation", 6, tmp_path / "screens")
    policy = PolicyModule("tiny-llama", rewards=[RewardSpec(task.programmatic_rewards["steps"])],
                          sampling=SamplingConfig(max_new_tokens=4)).eval()  # fmt: skip

    def data() -> PromptDataModule:
        return PromptDataModule(task=task, path=str(screens), val_split="test", eval_batch_size=4,
                                max_prompt_length=1024)  # fmt: skip

    greedy, greedy_meta = greedy_scores(policy, data(), task, NAMES)
    sampled, sampled_meta = sampled_scores(policy, data(), task, NAMES, k=3, temperature=1.0)
    again, _ = sampled_scores(policy, data(), task, NAMES, k=3, temperature=1.0)
    other, _ = sampled_scores(policy, data(), task, NAMES, k=3, temperature=1.0, seed=99)
    assert [len(greedy[n]) for n in NAMES] == [len(sampled[n]) for n in NAMES] == [6, 6]
    assert [m["family"] for m in greedy_meta] == [m["family"] for m in sampled_meta]  # one row per item, in order
    assert sampled == again  # the same seed, the same draws
    for n in NAMES:  # a mean of 3 samples is a multiple of 1/3
        assert all(abs(v * 3 - round(v * 3)) < 1e-6 for v in sampled[n] + other[n])
