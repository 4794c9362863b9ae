"""Loss functions for reward modelling and policy optimisation (PPO, REINFORCE, RLOO).

Pure tensor math (torch only). Token-level tensors have shape ``(B, T)``; ``mask`` marks valid response tokens. All
statistics returned in the ``stats`` dictionaries are detached scalars.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from perl_lightning.rl.advantages import masked_mean

__all__ = [
    "LOSS_AGGREGATIONS",
    "aggregate_loss",
    "pairwise_reward_loss",
    "ppo_policy_loss",
    "value_loss",
    "reinforce_loss",
    "entropy_from_logits",
]

LOSS_AGGREGATIONS: tuple[str, ...] = ("token_mean", "seq_mean")


def aggregate_loss(loss: Tensor, mask: Tensor, loss_agg: str = "token_mean") -> Tensor:
    """Reduce a per-token loss ``(B, T)`` to a scalar.

    Args:
        loss: Per-token loss ``(B, T)``.
        mask: Valid-token mask ``(B, T)``.
        loss_agg: ``"token_mean"``: masked mean over all valid tokens of the batch (long sequences weigh more).
            ``"seq_mean"``: masked mean within each sequence, then mean over the sequences that have at least one
            valid token (every sequence weighs the same).

    Returns:
        Scalar loss; 0 if the mask is all zero.

    Raises:
        ValueError: For an unknown ``loss_agg``.
    """
    if loss_agg == "token_mean":
        return masked_mean(loss, mask)
    if loss_agg == "seq_mean":
        per_seq = masked_mean(loss, mask, dim=-1)  # (B,)
        has_tokens = (mask != 0).any(dim=-1)  # (B,)
        return masked_mean(per_seq, has_tokens)
    raise ValueError(f"Unknown loss_agg {loss_agg!r}; expected one of {LOSS_AGGREGATIONS}")


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


def ppo_policy_loss(
    logprobs: Tensor,
    old_logprobs: Tensor,
    advantages: Tensor,
    mask: Tensor,
    clip_eps: float = 0.2,
    loss_agg: str = "token_mean",
) -> tuple[Tensor, dict[str, Tensor]]:
    """PPO clipped surrogate policy loss (Schulman et al. 2017).

    Per token, with ``ratio = exp(logprobs - old_logprobs)``::

        loss_t = max(-A_t * ratio_t, -A_t * clip(ratio_t, 1 - clip_eps, 1 + clip_eps))

    Args:
        logprobs: Log-probabilities of the sampled tokens under the current policy ``(B, T)``.
        old_logprobs: Log-probabilities under the policy that generated the samples ``(B, T)``.
        advantages: Per-token advantages ``(B, T)`` (detached).
        mask: Valid-token mask ``(B, T)``.
        clip_eps: Clipping range epsilon.
        loss_agg: ``"token_mean"`` or ``"seq_mean"``, see :func:`aggregate_loss`.

    Returns:
        ``(loss, stats)`` where ``stats`` holds detached scalars:
        ``clipfrac`` (fraction of valid tokens where the clipped term is strictly larger, i.e. clipping is active and
        the token's gradient is zero), ``approx_kl`` (masked mean of ``0.5 * (logprobs - old_logprobs) ** 2``) and
        ``ratio_mean`` (masked mean of the ratio).
    """
    log_ratio = logprobs - old_logprobs  # (B, T)
    ratio = torch.exp(log_ratio)  # (B, T)
    unclipped = -advantages * ratio  # (B, T)
    clipped = -advantages * torch.clamp(ratio, 1.0 - clip_eps, 1.0 + clip_eps)  # (B, T)
    per_token = torch.maximum(unclipped, clipped)  # (B, T)
    loss = aggregate_loss(per_token, mask, loss_agg)
    with torch.no_grad():
        stats = {
            "clipfrac": masked_mean((clipped > unclipped).to(ratio.dtype), mask),
            "approx_kl": masked_mean(0.5 * log_ratio**2, mask),
            "ratio_mean": masked_mean(ratio, mask),
        }
    return loss, stats


def value_loss(
    values: Tensor,
    old_values: Tensor,
    returns: Tensor,
    mask: Tensor,
    clip_range: float | None = 0.2,
) -> tuple[Tensor, dict[str, Tensor]]:
    """PPO clipped value loss.

    With ``v_clipped = old_values + clamp(values - old_values, -clip_range, clip_range)``::

        loss = masked_mean(0.5 * max((values - returns) ** 2, (v_clipped - returns) ** 2))

    Args:
        values: Current value predictions ``(B, T)``.
        old_values: Value predictions at rollout time ``(B, T)``.
        returns: Value targets ``(B, T)`` (e.g. from :func:`perl_lightning.rl.advantages.gae`).
        mask: Valid-token mask ``(B, T)``.
        clip_range: Value clipping range; ``None`` disables clipping (plain ``0.5 * (values - returns) ** 2``).

    Returns:
        ``(loss, stats)``; ``stats["value_clipfrac"]`` is the fraction of valid tokens where the clipped error is
        strictly larger than the unclipped one (always 0 without clipping).
    """
    unclipped = (values - returns) ** 2  # (B, T)
    if clip_range is None:
        per_token = 0.5 * unclipped  # (B, T)
        clipfrac = torch.zeros((), dtype=values.dtype, device=values.device)
    else:
        v_clipped = old_values + torch.clamp(values - old_values, -clip_range, clip_range)  # (B, T)
        clipped = (v_clipped - returns) ** 2  # (B, T)
        per_token = 0.5 * torch.maximum(unclipped, clipped)  # (B, T)
        with torch.no_grad():
            clipfrac = masked_mean((clipped > unclipped).to(values.dtype), mask)
    loss = masked_mean(per_token, mask)
    return loss, {"value_clipfrac": clipfrac.detach()}


def reinforce_loss(
    logprobs: Tensor,
    advantages: Tensor,
    mask: Tensor,
    loss_agg: str = "token_mean",
) -> Tensor:
    """REINFORCE / RLOO policy-gradient loss ``-(A * logprobs)`` aggregated over valid tokens.

    Args:
        logprobs: Log-probabilities of the sampled tokens ``(B, T)``.
        advantages: Sequence-level advantages ``(B,)`` (broadcast to every token) or per-token ``(B, T)``; detached.
        mask: Valid-token mask ``(B, T)``.
        loss_agg: ``"token_mean"`` or ``"seq_mean"``, see :func:`aggregate_loss`.

    Returns:
        Scalar loss.
    """
    if advantages.dim() == 1:
        advantages = advantages.unsqueeze(-1)  # (B, 1)
    per_token = -advantages * logprobs  # (B, T)
    return aggregate_loss(per_token, mask, loss_agg)


def entropy_from_logits(logits: Tensor) -> Tensor:
    """Entropy of the categorical distribution at each position, ``H = -sum_v p_v log p_v``.

    Computed from ``log_softmax`` (stable for large logits); vocabulary entries with ``-inf`` logits contribute 0.
    Half-precision logits are upcast to float32 (the result is float32).

    Args:
        logits: Unnormalised logits ``(B, T, V)`` (any leading shape works).

    Returns:
        Entropy ``(B, T)`` in nats.
    """
    logp = torch.log_softmax(logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits, dim=-1)
    p = logp.exp()  # (B, T, V)
    plogp = torch.where(p > 0, p * logp, torch.zeros_like(p))  # (B, T, V)
    return -plogp.sum(dim=-1)  # (B, T)
