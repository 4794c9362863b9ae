"""Checkpoint sizes (.ckpt and adapter directory vs the full model) and the memory table of one RM and one RL run.

On the embedded SmolLM2-135M-Instruct, fp32 on CPU: a LoRA reward model trains a few steps and writes its Lightning
checkpoint and adapter directory; an RLOO policy (Hydra layout, the reward adapter on the same backbone) does the
same. ``MemoryMonitor`` is attached to both and prints its per-phase table. Then each run is resumed from its
checkpoint for one more step, checking the checkpoint loads (weights_only) and training continues.

    python benchmarks/checkpoints_and_memory.py              # ~3 min on 2 CPU cores
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _mib(n: int) -> str:
    return f"{n / 2**20:,.2f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--rm-steps", type=int, default=3)
    parser.add_argument("--rl-steps", type=int, default=2)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import lightning as L
    import torch

    from perl_lightning.callbacks.memory import MemoryMonitor
    from perl_lightning.data import PreferenceDataModule, PromptDataModule
    from perl_lightning.models.adapters import LoRAConfig
    from perl_lightning.models.backbone import resolve_model_path
    from perl_lightning.modules import PolicyModule, RewardModelModule
    from perl_lightning.rewards.layer import RewardSpec
    from perl_lightning.rl.config import SamplingConfig, UpdateConfig

    torch.set_num_threads(2)
    out = Path(args.out or tempfile.mkdtemp(prefix="perl-ckpt-"))

    def trainer(steps: int, root: Path, monitor: MemoryMonitor | None = None) -> L.Trainer:
        return L.Trainer(
            accelerator="cpu",
            max_steps=steps,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            limit_val_batches=0,
            num_sanity_val_steps=0,
            default_root_dir=root,
            callbacks=[monitor] if monitor else [],
        )

    full = _size(Path(resolve_model_path(args.model)))
    rows = []

    L.seed_everything(0)
    rm = RewardModelModule(model=args.model, lora=LoRAConfig(r=8, alpha=16), save_dir=str(out / "rm_adapter"))
    rm_data = PreferenceDataModule(batch_size=8, max_length=256)
    monitor = MemoryMonitor()
    t = trainer(args.rm_steps, out / "rm", monitor)
    t.fit(rm, rm_data)
    t.save_checkpoint(out / "rm.ckpt")
    rows.append(("reward model (LoRA r=8 + score head)", _size(out / "rm.ckpt"), _size(out / "rm_adapter")))
    rm_table = monitor.summary

    L.seed_everything(0)

    def policy() -> PolicyModule:
        return PolicyModule(
            model=args.model,
            algorithm="rloo",
            update=UpdateConfig(samples_per_prompt=2),
            lora=LoRAConfig(r=8, alpha=16),
            rewards=[RewardSpec(str(out / "rm_adapter"))],
            sampling=SamplingConfig(max_new_tokens=48),
            save_dir=str(out / "rl_adapters"),
        )

    rl_data = PromptDataModule(batch_size=4, max_prompt_length=128, val_limit=4)
    monitor = MemoryMonitor()
    t = trainer(args.rl_steps, out / "rl", monitor)
    t.fit(policy(), rl_data)
    t.save_checkpoint(out / "rl.ckpt")
    rows.append(("RLOO policy (LoRA r=8)", _size(out / "rl.ckpt"), _size(out / "rl_adapters")))
    rl_table = monitor.summary

    for name, path in (("rm", out / "rm.ckpt"), ("rl", out / "rl.ckpt")):
        state = torch.load(path, weights_only=True)  # no pickle beyond tensors and plain values
        assert state["perl_lightning"]["identity"]["model"] == args.model, name
    t = trainer(args.rl_steps + 1, out / "rl-resume")
    t.fit(policy(), PromptDataModule(batch_size=4, max_prompt_length=128, val_limit=4), ckpt_path=out / "rl.ckpt")
    assert t.global_step == args.rl_steps + 1

    print(f"\nfull model ({args.model}, safetensors cache): {_mib(full)}")
    print("| artefact | .ckpt | adapter dir | .ckpt / full model |")
    print("|---|---|---|---|")
    for name, ckpt_size, adapter_size in rows:
        print(f"| {name} | {_mib(ckpt_size)} | {_mib(adapter_size)} | {ckpt_size / full:.4f} |")
    print("\nRM memory/time table:\n" + MemoryMonitor.format_table(rm_table))
    print("\nRL memory/time table:\n" + MemoryMonitor.format_table(rl_table))
    (out / "summary.json").write_text(json.dumps({"sizes": rows, "rm": rm_table, "rl": rl_table}, indent=2))
    print(f"\nresumed RL from {out / 'rl.ckpt'} to step {args.rl_steps + 1}; files in {out}")


if __name__ == "__main__":
    main()
