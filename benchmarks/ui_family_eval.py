"""Greedy exact-action accuracy per screen family of UI-automation policies (LoRA adapters on SmolLM2-135M), on the
start screens of a split: e.g. the training families' validation screens, to tell "RL learned nothing" from "RL
learned but did not transfer to the held-out families".

With two or more adapters, each later one is compared with the first on the same screens: the difference of their
accuracies with its paired standard error (``sd(b_i - a_i) / sqrt(n)``; screens both get right or both get wrong do
not add noise, so this is tighter than combining two binomial errors).

    python benchmarks/ui_family_eval.py --split validation --screens 200 \\
        runs/exp_a/sft/sft_adapter runs/exp_a/rl/rl_adapters/policy

With ``--samples 4``, each start screen is answered 4 times at ``--temperature`` (seeded alike for every adapter) and
scores the mean: the accuracy of the sampling policy that RL trains, next to its mode (greedy):

    python benchmarks/ui_family_eval.py --split validation --screens 300 --samples 4 \\
        runs/demo1/sft_adapter runs/demo1/rl_adapters/policy

``--data-seeds 1 2`` reads the split of the built-in data written with those seeds instead (600 held-out start
screens: the same two families, screens and goals none of the seed-0 runs has seen), to check a result found on the
first 200 on screens that played no part in choosing it; ``--skip N`` leaves out a split's first N items.

With ``--episodes``, the split's first ``--screens`` episodes are played instead, greedy, in the task's environment
(until ``done()``, failure or ``--max-turns``), and the success rate is reported per family:

    python benchmarks/ui_family_eval.py --episodes --split test \\
        runs/exp_a/sft/sft_adapter runs/exp_a/rl/rl_adapters/policy

Episodes also report where they go wrong (first action not the gold one, invalid actions, mean length), and every
later adapter the items it won and lost against the first.

``--dump FILE`` also writes, per adapter and item, the greedy actions next to the gold ones (to see where episodes
fail: e.g. at the first action, or by never calling ``done()``).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from greedy_eval import greedy_scores, paired_difference, sampled_scores

from perl_lightning.data.prompts import PromptDataModule
from perl_lightning.modules.episodes import EpisodeConfig
from perl_lightning.modules.policy import PolicyModule
from perl_lightning.rewards.layer import RewardSpec
from perl_lightning.rl.config import SamplingConfig
from perl_lightning.sources import iter_rows
from perl_lightning.tasks import UIAutomation


def split_rows(split: str, n: int, data_seeds: list[int], episodes: bool, skip: int = 0) -> list[dict]:
    """The first ``n`` items of ``split`` after the first ``skip``: episodes, or start screens (step 0), of the
    built-in data of each seed in ``data_seeds`` in turn (ids prefixed by the seed when there are several)."""
    rows = []
    for seed in data_seeds:
        root = UIAutomation(seed=seed).builtin_root()
        found = [r.data for r in iter_rows(str(root / ("episodes" if episodes else "steps")), split=split)]
        found = found if episodes else [r for r in found if r["step"] == 0]
        rows += [{**r, "id": f"s{seed}/{r['id']}"} if len(data_seeds) > 1 else r for r in found]
    return rows[skip : skip + n]


def write_split(rows: list[dict], out: Path) -> Path:
    """A dataset directory whose ``train`` and ``test`` splits are ``rows``."""
    out.mkdir(parents=True, exist_ok=True)
    for name in ("train", "test"):
        (out / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return out


def start_screens(task: UIAutomation, split: str, n: int, out: Path) -> Path:
    """A dataset directory whose ``test`` split is the start screens of the split's first ``n`` episodes (of the
    task's built-in data)."""
    return write_split(split_rows(split, n, [task.seed], episodes=False), out)


def family_accuracy(
    adapter: str,
    items: Path,
    task: UIAutomation,
    episodes: EpisodeConfig | None = None,
    samples: int = 1,
    temperature: float = 1.0,
) -> tuple[dict[str, list[float]], list[float], list[dict]]:
    """``family -> [right, items]`` of the adapter's greedy actions, the score per item (in order) and each item's
    metadata (with its ``row_id`` and ``response``: the actions of an episode, one a line): the exact
    action on the start screens in ``items`` (a dataset directory, :func:`write_split`), or with ``episodes`` the
    success of its episodes. With ``samples`` > 1 (start screens only) each screen is answered that many times at
    ``temperature`` and scores the mean (``right`` is then a sum of fractions)."""
    name = "success" if episodes is not None else "exact_action"
    policy = PolicyModule("smollm2-135m-instruct", rewards=[RewardSpec(task.programmatic_rewards["steps"])],
                          init_policy_adapter=adapter, sampling=SamplingConfig(max_new_tokens=32),
                          episodes=episodes or EpisodeConfig()).eval()  # fmt: skip
    dm = PromptDataModule(task=task, path=str(items), val_split="test", eval_batch_size=32 if episodes else 16,
                          max_prompt_length=1024)  # fmt: skip
    if samples > 1 and episodes is None:
        values, metadata = sampled_scores(policy, dm, task, (name,), samples, temperature)
    else:
        values, metadata = greedy_scores(policy, dm, task, (name,))
    scores = values[name]
    counts: dict[str, list[float]] = defaultdict(lambda: [0, 0])
    for meta, value in zip(metadata, scores, strict=True):
        counts[meta["family"]][0] += value
        counts[meta["family"]][1] += 1
    return dict(counts), scores, metadata


