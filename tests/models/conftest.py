"""Fixtures of the model tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from peft import TaskType
from torch import nn

from perl_lightning.models.adapters import LoRAConfig, apply_lora
from perl_lightning.models.backbone import load_backbone


@pytest.fixture
def tiny_lora(tiny_tokenizer) -> Callable[[str, TaskType], nn.Module]:
    """Build tiny-llama (``kind``: ``causal-lm`` / ``sequence-classification``) with a rank-4 LoRA adapter whose B
    matrices are random (not peft's zeros), so that the adapter changes outputs and gets non-trivial gradients."""

    def build(kind: str, task_type: TaskType) -> nn.Module:
        model = apply_lora(load_backbone("tiny-llama", kind, tokenizer=tiny_tokenizer),
                           LoRAConfig(r=4, alpha=8, dropout=0.0), task_type)  # fmt: skip
        with torch.no_grad():
            for name, p in model.named_parameters():
                if "lora_B" in name:
                    p.normal_(0, 0.1)
        return model

    return build
