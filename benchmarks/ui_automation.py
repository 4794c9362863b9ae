"""UI automation on the embedded SmolLM2-135M-Instruct (CPU): base -> LoRA SFT -> RL with the programmatic reward,
single-step and multi-step, measured on screen families held out of training.

Phases (each one's figures are saved as soon as it ends; ``--resume`` skips the phases already in the results):

1. ``base``: the base model, greedy, on the held-out screens (the start screens of the first ``--eval-screens``
   held-out episodes: independent screens); ``base_episodes``: on the held-out episodes, played in the environment
   until ``done()``, failure or the step limit.
2. ``sft``: LoRA SFT (rank ``--lora-rank`` on ``--lora-targets``) on the first ``--sft-demos`` training
   demonstrations (seven training families; with ``--demos start`` the start screens of training episodes, with
   ``all`` every step with its history), ``--sft-steps`` steps of 8; held-out perplexity on ``--sft-val`` of them.
3. ``rl``: GRPO from the SFT adapter (its frozen copy is the reference and the KL anchor) with ``action_reward`` on
   all the training screens of ``--demos`` (most of them unseen in SFT); exact action / element accuracy and
   invalid-action rate on the held-out screens for the SFT policy (the stage's initial policy) and after RL, with
   KL to the SFT policy.
4. ``multistep``: GRPO from the SFT adapter on training-family episodes with ``episode_reward``; success rate, mean
   steps and invalid actions on the held-out episodes for the SFT policy and after RL, with KL.

A step's acceptable actions are every action that is right now (``gold_action``: the canonical next action and the
later sub-goals' actions that can be done first), so "delete the umbrella and set the scarf to 3" accepts either.
Standard errors are binomial (``sqrt(p (1 - p) / n)``); a difference's is ``sqrt(se_a^2 + se_b^2)`` (the same
items, so this is conservative). Writes ``benchmarks/results/ui_automation-cpu.json``.

    python benchmarks/ui_automation.py --phases base sft rl   # ~45 min on 2 CPU cores
    python benchmarks/ui_automation.py --resume               # continue after an interruption
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from pathlib import Path

import lightning as L
import torch
from greedy_eval import greedy_scores, load_results
from greedy_eval import save_results as save

from perl_lightning.data.prompts import PromptDataModule
from perl_lightning.modules.episodes import EpisodeConfig
from perl_lightning.modules.policy import PolicyModule
from perl_lightning.rewards.layer import RewardSpec
from perl_lightning.rl.config import SamplingConfig
from perl_lightning.sources import iter_rows
from perl_lightning.stages import run_rl_stage, run_sft_stage
from perl_lightning.tasks import UIAutomation

RESULTS_FILE = Path(__file__).resolve().parent / "results" / "ui_automation-cpu.json"
STEP_METRICS = ("exact_action", "element_accuracy", "invalid_action")
EPISODE_METRICS = ("success", "episode_steps", "episode_invalid")
#: LoRA targets of the SFT adapter (RL continues that adapter): SmolLM2's attention projections, or every linear layer
TARGETS: dict[str, list[str] | None] = {
    "attention": None,
    "all-linear": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
}


def binomial_se(p: float, n: int) -> float:
    return math.sqrt(max(p * (1 - p), 0.0) / max(n, 1))


def held_out_screens(task: UIAutomation, out: Path, n: int, start_only: bool) -> Path:
    """A dataset directory: as ``test`` the start screen of the first ``n`` held-out episodes (independent screens;
    later steps, with their history, are what the multi-step phase plays), and as ``train`` the built-in training
    steps (only their start screens with ``start_only``: the single-step task of a fresh screen and a goal)."""
    steps = Path(task.source("sft", None))
    picked = [r.data for r in iter_rows(str(steps), split="test") if r.data["step"] == 0][:n]
    train = [r.data for r in iter_rows(str(steps), split="train") if not start_only or r.data["step"] == 0]
    target = out / ("start_screens" if start_only else "screens")
    target.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train", train), ("test", picked)):
        (target / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return target


def greedy_metrics(policy: PolicyModule, dm: PromptDataModule, task: UIAutomation, names: tuple[str, ...]) -> dict:
    """The policy's greedy answers on every held-out batch: each metric's mean, standard error and count."""
    values, _ = greedy_scores(policy, dm, task, names)
    out = {}
    for n, v in values.items():
        mean = sum(v) / len(v)
        se = binomial_se(mean, len(v)) if n in ("exact_action", "element_accuracy", "invalid_action", "success") else (
            math.sqrt(sum((x - mean) ** 2 for x in v) / max(len(v) - 1, 1) / len(v)))  # fmt: skip
        out[n] = {"value": mean, "se": se, "n": len(v)}
    return out


def stage_metrics(rl, names: tuple[str, ...], n: int) -> dict:
    """The RL stage's held-out metrics of its initial (SFT) and final policy, with standard errors."""
    out = {}
    for name in names:
        initial, final = rl.task_metrics[name]
        se = (binomial_se(initial, n), binomial_se(final, n)) if name in ("exact_action", "success") else (None, None)
        out[name] = {"sft": initial, "sft_se": se[0], "rl": final, "rl_se": se[1]}
        if se[0] is not None:
            diff_se = math.hypot(*se)
            out[name].update(diff=final - initial, diff_se=diff_se, diff_in_se=(final - initial) / max(diff_se, 1e-12))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/bench_ui_automation")
    parser.add_argument("--resume", action="store_true", help="skip the phases already in the results file")
    parser.add_argument("--results", default=str(RESULTS_FILE), help="the results file (JSON)")
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--eval-screens", type=int, default=200)
    parser.add_argument("--eval-episodes", type=int, default=200)
    parser.add_argument("--sft-demos", type=int, default=320)
    parser.add_argument("--sft-steps", type=int, default=50)
    parser.add_argument("--sft-val", type=int, default=64, help="held-out demonstrations for the perplexity")
    parser.add_argument("--sft-lr", type=float, default=1e-3)
    demos = "SFT demonstrations and RL prompts: the training episodes' start screens, or every step"
    parser.add_argument("--demos", choices=("start", "all"), default="start", help=demos)
    parser.add_argument("--lora-rank", type=int, default=16)
    parser.add_argument("--lora-targets", choices=tuple(TARGETS), default="all-linear")
    parser.add_argument("--rl-steps", type=int, default=40)
    parser.add_argument("--rl-prompts", type=int, default=4)
    parser.add_argument("--rl-samples", type=int, default=8)
    parser.add_argument("--rl-lr", type=float, default=2e-4)
    parser.add_argument("--rl-temperature", type=float, default=0.9, help="sampling temperature of the RL rollouts")
    parser.add_argument("--kl-coef", type=float, default=0.02)
    parser.add_argument(
        "--rl-zero-std",
        choices=("keep", "drop", "resample"),
        default="keep",
        help="GRPO groups whose samples all score the same: keep, drop, or redraw them (DAPO)",
    )
    credit = (
        "partial credit of the step reward, e.g. element=0 kind=0 for exact-match only (see tasks.ui.actions.Credit)"
    )
    parser.add_argument("--rl-credit", nargs="*", default=[], metavar="NAME=VALUE", help=credit)
    parser.add_argument("--episode-steps", type=int, default=8)
    parser.add_argument("--max-turns", type=int, default=5)
    parser.add_argument(
        "--shaping",
        type=float,
        default=0.0,
        help="multi-step: weight of the per-step progress reward (0: the end reward only)",
    )
    parser.add_argument(
        "--invalid-penalty",
        type=float,
        default=None,
        help="multi-step: reward per invalid action (default: the task's)",
    )
    changes = "screens after the first: whole, or only what the action changed (UIAutomation's observations)"
    parser.add_argument("--observations", choices=("screens", "changes"), default="screens", help=changes)
    parser.add_argument("--max-prompt-length", type=int, default=1024)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--phases", nargs="+", default=["base", "sft", "rl", "base_episodes", "multistep"])
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    out = Path(args.out)
    results_file = Path(args.results)
    results = load_results(results_file) if args.resume else {}
    results.update(
        settings=vars(args),
        machine={
            "cpu": platform.processor() or platform.machine(),
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
        },
    )
    task = UIAutomation(observations=args.observations)
    screens = held_out_screens(task, out, args.eval_screens, args.demos == "start")
    episodes_task = UIAutomation(prompts="episodes", observations=args.observations)
    env_args: dict[str, object] = {"shaping": args.shaping} if args.shaping else {}
    if args.observations != "screens":
        env_args["observations"] = args.observations
    if args.invalid_penalty is not None:
        env_args["invalid_penalty"] = args.invalid_penalty
    episode_config = EpisodeConfig(task="ui_automation", task_args=env_args or None, max_turns=args.max_turns)

    def step_dm() -> PromptDataModule:
        return PromptDataModule(task=task, path=str(screens), val_split="test", val_limit=args.eval_screens,
                                eval_batch_size=16, max_prompt_length=args.max_prompt_length)  # fmt: skip

    def episode_dm() -> PromptDataModule:
        return PromptDataModule(task=episodes_task, val_limit=args.eval_episodes, eval_batch_size=32,
                                max_prompt_length=args.max_prompt_length)  # fmt: skip

    sampling = SamplingConfig(max_new_tokens=args.max_new_tokens)
    if "base" in args.phases and not (args.resume and "base" in results):
        start = time.perf_counter()
        base = PolicyModule(args.model, rewards=[RewardSpec(task.programmatic_rewards["steps"])], sampling=sampling)
        results["base"] = {"screens": greedy_metrics(base, step_dm(), task, STEP_METRICS),
                           "seconds": round(time.perf_counter() - start, 1)}  # fmt: skip
        save(results, results_file)
        print("base", json.dumps(results["base"]), flush=True)
    if "base_episodes" in args.phases and not (args.resume and "base_episodes" in results):
        start = time.perf_counter()
        multi = PolicyModule(args.model, rewards=[RewardSpec(task.programmatic_rewards["episodes"])],
                             sampling=sampling, episodes=episode_config)  # fmt: skip
        results["base_episodes"] = {"episodes": greedy_metrics(multi, episode_dm(), task, EPISODE_METRICS),
                                    "seconds": round(time.perf_counter() - start, 1)}  # fmt: skip
        save(results, results_file)
        print("base_episodes", json.dumps(results["base_episodes"]), flush=True)

    sft_dir = out / "sft" / "sft_adapter"
    if "sft" in args.phases and not (args.resume and "sft" in results and sft_dir.exists()):
        sft = run_sft_stage(out / "sft", task, args.model, str(screens), args.sft_steps, 8, args.max_prompt_length + 48,
                            args.lora_rank, args.sft_lr, args.seed, limit=args.sft_demos, val_limit=args.sft_val,
                            target_modules=TARGETS[args.lora_targets])  # fmt: skip
        results["sft"] = {"perplexity_before": sft.perplexity_before, "perplexity_after": sft.perplexity_after,
                          "held_out_steps": sft.held_out, "demonstrations": args.sft_demos, "steps": sft.steps,
                          "seconds": round(sft.seconds, 1)}  # fmt: skip
        save(results, results_file)
        print("sft", json.dumps(results["sft"]), flush=True)

    common = dict(model=args.model, batch_size=args.rl_prompts, samples_per_prompt=args.rl_samples,
                  max_new_tokens=args.max_new_tokens, learning_rate=args.rl_lr, kl_coef=args.kl_coef, seed=args.seed,
                  init_policy_adapter=sft_dir, algorithm="grpo", max_prompt_length=args.max_prompt_length,
                  temperature=args.rl_temperature, zero_std=args.rl_zero_std)  # fmt: skip
    credit = {name: float(value) for name, value in (item.split("=", 1) for item in args.rl_credit)}
    step_reward = RewardSpec(task.programmatic_rewards["steps"], args={"credit": credit} if credit else None)
    if "rl" in args.phases and not (args.resume and "rl" in results):
        L.seed_everything(args.seed)
        rl = run_rl_stage(out / "rl", None, prompts=str(screens), rollouts=args.rl_steps, task=task,
                          rewards=[step_reward], eval_prompts=args.eval_screens,
                          val_split="test", **common)  # fmt: skip
        results["rl"] = {"metrics": stage_metrics(rl, STEP_METRICS, args.eval_screens), "kl_to_sft": rl.kl_after,
                         "reward_sft": rl.reward_before, "reward_rl": rl.reward_after, "win_rate": rl.win_rate,
                         "steps": rl.rollouts, "seconds": round(rl.seconds, 1), "phase_seconds": rl.phase_seconds,
                         "samples": rl.samples}  # fmt: skip
        save(results, results_file)
        print("rl", json.dumps(results["rl"]["metrics"]), "kl", rl.kl_after, flush=True)

    if "multistep" in args.phases and not (args.resume and "multistep" in results):
        L.seed_everything(args.seed)
        ms = run_rl_stage(out / "multistep", None, rollouts=args.episode_steps, task=episodes_task,
                          rewards=[RewardSpec(task.programmatic_rewards["episodes"])], episodes=episode_config,
                          eval_prompts=args.eval_episodes, **common)  # fmt: skip
        results["multistep"] = {"metrics": stage_metrics(ms, EPISODE_METRICS, args.eval_episodes),
                                "kl_to_sft": ms.kl_after, "reward_sft": ms.reward_before, "reward_rl": ms.reward_after,
                                "steps": ms.rollouts, "seconds": round(ms.seconds, 1),
                                "phase_seconds": ms.phase_seconds, "samples": ms.samples}  # fmt: skip
        save(results, results_file)
        print("multistep", json.dumps(results["multistep"]["metrics"]), "kl", ms.kl_after, flush=True)


if __name__ == "__main__":
    main()
