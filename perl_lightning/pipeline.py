"""The main job: the PE-RLHF pipeline on the embedded model and built-in data, with no network.

By default (``make demo``) it runs UI automation, the task whose reward can be checked: LoRA SFT on demonstrations
of seven screen families, a LoRA reward model on action pairs, then GRPO with the task's programmatic reward (exact
action): about 20 minutes of a 2-core CPU. RL is measured on the 200 start screens of the training families'
validation split, which no stage trains on, each answered twice at the rollout temperature: the mean exact-action
accuracy of the policy's samples, which is what GRPO trains (``--rl-eval-samples 1`` measures greedy answers
instead, which 20 steps move within noise; ``--rl-val-split test`` the two screen families held out of every stage,
on which no setting of this budget shows a gain that replicates: see benchmarks/README.md).

With ``--task summarization | harmlessness | helpfulness | dialogue | ui_automation | vqa`` it runs that task's
stages on its built-in sample (or ``--sft-data`` / ``--rm-data`` / ``--rl-data``): LoRA SFT on the demonstrations, the
reward model (pairwise, or pointwise on Taskmaster's thumbs up/down), then RL starting from the SFT adapter, whose
frozen copy is the reference. Every stage measures its held-out metric before and after training on the same items;
``summary.json`` in ``--out`` gives each with the standard error of the paired difference, the stage's seconds and
peak memory (and RL's KL to its reference), and ``plots/`` the RL curves and the before / after metrics.

VQA (``--task vqa``) runs on a vision-language model: by default the embedded ``smollm2-135m-vlm``, whose alignment
pre-stage (a vision tower and projector trained onto the frozen SmolLM2, ``--align-steps``) runs first if its cache
was never built. UI automation can add a multi-step RL stage (``--episode-rollouts``) whose episodes play the task's
environment turn by turn (success rate, steps and invalid actions of whole held-out episodes).

Run it with ``perl pipeline`` (``make demo`` sets up the environment first); ``perl pipeline --help`` lists options.
"""

from __future__ import annotations

import argparse
import contextlib
import math
from pathlib import Path
from typing import Any

from perl_lightning.console import quiet_third_party
from perl_lightning.models.embedded import SMOLLM2, SMOLLM2_VLM
from perl_lightning.modules.episodes import EpisodeConfig
from perl_lightning.profiling import PhaseMeter
from perl_lightning.report import StageSummary, paired, plot_before_after, plot_curves, read_curves, write_summary
from perl_lightning.rewards.layer import RewardSpec
from perl_lightning.stages import (
    RewardStageResult,
    RLStageResult,
    SFTStageResult,
    ensure_embedded_vlm,
    run_reward_stage,
    run_rl_stage,
    run_sft_stage,
)
from perl_lightning.tasks import TASKS, Task, get_task

