"""A reward adapter riding on the policy's shared backbone (Hydra-RLHF): one more named LoRA adapter + a score head."""

from __future__ import annotations

from pathlib import Path

import torch
from peft import LoraConfig, TaskType, set_peft_model_state_dict
from torch import nn

from perl_lightning.models.artifacts import SCORE_HEAD_NAMES, check_adapter_base, read_reward_adapter
from perl_lightning.models.forward import in_chunks
from perl_lightning.models.heads import ScoreHead
from perl_lightning.models.topology import PolicyModels
from perl_lightning.rl.types import Rollout


def reward_lora_config(peft_config: dict) -> LoraConfig:
    """The LoRA config of a saved reward adapter (``adapter_config.json``) as an inference-only causal-LM adapter.

    The score head is read apart (:class:`~perl_lightning.models.heads.ScoreHead`), so it is no module to save. Any
    other module the reward model saved a copy of (a VLM's projector, ``lora.train_projector``) stays one: the
    adapter gets its own copy, and the saved weights load into it, never into the backbone's module that the policy
    and the reference read.
    """
    keep = {k: v for k, v in peft_config.items() if k in LoraConfig.__dataclass_fields__}
    copies = [m for m in peft_config.get("modules_to_save") or [] if m.rsplit(".", 1)[-1] not in SCORE_HEAD_NAMES]
    keep.update(task_type=TaskType.CAUSAL_LM, modules_to_save=copies or None, inference_mode=True)
    return LoraConfig(**keep)


class AdapterReward(nn.Module):
    """A reward adapter attached to the policy's shared backbone, with its score head.

    The LoRA weights from a ``RewardModelModule.save_adapters`` directory become one more named adapter of the
    causal-LM ``PeftModel``; the score head is applied to that backbone's final hidden state at the last real token.
    The base weights of a causal LM and of a sequence-classification model of the same checkpoint are the same, so
    the reward equals ``RewardModelModule``'s on the same tokens.

    Args:
        models: the RL run's models (the shared backbone).
        path: reward adapter directory.
        name: adapter name to register (``reward``, ``reward_1``, ...).
        chunk: sequences per forward pass (``None``: all at once).
    """

    def __init__(self, models: PolicyModels, path: str | Path, name: str, chunk: int | None = None) -> None:
        super().__init__()
        files = read_reward_adapter(path)
        peft_model = models.model
        check_adapter_base(path, files.base_model, peft_model.get_base_model().config)
        peft_model.add_adapter(name, reward_lora_config(files.peft_config))
        result = set_peft_model_state_dict(peft_model, files.lora_state, adapter_name=name)
        missing = [k for k in result.missing_keys if f".{name}." in k]
        if missing:
            raise ValueError(f"{path}: reward adapter does not fit the policy backbone; missing e.g. {missing[:3]}")
        models.freeze_all_but_trained()  # add_adapter may flip requires_grad flags
        self.name, self.chunk = name, chunk
        self.path = str(files.path)
        self.head = ScoreHead.from_tensors(files.head_weight, files.head_bias)
        object.__setattr__(self, "_models", models)  # not a submodule: the backbone belongs to the policy module

    def forward(self, rollout: Rollout) -> torch.Tensor:
        """Rewards (N,) of the rollout's token sequences (the policy's vocabulary), read at the last real token."""
        parts, n = [], rollout.sequences.shape[0]
        for rows in in_chunks(n, self.chunk):
            ids, mask = rollout.sequences[rows], rollout.attention_mask[rows]
            images = None if rollout.images is None else rollout.images.select(torch.arange(n)[rows])
            parts.append(self.head(self._models.hidden_states(self.name, ids, mask, images), mask))
        return torch.cat(parts) if parts else torch.zeros(0, device=rollout.sequences.device)
