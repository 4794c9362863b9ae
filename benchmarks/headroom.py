"""Is there anything for RL to sharpen? A policy's greedy accuracy next to its pass@k and mean sampled accuracy, per
group (UI screen family, VQA question type), on held-out items.

GRPO-style RL mostly moves probability onto answers the policy already samples: where pass@k is close to the greedy
accuracy (or the greedy answer is a constant such as always "yes"), a short RL run has little to work with. Each
item is answered greedily once and sampled ``--samples`` times at ``--temperature``; standard errors are over items.

    python benchmarks/headroom.py ui_automation runs/ui6/sft/sft_adapter --name ui_sft15
    python benchmarks/headroom.py vqa runs/bench_vqa/sft/sft_adapter --model runs/bench_vqa/vlm --name vqa_sft100

Writes (merges into) ``benchmarks/results/headroom-cpu.json`` under ``--name``.
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict
from pathlib import Path

import torch
from greedy_eval import load_results, mean_se, save_results
from ui_family_eval import start_screens

from perl_lightning.data.prompts import PromptDataModule
from perl_lightning.modules.policy import PolicyModule
from perl_lightning.rewards.layer import RewardSpec
from perl_lightning.rl.config import SamplingConfig
from perl_lightning.tasks import VQA, Task, UIAutomation

RESULTS_FILE = Path(__file__).resolve().parent / "results" / "headroom-cpu.json"
#: per task: its metric, the metadata field that groups items, the policy's reward, the default model
SETUP = {
    "ui_automation": ("exact_action", "family", "perl_lightning.tasks.ui_automation:action_reward",
                      "smollm2-135m-instruct"),
    "vqa": ("vqa_accuracy", "question_type", "perl_lightning.tasks.vqa:vqa_reward", "smollm2-135m-vlm"),
}  # fmt: skip


def headroom(policy: PolicyModule, dm: PromptDataModule, task: Task, metric: str, group: str, samples: int,
             temperature: float) -> list[dict]:  # fmt: skip
    """Per item: its group, greedy score, sampled scores and greedy response."""
    dm.tokenizer, dm.processor = policy.tokenizer, policy.processor
    dm.setup()
    new_tokens = policy.sampling.max_new_tokens
    greedy = SamplingConfig(max_new_tokens=new_tokens, do_sample=False)
    sampled = SamplingConfig(max_new_tokens=new_tokens, do_sample=True, temperature=temperature)
    items: list[dict] = []
    with torch.no_grad():
        for batch in dm.val_dataloader():
            first = policy.generate(batch, greedy)
            meta = list(first.metadata)
            scores = [task.evaluate(first.responses, meta)[metric].tolist()]
            scores += [task.evaluate(policy.generate(batch, sampled).responses, meta)[metric].tolist()
                       for _ in range(samples)]  # fmt: skip
            for i, m in enumerate(meta):
                items.append({"group": str(m.get(group)), "greedy": scores[0][i], "sampled": [s[i] for s in scores[1:]],
                              "response": first.responses[i]})  # fmt: skip
    return items


def summarise(items: list[dict]) -> dict:
    """Greedy, pass@k and mean sampled accuracy (with standard errors) overall and per group, and each group's most
    frequent greedy responses (a constant answer shows up here)."""

    def block(rows: list[dict]) -> dict:
        return {"greedy": mean_se([r["greedy"] for r in rows]),
                "pass_at_k": mean_se([float(max(r["sampled"]) >= 1.0) for r in rows]),
                "sampled": mean_se([sum(r["sampled"]) / len(r["sampled"]) for r in rows]),
                "top_greedy_responses": Counter(r["response"] for r in rows).most_common(3)}  # fmt: skip

    groups: dict[str, list[dict]] = defaultdict(list)
    for item in items:
        groups[item["group"]].append(item)
    return {"all": block(items), "groups": {g: block(rows) for g, rows in sorted(groups.items())}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=tuple(SETUP))
    parser.add_argument("adapter", help="the policy adapter directory")
    parser.add_argument("--model", help="the backbone (default: the task's embedded model)")
    parser.add_argument("--name", required=True, help="the key of this measurement in the results file")
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--samples", type=int, default=6)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--split", default="test", help="UI automation: test (held-out families) or validation")
    parser.add_argument("--out", default="runs/headroom", help="where the UI start screens are written")
    parser.add_argument("--results", default=str(RESULTS_FILE))
    args = parser.parse_args()
    metric, group, reward, model = SETUP[args.task]
    if args.task == "ui_automation":
        task: Task = UIAutomation()
        screens = start_screens(task, args.split, args.items, Path(args.out) / args.split)
        dm = PromptDataModule(task=task, path=str(screens), val_split="test", eval_batch_size=16,
                              max_prompt_length=1024)  # fmt: skip
        new_tokens = 32
    else:
        task = VQA(seed=0)
        dm = PromptDataModule(task=task, val_limit=args.items, eval_batch_size=32, max_prompt_length=192)
        new_tokens = 8
    policy = PolicyModule(args.model or model, rewards=[RewardSpec(reward)], init_policy_adapter=args.adapter,
                          sampling=SamplingConfig(max_new_tokens=new_tokens)).eval()  # fmt: skip
    items = headroom(policy, dm, task, metric, group, args.samples, args.temperature)
    summary = summarise(items)
    results = load_results(Path(args.results))
    results[args.name] = {"task": args.task, "adapter": args.adapter, "metric": metric, "samples": args.samples,
                          "temperature": args.temperature, "split": args.split if args.task == "ui_automation"
                          else "test", **summary}  # fmt: skip
    save_results(results, Path(args.results))
    print(args.name, {k: v for k, v in summary["all"].items() if k != "top_greedy_responses"})
    for name, block in summary["groups"].items():
        print(
            f"  {name}: greedy {block['greedy']['value']:.3f} pass@{args.samples} {block['pass_at_k']['value']:.3f} "
            f"sampled {block['sampled']['value']:.3f}  {block['top_greedy_responses'][:2]}"
        )


if __name__ == "__main__":
    main()
