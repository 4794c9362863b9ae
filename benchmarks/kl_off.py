"""What skipping the reference pass saves: an RL step with the KL term on vs off (``kl.coef: 0``), side by side.

GRPO, SmolLM2-135M fp32 + LoRA r=8, 4 prompts x 2 samples x 48 forced new tokens, a Python reward (so the reference
forward pass is the only difference), 2 threads. The two settings alternate, each run in a fresh process, ``--repeats``
times; per run the median step time over ``--steps`` steps after the first (warm-up). Writes
``benchmarks/results/kl_off-<cpu>.json``.

    python benchmarks/kl_off.py --steps 4 --repeats 3      # ~12 min on 2 CPU cores; run it alone
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def run(kl_coef: float, args: argparse.Namespace) -> dict:
    import lightning as L
    import torch
    from lightning.pytorch.callbacks import Callback

    from perl_lightning.data.prompts import PromptDataModule
    from perl_lightning.models.adapters import LoRAConfig
    from perl_lightning.modules.policy import PolicyModule
    from perl_lightning.rewards.layer import RewardSpec
    from perl_lightning.rl.config import EvalConfig, KLConfig, SamplingConfig, UpdateConfig

    class StepTimes(Callback):
        def __init__(self) -> None:
            self.steps: list[dict[str, float]] = []
            self.start = 0.0

        def on_train_batch_start(self, *args) -> None:
            self.start = time.perf_counter()

        def on_train_batch_end(self, trainer, *args) -> None:
            m = trainer.callback_metrics
            self.steps.append({"step_s": time.perf_counter() - self.start,
                               **{k: float(v) for k, v in m.items() if k.startswith("time/")}})  # fmt: skip

    torch.set_num_threads(args.threads)
    L.seed_everything(0, verbose=False)
    policy = PolicyModule(
        model=args.model,
        algorithm="grpo",
        lora=LoRAConfig(r=8, alpha=16),
        rewards=[RewardSpec("perl_lightning.rewards.toy:brevity_reward")],
        update=UpdateConfig(samples_per_prompt=2),
        sampling=SamplingConfig(max_new_tokens=48, min_new_tokens=48),
        kl=KLConfig(coef=kl_coef, placement="loss", estimator="k3"),
        evaluation=EvalConfig(num_samples=0),
    )
    times = StepTimes()
    trainer = L.Trainer(accelerator="cpu", max_steps=args.steps + 1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
                        num_sanity_val_steps=0, callbacks=[times])  # fmt: skip
    trainer.fit(policy, PromptDataModule(batch_size=4, max_prompt_length=128, seed=0))
    steps = times.steps[1:]
    keys = steps[0].keys()
    return {"kl_coef": kl_coef, **{k: statistics.median(s[k] for s in steps) for k in keys}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print("RESULT " + json.dumps(run(args.child, args)), flush=True)
        return
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    runs: dict[str, list[dict]] = {"on": [], "off": []}
    for _ in range(args.repeats):
        for name, coef in (("on", 0.05), ("off", 0.0)):  # alternating, each in a fresh process
            out = subprocess.run([sys.executable, __file__, *sys.argv[1:], "--child", str(coef)], capture_output=True,
                                 text=True, env=env)  # fmt: skip
            lines = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
            if out.returncode != 0 or not lines:
                sys.exit(f"kl {name} failed:\n{out.stderr[-3000:]}")
            runs[name].append(json.loads(lines[-1][7:]))

    def med(name: str, key: str) -> float:
        return statistics.median(r.get(key, 0.0) for r in runs[name])

    on, off = med("on", "step_s"), med("off", "step_s")
    ref = med("on", "time/reference_s")
    phases = {name: {k: med(name, k) for k in ("time/rollout_s", "time/reference_s", "time/update_s")}
              for name in runs}  # fmt: skip
    # Generation time on this CPU varies by more than the reference pass between runs; the step without it isolates
    # what the reference pass adds.
    rest_on, rest_off = (statistics.median(r["step_s"] - r["time/rollout_s"] for r in runs[n]) for n in ("on", "off"))
    result = {
        "job": "GRPO k=2, 4 prompts, 48 new tokens, SmolLM2-135M fp32 LoRA r=8, function reward",
        "threads": args.threads, "steps_per_run": args.steps, "repeats": args.repeats,
        "kl_on_s_per_step": on, "kl_off_s_per_step": off, "saved_s_per_step": on - off, "time_ratio_off_on": off / on,
        "reference_phase_s": ref, "phases": phases, "step_without_generation_s": {"on": rest_on, "off": rest_off},
        "cpu": platform.processor() or platform.machine(), "date": time.strftime("%Y-%m-%d"),
        "runs": runs,
    }  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"kl_off-{platform.machine()}.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"KL on: {on:.2f} s/step, of which the reference pass {ref:.2f} s ({100 * ref / on:.1f}%); KL off: {off:.2f} "
          f"s/step (no reference pass); off/on {off / on:.2f}x. Without generation: on {rest_on:.2f} s, off "
          f"{rest_off:.2f} s ({rest_off / rest_on:.2f}x). Phases: {phases} -> {path}")  # fmt: skip


if __name__ == "__main__":
    main()
