"""RL step cost by layout, side by side in one run: one shared backbone (``hydra``), LoRA on separate model copies
(``separate``), and full fine-tuning with every model whole (``full``).

The TRL peer's setting: RLOO (``--algorithm ppo`` adds a value model: policy, value, reference and reward), 4
prompts x 2 samples x 48 new tokens, SmolLM2-135M fp32, 2 threads. Each layout runs in its own subprocess (peak RSS
is its own) with the same prompts, seed and lengths, for ``--steps`` rollout batches. Printed: seconds per RL step by
phase (rollout = generation, scoring, reference, update), peak RSS, and the ratios hydra / separate; ``--json`` also
keeps the per-step reward, score and KL. The comparison with TRL, side by side in one run, is
``benchmarks/peers/run.py``.

The reward model is a LoRA reward adapter on the same base (written first by a few RM steps, or given with
--reward-adapter). In the separate layout it is loaded on its own copy of the base, as is the reference.

    python benchmarks/rl_layouts.py --steps 4                  # ~5 min on 2 CPU cores
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path

PHASES = ("rollout_s", "scoring_s", "reference_s", "update_s")


def make_reward_adapter(args: argparse.Namespace) -> str:
    import lightning as L

    from perl_lightning.data.preference import PreferenceDataModule
    from perl_lightning.models.adapters import LoRAConfig
    from perl_lightning.modules.reward_model import RewardModelModule

    path = Path(args.out) / "reward_adapter"
    if (path / "adapter_model.safetensors").exists():
        return str(path)
    module = RewardModelModule(model=args.model, lora=LoRAConfig(r=8, alpha=16), save_dir=str(path))
    L.Trainer(
        accelerator="cpu",
        max_steps=2,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
    ).fit(module, PreferenceDataModule(batch_size=4))
    return str(path)


def run_layout(layout: str, args: argparse.Namespace) -> dict:
    import lightning as L
    import torch
    from lightning.pytorch.callbacks import Callback

    from perl_lightning.data.prompts import PromptDataModule
    from perl_lightning.models.adapters import LoRAConfig
    from perl_lightning.modules.optim import OptimConfig
    from perl_lightning.modules.policy import PolicyModule
    from perl_lightning.rewards.layer import RewardSpec
    from perl_lightning.rl.config import EvalConfig, SamplingConfig, UpdateConfig

    class StepTimes(Callback):
        def __init__(self) -> None:
            self.steps: list[dict[str, float]] = []

        def on_train_batch_end(self, trainer, *args) -> None:
            kept = ("time/", "rl/reward_mean", "rl/score_mean", "rl/kl")
            self.steps.append({k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith(kept)})

    torch.set_num_threads(args.threads)
    L.seed_everything(0, verbose=False)
    full = layout == "full"  # full fine-tuning: policy, value, reference and reward each a whole model
    policy = PolicyModule(
        model=args.model,
        algorithm=args.algorithm,
        layout="separate" if full else layout,
        lora=None if full else LoRAConfig(r=8, alpha=16),
        rewards=[RewardSpec(args.reward_adapter)],
        update=UpdateConfig(samples_per_prompt=2),
        sampling=SamplingConfig(max_new_tokens=48, min_new_tokens=48, temperature=1.0),
        optim=OptimConfig(learning_rate=1e-5 if full else 1e-4),
        evaluation=EvalConfig(num_samples=0),
    )
    times = StepTimes()
    dm = PromptDataModule(batch_size=4, max_prompt_length=128, seed=0)
    per_rollout = policy.cfg.update_epochs * policy.cfg.num_minibatches  # optimizer steps per rollout (PPO: 4)
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=args.steps * per_rollout,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        callbacks=[times],
    )
    trainer.fit(policy, dm)
    steps = times.steps[1:] or times.steps  # the first step warms caches up
    phases = {k: statistics.median(h.get(f"time/{k}", 0.0) for h in steps) for k in PHASES}
    return {
        "layout": layout,
        "s_per_step": sum(phases.values()),
        **phases,
        "peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "params": sum(p.numel() for p in policy.parameters()),
        "trainable": sum(p.numel() for p in policy.parameters() if p.requires_grad),
        "reward": [h.get("rl/reward_mean") for h in times.steps],  # per step, the first included (KL-shaped)
        "score": [h.get("rl/score_mean") for h in times.steps],  # the reward sources' score, before any KL term
        "kl": [h.get("rl/kl") for h in times.steps],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--layouts",
        nargs="+",
        default=["hydra", "separate"],
        help="hydra, separate (LoRA on copies of the base), full (full fine-tuning, every model whole)",
    )
    parser.add_argument("--algorithm", default="rloo", help="rloo, or ppo (a value model too: four models)")
    parser.add_argument("--json", default=None, help="also write the results (per layout) to this JSON file")
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--steps", type=int, default=4, help="rollout batches (RL steps)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reward-adapter", default=None)
    parser.add_argument("--out", default="runs/bench_rl")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print("RESULT " + json.dumps(run_layout(args.child, args)), flush=True)
        return
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    if args.reward_adapter is None:
        args.reward_adapter = make_reward_adapter(args)
    results = {}
    for layout in args.layouts:
        cmd = [sys.executable, __file__, *sys.argv[1:], "--child", layout, "--reward-adapter", args.reward_adapter]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env)
        lines = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
        if out.returncode != 0 or not lines:
            sys.exit(f"{layout} failed:\n{out.stderr[-3000:]}")
        results[layout] = json.loads(lines[-1][7:])
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(
        f"\n{args.algorithm.upper()}, {args.model}, 4 prompts x 2 samples x 48 new tokens, {args.threads} threads, "
        f"median of {max(args.steps - 1, 1)} steps"
    )
    print(f"{'layout':9} {'params':>12} {'s/step':>7} " + " ".join(f"{p:>11}" for p in PHASES) + f" {'peak GiB':>9}")
    for r in results.values():
        print(
            f"{r['layout']:9} {r['params']:>12,} {r['s_per_step']:>7.2f} "
            + " ".join(f"{r[p]:>11.2f}" for p in PHASES)
            + f" {r['peak_gib']:>9.2f}"
        )
    if {"hydra", "separate"} <= results.keys():
        h, s = results["hydra"], results["separate"]
        print(
            f"hydra / separate: time {h['s_per_step'] / s['s_per_step']:.2f}x, "
            f"memory {h['peak_gib'] / s['peak_gib']:.2f}x"
        )


if __name__ == "__main__":
    main()