def dump_lines(adapter: str, metadata: list[dict], scores: list[float], gold: dict[str, list[str]]) -> list[str]:
    """One JSON line per item: the adapter, row id, family, score, the policy's actions and the gold ones (and, for
    an episode, its summary: steps, invalid actions, success)."""
    lines = []
    for meta, value in zip(metadata, scores, strict=True):
        line = {
            "adapter": adapter,
            "id": meta.get("row_id"),
            "family": meta.get("family"),
            "score": value,
            "actions": str(meta.get("response", "")).split("\n"),
            "gold": gold.get(str(meta.get("row_id")), []),
        }
        if "episode" in meta:
            line["episode"] = meta["episode"]
        lines.append(json.dumps(line) + "\n")
    return lines


def episode_figures(records: list[dict]) -> dict[str, float]:
    """Where an adapter's episodes go wrong, from its dump records (:func:`dump_lines`, parsed): episodes whose first
    action is not the first gold one, invalid actions in all, and the mean number of actions played."""
    return {
        "first_action_differs_from_gold": sum(r["actions"][:1] != r["gold"][:1] for r in records),
        "invalid_actions": sum(r["episode"]["invalid"] for r in records),
        "mean_steps": round(sum(r["episode"]["steps"] for r in records) / max(len(records), 1), 2),
    }


def won_lost(first: list[float], second: list[float]) -> dict[str, int]:
    """Items the second adapter scores higher on than the first, and lower (the paired difference's two tails)."""
    return {"won": sum(b > a for a, b in zip(first, second, strict=True)),
            "lost": sum(b < a for a, b in zip(first, second, strict=True))}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("adapters", nargs="+", help="policy adapter directories")
    parser.add_argument("--split", default="validation", help="train / validation / test (held-out families)")
    parser.add_argument("--screens", type=int, default=200, help="start screens (or episodes) to evaluate")
    parser.add_argument("--skip", type=int, default=0, help="leave out the split's first SKIP screens (or episodes)")
    parser.add_argument("--data-seeds", type=int, nargs="+", default=[0],
                        help="seeds of the built-in data whose split is read, in turn (0: the data RL trained on; "
                        "others give fresh screens of the same families)")  # fmt: skip
    parser.add_argument("--out", default="runs/ui_family_eval")
    parser.add_argument("--episodes", action="store_true", help="play whole episodes; report the success rate")
    parser.add_argument("--max-turns", type=int, default=5, help="most actions of an episode (with --episodes)")
    changes = "screens after the first: whole, or only what the action changed (UIAutomation's observations)"
    parser.add_argument("--observations", choices=("screens", "changes"), default="screens", help=changes)
    parser.add_argument("--samples", type=int, default=1,
                        help="answers sampled per start screen (1: greedy); a screen scores their mean")  # fmt: skip
    parser.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (with --samples > 1)")
    parser.add_argument("--dump", help="also write each item's actions, gold actions and score here (JSON lines)")
    args = parser.parse_args()
    if args.episodes and args.samples > 1:
        parser.error("--samples applies to start screens, not to --episodes")
    task = UIAutomation(prompts="episodes" if args.episodes else "steps", observations=args.observations)
    task_args = {"observations": args.observations} if args.observations != "screens" else None
    episodes = EpisodeConfig(task="ui_automation", task_args=task_args, max_turns=args.max_turns)
    episodes = episodes if args.episodes else None
    rows = split_rows(args.split, args.screens, args.data_seeds, args.episodes, args.skip)
    seeds = "-".join(map(str, args.data_seeds))
    items = write_split(rows, Path(args.out) / f"{args.split}-{'episodes' if args.episodes else 'start'}-{seeds}")
    gold = {str(r["id"]): list(r["gold_actions"]) if "gold_actions" in r else [r["gold_action"]] for r in rows}
    dumped: list[str] = []
    first: list[float] | None = None
    for adapter in args.adapters:
        counts, scores, metadata = family_accuracy(adapter, items, task, episodes, args.samples, args.temperature)
        lines = dump_lines(adapter, metadata, scores, gold)
        if args.dump:
            dumped += lines
            Path(args.dump).parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(f"{args.dump}.tmp")
            tmp.write_text("".join(dumped), encoding="utf-8")
            tmp.replace(args.dump)
        total = sum(c[0] for c in counts.values()) / max(sum(c[1] for c in counts.values()), 1)
        line = {
            "adapter": adapter,
            "split": args.split,
            "data_seeds": args.data_seeds,
            "items": f"{args.skip}..{args.skip + len(rows) - 1}",
            "answers": "greedy" if args.samples == 1 else f"mean of {args.samples} samples at T {args.temperature:g}",
            "success" if episodes else "exact": round(total, 3),
            "families": {f: [round(right, 2), n] for f, (right, n) in counts.items()},
        }
        if episodes is not None:
            line.update(episode_figures([json.loads(x) for x in lines]))
        if first is not None:
            line["vs_first"] = {k: round(v, 4) for k, v in paired_difference(first, scores).items()}
            line["vs_first"].update(won_lost(first, scores))
        first = scores if first is None else first
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