ALL_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
#: Settings of every task unless its recipe or the command line says otherwise.
DEFAULTS: dict[str, Any] = dict(
    task_args={}, sft_steps=20, sft_lr=None, sft_demos=None, sft_eval_demos=100, lora_targets=None, rm_steps=25,
    batch_size=8, max_length=256, lora_rank=8, lr=None, rm_eval_pairs=None, rm_response_tokens=None, rl_rollouts=16,
    rl_prompts=8, rl_samples=2, rl_new_tokens=48, rl_lr=1e-4, rl_algorithm="rloo", rl_temperature=0.9,
    rl_zero_std="keep", rl_credit=None, rl_eval_prompts=100, rl_val_fraction=0.1, rl_val_split=None,
    rl_eval_samples=1, rl_eval_temperature=None, episode_rollouts=0,
)  # fmt: skip
#: Per task: what was measured to work within the demo's budget (``benchmarks/``), over ``DEFAULTS``.
RECIPES: dict[str, dict[str, Any]] = {
    # start screens only (the single-step task); SFT on 320 demonstrations; RL on exact actions only, with groups
    # whose samples all score the same redrawn (DAPO's dynamic sampling), as benchmarks/ui_automation.py's run 7.
    # Measured on the 200 unseen start screens of the training families, each answered twice at the rollout
    # temperature: the sampling policy RL trains (benchmarks/README.md, "Demo candidates"; greedy answers, and
    # the two held-out families, move within noise at this budget)
    "ui_automation": dict(
        task_args={"prompts": "start"}, sft_steps=15, sft_lr=1e-3, sft_demos=320, lora_targets=ALL_LINEAR,
        lora_rank=16, rm_steps=20, max_length=1072, rm_eval_pairs=100, rm_response_tokens=48, rl_rollouts=20,
        rl_prompts=8, rl_samples=4, rl_new_tokens=32, rl_algorithm="grpo", rl_temperature=1.0,
        rl_zero_std="resample", rl_credit={"element": 0.0, "kind": 0.0}, rl_val_split="validation",
        rl_eval_prompts=200, rl_eval_samples=2,
    ),
    # benchmarks/vqa.py's setting (README "VQA on the embedded VLM"): LoRA r=16 on the language model's attention,
    # SFT 100 steps, RM 60; GRPO 8 x 8 on the VQA accuracy, lr 2e-4, groups that all score the same redrawn. RL is
    # measured on the first 400 test questions (unseen colour-shape combinations), each answered 4 times at T 1.0
    "vqa": dict(
        sft_steps=100, sft_lr=5e-4, lora_rank=16, rm_steps=60, max_length=192, rm_eval_pairs=400, rl_rollouts=40,
        rl_prompts=8, rl_samples=8, rl_new_tokens=8, rl_lr=2e-4, rl_algorithm="grpo", rl_temperature=1.0,
        rl_zero_std="resample", rl_eval_prompts=400, rl_eval_samples=4,
    ),
}  # fmt: skip
DEMO_TASK = "ui_automation"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="perl pipeline", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    task_names = sorted(t for t in TASKS if t != "generic")
    parser.add_argument(
        "--task",
        choices=task_names,
        default=DEMO_TASK,
        help=f"task whose schema, built-in sample, stages and metrics to use (default {DEMO_TASK})",
    )
    parser.add_argument("--model", default=None,
                        help="base model (embedded name, hub id, path; default: smollm2-135m-instruct, or "
                             "smollm2-135m-vlm for tasks with images)")  # fmt: skip
    parser.add_argument(
        "--align-steps",
        type=int,
        default=3000,
        help="steps of smollm2-135m-vlm's alignment pre-stage, if it has to run (tasks with images)",
    )
    parser.add_argument("--out", default="runs/pipeline", help="output directory (summary.json, plots/, adapters)")
    parser.add_argument("--sft-data", default=None, help="SFT demonstrations (default: the task's built-in sample)")
    parser.add_argument(
        "--rm-data",
        "--data",
        dest="rm_data",
        default=None,
        help="reward-model data (default: the task's built-in sample)",
    )
    parser.add_argument("--rl-data", default=None, help="RL prompts (default: the task's built-in prompts)")
    parser.add_argument("--rl-reward", choices=["rm", "function", "both"], default=None,
                        help="RL reward: the reward model, the task's programmatic reward, or both summed (default: "
                             "function for tasks that have one, ui_automation; else rm)")  # fmt: skip
    numbers = {
        "sft_steps": (int, "SFT optimizer steps (0 skips SFT)"), "sft_lr": (float, "SFT learning rate"),
        "sft_demos": (int, "training demonstrations SFT uses (the first N)"),
        "sft_eval_demos": (int, "held-out demonstrations SFT is measured on"),
        "rm_steps": (int, "reward-model optimizer steps"), "batch_size": (int, "pairs / demonstrations per step"),
        "max_length": (int, "max tokens of prompt + response"), "lora_rank": (int, "LoRA rank of SFT and RM"),
        "lr": (float, "reward-model learning rate"), "rm_eval_pairs": (int, "held-out pairs the RM is measured on"),
        "rl_rollouts": (int, "RL rollout batches (0 skips RL)"), "rl_prompts": (int, "prompts per rollout batch"),
        "rl_samples": (int, "samples per prompt (the group size)"), "rl_new_tokens": (int, "max new tokens"),
        "rl_lr": (float, "policy learning rate"), "rl_temperature": (float, "sampling temperature of rollouts"),
        "rl_eval_prompts": (int, "held-out prompts the RL stage is measured on"),
        "rl_val_fraction": (float, "fraction of the RL prompts held out (data without a held-out split)"),
        "rl_eval_samples": (int, "responses sampled per held-out RL prompt (1: greedy unless --rl-eval-temperature)"),
        "rl_eval_temperature": (float, "temperature of the sampled RL evaluation (default: the rollouts')"),
        "episode_rollouts": (int, "multi-step RL rollout batches (tasks with an environment: ui_automation)"),
    }  # fmt: skip
    for name, (kind, text) in numbers.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=None, help=f"{text} (default: task's)")
    parser.add_argument("--rl-val-split", default=None,
                        help="split of the RL prompts' source that RL is measured on (default: the task's held-out "
                             "split, or a --rl-val-fraction of the prompts)")  # fmt: skip
    parser.add_argument("--rl-algorithm", choices=["rloo", "grpo", "dr_grpo", "reinforce_pp", "ppo"], default=None)
    parser.add_argument(
        "--rl-zero-std",
        choices=["keep", "drop", "resample"],
        default=None,
        help="groups whose samples all score the same: kept, dropped or redrawn",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", action="store_true",
                        help="keep the libraries' info logs, bars and internal warnings on the console")  # fmt: skip
    return parser


