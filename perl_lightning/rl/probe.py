"""Linear probes: the best linear score head on frozen features, fitted in closed-loop L-BFGS rather than SGD steps.

Used to start a reward model's score head where the frozen backbone already separates the feedback ("linear probing
then fine-tuning", LP-FT: Kumar et al. 2022, "Fine-Tuning can Distort Pretrained Features and Underperform
Out-of-Distribution"). A few dozen noisy Adam steps from a zero head learn little of a signal that an L2-regularised
logistic regression on the same features finds in one convex solve; fine-tuning the adapters then starts from a head
that already ranks, and its early gradients do not have to rotate the features towards a random head.

Pure tensor math (torch only). Features are the score head's inputs, one row per sequence, ``(N, H)``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["LinearProbe", "fit_pairwise_probe", "fit_pointwise_probe"]


class LinearProbe(NamedTuple):
    """A linear head on raw (unstandardised) features: ``score = features @ weight + bias``."""

    weight: Tensor  # (H,)
    bias: Tensor  # () ; 0 when the probe was fitted without an intercept
    train_loss: float  # the fitted objective without its L2 term


def _scale(features: Tensor, center: bool) -> tuple[Tensor, Tensor, Tensor]:
    """Standardise columns (the L2 penalty then treats every feature alike): returns (z, mean, std)."""
    x = features.double()
    mean = x.mean(0) if center else torch.zeros(x.shape[1], dtype=x.dtype, device=x.device)
    std = x.std(0, unbiased=False).clamp_min(1e-6) if x.shape[0] > 1 else torch.ones_like(mean)
    return (x - mean) / std, mean, std


def _lbfgs(objective, params: list[Tensor], max_iter: int) -> None:
    opt = torch.optim.LBFGS(params, lr=1.0, max_iter=max_iter, line_search_fn="strong_wolfe", tolerance_grad=1e-9)

    def closure() -> Tensor:
        opt.zero_grad()
        loss = objective()
        loss.backward()
        return loss

    opt.step(closure)


def _check(features: Tensor, weight_decay: float) -> None:
    if features.dim() != 2 or features.shape[0] == 0:
        raise ValueError(f"features must be a non-empty (N, H) matrix, got {tuple(features.shape)}")
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")


def fit_pointwise_probe(
    features: Tensor,
    labels: Tensor,
    weight_decay: float = 0.1,
    pos_weight: float | None = None,
    intercept: bool = True,
    max_iter: int = 200,
) -> LinearProbe:
    """Logistic regression ``P(liked) = sigmoid(features @ w + b)``: mean binary cross-entropy (liked terms weighed
    by ``pos_weight``) + ``weight_decay * |w_std|^2``, with ``w_std`` the weights on standardised features.

    Args:
        features: ``(N, H)`` frozen features, one per rated response.
        labels: ``(N,)`` targets in [0, 1] (1 = thumbs up).
        weight_decay: L2 strength on the standardised weights (the probe overfits a few hundred rows without it).
        pos_weight: weight of the liked terms (``n_disliked / n_liked`` balances the classes); ``None`` is 1.
        intercept: fit a bias. Without one (a head with no bias, as Llama's ``score``) the features are scaled but
            not centred, so that the model can still use their mean.
        max_iter: L-BFGS iterations.
    """
    _check(features, weight_decay)
    if labels.shape != features.shape[:1]:
        raise ValueError(f"labels {tuple(labels.shape)} do not match features {tuple(features.shape)}")
    z, mean, std = _scale(features, intercept)
    y = labels.to(z)
    pw = None if pos_weight is None else torch.tensor(pos_weight, dtype=z.dtype, device=z.device)
    w = torch.zeros(z.shape[1], dtype=z.dtype, device=z.device, requires_grad=True)
    b = torch.zeros((), dtype=z.dtype, device=z.device, requires_grad=intercept)

    def data_loss() -> Tensor:
        return F.binary_cross_entropy_with_logits(z @ w + b, y, pos_weight=pw)

    _lbfgs(lambda: data_loss() + weight_decay * w.pow(2).sum(), [w, b] if intercept else [w], max_iter)
    with torch.no_grad():
        raw = w / std
        return LinearProbe(raw.to(features.dtype), (b - raw @ mean).to(features.dtype), float(data_loss()))


def fit_pairwise_probe(chosen: Tensor, rejected: Tensor, weight_decay: float = 0.1, max_iter: int = 200) -> LinearProbe:
    """Bradley-Terry on feature differences, ``P(chosen > rejected) = sigmoid((f_c - f_r) @ w)``: mean
    ``-logsigmoid`` + ``weight_decay * |w_std|^2``. The bias cancels in every pair; it is set so that the mean reward
    over all the responses is 0.

    Args:
        chosen: ``(B, H)`` features of the preferred responses.
        rejected: ``(B, H)`` features of the rejected responses, row for row.
        weight_decay: L2 strength on the weights of standardised differences.
        max_iter: L-BFGS iterations.
    """
    _check(chosen, weight_decay)
    if rejected.shape != chosen.shape:
        raise ValueError(f"rejected {tuple(rejected.shape)} does not match chosen {tuple(chosen.shape)}")
    diff = (chosen - rejected).double()
    std = diff.std(0, unbiased=False).clamp_min(1e-6) if diff.shape[0] > 1 else torch.ones_like(diff[0])
    z = diff / std
    w = torch.zeros(z.shape[1], dtype=z.dtype, device=z.device, requires_grad=True)

    def data_loss() -> Tensor:
        return -F.logsigmoid(z @ w).mean()

    _lbfgs(lambda: data_loss() + weight_decay * w.pow(2).sum(), [w], max_iter)
    with torch.no_grad():
        raw = w / std
        mean = torch.cat([chosen, rejected]).double().mean(0)
        return LinearProbe(raw.to(chosen.dtype), (-(raw @ mean)).to(chosen.dtype), float(data_loss()))
