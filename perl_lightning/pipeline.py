"""The main job: the PE-RLHF pipeline on the embedded model and built-in data, with no network.

Stage 1 trains a LoRA reward model (Bradley-Terry) on the built-in preference pairs and reports held-out pairwise
accuracy before and after training, and where the adapter was saved.

Run it with ``perl pipeline`` (``make demo`` sets up the environment first); ``perl pipeline --help`` lists options.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import lightning as L
from lightning.pytorch.loggers import CSVLogger

from perl_lightning.data.preference import PreferenceDataModule
from perl_lightning.models.adapters import LoRAConfig
from perl_lightning.modules.reward_model import RewardModelModule


@dataclass
class RewardStageResult:
    """What stage 1 produced."""

    accuracy_before: float
    accuracy_after: float
    adapter_dir: Path
    seconds: float
    steps: int


def _quiet_trainer(**kwargs) -> L.Trainer:
    return L.Trainer(accelerator="auto", devices=1, enable_model_summary=False, enable_checkpointing=False, **kwargs)


def run_reward_stage(
    out: Path,
    model: str = "smollm2-135m-instruct",
    data: str = "builtin",
    steps: int = 60,
    batch_size: int = 8,
    max_length: int = 256,
    lora_rank: int = 8,
    learning_rate: float | None = None,
    seed: int = 0,
) -> RewardStageResult:
    """Train a LoRA reward model and measure held-out pairwise accuracy before and after."""
    L.seed_everything(seed, verbose=False)
    module = RewardModelModule(
        model=model,
        lora=LoRAConfig(r=lora_rank, alpha=2 * lora_rank, dropout=0.05),
        learning_rate=learning_rate,
        save_dir=str(out / "reward_adapter"),
    )
    dm = PreferenceDataModule(path=data, batch_size=batch_size, max_length=max_length, seed=seed)
    logger = CSVLogger(str(out), name="reward_model")
    trainer = _quiet_trainer(
        max_steps=steps,
        logger=logger,
        val_check_interval=None,
        check_val_every_n_epoch=None,
        log_every_n_steps=5,
        limit_val_batches=0,
        num_sanity_val_steps=0,
    )
    evaluator = _quiet_trainer(logger=False)
    before = evaluator.validate(module, dm, verbose=False)[0]["val/accuracy"]
    start = time.perf_counter()
    trainer.fit(module, dm)
    seconds = time.perf_counter() - start
    after = evaluator.validate(module, dm, verbose=False)[0]["val/accuracy"]
    assert module.saved_adapter is not None
    return RewardStageResult(before, after, module.saved_adapter, seconds, trainer.global_step)


def main(argv: list[str] | None = None) -> int:
    """``perl pipeline``: run the PE-RLHF pipeline and print what it measured."""
    parser = argparse.ArgumentParser(
        prog="perl pipeline", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="smollm2-135m-instruct", help="base model (embedded name, hub id, path)")
    parser.add_argument("--data", default="builtin", help="preference data source")
    parser.add_argument("--out", default="runs/pipeline", help="output directory")
    parser.add_argument("--rm-steps", type=int, default=60, help="reward-model optimizer steps")
    parser.add_argument("--batch-size", type=int, default=8, help="preference pairs per step")
    parser.add_argument("--max-length", type=int, default=256, help="max tokens of prompt + response")
    parser.add_argument("--lora-rank", type=int, default=8, help="LoRA rank")
    parser.add_argument("--lr", type=float, default=None, help="learning rate (default: 5e-4 for LoRA)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = Path(args.out)
    print(f"[1/1] reward model: LoRA r={args.lora_rank} on {args.model}, data '{args.data}', {args.rm_steps} steps")
    rm = run_reward_stage(
        out, args.model, args.data, args.rm_steps, args.batch_size, args.max_length, args.lora_rank, args.lr, args.seed
    )
    print("\n== PE-RLHF pipeline summary ==")
    print(
        f"reward model held-out pairwise accuracy: {rm.accuracy_before:.3f} before -> {rm.accuracy_after:.3f} after "
        f"({rm.steps} steps, {rm.seconds / max(rm.steps, 1):.2f} s/step)"
    )
    print(f"reward adapter saved to: {rm.adapter_dir}")
    return 0
