"""Every text task's PE-RLHF pipeline on the embedded SmolLM2-135M-Instruct (CPU): SFT -> reward model -> RL.

For each task it runs the stage functions ``perl pipeline --task <task>`` runs (``perl_lightning.stages``) on the
task's built-in sample and records, on held-out data: SFT perplexity before/after; the reward model's metric before
/after with its standard error (pairwise accuracy: binomial; pointwise AUROC: Hanley-McNeil); RL reward, KL to the
initial policy, win rate and the task's metrics before/after; seconds per stage. With ``--real`` it also trains the
reward model on the real data slices in ``../shared/data`` (HH-RLHF harmless pairs, Taskmaster Coffee ratings).
Writes ``benchmarks/results/task_pipelines-cpu.json``, keyed by task: a run replaces the entries of the tasks it ran
(each with its settings) and keeps the others, so tasks can be measured one at a time.

    python benchmarks/task_pipelines.py                       # all four tasks, ~20 min each on 2 CPU cores
    python benchmarks/task_pipelines.py --tasks dialogue harmlessness helpfulness --sft-steps 10 --rm-steps 20 \
        --rl-rollouts 4 --eval-prompts 4   # ~10 min each (how the committed results for these three were made)
    python benchmarks/task_pipelines.py --tasks dialogue --real --rl-rollouts 0
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import tempfile
import time
from pathlib import Path

import torch

from perl_lightning.rl.stats import auroc_standard_error
from perl_lightning.stages import run_reward_stage, run_rl_stage, run_sft_stage
from perl_lightning.tasks import get_task

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
SHARED = ROOT.parent / "shared" / "data"
REAL = {"harmlessness": SHARED / "hh-rlhf" / "harmless-base-test.jsonl.gz", "dialogue": SHARED / "taskmaster-coffee"}


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, so an interrupted run leaves the old results whole."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def binomial_se(p: float, n: int) -> float:
    """Standard error of an accuracy ``p`` over ``n`` items."""
    return math.sqrt(max(p * (1 - p), 1e-12) / max(n, 1))


def reward_summary(rm, positives: int | None = None, negatives: int | None = None) -> dict:
    """The RM stage's held-out metric with its standard error."""
    out = {"objective": rm.objective, "steps": rm.steps, "seconds": round(rm.seconds, 1), "held_out": rm.held_out,
           "before": rm.before, "after": rm.after}  # fmt: skip
    if rm.objective == "pointwise":
        auc = rm.after["val/auroc"]
        out["metric"], out["value"] = "auroc", auc
        out["se"] = auroc_standard_error(torch.tensor(auc), rm.positives, rm.negatives).item()
    else:
        out["metric"], out["value"] = "pairwise_accuracy", rm.accuracy_after
        out["se"] = binomial_se(rm.accuracy_after, rm.held_out)
    out["above_chance_by_se"] = (out["value"] - 0.5) / out["se"]
    return out


def run_task(name: str, args: argparse.Namespace, out: Path) -> dict:
    task = get_task(name)
    result: dict = {"task": name, "stages": {}}
    sft = None
    if "sft" in task.stages() and args.sft_steps > 0:
        sft = run_sft_stage(out / name, task, args.model, steps=args.sft_steps, batch_size=args.batch_size,
                            max_length=args.max_length, seed=args.seed)  # fmt: skip
        result["stages"]["sft"] = {
            "steps": sft.steps,
            "seconds": round(sft.seconds, 1),
            "held_out": sft.held_out,
            "perplexity_before": sft.perplexity_before,
            "perplexity_after": sft.perplexity_after,
        }
    rm = run_reward_stage(out / name, args.model, steps=args.rm_steps, batch_size=args.batch_size,
                          max_length=args.max_length, seed=args.seed, task=task,
                          val_fraction=args.val_fraction)  # fmt: skip
    result["stages"]["rm"] = reward_summary(rm)
    if args.rl_rollouts > 0:
        rl = run_rl_stage(out / name, rm.adapter_dir, args.model, rollouts=args.rl_rollouts, batch_size=args.rl_prompts,
                          eval_prompts=args.eval_prompts, seed=args.seed, task=task,
                          init_policy_adapter=sft.adapter_dir if sft else None)  # fmt: skip
        result["stages"]["rl"] = {
            "rollouts": rl.rollouts, "seconds": round(rl.seconds, 1), "phase_seconds": rl.phase_seconds,
            "reward_before": rl.reward_before, "reward_after": rl.reward_after, "kl_before": rl.kl_before,
            "kl_after": rl.kl_after, "win_rate": rl.win_rate, "task_metrics": rl.task_metrics,
        }  # fmt: skip
    result["seconds_total"] = round(sum(s["seconds"] for s in result["stages"].values()), 1)
    return result


def run_real(name: str, args: argparse.Namespace, out: Path) -> dict | None:
    path = REAL.get(name)
    if path is None or not path.exists():
        return None
    rm = run_reward_stage(out / f"{name}-real", args.model, data=str(path), steps=args.rm_steps,
                          batch_size=args.batch_size, max_length=args.real_max_length, seed=args.seed, task=name,
                          val_fraction=args.real_val_fraction, limit=args.real_limit, bad_rows="skip")  # fmt: skip
    return {"task": name, "data": str(path.relative_to(SHARED.parent)), "rm": reward_summary(rm)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=["summarization", "harmlessness", "helpfulness", "dialogue"])
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--sft-steps", type=int, default=20)
    parser.add_argument("--rm-steps", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--val-fraction", type=float, default=0.25, help="held-out share of the built-in samples")
    parser.add_argument("--rl-rollouts", type=int, default=8)
    parser.add_argument("--rl-prompts", type=int, default=8)
    parser.add_argument("--eval-prompts", type=int, default=8)
    parser.add_argument("--real", action="store_true", help="also train the RM on the real slices in ../shared/data")
    parser.add_argument("--real-only", action="store_true", help="skip the built-in samples (with --real)")
    parser.add_argument("--real-limit", type=int, default=1200, help="rows of a real slice read")
    parser.add_argument("--real-val-fraction", type=float, default=0.3)
    parser.add_argument("--real-max-length", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(RESULTS / "task_pipelines-cpu.json"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    out_path = Path(args.out)
    previous = json.loads(out_path.read_text(encoding="utf-8")) if out_path.exists() else {}
    report = {"machine": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
              "tasks": previous.get("tasks", {}), "real": previous.get("real", {})}  # fmt: skip
    settings = {k: v for k, v in vars(args).items() if k not in ("tasks", "out")}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.tasks:  # a run replaces the entries of the tasks it ran and keeps the others
            start = time.perf_counter()
            if not args.real_only:
                report["tasks"][name] = {**run_task(name, args, Path(tmp)), "args": settings}
                print(json.dumps(report["tasks"][name], indent=1), f"\n({time.perf_counter() - start:.0f} s)")
            if args.real:
                real = run_real(name, args, Path(tmp))
                if real is not None:
                    report["real"][name] = {**real, "args": settings}
                    print(json.dumps(real, indent=1), flush=True)
            out_path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(out_path, json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
