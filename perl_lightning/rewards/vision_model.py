"""A vision-language reward model on its own backbone: it reads the policy's tokens and images as they are."""

from __future__ import annotations

from pathlib import Path

import torch
from peft import get_peft_model, set_peft_model_state_dict
from torch import nn
from transformers import PreTrainedTokenizerBase

from perl_lightning.models.artifacts import check_adapter_base, read_reward_adapter
from perl_lightning.models.forward import in_chunks, last_hidden_state
from perl_lightning.models.heads import ScoreHead
from perl_lightning.models.vlm import load_vlm
from perl_lightning.rewards.adapter import reward_lora_config
from perl_lightning.rl.types import Rollout


class VisionReward(nn.Module):
    """A VLM reward adapter (``RewardModelModule`` on a vision-language model) on a frozen VLM backbone of its own:
    the ``separate`` layout, or a reward model trained on another checkpoint than the policy's.

    It scores the rollout's own token sequences with the rows' images (:class:`~perl_lightning.rl.types.ImageInputs`,
    still one entry per prompt image), so its base must read them as the policy does: the same tokenizer vocabulary
    (image tokens included) and the same image processor settings. Text cannot be re-tokenized for another VLM
    without the raw images, which a rollout does not keep; such a pair is refused when the reward loads.

    Args:
        path: reward adapter directory (``RewardModelModule.save_adapters`` on a VLM).
        tokenizer: the policy's tokenizer (its vocabulary is checked against the reward model's).
        image_processor: the policy's image processor settings (``image_processor.to_dict()``), checked alike.
        dtype: weights dtype name.
        chunk: sequences per forward pass (``None``: all at once).
    """

    def __init__(
        self, path: str | Path, tokenizer: PreTrainedTokenizerBase, image_processor: dict, dtype: str = "auto",
        chunk: int | None = None,
    ) -> None:  # fmt: skip
        super().__init__()
        files = read_reward_adapter(path)
        self.path = self.name = str(files.path)
        base, processor = load_vlm(files.base_model, dtype)
        check_adapter_base(files.path, files.base_model, base.config)
        if processor.tokenizer.get_vocab() != tokenizer.get_vocab():
            raise ValueError(f"reward model {self.path} (base {files.base_model!r}) has another tokenizer than the "
                             "policy: a VLM reward model on its own backbone reads the policy's tokens and images as "
                             "they are; train it on the policy's base")  # fmt: skip
        theirs = processor.image_processor.to_dict()
        differ = sorted(k for k in set(theirs) | set(image_processor) if theirs.get(k) != image_processor.get(k))
        if differ:
            raise ValueError(f"reward model {self.path} (base {files.base_model!r}) processes images unlike the "
                             f"policy (fields {differ}): it would read the policy's pixel tensors wrongly")  # fmt: skip
        self.model = get_peft_model(base, reward_lora_config(files.peft_config), adapter_name="reward")
        result = set_peft_model_state_dict(self.model, files.lora_state, adapter_name="reward")
        missing = [k for k in result.missing_keys if ".reward." in k]
        if missing:
            raise ValueError(f"{self.path}: reward adapter does not fit its base {files.base_model!r}; missing e.g. "
                             f"{missing[:3]}")  # fmt: skip
        self.model.requires_grad_(False).eval()
        self.head = ScoreHead.from_tensors(files.head_weight, files.head_bias)
        self.chunk = chunk

    @torch.no_grad()
    def forward(self, rollout: Rollout) -> torch.Tensor:
        """Rewards (N,) of the rollout's token sequences with their images, read at the last real token."""
        if rollout.images is None:
            raise ValueError(f"reward model {self.path} is a vision-language model: the rollout carries no images")
        self.model.eval()
        device = next(self.model.parameters()).device
        parts, n = [], rollout.sequences.shape[0]
        for rows in in_chunks(n, self.chunk):
            ids, mask = rollout.sequences[rows].to(device), rollout.attention_mask[rows].to(device)
            images = rollout.images.select(torch.arange(n)[rows]).to(device)
            parts.append(self.head(last_hidden_state(self.model, ids, mask, images), mask))
        return torch.cat(parts) if parts else torch.zeros(0, device=rollout.sequences.device)
