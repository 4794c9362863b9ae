"""Learning curves of every algorithm on the tiny model: the runnable tiny configs, their held-out reward at the start
and at the end, and the training reward per step.

Each ``conf/rl_tiny_<algorithm>.yaml`` is run as ``perl fit`` would run it (LightningCLI), with a CSV logger in a
temporary directory. Held-out: ``val/reward_initial`` (the initial policy on the held-out prompts) vs ``val/reward``
(the trained policy, same prompts, same evaluation seed) at the last validation. Writes
``benchmarks/results/tiny_learning_curves.json``.

    python benchmarks/tiny_learning_curves.py                 # ~2 min on 2 CPU cores
    python benchmarks/tiny_learning_curves.py --algorithms grpo reinforce_pp
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from pathlib import Path

import torch

from perl_lightning.cli import PerlCLI

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"


def run(algorithm: str) -> dict:
    config = ROOT / "conf" / f"rl_tiny_{algorithm}.yaml"
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        cli = PerlCLI(
            args=[
                "fit",
                "--config",
                str(config),
                f"--trainer.logger.init_args.save_dir={tmp}",
                f"--trainer.default_root_dir={tmp}",
                "--trainer.enable_progress_bar=false",
                "--model.init_args.evaluation.num_samples=1000",
            ]
        )  # fmt: skip  (every held-out row)
        seconds = time.perf_counter() - start
        metrics = Path(cli.trainer.logger.log_dir) / "metrics.csv"
        rows = list(csv.DictReader(metrics.open(encoding="utf-8")))
    train = [float(r["rl/score_mean"]) for r in rows if r.get("rl/score_mean")]
    table = cli.model.eval_samples  # the last evaluation: per held-out row, the initial and the trained reward
    diff = torch.tensor([r["reward_after"] - r["reward_before"] for r in table])
    se = float(diff.std() / len(diff) ** 0.5)
    val = [r for r in rows if r.get("val/reward")]
    return {
        "config": str(config.relative_to(ROOT)),
        "steps": len(train),
        "seconds": seconds,
        "heldout_reward_start": float(val[-1]["val/reward_initial"]),
        "heldout_reward_end": float(val[-1]["val/reward"]),
        "heldout_win_rate": float(val[-1]["val/win_rate"]),
        "heldout_n": len(table),
        "heldout_gain": float(diff.mean()),
        "heldout_gain_stderr": se,
        "train_reward_first5": sum(train[:5]) / len(train[:5]),
        "train_reward_last5": sum(train[-5:]) / len(train[-5:]),
        "train_reward": train,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algorithms", nargs="+", default=["ppo", "reinforce", "rloo", "grpo", "reinforce_pp"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = {a: run(a) for a in args.algorithms}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "tiny_learning_curves.json").write_text(json.dumps(results, indent=2))
    print(f"\n{'algorithm':13} {'steps':>5} {'held-out start':>15} {'held-out end':>13} {'gain +- SE (n)':>20} "
          f"{'train first5':>13} {'train last5':>12} {'s':>6}")  # fmt: skip
    for name, r in results.items():
        gain = f"{r['heldout_gain']:+.3f} +- {r['heldout_gain_stderr']:.3f} ({r['heldout_n']})"
        first, last = r["train_reward_first5"], r["train_reward_last5"]
        print(f"{name:13} {r['steps']:>5} {r['heldout_reward_start']:>15.3f} {r['heldout_reward_end']:>13.3f} "
              f"{gain:>20} {first:>13.3f} {last:>12.3f} {r['seconds']:>6.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
