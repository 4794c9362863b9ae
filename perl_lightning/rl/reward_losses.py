"""Loss functions for reward models: pairwise (Bradley-Terry) on preference pairs, pointwise (binary cross-entropy)
on rated responses.

Pure tensor math (torch only). Rewards are the model's scalar scores, one per sequence, shape ``(B,)``; a pointwise
reward is read as the logit of ``P(liked)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["pairwise_reward_loss", "pointwise_reward_loss"]


def pairwise_reward_loss(
    chosen: Tensor,
    rejected: Tensor,
    margin: float | Tensor = 0.0,
    center_coef: float = 0.0,
) -> Tensor:
    """Bradley-Terry pairwise loss for reward models, with optional margin and reward centering.

    ``loss = mean(-logsigmoid(chosen - rejected - margin)) + center_coef * mean((chosen + rejected) ** 2)``.
    The centering term (Eisenstein et al. 2023, "Helping or Herding?") pins the otherwise free reward offset near 0.

    Args:
        chosen: Rewards of the preferred responses ``(B,)``.
        rejected: Rewards of the rejected responses ``(B,)``.
        margin: Required reward gap, a float or a per-pair tensor ``(B,)`` (Llama-2 style margin).
        center_coef: Weight of the centering term; 0 disables it.

    Returns:
        Scalar loss.
    """
    logits = chosen - rejected - margin  # (B,)
    loss = -F.logsigmoid(logits).mean()
    if center_coef != 0.0:
        loss = loss + center_coef * ((chosen + rejected) ** 2).mean()
    return loss


def pointwise_reward_loss(logits: Tensor, labels: Tensor, pos_weight: float | Tensor | None = None) -> Tensor:
    """Binary cross-entropy of rated responses (thumbs up 1 / down 0), the reward read as a logit (PERL, Taskmaster).

    ``loss = mean(-(pos_weight * y * logsigmoid(r) + (1 - y) * logsigmoid(-r)))``, computed stably from the logits.
    The mean is over all ``B`` responses whatever ``pos_weight`` is (``torch``'s convention), so the loss of a batch
    is the size-weighted mean of its parts' losses and micro-batching is exact.

    Args:
        logits: Rewards ``(B,)``, read as ``logit P(liked)``.
        labels: Targets ``(B,)`` in ``[0, 1]``: 1 liked, 0 disliked; values in between are soft labels.
        pos_weight: Weight of the liked term, for class imbalance: ``n_disliked / n_liked`` weighs both classes
            equally (about 0.16 on Taskmaster Coffee, 86% liked); ``None`` is 1.

    Returns:
        Scalar loss.

    Raises:
        ValueError: For shapes that differ, or labels outside ``[0, 1]``.
    """
    if logits.shape != labels.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and labels {tuple(labels.shape)} must have the same shape")
    labels = labels.to(device=logits.device, dtype=logits.dtype)
    if labels.numel() and not bool(((labels >= 0) & (labels <= 1)).all()):
        raise ValueError(f"labels must be in [0, 1], got values from {float(labels.min())} to {float(labels.max())}")
    weight = None if pos_weight is None else torch.as_tensor(pos_weight, dtype=logits.dtype, device=logits.device)
    return F.binary_cross_entropy_with_logits(logits, labels, pos_weight=weight)
