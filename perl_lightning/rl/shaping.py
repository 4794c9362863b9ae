"""From reward-source scores to per-token RL rewards: ensemble reduction, score shaping and the KL term.

Pure tensor math. Shapes: ``N`` responses, ``R`` response tokens, ``M`` members of a reward ensemble.
"""

from __future__ import annotations

from typing import Literal

import torch

from perl_lightning.rl.advantages import RunningMeanStd, masked_sum
from perl_lightning.rl.kl import kl_penalty
from perl_lightning.rl.masking import last_token_index
from perl_lightning.rl.types import TokenRewards

EnsembleReduce = Literal["mean", "min", "mean_minus_std"]


def reduce_ensemble(scores: torch.Tensor, how: EnsembleReduce = "mean", std_coef: float = 1.0) -> torch.Tensor:
    """Combine the scores (M, N) of M reward models into (N,): ``mean``, ``min`` or ``mean - std_coef * std``."""
    if how == "mean":
        return scores.mean(0)
    if how == "min":
        return scores.min(0).values
    if how == "mean_minus_std":
        std = scores.std(0, unbiased=False) if scores.shape[0] > 1 else torch.zeros_like(scores[0])
        return scores.mean(0) - std_coef * std
    raise ValueError(f"unknown ensemble reduction '{how}'; use mean, min or mean_minus_std")


def shape_scores(
    raw: torch.Tensor,
    lengths: torch.Tensor,
    ended: torch.Tensor,
    normalizer: RunningMeanStd | None = None,
    clip: float | None = None,
    length_penalty: float = 0.0,
    no_eos_penalty: float = 0.0,
) -> torch.Tensor:
    """Sequence rewards (N,) after optional running normalisation (``normalizer`` is updated with ``raw`` first),
    clipping, a per-token length penalty and a penalty for responses that never end."""
    shaped = raw
    if normalizer is not None:
        normalizer.update(raw)
        shaped = normalizer.normalize(shaped)
    if clip is not None:
        shaped = shaped.clamp(-clip, clip)
    return shaped - length_penalty * lengths.to(shaped) - no_eos_penalty * (~ended).to(shaped)


def token_rewards(
    scores: torch.Tensor,
    logprobs: torch.Tensor,
    ref_logprobs: torch.Tensor | None,
    mask: torch.Tensor,
    estimator: str = "k1",
    kl_coef: float = 0.05,
    kl_in_reward: bool = True,
) -> TokenRewards:
    """Per-token rewards: ``-kl_coef * KL_t`` (when the KL is in the reward) plus the score at the last token.

    Args:
        scores: (N,) shaped sequence scores.
        logprobs: (N, R) policy log-probs of the sampled tokens.
        ref_logprobs: (N, R) reference log-probs; ``None`` when the KL is off (no reference pass ran): every KL
            term is then zero.
        mask: (N, R) response mask.
        estimator: ``k1``, ``k2``, ``k3``, ``clamped``, ``jensen_shannon`` or ``none`` (see ``rl.kl.kl_penalty``).
        kl_coef: KL coefficient (the controller's current value).
        kl_in_reward: put the KL penalty in the reward (else it goes into the loss and is not added here).
    """
    mask = mask.to(logprobs.dtype)
    valid = mask != 0  # (N, R); whatever sits under the mask (even NaN) never reaches the rewards
    if ref_logprobs is None:
        ref_logprobs = logprobs
    lp = torch.where(valid, logprobs, torch.zeros_like(logprobs))  # select before the non-linear estimators
    ref = torch.where(valid, ref_logprobs, torch.zeros_like(ref_logprobs))
    kl = torch.where(valid, kl_penalty(lp, ref, estimator), torch.zeros_like(lp))  # (N, R)
    kl_k1 = masked_sum(lp - ref, mask, dim=-1)  # (N,)
    kl_k3 = masked_sum(kl_penalty(lp, ref, "k3"), mask, dim=-1)  # (N,)
    rewards = -kl_coef * kl if kl_in_reward else torch.zeros_like(kl)  # (N, R)
    rows = torch.arange(rewards.shape[0], device=rewards.device)
    has_tokens = mask.any(-1).to(rewards.dtype)  # (N,) an empty response gets no score (no token to carry it)
    rewards = rewards.index_put((rows, last_token_index(mask)), scores.to(rewards.dtype) * has_tokens, accumulate=True)
    return TokenRewards(rewards=rewards, kl=kl, kl_k1=kl_k1, kl_k3=kl_k3)