def recipe(task: str) -> dict[str, Any]:
    """The settings ``perl pipeline --task TASK`` runs with when the command line sets none: the task's recipe
    (:data:`RECIPES`) over :data:`DEFAULTS`."""
    return {**DEFAULTS, **RECIPES.get(task, {})}


def settings(args: argparse.Namespace) -> argparse.Namespace:
    """The command line over the task's recipe over :data:`DEFAULTS`."""
    for key, value in recipe(args.task).items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    return args


def main(argv: list[str] | None = None) -> int:
    """``perl pipeline``: run the PE-RLHF pipeline, write what it measured and print it."""
    args = settings(_parser().parse_args(argv))
    with contextlib.nullcontext() if args.verbose else quiet_third_party():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    base = get_task(args.task)
    task = type(base)(**args.task_args) if args.task_args else base
    if args.model is None:
        args.model = SMOLLM2_VLM if task.needs_images else SMOLLM2
    if args.model == SMOLLM2_VLM:
        ensure_embedded_vlm(out, args.align_steps, args.seed)
    do_sft = "sft" in task.stages() and args.sft_steps > 0
    multistep = "episodes" in task.programmatic_rewards and args.episode_rollouts > 0
    names = (["SFT"] if do_sft else []) + ["reward model"] + (["RL"] if args.rl_rollouts > 0 else [])
    names += ["multi-step RL"] if multistep else []
    step = iter(range(1, len(names) + 1))
    meter = PhaseMeter(track_rss=True)
    print(f"task: {task.describe()}")
    sft = rl = episodes = None
    sections: dict[str, StageSummary] = {}
    if do_sft:
        print(f"[{next(step)}/{len(names)}] SFT: LoRA r={args.lora_rank} on {args.model}, {args.sft_steps} steps")
        with meter.phase("sft") as cost:
            sft = run_sft_stage(out, task, args.model, args.sft_data, args.sft_steps, args.batch_size,
                                args.max_length, args.lora_rank, args.sft_lr, args.seed, limit=args.sft_demos,
                                val_limit=args.sft_eval_demos, target_modules=args.lora_targets)  # fmt: skip
        sections["sft"] = _sft_section(sft, cost.seconds, _gib(cost.rss_peak))
    print(f"[{next(step)}/{len(names)}] reward model: LoRA r={args.lora_rank} on {args.model}, {args.rm_steps} steps")
    with meter.phase("rm") as cost:
        rm = run_reward_stage(out, args.model, args.rm_data, args.rm_steps, args.batch_size, args.max_length,
                              args.lora_rank, args.lr, args.seed, task=task, val_limit=args.rm_eval_pairs,
                              max_prompt_length=args.max_length - args.rm_response_tokens
                              if args.rm_response_tokens else None)  # fmt: skip
    sections["rm"] = _rm_section(rm, cost.seconds, _gib(cost.rss_peak))
    init = sft.adapter_dir if sft else None
    if args.rl_rollouts > 0:
        rewards = _rl_rewards(args.rl_reward, task, rm.adapter_dir, "steps", args.rl_credit)
        print(f"[{next(step)}/{len(names)}] RL: {args.rl_algorithm} from {init or 'the base model'}, "
              f"{args.rl_rollouts} rollout batches of {args.rl_prompts} prompts x {args.rl_samples}, reward "
              f"{' + '.join(s.source.rsplit(':', 1)[-1] for s in rewards)}")  # fmt: skip
        with meter.phase("rl") as cost:
            rl = run_rl_stage(out, rm.adapter_dir, args.model, args.rl_data, args.rl_rollouts, args.rl_prompts,
                              args.rl_samples, args.rl_new_tokens, args.rl_lr, seed=args.seed, task=task,
                              init_policy_adapter=init, rewards=rewards, eval_prompts=args.rl_eval_prompts,
                              max_prompt_length=max(192, args.max_length),
                              algorithm=args.rl_algorithm, temperature=args.rl_temperature,
                              zero_std=args.rl_zero_std, val_fraction=args.rl_val_fraction,
                              val_split=args.rl_val_split, eval_samples=args.rl_eval_samples,
                              eval_temperature=args.rl_eval_temperature)  # fmt: skip
        sections["rl"] = _rl_section(rl, rl_headline(task, rewards), cost.seconds, _gib(cost.rss_peak))
    if multistep:
        print(f"[{next(step)}/{len(names)}] multi-step RL: episodes of the {task.name} environment, "
              f"{args.episode_rollouts} rollout batches of {args.rl_prompts} episodes x {args.rl_samples}")  # fmt: skip
        with meter.phase("multistep") as cost:
            episodes = run_rl_stage(out / "multistep", None, args.model, None, args.episode_rollouts, args.rl_prompts,
                                    args.rl_samples, args.rl_new_tokens, args.rl_lr, seed=args.seed,
                                    task=type(task)(prompts="episodes"),  # type: ignore[call-arg]
                                    init_policy_adapter=init, algorithm=args.rl_algorithm,
                                    rewards=[RewardSpec(task.programmatic_rewards["episodes"])],
                                    episodes=EpisodeConfig(task=task.name), eval_prompts=args.rl_eval_prompts,
                                    max_prompt_length=max(192, args.max_length))  # fmt: skip
        sections["rl_multistep"] = _rl_section(episodes, "success", cost.seconds, _gib(cost.rss_peak))
    files = _write_report(out, sections, rl, task=task.name, model=args.model, seed=args.seed)
    _print_summary(sections, rm, rl, files)
    return 0


