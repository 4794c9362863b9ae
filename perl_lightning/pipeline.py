"""The main job: the PE-RLHF pipeline on the embedded model and built-in data, with no network.

Stage 1 trains a LoRA reward model (Bradley-Terry) on the built-in preference pairs and reports held-out pairwise
accuracy before and after training, and where the adapter was saved.

Stage 2 loads that reward adapter onto the same frozen backbone as the policy (Hydra layout: policy and reward are
two adapters, the reference is the backbone with adapters disabled) and trains a LoRA policy with RLOO on the
built-in prompts. It reports, on held-out prompts, the reward-model score and KL to the initial policy before and
after RL, the win rate against the initial policy, and three example responses before and after.

Run it with ``perl pipeline`` (``make demo`` sets up the environment first); ``perl pipeline --help`` lists options.
"""

from __future__ import annotations

import argparse
import csv
import time
from dataclasses import dataclass
from pathlib import Path

import lightning as L
from lightning.pytorch.loggers import CSVLogger

from perl_lightning.data.preference import PreferenceDataModule
from perl_lightning.data.prompts import PromptDataModule
from perl_lightning.models.adapters import LoRAConfig
from perl_lightning.modules.optim import OptimConfig
from perl_lightning.modules.policy import PolicyModule
from perl_lightning.modules.reward_model import RewardModelModule
from perl_lightning.rewards.layer import RewardSpec
from perl_lightning.rl.config import EvalConfig, KLConfig, SamplingConfig, ShapingConfig, UpdateConfig


@dataclass
class RewardStageResult:
    """What stage 1 produced."""

    accuracy_before: float
    accuracy_after: float
    adapter_dir: Path
    seconds: float
    steps: int


def logged_steps(logger: CSVLogger) -> list[dict[str, str]]:
    """The training-step rows (those with ``rl/reward_mean``) of a finished run's ``metrics.csv``."""
    logger.save()
    with open(Path(logger.log_dir) / "metrics.csv", newline="", encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle) if row.get("rl/reward_mean")]


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
    assert module.saved_adapters is not None
    return RewardStageResult(before, after, module.saved_adapters, seconds, trainer.global_step)


@dataclass
class RLStageResult:
    """What stage 2 produced (held-out prompts, greedy decoding)."""

    reward_before: float
    reward_after: float
    kl_before: float
    kl_after: float
    win_rate: float
    samples: list[dict]
    adapter_dir: Path
    seconds: float
    rollouts: int
    phase_seconds: dict[str, float]


def run_rl_stage(
    out: Path,
    reward_adapter: Path,
    model: str = "smollm2-135m-instruct",
    prompts: str = "builtin:prompts",
    rollouts: int = 12,
    batch_size: int = 4,
    samples_per_prompt: int = 2,
    max_new_tokens: int = 48,
    learning_rate: float = 2e-4,
    kl_coef: float = 0.05,
    eval_prompts: int = 8,
    seed: int = 0,
) -> RLStageResult:
    """Train a LoRA policy with RLOO against the stage-1 reward adapter on the same backbone."""
    L.seed_everything(seed, verbose=False)
    policy = PolicyModule(
        model=model,
        algorithm="rloo",
        lora=LoRAConfig(r=8, alpha=16),
        rewards=[RewardSpec(str(reward_adapter))],
        sampling=SamplingConfig(max_new_tokens=max_new_tokens, temperature=0.9),
        kl=KLConfig(coef=kl_coef),
        shaping=ShapingConfig(no_eos_penalty=1.0),
        update=UpdateConfig(samples_per_prompt=samples_per_prompt),
        optim=OptimConfig(learning_rate=learning_rate, schedule="constant"),
        evaluation=EvalConfig(num_samples=3),
        save_dir=str(out / "rl_adapters"),
    )
    dm = PromptDataModule(
        path=prompts,
        batch_size=batch_size,
        eval_batch_size=eval_prompts,
        val_limit=eval_prompts,
        max_prompt_length=192,
        seed=seed,
    )
    steps_per_rollout = 1  # rloo: one update epoch, one minibatch
    logger = CSVLogger(str(out), name="policy")
    trainer = _quiet_trainer(
        max_steps=rollouts * steps_per_rollout,
        logger=logger,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        log_every_n_steps=1,
    )
    evaluator = _quiet_trainer(logger=False, limit_val_batches=1)
    before = evaluator.validate(policy, dm, verbose=False)[0]
    start = time.perf_counter()
    trainer.fit(policy, dm)
    seconds = time.perf_counter() - start
    after = evaluator.validate(policy, dm, verbose=False)[0]
    steps = logged_steps(logger)
    phases = {
        k.removeprefix("time/"): sum(float(h[k]) for h in steps) / len(steps)
        for k in steps[0]
        if k.startswith("time/") and k.endswith("_s") and "per" not in k
    }
    assert policy.saved_adapters is not None
    return RLStageResult(
        before["val/reward"],
        after["val/reward"],
        before["val/kl"],
        after["val/kl"],
        after["val/win_rate"],
        policy.eval_samples,
        policy.saved_adapters,
        seconds,
        len(steps),
        phases,
    )


