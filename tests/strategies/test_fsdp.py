"""FSDP (Lightning's FSDPStrategy, conf/strategy/fsdp.yaml) with the LoRA reward model and the hydra RL policy.

Lightning 2.6 accepts FSDPStrategy only with a CUDA accelerator (checked here on CPU), so the training runs need
GPUs and are skipped without them. They reuse the DDP test's subprocess runner and probe callback.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.strategies import FSDPStrategy

_spec = importlib.util.spec_from_file_location("_ddp_helpers", Path(__file__).with_name("test_ddp.py"))
_helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_helpers)

GPUS = torch.cuda.device_count()
needs_two_gpus = pytest.mark.skipif(
    GPUS < 2, reason=f"FSDPStrategy needs CUDA in Lightning 2.6 and sharding needs >= 2 GPUs; found {GPUS}"
)


def test_lightning_refuses_fsdp_on_cpu():
    with pytest.raises(ValueError, match="requires a GPU accelerator"):
        L.Trainer(accelerator="cpu", devices=2, strategy=FSDPStrategy(), logger=False)


@needs_two_gpus
@pytest.mark.parametrize("job", ["rm_tiny.yaml", "rl_tiny_ppo.yaml"])
def test_fsdp_trains_on_two_gpus(tmp_path, job):
    records = _helpers.run_ddp(
        tmp_path,
        job,
        "--model.init_args.dtype=fp32",  # one dtype per flat parameter; bf16 compute comes from FSDP mixed precision
        "--trainer.max_steps=4",
        "--trainer.val_check_interval=1",
        "--trainer.limit_val_batches=1",
        strategy="fsdp",
        accelerator="gpu",
    )
    _helpers.check_sharded(records, steps=len(records[0]["train_batches"]))
    if job.startswith("rl_"):
        for r in records:  # each rank rolled out its own prompts (generation under the FSDP wrapper)
            assert [ro["prompts"] for ro in r["rollouts"]] == r["train_batches"]


class _ReferenceProbe(L.Callback):
    """Under the FSDP wrapper: generate, then compare the reference log-probs (adapters off) with a bare base model."""

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx != 2:  # after two updates: the policy adapter is no longer zero
            return
        from perl_lightning.models.backbone import load_backbone
        from perl_lightning.models.forward import response_logprobs

        with torch.no_grad(), pl_module._eval_mode():
            rollout = pl_module.generate(batch, pl_module.sampling, k=1)  # generation works under the wrapper
            (self.reference,) = pl_module.logprobs(rollout, "reference")
            (self.policy,) = pl_module.logprobs(rollout, "policy")
            bare = load_backbone("tiny-llama", "causal-lm", dtype="fp32", device=pl_module.device).eval()
            self.bare = response_logprobs(
                bare, rollout.sequences, rollout.attention_mask, rollout.prompt_length, pl_module.sampling.temperature
            )[0]
        self.mask = rollout.response_mask


@pytest.mark.skipif(not torch.cuda.is_available(), reason="FSDPStrategy needs CUDA in Lightning 2.6; no GPU here")
def test_fsdp_adapters_switch_under_the_wrapper(tmp_path):
    from perl_lightning.data import PromptDataModule
    from perl_lightning.models.adapters import LoRAConfig
    from perl_lightning.modules import PolicyModule
    from perl_lightning.modules.optim import OptimConfig
    from perl_lightning.rewards import RewardSpec
    from perl_lightning.rl.config import SamplingConfig, UpdateConfig

    module = PolicyModule(
        model="tiny-llama",
        algorithm="rloo",
        update=UpdateConfig(samples_per_prompt=2),
        lora=LoRAConfig(r=4, alpha=8),
        rewards=[RewardSpec("perl_lightning.rewards.toy:newline_reward")],
        sampling=SamplingConfig(max_new_tokens=6),
        dtype="fp32",
        optim=OptimConfig(learning_rate=5e-2),
        save_dir=str(tmp_path / "adapters"),
    )
    probe = _ReferenceProbe()
    trainer = L.Trainer(
        accelerator="gpu",
        devices=1,
        strategy=FSDPStrategy(use_orig_params=True),
        max_steps=3,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        default_root_dir=tmp_path,
        callbacks=[probe],
    )
    trainer.fit(module, PromptDataModule(limit=12, val_limit=2, batch_size=2, max_prompt_length=32))
    mask = probe.mask.bool()
    torch.testing.assert_close(probe.reference[mask], probe.bare[mask], atol=1e-4, rtol=1e-4)
    assert trainer.global_step == 3
    from safetensors.torch import load_file

    saved = load_file(tmp_path / "adapters" / "policy" / "adapter_model.safetensors")  # gathered, not shards
    lora = {k: t for k, t in saved.items() if "lora_" in k}
    assert lora and all(t.dim() == 2 and min(t.shape) == 4 and max(t.shape) >= 32 for t in lora.values())