def _gib(value: int | None) -> float | None:
    return None if value is None else round(value / 2**30, 2)


def _sft_section(sft: SFTStageResult, seconds: float, peak: float | None) -> StageSummary:
    values = paired(sft.nll_before, sft.nll_after)
    extra = {"perplexity_before": sft.perplexity_before, "perplexity_after": sft.perplexity_after, "steps": sft.steps,
             "lower_is_better": True, "adapter": str(sft.adapter_dir)}  # fmt: skip
    return StageSummary.from_paired("heldout_token_nll", values, seconds, peak, extra=extra)


def _rm_section(rm: RewardStageResult, seconds: float, peak: float | None) -> StageSummary:
    values = paired(rm.correct_before, rm.correct_after)
    accuracy_se = math.sqrt(values.after * (1 - values.after) / values.n)
    name = "pairwise_accuracy" if rm.objective == "pairwise" else "accuracy"
    extra = {"accuracy_stderr": accuracy_se, "steps": rm.steps, "adapter": str(rm.adapter_dir)}
    return StageSummary.from_paired(name, values, seconds, peak, extra=extra)


def rl_headline(task: Task, rewards: list[RewardSpec]) -> str | None:
    """The RL stage's headline metric: the task's metric when RL optimises a programmatic reward (the task's own);
    ``None`` (the held-out reward, i.e. the reward model's score) when it optimises the reward model only."""
    return task.headline_metric if any(spec.is_function() for spec in rewards) else None


def _rl_section(rl: RLStageResult, metric: str | None, seconds: float, peak: float | None) -> StageSummary:
    """The task's metric when its held-out rows have it, else the held-out reward (initial policy vs final)."""
    records = rl.records
    if metric is None or not any(math.isfinite(r.get(metric, math.nan)) for r in records):
        metric, initial = "reward", "reward_initial"
    else:
        initial, records = f"{metric}_initial", [r for r in records if math.isfinite(r.get(metric, math.nan))]
    values = paired([r[initial] for r in records], [r[metric] for r in records])
    reward = paired([r["reward_initial"] for r in rl.records], [r["reward"] for r in rl.records])
    extra = {"reward_before": reward.before, "reward_after": reward.after, "reward_stderr": reward.stderr,
             "win_rate": rl.win_rate, "steps": rl.rollouts, "seconds_per_phase": rl.phase_seconds,
             "task_metrics": {k: {"before": b, "after": a} for k, (b, a) in sorted(rl.task_metrics.items())},
             "adapter": str(rl.adapter_dir / "policy"), "evaluation": rl.evaluation, "heldout": rl.heldout}  # fmt: skip
    return StageSummary.from_paired(metric, values, seconds, peak, kl=rl.kl_after, extra=extra)


