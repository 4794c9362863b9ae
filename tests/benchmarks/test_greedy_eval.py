"""The task benchmarks' scoring helpers: greedy and k-sampled scores line up item by item with their metadata, and
a sampled evaluation draws the same samples again under the same seed (so two adapters are compared on one stream)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from greedy_eval import greedy_scores, sampled_scores  # noqa: E402
from ui_family_eval import dump_lines, episode_figures, start_screens, won_lost  # noqa: E402

from perl_lightning.data.prompts import PromptDataModule  # noqa: E402
from perl_lightning.modules.policy import PolicyModule  # noqa: E402
from perl_lightning.rewards.layer import RewardSpec  # noqa: E402
from perl_lightning.rl.config import SamplingConfig  # noqa: E402
from perl_lightning.tasks import UIAutomation  # noqa: E402

NAMES = ("exact_action", "invalid_action")


class ParityTask(UIAutomation):
    """UI automation whose "metrics" are the parity of each response's length and its complement: a tiny random
    model never emits a valid action, so the real metrics are constant; these vary with the sampled text."""

    def evaluate(self, responses: list[str], metadata: list[dict]) -> dict[str, torch.Tensor]:
        odd = torch.tensor([float(len(r) % 2) for r in responses])
        return {"exact_action": odd, "invalid_action": 1.0 - odd}


def test_greedy_and_sampled_scores_per_item(tmp_path):
    task = ParityTask()
    screens = start_screens(task, "validation", 6, tmp_path / "screens")
    policy = PolicyModule("tiny-llama", rewards=[RewardSpec(task.programmatic_rewards["steps"])],
                          sampling=SamplingConfig(max_new_tokens=6)).eval()  # fmt: skip

    def data() -> PromptDataModule:
        return PromptDataModule(task=task, path=str(screens), val_split="test", eval_batch_size=4,
                                max_prompt_length=1024)  # fmt: skip

    greedy, greedy_meta = greedy_scores(policy, data(), task, NAMES)
    assert greedy_scores(policy, data(), task, NAMES)[0] == greedy  # greedy: the same answers every time
    sampled, sampled_meta = sampled_scores(policy, data(), task, NAMES, k=3, temperature=1.0)
    again, _ = sampled_scores(policy, data(), task, NAMES, k=3, temperature=1.0)
    other, _ = sampled_scores(policy, data(), task, NAMES, k=3, temperature=1.0, seed=99)
    assert [len(greedy[n]) for n in NAMES] == [len(sampled[n]) for n in NAMES] == [6, 6]
    assert [m["family"] for m in greedy_meta] == [m["family"] for m in sampled_meta]  # one row per item, in order
    assert all(v in (0.0, 1.0) for v in greedy["exact_action"])
    assert sampled == again and sampled != other  # the seed fixes the draws; another seed draws others
    for s, t in zip(sampled["exact_action"], sampled["invalid_action"], strict=True):
        assert abs(s * 3 - round(s * 3)) < 1e-6 and abs(s + t - 1.0) < 1e-6  # each item: the mean of its 3 samples
    assert any(0.0 < v < 1.0 for v in sampled["exact_action"] + other["exact_action"])  # samples of an item differ

    # each item's metadata carries its row id and its response: the score is that response's (parity tells)
    ids = [json.loads(line)["id"] for line in (screens / "test.jsonl").read_text().splitlines()]
    assert sorted(m["row_id"] for m in greedy_meta) == sorted(ids)
    assert [float(len(m["response"]) % 2) for m in greedy_meta] == greedy["exact_action"]
    gold = {i: [f"click(e{n})"] for n, i in enumerate(ids)}
    lines = [json.loads(line) for line in dump_lines("a", greedy_meta, greedy["exact_action"], gold)]
    assert [(d["id"], d["score"], d["actions"], d["gold"]) for d in lines] == [
        (m["row_id"], v, m["response"].split("\n"), gold[m["row_id"]])
        for m, v in zip(greedy_meta, greedy["exact_action"], strict=True)
    ]


def test_episode_figures_and_won_lost_by_hand():
    records = [
        {"actions": ["click(e1)", "done()"], "gold": ["click(e1)"], "episode": {"invalid": 0, "steps": 2}},
        {"actions": ["click(e2)"], "gold": ["click(e1)", "done()"], "episode": {"invalid": 1, "steps": 1}},
        {"actions": [""], "gold": ['type(e3, "a")'], "episode": {"invalid": 2, "steps": 3}},
    ]
    assert episode_figures(records) == {"first_action_differs_from_gold": 2, "invalid_actions": 3, "mean_steps": 2.0}
    assert won_lost([0.0, 1.0, 0.0, 1.0], [1.0, 1.0, 0.0, 0.0]) == {"won": 1, "lost": 1}
    assert won_lost([0.0, 0.5], [0.5, 1.0]) == {"won": 2, "lost": 0}
