"""A reward model on its own backbone: decoded text is re-tokenized for it (another architecture or tokenizer)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from peft import PeftModel
from torch import nn

from perl_lightning.data.formatting import encode_scored_texts
from perl_lightning.models.artifacts import adapter_base_model, is_peft_dir
from perl_lightning.models.backbone import load_backbone, load_tokenizer, position_ids_from_mask
from perl_lightning.rl.types import Prompt, Rollout


class TextReward(nn.Module):
    """A reward model on its own backbone (another architecture or tokenizer, or the ``separate`` layout).

    Loads a ``RewardModelModule`` output directory (peft adapter with score head, or a fully fine-tuned model) on
    its base, frozen. Text is formatted exactly as ``RewardModelModule.reward`` does (chat template when the RM's
    tokenizer has one, end token, prompt truncated from the start).

    Args:
        path: reward model directory.
        dtype: weights dtype.
        max_length: most tokens of prompt + response fed to the reward model.
    """

    def __init__(self, path: str | Path, dtype: str = "auto", max_length: int = 512) -> None:
        super().__init__()
        self.path = self.name = str(path)
        self.max_length = max_length
        self.tokenizer = load_tokenizer(self.path)
        if is_peft_dir(path):
            base = load_backbone(adapter_base_model(path), "sequence-classification", dtype, tokenizer=self.tokenizer)
            self.model = PeftModel.from_pretrained(base, self.path)
        else:
            self.model = load_backbone(self.path, "sequence-classification", dtype, tokenizer=self.tokenizer)
        self.model.requires_grad_(False).eval()

    def forward(self, rollout: Rollout) -> torch.Tensor:
        """Rewards (N,) of the rollout's (prompt, response) texts, re-tokenized for this model."""
        return self.score_texts(rollout.prompts, rollout.responses)

    @torch.no_grad()
    def score_texts(self, prompts: Sequence[Prompt], responses: Sequence[str]) -> torch.Tensor:
        """Rewards (N,) of (prompt, response) texts; a prompt may be chat messages."""
        ids, mask = encode_scored_texts(self.tokenizer, prompts, responses, self.max_length)
        device = next(self.model.parameters()).device
        ids, mask = ids.to(device), mask.to(device)
        self.model.eval()
        out = self.model(input_ids=ids, attention_mask=mask, position_ids=position_ids_from_mask(mask))
        return out.logits[:, 0].float()  # (N,)
