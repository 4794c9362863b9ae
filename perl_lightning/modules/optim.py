"""Optimizer and learning-rate schedule shared by the modules."""

from __future__ import annotations

from collections.abc import Iterable
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
