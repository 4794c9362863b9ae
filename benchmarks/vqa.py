"""VQA on the embedded VLM (CPU): alignment pre-stage -> LoRA SFT -> reward model -> GRPO, measured on held-out
questions about unseen colour-shape combinations, plus the VLM's one-backbone vs separate-copies memory.

Phases (each one's figures are saved as soon as it ends; ``--resume`` skips the phases already in the results):

1. ``align``: the alignment pre-stage (``VisionAlignModule``: SigLIP-style tower + projector onto the frozen SmolLM2,
   ``--align-steps`` steps of 32 scenes) into ``<out>/vlm``; nearest-embedding decoding accuracy of the size /
   colour / shape slots on validation scenes, for seen and held-out combinations, before and after.
2. ``base``: the aligned VLM without adapters, greedy, on the first ``--eval-questions`` test questions (every one
   about a held-out colour-shape combination): VQA accuracy and exact match.
3. ``sft``: LoRA SFT on the language model (``--sft-steps`` steps of 8 training questions); held-out perplexity, and
   the SFT policy's greedy accuracy on the same test questions.
4. ``rm``: a LoRA reward model (Bradley-Terry) on correct vs wrong answers to the same question about the same image;
   held-out pairwise accuracy against chance (0.5).
5. ``rl``: GRPO from the SFT adapter (its frozen copy is the reference) with the VQA accuracy as reward, on training
   questions; greedy accuracy on the test questions before (= SFT) and after, the same items: the difference's
   standard error is the paired one (``sd(after_i - before_i) / sqrt(n)``); KL to the SFT policy.
6. ``memory``: bytes of the distinct parameter and buffer tensors a PPO run holds (policy, value, reference, and the
   reward model of the ``rm`` phase, or of ``--rm-adapter``) with one VLM backbone and adapters (hydra) vs a copy per
   role (separate: the reward model on its own VLM, reading the rollout's images), and their ratio.

Writes ``benchmarks/results/vqa-cpu.json``.

    python benchmarks/vqa.py                 # ~1 h on 2 CPU cores
    python benchmarks/vqa.py --resume        # continue after an interruption
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import resource
import time
from pathlib import Path

import lightning as L
import torch
from greedy_eval import greedy_scores, load_results, mean_se, paired_difference, sampled_scores
from greedy_eval import save_results as save

from perl_lightning.data.prompts import PromptDataModule
from perl_lightning.models.adapters import LoRAConfig
from perl_lightning.modules.optim import OptimConfig
from perl_lightning.modules.policy import PolicyModule
from perl_lightning.rewards.layer import RewardSpec
from perl_lightning.rl.config import KLConfig, SamplingConfig, UpdateConfig
from perl_lightning.stages import logged_steps, run_align_stage, run_reward_stage, run_sft_stage
from perl_lightning.tasks import VQA

RESULTS_FILE = Path(__file__).resolve().parent / "results" / "vqa-cpu.json"
METRICS = ("vqa_accuracy", "exact_match")


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def eval_dm(task: VQA, n: int, split: str = "test") -> PromptDataModule:
    """The first ``n`` questions of ``split``: ``test`` (unseen colour-shape combinations) or ``validation`` (unseen
    scenes of the training combinations)."""
    return PromptDataModule(task=task, val_split=split, val_limit=n, eval_batch_size=32, max_prompt_length=192)


def task_scores(policy: PolicyModule, dm: PromptDataModule, task: VQA) -> dict[str, list[float]]:
    """Per held-out question, the policy's greedy answer's metrics (same order every call)."""
    return greedy_scores(policy, dm, task, METRICS)[0]


def both_scores(
    policy: PolicyModule, dm: PromptDataModule, task: VQA, k: int, temperature: float
) -> tuple[dict[str, list[float]], dict[str, list[float]], list[str]]:
    """Per held-out question: the greedy answer's metrics, the mean of ``k`` seeded samples' metrics (none when
    ``k`` is 0), and the question types."""
    greedy, meta = greedy_scores(policy, dm, task, METRICS)
    sampled = sampled_scores(policy, dm, task, METRICS, k, temperature)[0] if k else {}
    return greedy, sampled, [str(m.get("question_type", "")) for m in meta]


def by_type(before: list[float], after: list[float], types: list[str]) -> dict[str, dict[str, float]]:
    """Per question type: mean before, mean after, count."""
    out = {}
    for qtype in sorted(set(types)):
        idx = [i for i, t in enumerate(types) if t == qtype]
        out[qtype] = {"before": round(sum(before[i] for i in idx) / len(idx), 3),
                      "after": round(sum(after[i] for i in idx) / len(idx), 3), "n": len(idx)}  # fmt: skip
    return out


def paired(before: list[float], after: list[float]) -> dict[str, float]:
    diff = paired_difference(before, after)
    return {"before": mean_se(before), "after": mean_se(after), "diff": diff["diff"], "diff_se": diff["paired_se"],
            "diff_in_se": diff["diff_in_se"]}  # fmt: skip


def policy_module(model: str, args: argparse.Namespace, init: Path | None, layout: str = "hydra") -> PolicyModule:
    return PolicyModule(
        model=model,
        algorithm="grpo",
        layout=layout,
        lora=LoRAConfig(r=args.lora_rank, alpha=2 * args.lora_rank),
        init_policy_adapter=str(init) if init else None,
        rewards=[RewardSpec("perl_lightning.tasks.vqa:vqa_reward")],
        sampling=SamplingConfig(max_new_tokens=args.max_new_tokens, temperature=args.rl_temperature),
        kl=KLConfig(coef=args.kl_coef),
        update=UpdateConfig(samples_per_prompt=args.rl_samples, zero_std=args.rl_zero_std),
        optim=OptimConfig(learning_rate=args.rl_lr, schedule="constant"),
        save_dir=str(Path(args.out) / (args.run or "rl") / "rl_adapters"),
    )


def tensor_bytes(*modules: torch.nn.Module) -> int:
    """Bytes of the distinct parameter and buffer storages the modules hold (shared tensors counted once)."""
    seen: dict[int, int] = {}
    for module in modules:
        for t in [*module.parameters(), *module.buffers()]:
            seen[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
    return sum(seen.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/bench_vqa")
    parser.add_argument("--resume", action="store_true", help="skip the phases already in the results file")
    parser.add_argument("--results", default=str(RESULTS_FILE), help="the results file (JSON)")
    parser.add_argument("--align-steps", type=int, default=3000)
    parser.add_argument(
        "--align-combos",
        choices=("all", "seen"),
        default="all",
        help="colour-shape combinations of the alignment scenes (seen: the VQA training split's)",
    )
    parser.add_argument("--eval-questions", type=int, default=400)
    parser.add_argument("--eval-split", choices=("test", "validation"), default="test",
                        help="held-out questions: test (unseen colour-shape combinations) or validation (unseen "
                        "scenes of the training combinations)")  # fmt: skip
    parser.add_argument("--sft-steps", type=int, default=100)
    parser.add_argument("--sft-lr", type=float, default=5e-4)
    parser.add_argument("--lora-rank", type=int, default=16)
    parser.add_argument("--rm-steps", type=int, default=60)
    parser.add_argument("--rl-steps", type=int, default=40)
    parser.add_argument("--rl-prompts", type=int, default=8)
    parser.add_argument("--rl-samples", type=int, default=8)
    parser.add_argument("--rl-lr", type=float, default=1e-4)
    parser.add_argument("--rl-temperature", type=float, default=1.0)
    parser.add_argument("--kl-coef", type=float, default=0.02)
    parser.add_argument(
        "--rl-zero-std",
        choices=("keep", "drop", "resample"),
        default="keep",
        help="GRPO groups whose samples all score the same: keep, drop or redraw them (DAPO)",
    )
    parser.add_argument("--eval-samples", type=int, default=0,
                        help="also score each held-out question by the mean of K seeded samples (avg@K) in the rl "
                        "phase, at --eval-temperature (default: the rollout temperature)")  # fmt: skip
    parser.add_argument("--eval-temperature", type=float, default=None)
    parser.add_argument("--model", default=None,
                        help="the VLM to start from (default: <out>/vlm, aligned by the align phase; e.g. "
                        "smollm2-135m-vlm, the embedded VLM, aligned on first use)")  # fmt: skip
    parser.add_argument("--run", default=None,
                        help="name of a variant run: its sft and rl figures go to runs.<name> of the results, its "
                        "adapters under <out>/<name>")  # fmt: skip
    parser.add_argument("--max-new-tokens", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0, help="seed of the data, the alignment, SFT and RL")
    parser.add_argument(
        "--rl-seed",
        type=int,
        default=None,
        help="another seed for RL only (its prompt order and samples), to repeat RL from one SFT",
    )
    parser.add_argument(
        "--sft-adapter", default=None, help="start RL from this SFT adapter (the sft phase does not run)"
    )
    parser.add_argument(
        "--rm-adapter", default=None, help="the memory phase's reward model (default: the rm phase's adapter)"
    )
    parser.add_argument("--phases", nargs="+", default=["align", "base", "sft", "rm", "rl", "memory"])
    args = parser.parse_args()
    out, results_file = Path(args.out), Path(args.results)
    results = load_results(results_file) if args.resume else {}
    machine = {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
               "torch": torch.__version__}  # fmt: skip
    # A variant run (--run) keeps its settings, sft and rl figures apart, so the main run's stay as measured.
    store = results.setdefault("runs", {}).setdefault(args.run, {}) if args.run else results
    store.update(settings=vars(args), machine=machine)
    task = VQA(seed=args.seed)
    model = args.model or str(out / "vlm")
    run_dir = out / args.run if args.run else out

    def done(phase: str) -> bool:
        return phase not in args.phases or (args.resume and phase in store)

    if args.model is None and (not done("align") or not (out / "vlm" / "config.json").exists()):
        align = run_align_stage(out / "align", steps=args.align_steps, save_dir=out / "vlm", seed=args.seed,
                                combos=args.align_combos)  # fmt: skip
        results["align"] = {"before": align.before, "after": align.after, "steps": align.steps,
                            "seconds": round(align.seconds, 1), "peak_rss_gib": round(peak_rss_gib(), 2)}  # fmt: skip
        save(results, results_file)
        print("align", json.dumps(results["align"]), flush=True)
    if not done("base"):
        start = time.perf_counter()
        scores = task_scores(
            policy_module(model, args, None), eval_dm(task, args.eval_questions, args.eval_split), task
        )
        store["base"] = {m: mean_se(v) for m, v in scores.items()} | {"seconds": round(time.perf_counter() - start)}
        save(results, results_file)
        print("base", json.dumps(store["base"]), flush=True)
    sft_dir = Path(args.sft_adapter) if args.sft_adapter else run_dir / "sft" / "sft_adapter"
    if args.sft_adapter is None and (
        not done("sft") or (not sft_dir.exists() and any(p in args.phases for p in ("rl", "memory")))
    ):
        sft = run_sft_stage(run_dir / "sft", task, model, None, args.sft_steps, 8, 192, args.lora_rank, args.sft_lr,
                            args.seed, val_limit=128)  # fmt: skip
        scores = task_scores(
            policy_module(model, args, sft_dir), eval_dm(task, args.eval_questions, args.eval_split), task
        )
        store["sft"] = {"perplexity_before": sft.perplexity_before, "perplexity_after": sft.perplexity_after,
                        "steps": sft.steps, "seconds": round(sft.seconds, 1),
                        "peak_rss_gib": round(peak_rss_gib(), 2),
                        **{m: mean_se(v) for m, v in scores.items()}}  # fmt: skip
        save(results, results_file)
        print("sft", json.dumps(store["sft"]), flush=True)
    if not done("rm"):
        rm = run_reward_stage(out / "rm", model, None, args.rm_steps, 8, 192, args.lora_rank, None, args.seed,
                              task=task, limit=2000)  # fmt: skip
        se = math.sqrt(rm.accuracy_after * (1 - rm.accuracy_after) / max(rm.held_out, 1))
        store["rm"] = {"accuracy_before": rm.accuracy_before, "accuracy_after": rm.accuracy_after, "se": se,
                       "above_chance_in_se": (rm.accuracy_after - 0.5) / max(se, 1e-12), "pairs": rm.held_out,
                       "steps": rm.steps, "seconds": round(rm.seconds, 1)}  # fmt: skip
        save(results, results_file)
        print("rm", json.dumps(store["rm"]), flush=True)
    if not done("rl"):
        rl_seed = args.seed if args.rl_seed is None else args.rl_seed
        L.seed_everything(rl_seed)
        policy = policy_module(model, args, sft_dir)
        dm = eval_dm(task, args.eval_questions, args.eval_split)
        temperature = args.eval_temperature if args.eval_temperature is not None else args.rl_temperature
        before, before_sampled, types = both_scores(policy, dm, task, args.eval_samples, temperature)
        train_dm = PromptDataModule(task=task, batch_size=args.rl_prompts, max_prompt_length=192, seed=rl_seed,
                                    val_limit=64, eval_batch_size=32)  # fmt: skip
        logger = L.pytorch.loggers.CSVLogger(str(run_dir / "rl"), name="policy")
        trainer = L.Trainer(accelerator="cpu", max_steps=args.rl_steps, logger=logger, enable_checkpointing=False,
                            limit_val_batches=2, num_sanity_val_steps=0, val_check_interval=args.rl_steps,
                            log_every_n_steps=1, enable_model_summary=False)  # fmt: skip
        start = time.perf_counter()
        trainer.fit(policy, train_dm)
        seconds = time.perf_counter() - start
        after, after_sampled, _ = both_scores(policy, dm, task, args.eval_samples, temperature)
        steps = logged_steps(logger)
        store["rl"] = {m: paired(before[m], after[m]) for m in METRICS} | {
            "by_type": by_type(before["vqa_accuracy"], after["vqa_accuracy"], types),
            "kl_to_sft": float(trainer.callback_metrics.get("val/kl", float("nan"))),
            "train_reward": [round(float(s["rl/reward_mean"]), 3) for s in steps if s.get("rl/reward_mean")],
            "steps": len(steps), "seconds": round(seconds, 1), "seconds_per_step": round(seconds / len(steps), 2),
            "peak_rss_gib": round(peak_rss_gib(), 2)}  # fmt: skip
        if args.eval_samples:
            store["rl"]["sampled"] = {
                "answered": f"mean of {args.eval_samples} samples at temperature {temperature}",
                **{m: paired(before_sampled[m], after_sampled[m]) for m in METRICS},
                "by_type": by_type(before_sampled["vqa_accuracy"], after_sampled["vqa_accuracy"], types),
            }
        save(results, results_file)
        print("rl", json.dumps({m: store["rl"][m] for m in METRICS}), "kl", store["rl"]["kl_to_sft"], flush=True)
        if args.eval_samples:
            print("rl sampled", json.dumps(store["rl"]["sampled"]), flush=True)
    if not done("memory"):
        sizes = {}
        rm_dir = Path(args.rm_adapter) if args.rm_adapter else out / "rm" / "reward_adapter"
        for layout in ("hydra", "separate"):
            policy = PolicyModule(model=model, algorithm="ppo", layout=layout, lora=LoRAConfig(r=args.lora_rank),
                                  init_policy_adapter=str(sft_dir),
                                  rewards=[RewardSpec("perl_lightning.tasks.vqa:vqa_reward"),
                                           RewardSpec(str(rm_dir), weight=0.5)])  # fmt: skip
            sizes[layout] = tensor_bytes(policy)
            del policy
        roles = (
            "policy, value (PPO), reference, reward model (hydra: an adapter on the shared VLM; separate: its own VLM "
            "copy, reading the rollout's images)"
        )
        ratio = sizes["hydra"] / sizes["separate"]
        store["memory"] = {"bytes": sizes, "ratio_hydra_over_separate": ratio, "roles": roles}
        save(results, results_file)
        print("memory", json.dumps(store["memory"]), flush=True)


if __name__ == "__main__":
    main()
