"""LoRA vs full fine-tuning of a SmolLM2 reward model on the HH-RLHF harmless slice, side by side in one run.

Each mode trains in its own subprocess (so peak RSS is its own) for the same steps on the same pairs, then scores a
fixed held-out split. Printed: held-out pairwise accuracy, seconds per step (median over steps after the first),
peak RSS, and the LoRA / full ratios. The comparison with TRL, side by side on the same machine and pairs, is
``benchmarks/peers/run.py``.

    python benchmarks/rm_lora_vs_full.py --modes lora lora-plain full --steps 6 --pairs 88 --val-pairs 40  # cost, 9 min
    python benchmarks/rm_lora_vs_full.py --modes lora full --steps 30 --pairs 780 --val-pairs 300 --max-length 64 \
        --max-prompt-length 24 --no-share-prefix --schedule constant --warmup-ratio 0 --lora-lr 1e-3  # quality, 9 min
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HH = Path(__file__).resolve().parents[2] / "shared" / "data" / "hh-rlhf" / "harmless-base-test.jsonl.gz"


def run_mode(mode: str, args: argparse.Namespace) -> dict:
    """Train and evaluate one mode in this process; returns its measurements."""
    import lightning as L
    import torch
    from lightning.pytorch.callbacks import Callback

    from perl_lightning.data.preference import PreferenceDataModule
    from perl_lightning.models.adapters import LoRAConfig, count_parameters
    from perl_lightning.modules.reward_model import RewardModelModule

    torch.set_num_threads(args.threads)
    L.seed_everything(0, verbose=False)

    class StepTimer(Callback):
        def __init__(self) -> None:
            self.times: list[float] = []

        def on_train_batch_start(self, *a) -> None:
            self.start = time.perf_counter()

        def on_train_batch_end(self, *a) -> None:
            self.times.append(time.perf_counter() - self.start)

    rank = int(mode.rsplit("-r", 1)[1]) if mode.startswith("lora-r") else args.lora_rank  # "lora-r4": rank 4
    lora = LoRAConfig(r=rank, alpha=2 * rank) if mode.startswith("lora") else None
    lr = args.lora_lr if lora is not None else args.full_lr
    plain = mode.endswith("plain")  # ablation: whole padded batch in one pass, no prefix sharing
    module = RewardModelModule(
        model=args.model,
        lora=lora,
        learning_rate=lr,
        save_dir=f"{args.out}/{mode}",
        micro_batch_tokens=None if plain else args.micro_batch_tokens,
        share_prefix=not (plain or args.no_share_prefix),
        schedule=args.schedule,
        warmup_ratio=args.warmup_ratio,
        gradient_checkpointing=args.gradient_checkpointing,
    )
    data = args.data or str(HH)
    dm = PreferenceDataModule(
        path=data,
        bad_rows="skip",
        limit=args.pairs,
        val_fraction=args.val_pairs / args.pairs,
        batch_size=args.batch_size,
        max_length=args.max_length,
        max_prompt_length=args.max_prompt_length,
        seed=0,
    )
    timer = StepTimer()
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=args.steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        callbacks=[timer],
    )
    trainer.fit(module, dm)
    evaluator = L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False)
    accuracy = evaluator.validate(module, dm, verbose=False)[0]["val/accuracy"]
    correct = list(module.eval_records)  # per held-out pair (the same pairs, in the same order, for every mode)
    trainable, total = count_parameters(module.model)
    tokens = [len(c) + len(r) for c, r in dm.encoded["train"]]
    return {
        "mode": mode,
        "accuracy": accuracy,
        "val_pairs": len(dm.encoded["val"]),
        "s_per_step": statistics.median(timer.times[1:] or timer.times),
        "peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "trainable": trainable,
        "total": total,
        "mean_pair_tokens": sum(tokens) / len(tokens),
        "correct": correct,
        "tokens_per_s": sum(tokens) / len(tokens) * args.batch_size / statistics.median(timer.times[1:] or timer.times),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--modes",
        nargs="+",
        default=["lora", "full"],
        help="lora, full (both with micro-batching and prefix sharing); lora-plain, full-plain "
        "(one padded pass per batch, no prefix sharing: the conventional way); lora-rN (LoRA of rank N)",
    )
    parser.add_argument("--lora-rank", type=int, default=8, help="rank of the lora modes (alpha = 2 x rank)")
    parser.add_argument("--json", default=None, help="also write the results (per mode) to this JSON file")
    parser.add_argument("--micro-batch-tokens", type=int, default=1024)
    parser.add_argument("--gradient-checkpointing", action="store_true",
                        help="recompute activations in the backward pass (every mode)")  # fmt: skip
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--data", default=None, help="preference data (default: the HH harmless slice)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--pairs", type=int, default=600, help="pairs read (train + held out)")
    parser.add_argument("--val-pairs", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--max-prompt-length", type=int, default=None, help="default: max-length // 2")
    parser.add_argument(
        "--no-share-prefix", action="store_true", help="lora / full without prefix sharing (slower on CPU <= 64 tokens)"
    )
    parser.add_argument("--schedule", default="cosine", choices=["cosine", "linear", "constant"])
    parser.add_argument("--warmup-ratio", type=float, default=0.1)
    parser.add_argument("--lora-lr", type=float, default=5e-4)
    parser.add_argument("--full-lr", type=float, default=1e-5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="runs/bench_rm")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print("RESULT " + json.dumps(run_mode(args.child, args)), flush=True)
        return
    if args.data is None and not HH.exists():
        sys.exit(f"{HH} not found: pass --data")
    results = {}
    for mode in args.modes:
        cmd = [sys.executable, __file__, "--child", mode] + [a for a in sys.argv[1:]]
        env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
        out = subprocess.run(cmd, capture_output=True, text=True, env=env)
        lines = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
        if out.returncode != 0 or not lines:
            sys.exit(f"{mode} failed:\n{out.stderr[-3000:]}")
        results[mode] = json.loads(lines[-1][7:])
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(
        f"\nreward model, {args.model}, {args.steps} steps x {args.batch_size} pairs (<= {args.max_length} tokens), "
        f"{args.threads} threads"
    )
    print(f"{'mode':10} {'trainable':>12} {'acc':>6} {'s/step':>8} {'peak GiB':>9} {'tokens/pair':>12}")
    for r in results.values():
        print(
            f"{r['mode']:10} {r['trainable']:>12,} {r['accuracy']:>6.3f} {r['s_per_step']:>8.2f} "
            f"{r['peak_gib']:>9.2f} {r['mean_pair_tokens']:>12.0f}"
        )

    def ratio(a: dict, b: dict) -> str:
        return f"time {a['s_per_step'] / b['s_per_step']:.2f}x, memory {a['peak_gib'] / b['peak_gib']:.2f}x"

    if {"lora", "full"} <= results.keys():
        lo, fu = results["lora"], results["full"]
        print(
            f"LoRA / full: {ratio(lo, fu)}, held-out accuracy {lo['accuracy']:.3f} vs {fu['accuracy']:.3f} "
            f"({lo['val_pairs']} pairs)"
        )
    if {"lora", "lora-plain"} <= results.keys():
        ours = "micro-batched" + ("" if args.no_share_prefix else " + prefix-shared")
        print(f"{ours} LoRA / plain LoRA: {ratio(results['lora'], results['lora-plain'])}")


if __name__ == "__main__":
    main()
