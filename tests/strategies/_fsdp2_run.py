"""Run a tiny RM or PPO fit on 2 CPU processes (gloo) under FSDP2 (``ModelParallelStrategy``) or DDP, and dump what
each rank saw to ``<out>/rank<r>.json``; ``test_fsdp2.py`` compares the two strategies. Launched as a script:
Lightning re-runs this file for rank 1."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.strategies import DDPStrategy, ModelParallelStrategy
from safetensors.torch import load_file

from perl_lightning import checkpointing as ckpt
from perl_lightning.data.preference import PreferenceDataModule
from perl_lightning.data.prompts import PromptDataModule
from perl_lightning.models.adapters import LoRAConfig
from perl_lightning.models.artifacts import whole
from perl_lightning.models.forward import response_logprobs
from perl_lightning.modules.optim import OptimConfig
from perl_lightning.modules.policy import PolicyModule
from perl_lightning.modules.reward_model import RewardModelModule
from perl_lightning.rewards.layer import RewardSpec
from perl_lightning.rl.config import SamplingConfig, UpdateConfig


class Record(Callback):
    """Per step: the logged statistics; at the end: greedy responses, reference / policy log-probs, the gathered
    trainable tensors and whether they are DTensors (sharded) during training."""

    def __init__(self) -> None:
        self.data: dict = {"steps": []}

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        keys = ("train/loss", "rl/policy_loss", "rl/value_loss", "rl/reward_mean")
        m = trainer.callback_metrics
        self.data["steps"].append({k: float(m[k]) for k in keys if k in m})
        self.data["sharded"] = any(type(p).__name__ == "DTensor" for p in pl_module.parameters())

    def on_train_end(self, trainer, pl_module) -> None:
        if isinstance(pl_module, PolicyModule):
            batch = next(iter(trainer.datamodule.val_dataloader()))
            greedy = SamplingConfig(max_new_tokens=6, do_sample=False)
            rollout = pl_module.generate(batch, greedy)  # under FSDP2: every rank generates in step
            (ref,), (pol,) = pl_module.logprobs(rollout, "reference"), pl_module.logprobs(rollout, "policy")
            with ckpt.full_parameters(trainer), torch.no_grad(), pl_module.models.model.disable_adapter():
                bare = response_logprobs(pl_module.models.model, rollout.sequences, rollout.attention_mask,
                                         rollout.prompt_length, pl_module.sampling.temperature)[0]  # fmt: skip
            mask = rollout.response_mask.bool()
            self.data.update(responses=rollout.responses, ref=ref[mask].tolist(), policy=pol[mask].tolist(),
                             bare=bare[mask].tolist())  # fmt: skip
        with ckpt.full_parameters(trainer):  # whole(): gathers FSDP2 shards on every rank
            self.data["trainable"] = {
                k: v.float().sum().item() for k, v in whole(pl_module.trainable_state_dict()).items()
            }


def main(strategy_name: str, kind: str, out: Path) -> None:
    L.seed_everything(0, verbose=False)
    torch.set_num_threads(1)
    lora = LoRAConfig(r=4, alpha=8, dropout=0.0)
    if kind == "rm":
        module = RewardModelModule("tiny-llama", lora=lora, learning_rate=5e-3, micro_batch_tokens=None,
                                   share_prefix=False, save_dir=str(out / "adapters"))  # fmt: skip
        data = PreferenceDataModule(limit=32, batch_size=4, max_length=64, seed=0)
    else:
        module = PolicyModule("tiny-llama", algorithm="ppo", lora=lora,
                              rewards=[RewardSpec("perl_lightning.rewards.toy:newline_reward")],
                              # generate under both strategies (FSDP2 always uses it): the lean loop's logits differ
                              # from generate's by float rounding, enough to flip a near-tie at temperature 0.1
                              sampling=SamplingConfig(max_new_tokens=6, temperature=0.1, engine="generate"),
                              update=UpdateConfig(update_epochs=1, loss_agg="seq_mean_token_mean"),
                              optim=OptimConfig(learning_rate=5e-3), save_dir=str(out / "adapters"))  # fmt: skip
        data = PromptDataModule(limit=24, batch_size=2, max_prompt_length=32, val_limit=2, seed=0)
    strategy = (ModelParallelStrategy(data_parallel_size=2, tensor_parallel_size=1) if strategy_name == "fsdp2"
                else DDPStrategy(process_group_backend="gloo"))  # fmt: skip
    record = Record()
    trainer = L.Trainer(accelerator="cpu", devices=2, strategy=strategy, max_steps=3, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        limit_val_batches=0, num_sanity_val_steps=0, callbacks=[record])  # fmt: skip
    trainer.fit(module, data)
    rank = trainer.global_rank
    if rank == 0:  # the adapters were written once, by rank zero
        files = sorted(str(p.relative_to(out)) for p in (out / "adapters").rglob("*.safetensors"))
        record.data["files"] = files
        record.data["saved"] = {f: {k: v.float().sum().item() for k, v in load_file(out / f).items()} for f in files}
    (out / f"rank{rank}.json").write_text(json.dumps(record.data))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], Path(sys.argv[3]))