def main(argv: list[str] | None = None) -> int:
    """``perl pipeline``: run the PE-RLHF pipeline and print what it measured."""
    parser = argparse.ArgumentParser(
        prog="perl pipeline", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="smollm2-135m-instruct", help="base model (embedded name, hub id, path)")
    parser.add_argument("--data", default="builtin", help="preference data source")
    parser.add_argument("--out", default="runs/pipeline", help="output directory")
    parser.add_argument("--rm-steps", type=int, default=25, help="reward-model optimizer steps")
    parser.add_argument("--batch-size", type=int, default=8, help="preference pairs per step")
    parser.add_argument("--max-length", type=int, default=256, help="max tokens of prompt + response")
    parser.add_argument("--lora-rank", type=int, default=8, help="LoRA rank")
    parser.add_argument("--lr", type=float, default=None, help="learning rate (default: 5e-4 for LoRA)")
    parser.add_argument("--rl-rollouts", type=int, default=16, help="RLOO rollout batches (0 skips RL)")
    parser.add_argument("--rl-prompts", type=int, default=8, help="prompts per rollout batch")
    parser.add_argument("--rl-samples", type=int, default=2, help="samples per prompt (RLOO k)")
    parser.add_argument("--rl-new-tokens", type=int, default=48, help="max new tokens per response")
    parser.add_argument("--rl-lr", type=float, default=1e-4, help="policy learning rate")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = Path(args.out)
    stages = 2 if args.rl_rollouts > 0 else 1
    print(
        f"[1/{stages}] reward model: LoRA r={args.lora_rank} on {args.model}, data '{args.data}', {args.rm_steps} steps"
    )
    rm = run_reward_stage(
        out, args.model, args.data, args.rm_steps, args.batch_size, args.max_length, args.lora_rank, args.lr, args.seed
    )
    rl = None
    if args.rl_rollouts > 0:
        print(
            f"[2/2] RL: LoRA policy, RLOO k={args.rl_samples}, {args.rl_rollouts} rollout batches of "
            f"{args.rl_prompts} prompts, reward adapter {rm.adapter_dir} on the same backbone"
        )
        rl = run_rl_stage(
            out,
            rm.adapter_dir,
            args.model,
            rollouts=args.rl_rollouts,
            batch_size=args.rl_prompts,
            samples_per_prompt=args.rl_samples,
            max_new_tokens=args.rl_new_tokens,
            learning_rate=args.rl_lr,
            seed=args.seed,
        )
    print("\n== PE-RLHF pipeline summary ==")
    print(
        f"reward model held-out pairwise accuracy: {rm.accuracy_before:.3f} before -> {rm.accuracy_after:.3f} after "
        f"({rm.steps} steps, {rm.seconds / max(rm.steps, 1):.2f} s/step)"
    )
    print(f"reward adapter saved to: {rm.adapter_dir}")
    if rl is not None:
        print(
            f"RL on held-out prompts (greedy): reward {rl.reward_before:+.3f} -> {rl.reward_after:+.3f}, "
            f"KL to initial policy {rl.kl_before:.3f} -> {rl.kl_after:.3f}, win rate vs initial {rl.win_rate:.2f}"
        )
        phases = ", ".join(f"{k} {v:.1f}s" for k, v in rl.phase_seconds.items())
        print(f"RL: {rl.rollouts} rollout batches in {rl.seconds:.0f} s ({phases} per batch)")
        print(f"policy adapters saved to: {rl.adapter_dir}")
        for i, row in enumerate(rl.samples[:3], start=1):
            print(f"\n--- example {i} ---\nprompt: {_short(row['prompt'])}")
            print(f"before ({float(row['reward_before']):+.2f}): {_short(row['before'])}")
            print(f"after  ({float(row['reward_after']):+.2f}): {_short(row['after'])}")
    return 0


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
