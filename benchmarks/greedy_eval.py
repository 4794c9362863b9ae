"""Shared by the task benchmarks: a policy's greedy answers scored per held-out item, and paired differences.

Imported by the scripts next to it (``python benchmarks/<name>.py`` puts this directory on ``sys.path``).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from perl_lightning.data.prompts import PromptDataModule
from perl_lightning.modules.policy import PolicyModule
from perl_lightning.rl.config import SamplingConfig
from perl_lightning.tasks import Task


def greedy_scores(
    policy: PolicyModule, dm: PromptDataModule, task: Task, names: tuple[str, ...]
) -> tuple[dict[str, list[float]], list[dict[str, Any]]]:
    """The policy's greedy responses on every validation batch of ``dm``, scored with ``task.evaluate``: per metric
    in ``names`` one value per item (in the DataModule's fixed order), and each item's metadata."""
    dm.tokenizer = policy.tokenizer
    dm.processor = policy.processor
    dm.setup()
    scores: dict[str, list[float]] = {n: [] for n in names}
    metadata: list[dict[str, Any]] = []
    config = SamplingConfig(max_new_tokens=policy.sampling.max_new_tokens, do_sample=False)
    with torch.no_grad():
        for batch in dm.val_dataloader():
            rollout = policy.generate(batch, config)
            metrics = task.evaluate(rollout.responses, list(rollout.metadata))
            for n in names:
                scores[n] += metrics[n].tolist()
            metadata += list(rollout.metadata)
    return scores, metadata


def paired_difference(first: list[float], second: list[float]) -> dict[str, float]:
    """Mean of ``second_i - first_i`` over the same items, its paired standard error ``sd(diff) / sqrt(n)``, and the
    difference in standard errors."""
    diffs = [b - a for a, b in zip(first, second, strict=True)]
    n = len(diffs)
    mean = sum(diffs) / n
    se = math.sqrt(sum((d - mean) ** 2 for d in diffs) / max(n - 1, 1) / n)
    return {"diff": mean, "paired_se": se, "diff_in_se": mean / max(se, 1e-12), "n": n}
