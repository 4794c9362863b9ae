"""The main job: the PE-RLHF pipeline on the embedded model and built-in data, with no network.

Without ``--task`` it trains a LoRA reward model (Bradley-Terry) on the built-in preference pairs, then a LoRA policy
with RLOO on the built-in prompts against that reward adapter on the same frozen backbone (Hydra layout).

With ``--task summarization | harmlessness | helpfulness | dialogue | ui_automation | vqa`` it runs the task's stages on
its built-in sample (or ``--sft-data`` / ``--rm-data`` / ``--rl-data``): LoRA SFT on the demonstrations, the reward
model (pairwise, or pointwise on Taskmaster's thumbs up/down), then RL starting from the SFT adapter, whose frozen
copy is the reference. Every stage reports its held-out metrics before and after training: SFT perplexity; RM
accuracy (and AUROC / ECE for pointwise); RL reward, KL to the initial policy, win rate and the task's metrics
(ROUGE for summarization, well-formed turns for dialogue, exact action / element accuracy for UI automation).

VQA (``--task vqa``) runs on a vision-language model: by default the embedded ``smollm2-135m-vlm``, whose alignment
pre-stage (a vision tower and projector trained onto the frozen SmolLM2, ``--align-steps``) runs first if its cache
was never built; every stage then sees the images. RL trains on the VQA accuracy by default.

UI automation trains RL on its programmatic reward by default (``--rl-reward function``: the scorer against the gold
action; ``rm`` or ``both`` bring in the reward model), evaluates on screen families held out of training, and adds a
multi-step RL stage (``--episode-rollouts``) whose episodes play the task's environment turn by turn; its held-out
metrics are the success rate, steps and invalid actions of whole episodes.

Run it with ``perl pipeline`` (``make demo`` sets up the environment first); ``perl pipeline --help`` lists options.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from pathlib import Path

from perl_lightning.console import quiet_third_party
from perl_lightning.models.embedded import SMOLLM2, SMOLLM2_VLM
from perl_lightning.modules.episodes import EpisodeConfig
from perl_lightning.rewards.layer import RewardSpec
from perl_lightning.stages import ensure_embedded_vlm, run_reward_stage, run_rl_stage, run_sft_stage
from perl_lightning.tasks import TASKS, Task, get_task


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="perl pipeline", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--task", choices=sorted(t for t in TASKS if t != "generic"), default=None,
                        help="task whose schema, built-in sample, stages and metrics to use")  # fmt: skip
    parser.add_argument("--model", default=None,
                        help="base model (embedded name, hub id, path; default: smollm2-135m-instruct, or "
                             "smollm2-135m-vlm for tasks with images)")  # fmt: skip
    parser.add_argument(
        "--align-steps",
        type=int,
        default=3000,
        help="steps of smollm2-135m-vlm's alignment pre-stage, if it has to run (tasks with images)",
    )
    parser.add_argument("--out", default="runs/pipeline", help="output directory")
    parser.add_argument("--sft-data", default=None, help="SFT demonstrations (default: the task's built-in sample)")
    parser.add_argument("--sft-steps", type=int, default=20, help="SFT optimizer steps (0 skips SFT; tasks only)")
    parser.add_argument("--sft-lr", type=float, default=None, help="SFT learning rate (default: 2e-4 for LoRA)")
    parser.add_argument("--data", "--rm-data", dest="rm_data", default=None,
                        help="reward-model data (default: the task's built-in sample, or 'builtin')")  # fmt: skip
    parser.add_argument("--rm-steps", type=int, default=25, help="reward-model optimizer steps")
    parser.add_argument("--batch-size", type=int, default=8, help="pairs / ratings / demonstrations per step")
    parser.add_argument("--max-length", type=int, default=256, help="max tokens of prompt + response")
    parser.add_argument("--lora-rank", type=int, default=8, help="LoRA rank")
    parser.add_argument("--lr", type=float, default=None, help="reward-model learning rate (default: 5e-4 for LoRA)")
    parser.add_argument("--rl-data", default=None, help="RL prompts (default: the task's built-in prompts)")
    parser.add_argument("--rl-rollouts", type=int, default=16, help="RLOO rollout batches (0 skips RL)")
    parser.add_argument("--rl-prompts", type=int, default=8, help="prompts per rollout batch")
    parser.add_argument("--rl-samples", type=int, default=2, help="samples per prompt (RLOO k)")
    parser.add_argument("--rl-new-tokens", type=int, default=48, help="max new tokens per response")
    parser.add_argument("--rl-lr", type=float, default=1e-4, help="policy learning rate")
    parser.add_argument("--rl-reward", choices=["rm", "function", "both"], default=None,
                        help="RL reward: the reward model, the task's programmatic reward, or both summed (default: "
                             "function for tasks that have one, ui_automation; else rm)")  # fmt: skip
    parser.add_argument("--rl-eval-prompts", type=int, default=8, help="held-out prompts the RL stage evaluates on")
    parser.add_argument("--episode-rollouts", type=int, default=8,
                        help="multi-step RL rollout batches on the task's episodes (tasks with an environment: "
                             "ui_automation; 0 skips)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", action="store_true",
                        help="keep the libraries' info logs, bars and internal warnings on the console")  # fmt: skip
    return parser


def main(argv: list[str] | None = None) -> int:
    """``perl pipeline``: run the PE-RLHF pipeline and print what it measured."""
    args = _parser().parse_args(argv)
    with contextlib.nullcontext() if args.verbose else quiet_third_party():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    task = get_task(args.task) if args.task else None
    if args.model is None:
        args.model = SMOLLM2_VLM if task is not None and task.needs_images else SMOLLM2
    if args.model == SMOLLM2_VLM:
        ensure_embedded_vlm(out, args.align_steps, args.seed)
    sft = task is not None and "sft" in task.stages() and args.sft_steps > 0
    multistep = task is not None and "episodes" in task.programmatic_rewards and args.episode_rollouts > 0
    names = (["SFT"] if sft else []) + ["reward model"] + (["RL"] if args.rl_rollouts > 0 else [])
    names += ["multi-step RL"] if multistep else []
    step = iter(range(1, len(names) + 1))
    timings: dict[str, float] = {}
    if task is not None:
        print(f"task: {task.describe()}")
    sft_result = None
    if sft:
        print(f"[{next(step)}/{len(names)}] SFT: LoRA r={args.lora_rank} on {args.model}, {args.sft_steps} steps")
        start = time.perf_counter()
        sft_result = run_sft_stage(out, task, args.model, args.sft_data, args.sft_steps, args.batch_size,
                                   args.max_length, args.lora_rank, args.sft_lr, args.seed)  # fmt: skip
        timings["SFT"] = time.perf_counter() - start
    print(f"[{next(step)}/{len(names)}] reward model: LoRA r={args.lora_rank} on {args.model}, {args.rm_steps} steps")
    start = time.perf_counter()
    rm = run_reward_stage(out, args.model, args.rm_data, args.rm_steps, args.batch_size, args.max_length,
                          args.lora_rank, args.lr, args.seed, task=task)  # fmt: skip
    timings["reward model"] = time.perf_counter() - start
    rl = None
    if args.rl_rollouts > 0:
        start_from = f"the SFT adapter {sft_result.adapter_dir}" if sft_result else "the base model"
        print(f"[{next(step)}/{len(names)}] RL: LoRA policy from {start_from}, RLOO k={args.rl_samples}, "
              f"{args.rl_rollouts} rollout batches of {args.rl_prompts} prompts, "
              f"reward adapter {rm.adapter_dir}")  # fmt: skip
        start = time.perf_counter()
        rl = run_rl_stage(out, rm.adapter_dir, args.model, args.rl_data, args.rl_rollouts, args.rl_prompts,
                          args.rl_samples, args.rl_new_tokens, args.rl_lr, seed=args.seed, task=task,
                          init_policy_adapter=sft_result.adapter_dir if sft_result else None,
                          rewards=_rl_rewards(args.rl_reward, task, rm.adapter_dir, "steps"),
                          eval_prompts=args.rl_eval_prompts, max_prompt_length=max(192, args.max_length))  # fmt: skip
        timings["RL"] = time.perf_counter() - start
    episodes = None
    if multistep:
        assert task is not None
        print(f"[{next(step)}/{len(names)}] multi-step RL: episodes of the {task.name} environment, "
              f"{args.episode_rollouts} rollout batches of {args.rl_prompts} episodes x {args.rl_samples}")  # fmt: skip
        start = time.perf_counter()
        episodes = run_rl_stage(out / "multistep", None, args.model, None, args.episode_rollouts, args.rl_prompts,
                                args.rl_samples, args.rl_new_tokens, args.rl_lr, seed=args.seed,
                                task=type(task)(prompts="episodes"),  # type: ignore[call-arg]
                                init_policy_adapter=sft_result.adapter_dir if sft_result else None,
                                rewards=[RewardSpec(task.programmatic_rewards["episodes"])],
                                episodes=EpisodeConfig(task=task.name), eval_prompts=args.rl_eval_prompts,
                                max_prompt_length=max(192, args.max_length))  # fmt: skip
        timings["multi-step RL"] = time.perf_counter() - start

    print("\n== PE-RLHF pipeline summary ==")
    if sft_result is not None:
        before, after = sft_result.perplexity_before, sft_result.perplexity_after
        print(f"SFT held-out perplexity: {before:.2f} before -> {after:.2f} after ({sft_result.steps} steps); "
              f"adapter: {sft_result.adapter_dir}")  # fmt: skip
    if rm.objective == "pointwise":
        nan = float("nan")
        shown = ", ".join(f"{k} {rm.before.get(f'val/{k}', nan):.3f} -> {rm.after.get(f'val/{k}', nan):.3f}"
                          for k in ("accuracy", "auroc", "ece"))  # fmt: skip
        per_step = rm.seconds / max(rm.steps, 1)
        print(f"reward model (pointwise) held-out {shown} ({rm.steps} steps, {per_step:.2f} s/step)")
    else:
        print(f"reward model held-out pairwise accuracy: {rm.accuracy_before:.3f} before -> {rm.accuracy_after:.3f} "
              f"after ({rm.steps} steps, {rm.seconds / max(rm.steps, 1):.2f} s/step)")  # fmt: skip
    print(f"reward adapter saved to: {rm.adapter_dir}")
    if rl is not None:
        print(f"RL on held-out prompts (greedy): reward {rl.reward_before:+.3f} -> {rl.reward_after:+.3f}, "
              f"KL to initial policy {rl.kl_before:.3f} -> {rl.kl_after:.3f}, "
              f"win rate vs initial {rl.win_rate:.2f}")  # fmt: skip
        for name, (initial, final) in sorted(rl.task_metrics.items()):
            print(f"  task metric {name}: {initial:.3f} (initial policy) -> {final:.3f} (after RL)")
        phases = ", ".join(f"{k} {v:.1f}s" for k, v in rl.phase_seconds.items())
        print(f"RL: {rl.rollouts} rollout batches in {rl.seconds:.0f} s ({phases} per batch)")
        print(f"policy adapters saved to: {rl.adapter_dir}")
        for i, row in enumerate(rl.samples[:3], start=1):
            print(f"\n--- example {i} ---\nprompt: {_short(row['prompt'])}")
            print(f"before ({float(row['reward_before']):+.2f}): {_short(row['before'])}")
            print(f"after  ({float(row['reward_after']):+.2f}): {_short(row['after'])}")
    if episodes is not None:
        print(f"multi-step RL on held-out episodes: episode reward {episodes.reward_before:+.3f} -> "
              f"{episodes.reward_after:+.3f}, KL to initial policy {episodes.kl_after:.3f}")  # fmt: skip
        for name, (initial, final) in sorted(episodes.task_metrics.items()):
            print(f"  task metric {name}: {initial:.3f} (initial policy) -> {final:.3f} (after RL)")
    print("\ntimings: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()))
    return 0


def _rl_rewards(choice: str | None, task: Task | None, reward_adapter: Path, kind: str) -> list[RewardSpec]:
    """The RL stage's reward sources: the reward model, the task's programmatic reward, or both."""
    function = task.programmatic_rewards.get(kind) if task is not None else None
    choice = choice or ("function" if function else "rm")
    if choice != "rm" and function is None:
        raise SystemExit(f"--rl-reward {choice}: task {task.name if task else None!r} has no programmatic reward")
    specs = [RewardSpec(str(reward_adapter))] if choice in ("rm", "both") else []
    return specs + ([RewardSpec(function)] if choice in ("function", "both") and function else [])


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