def _write_report(out: Path, sections: dict[str, StageSummary], rl: RLStageResult | None, **info: Any) -> list[Path]:
    files = [write_summary(out / "summary.json", sections, **info)]
    if sections:
        files.append(plot_before_after(sections, out / "plots" / "before_after.png"))
    if rl is not None and rl.metrics_csv is not None and rl.metrics_csv.is_file():
        files.append(plot_curves(read_curves(rl.metrics_csv), out / "plots" / "rl_curves.png"))
    return files


def _print_summary(
    sections: dict[str, StageSummary], rm: RewardStageResult, rl: RLStageResult | None, files: list[Path]
) -> None:  # fmt: skip
    print("\n== PE-RLHF pipeline summary (held-out, before -> after, +- standard error of the difference) ==")
    for name, s in sections.items():
        kl = f", KL to reference {s.kl:.3f}" if s.kl is not None else ""
        memory = f", peak RSS {s.peak_rss_gib:.2f} GiB" if s.peak_rss_gib is not None else ""
        print(f"{name:>12}: {s.metric} {s.metric_before:.3f} -> {s.metric_after:.3f} "
              f"({s.metric_after - s.metric_before:+.3f} +- {s.stderr:.3f}, {s.diff_in_se:+.1f} SE, n={s.n_heldout})"
              f"{kl}; {s.seconds:.0f} s{memory}")  # fmt: skip
        if "evaluation" in s.extra:
            print(f"{'':>12}  held-out prompts: {s.extra['heldout']}; answered: {s.extra['evaluation']}")
    if rm.objective == "pointwise":
        shown = ", ".join(f"{k} {rm.after.get(f'val/{k}', math.nan):.3f}" for k in ("auroc", "ece"))
        print(f"{'':>12}  reward model (pointwise) held-out {shown}")
    if rl is not None:
        for name, (initial, final) in sorted(rl.task_metrics.items()):
            print(f"{'':>12}  task metric {name}: {initial:.3f} (initial policy) -> {final:.3f} (after RL)")
        if rl.evaluation != "greedy" and rl.samples:
            print(f"\n(held-out examples: the first sample shown; the reward in brackets is the {rl.evaluation})")
        for i, row in enumerate(rl.samples[:3], start=1):
            print(f"\n--- held-out example {i} ---\nprompt (its end): {_short(row['prompt'], tail=True)}")
            print(f"before RL ({float(row['reward_before']):+.2f}): {_short(row['before'])}")
            print(f"after RL  ({float(row['reward_after']):+.2f}): {_short(row['after'])}")
    print("\nwritten: " + ", ".join(str(f) for f in files))


def _rl_rewards(
    choice: str | None, task: Task | None, reward_adapter: Path, kind: str, credit: dict[str, float] | None = None
) -> list[RewardSpec]:  # fmt: skip
    """The RL stage's reward sources: the reward model, the task's programmatic reward (with ``credit``), or both."""
    function = task.programmatic_rewards.get(kind) if task is not None else None
    choice = choice or ("function" if function else "rm")
    if choice != "rm" and function is None:
        raise SystemExit(f"--rl-reward {choice}: task {task.name if task else None!r} has no programmatic reward")
    specs = [RewardSpec(str(reward_adapter))] if choice in ("rm", "both") else []
    args = {"credit": credit} if credit else None
    return specs + ([RewardSpec(function, args=args)] if choice in ("function", "both") and function else [])


def _short(text: str, limit: int = 300, tail: bool = False) -> str:
    """``text`` on one line, cut to ``limit`` characters (keeping its end with ``tail``: where a prompt's question
    or goal is)."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    return "..." + text[3 - limit :] if tail else text[: limit - 3] + "..."
