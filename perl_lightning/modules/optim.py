"""Optimizer and learning-rate schedule shared by the modules."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import torch
from transformers import (
    get_constant_schedule_with_warmup,
    get_cosine_schedule_with_warmup,
    get_linear_schedule_with_warmup,
)

Schedule = Literal["cosine", "linear", "constant"]
#: LoRA adapters need a markedly higher learning rate than full fine-tuning (~10x and more).
DEFAULT_LR = {"lora": 5e-4, "full": 1e-5}


def build_optimizer(
    params: Iterable[torch.nn.Parameter],
    lr: float,
    weight_decay: float,
    schedule: Schedule,
    warmup_ratio: float,
    total_steps: int,
    betas: tuple[float, float] = (0.9, 0.999),
) -> dict:
    """AdamW over ``params`` with linear warmup then cosine / linear decay (or constant), stepped per batch."""
    params = [p for p in params if p.requires_grad]
    if not params:
        raise ValueError("no trainable parameters: check the LoRA config")
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, betas=betas)
    total_steps = max(1, int(total_steps))
    warmup = int(warmup_ratio * total_steps)
    if schedule == "cosine":
        scheduler = get_cosine_schedule_with_warmup(optimizer, warmup, total_steps)
    elif schedule == "linear":
        scheduler = get_linear_schedule_with_warmup(optimizer, warmup, total_steps)
    elif schedule == "constant":
        scheduler = get_constant_schedule_with_warmup(optimizer, warmup)
    else:
        raise ValueError(f"unknown schedule '{schedule}'; use cosine, linear or constant")
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


@dataclass
class OptimConfig:
    """AdamW and its learning-rate schedule (stepped once per optimizer step).

    Attributes:
        learning_rate: AdamW learning rate; ``None`` picks the module's default for LoRA or full fine-tuning (LoRA
            needs ~10x more).
        weight_decay: AdamW weight decay.
        schedule: ``constant``, ``cosine`` or ``linear`` after warmup.
        warmup_ratio: fraction of the optimizer steps spent in linear warmup.
        max_grad_norm: gradient-norm clipping per optimizer step; ``None`` disables it.
    """

    learning_rate: float | None = None
    weight_decay: float = 0.0
    schedule: Schedule = "constant"
    warmup_ratio: float = 0.0
    max_grad_norm: float | None = 1.0
