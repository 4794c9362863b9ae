"""The reward model's metrics per objective, as torchmetrics collections (reduced over ranks under DDP / FSDP).

Pairwise (preference pairs): ``accuracy`` (chosen scored above rejected, ties count half), ``margin`` (mean
``r_chosen - r_rejected``), ``chosen_reward``, ``rejected_reward``.

Pointwise (rated responses, the reward read as ``logit P(liked)``): ``accuracy`` (reward > 0 for liked, < 0 for
disliked, 0 counts half), and in validation and test ``auroc`` (how well rewards rank liked above disliked,
threshold-free: the number to read under class imbalance, where always saying "liked" already scores the liked
share on ``accuracy``) and ``ece`` (expected calibration error of ``sigmoid(reward)``, 15 equal-width bins). A label
of at least 0.5 counts as liked.
"""

from __future__ import annotations

from typing import Literal

import torch
from torchmetrics import MeanMetric, MetricCollection
from torchmetrics.classification import BinaryAUROC, BinaryCalibrationError

Objective = Literal["pairwise", "pointwise"]
STAGES = ("train", "val", "test")


def reward_metrics(objective: Objective, stage: str) -> MetricCollection:
    """The metric collection of one objective and stage (``train``, ``val``, ``test``)."""
    if objective == "pairwise":
        return MetricCollection({k: MeanMetric() for k in ("accuracy", "margin", "chosen_reward", "rejected_reward")})
    metrics: dict = {"accuracy": MeanMetric()}
    if stage != "train":  # a whole-set ranking: per training batch it would be noise (often a batch has one class)
        metrics |= {"auroc": BinaryAUROC(), "ece": BinaryCalibrationError(n_bins=15, norm="l1")}
    return MetricCollection(metrics)


def update_pair_metrics(metrics: MetricCollection, chosen: torch.Tensor, rejected: torch.Tensor) -> torch.Tensor:
    """Fold a batch of pair rewards (B,), (B,) into the pairwise metrics; returns ``chosen - rejected`` (B,)
    (positive: the pair is ranked right)."""
    diff = (chosen - rejected).detach()
    metrics["accuracy"].update((diff > 0).float() + 0.5 * (diff == 0).float())
    metrics["margin"].update(diff)
    metrics["chosen_reward"].update(chosen.detach())
    metrics["rejected_reward"].update(rejected.detach())
    return diff


def update_rated_metrics(metrics: MetricCollection, rewards: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Fold a batch of rewards (B,) and labels (B,) in [0, 1] into the pointwise metrics; returns the rewards signed
    by their labels (B,) (positive: the reward's sign agrees with the label)."""
    rewards = rewards.detach().float()
    liked = labels.to(rewards.device) >= 0.5  # (B,) bool
    signed = torch.where(liked, rewards, -rewards)  # > 0 when the reward's sign agrees with the label
    metrics["accuracy"].update((signed > 0).float() + 0.5 * (signed == 0).float())
    if "auroc" in metrics:
        metrics["auroc"].update(rewards, liked.long())
        metrics["ece"].update(torch.sigmoid(rewards), liked.long())
    return signed


__all__ = ["STAGES", "Objective", "reward_metrics", "update_pair_metrics", "update_rated_metrics"]
