"""Loss functions for policy optimisation (PPO, GRPO / DAPO / Dr. GRPO / GSPO, REINFORCE, RLOO); the reward-model
losses are in :mod:`perl_lightning.rl.reward_losses`.

Pure tensor math (torch only). Token-level tensors have shape ``(B, T)``; ``mask`` marks valid response tokens. All
statistics returned in the ``stats`` dictionaries are detached scalars.

Masked positions may hold anything, including ``-inf`` / ``nan`` log-probabilities: every loss selects its *inputs*
with ``torch.where(mask, x, 0)`` before any non-linear operation, so the loss, the statistics and the gradients stay
finite and the gradient at masked positions is exactly 0. (Multiplying by the mask afterwards is not enough:
``nan * 0 = nan``, and the gradient of ``torch.where``'s unselected branch is ``0 * inf = nan`` inside e.g. ``exp``.)
"""

from __future__ import annotations

import torch
from torch import Tensor

from perl_lightning.rl.advantages import masked_mean, masked_sum

__all__ = [
    "LOSS_AGGREGATIONS",
    "IMPORTANCE_SAMPLING_LEVELS",
    "aggregate_loss",
    "micro_batch_weights",
    "clipped_policy_loss",
    "ppo_policy_loss",
    "value_loss",
    "reinforce_loss",
    "entropy_from_logits",
]

LOSS_AGGREGATIONS: tuple[str, ...] = ("token_mean", "seq_mean_token_mean", "seq_mean_token_sum_norm")
IMPORTANCE_SAMPLING_LEVELS: tuple[str, ...] = ("token", "sequence")


def _valid(mask: Tensor, like: Tensor) -> Tensor:
    """Bool mask of the valid positions, on ``like``'s device and broadcast to its shape."""
    return (mask.to(device=like.device) != 0).expand_as(like)


def _select(x: Tensor, valid: Tensor) -> Tensor:
    """``x`` at valid positions, 0 elsewhere (also in the gradient: masked positions get exactly 0)."""
    return torch.where(valid, x, torch.zeros((), dtype=x.dtype, device=x.device))


def _token_advantages(advantages: Tensor, like: Tensor) -> Tensor:
    """Broadcast sequence-level advantages ``(B,)`` to ``(B, T)``; per-token ``(B, T)`` pass through."""
    if advantages.dim() == 1:
        advantages = advantages.unsqueeze(-1)  # (B, 1)
    return advantages.expand_as(like)  # (B, T)


def _check_loss_agg(loss_agg: str, max_length: int | None) -> None:
    """Raise ValueError for an unknown ``loss_agg`` or a missing / invalid ``max_length``."""
    if loss_agg not in LOSS_AGGREGATIONS:
        raise ValueError(f"Unknown loss_agg {loss_agg!r}; expected one of {LOSS_AGGREGATIONS}")
    if loss_agg == "seq_mean_token_sum_norm" and (max_length is None or max_length < 1):
        raise ValueError(
            f"loss_agg='seq_mean_token_sum_norm' needs max_length >= 1 (the constant the per-sequence token sum is "
            f"divided by, e.g. the maximum response length), got {max_length!r}"
        )


def aggregate_loss(
    loss: Tensor,
    mask: Tensor,
    loss_agg: str = "token_mean",
    max_length: int | None = None,
) -> Tensor:
    """Reduce a per-token loss ``(B, T)`` to a scalar.

    Args:
        loss: Per-token loss ``(B, T)``. Values at masked positions are ignored (even ``inf``/``nan``).
        mask: Valid-token mask ``(B, T)``.
        loss_agg: One of :data:`LOSS_AGGREGATIONS`:

            * ``"token_mean"`` (DAPO): masked mean over all valid tokens of the batch (long sequences weigh more).
            * ``"seq_mean_token_mean"`` (GRPO paper): masked mean within each sequence, then mean over the sequences
              that have at least one valid token (every sequence weighs the same).
            * ``"seq_mean_token_sum_norm"`` (Dr. GRPO): per sequence, the sum over its valid tokens divided by the
              constant ``max_length``, then mean over *all* ``B`` sequences (no length bias from a per-sequence
              ``1 / |y_i|``).
        max_length: The constant divisor of ``"seq_mean_token_sum_norm"`` (required there, ``>= 1``); ignored
            otherwise.

    Returns:
        Scalar loss; 0 if the mask is all zero.

    Raises:
        ValueError: For an unknown ``loss_agg``, or ``"seq_mean_token_sum_norm"`` without a valid ``max_length``.
    """
    _check_loss_agg(loss_agg, max_length)
    if loss_agg == "token_mean":
        return masked_mean(loss, mask)
    if loss_agg == "seq_mean_token_mean":
        per_seq = masked_mean(loss, mask, dim=-1)  # (B,)
        has_tokens = (mask != 0).any(dim=-1)  # (B,)
        return masked_mean(per_seq, has_tokens)
    # seq_mean_token_sum_norm
    per_seq = masked_sum(loss, mask, dim=-1) / max_length  # (B,)
    return per_seq.sum() / max(per_seq.numel(), 1)


def micro_batch_weights(micro_mask: Tensor, batch_mask: Tensor, loss_agg: str = "token_mean") -> tuple[float, float]:
    """Weights that make the sum of micro-batch losses equal the loss of their whole batch.

    A batch's loss is split into micro-batches (one backward each, for memory); each micro-batch's aggregated loss
    is multiplied by its share of what the aggregation averages over: valid tokens for ``token_mean`` (and for
    every token-mean term, e.g. a KL or entropy term), sequences with a valid token for ``seq_mean_token_mean``,
    sequences for ``seq_mean_token_sum_norm``.

    Args:
        micro_mask: Valid-token mask of the micro-batch ``(b, T)``.
        batch_mask: Valid-token mask of the whole batch ``(B, T)``.
        loss_agg: The policy loss's aggregation.

    Returns:
        ``(policy_weight, token_weight)``.
    """
    token_w = float((micro_mask != 0).sum()) / max(float((batch_mask != 0).sum()), 1.0)
    if loss_agg == "token_mean":
        return token_w, token_w
    if loss_agg == "seq_mean_token_mean":
        seqs = float((micro_mask != 0).any(-1).sum()) / max(float((batch_mask != 0).any(-1).sum()), 1.0)
        return seqs, token_w
    return micro_mask.shape[0] / max(batch_mask.shape[0], 1), token_w


def clipped_policy_loss(
    logprobs: Tensor,
    old_logprobs: Tensor,
    advantages: Tensor,
    mask: Tensor,
    clip_eps_low: float = 0.2,
    clip_eps_high: float = 0.2,
    loss_agg: str = "token_mean",
    importance_sampling_level: str = "token",
    max_length: int | None = None,
) -> tuple[Tensor, dict[str, Tensor]]:
    """Clipped surrogate policy loss: PPO (Schulman et al. 2017), DAPO clip-higher, GSPO sequence-level ratios.

    Per token, with importance ratio ``s_t``::

        loss_t = max(-A_t * s_t, -A_t * clip(s_t, 1 - clip_eps_low, 1 + clip_eps_high))

    * ``importance_sampling_level="token"`` (PPO / GRPO): ``s_t = exp(logprobs_t - old_logprobs_t)``.
    * ``importance_sampling_level="sequence"`` (GSPO, Zheng et al. 2025): every token of sequence ``i`` uses
      ``s_i = exp(mean_{t valid} (logprobs_t - old_logprobs_t))``, the length-normalised sequence likelihood ratio.
      It is broadcast (not detached), so each valid token's log-probability receives ``d s_i / d logp_t =
      s_i / |y_i|``.

    Asymmetric clipping (``clip_eps_high > clip_eps_low``) is DAPO's clip-higher.

    Args:
        logprobs: Log-probabilities of the sampled tokens under the current policy ``(B, T)``.
        old_logprobs: Log-probabilities under the policy that generated the samples ``(B, T)``.
        advantages: Sequence-level ``(B,)`` (broadcast to every token) or per-token ``(B, T)`` advantages (detached).
        mask: Valid-token mask ``(B, T)``. Masked positions of every input may hold ``-inf`` / ``nan``.
        clip_eps_low: Lower clipping range, the ratio is clipped at ``1 - clip_eps_low``; ``>= 0``.
        clip_eps_high: Upper clipping range, the ratio is clipped at ``1 + clip_eps_high``; ``>= 0``.
        loss_agg: One of :data:`LOSS_AGGREGATIONS`, see :func:`aggregate_loss`.
        importance_sampling_level: One of :data:`IMPORTANCE_SAMPLING_LEVELS`.
        max_length: Divisor for ``loss_agg="seq_mean_token_sum_norm"``.

    Returns:
        ``(loss, stats)`` where ``stats`` holds detached scalars, all masked means over the valid tokens:
        ``clipfrac`` (fraction where the clipped term is strictly larger, i.e. clipping is active and the token's
        gradient is zero), ``clipfrac_low`` / ``clipfrac_high`` (the part of ``clipfrac`` clipped at the lower bound,
        negative advantage, / at the upper bound, positive advantage; they sum to ``clipfrac``), ``approx_kl`` (of
        the *token* log-ratios, ``0.5 * (logprobs - old_logprobs) ** 2``, at either level) and ``ratio_mean`` (of the
        ratio used, i.e. ``s_i`` per token for ``"sequence"``).

    Raises:
        ValueError: For an unknown ``loss_agg`` / ``importance_sampling_level``, a missing ``max_length``, or a
            negative clip range.
    """
    _check_loss_agg(loss_agg, max_length)
    if importance_sampling_level not in IMPORTANCE_SAMPLING_LEVELS:
        raise ValueError(
            f"Unknown importance_sampling_level {importance_sampling_level!r}; expected one of "
            f"{IMPORTANCE_SAMPLING_LEVELS}"
        )
    if clip_eps_low < 0 or clip_eps_high < 0:
        raise ValueError(f"clip ranges must be >= 0, got clip_eps_low={clip_eps_low}, clip_eps_high={clip_eps_high}")
    valid = _valid(mask, logprobs)  # (B, T)
    log_ratio = _select(logprobs, valid) - _select(old_logprobs.to(logprobs.device), valid)  # (B, T)
    adv = _select(_token_advantages(advantages.to(logprobs.device), logprobs), valid)  # (B, T)
    if importance_sampling_level == "token":
        ratio = torch.exp(log_ratio)  # (B, T)
    else:
        seq_log_ratio = masked_mean(log_ratio, valid, dim=-1)  # (B,)
        ratio = torch.exp(seq_log_ratio).unsqueeze(-1).expand_as(log_ratio)  # (B, T)
    low, high = 1.0 - clip_eps_low, 1.0 + clip_eps_high
    unclipped = -adv * ratio  # (B, T)
    clipped = -adv * torch.clamp(ratio, low, high)  # (B, T)
    per_token = torch.maximum(unclipped, clipped)  # (B, T)
    loss = aggregate_loss(per_token, valid, loss_agg, max_length)
    with torch.no_grad():
        active = clipped > unclipped  # (B, T)
        dtype = ratio.dtype
        stats = {
            "clipfrac": masked_mean(active.to(dtype), valid),
            "clipfrac_low": masked_mean((active & (ratio < low)).to(dtype), valid),
            "clipfrac_high": masked_mean((active & (ratio > high)).to(dtype), valid),
            "approx_kl": masked_mean(0.5 * log_ratio**2, valid),
            "ratio_mean": masked_mean(ratio, valid),
        }
    return loss, {name: value.detach() for name, value in stats.items()}


def ppo_policy_loss(
    logprobs: Tensor,
    old_logprobs: Tensor,
    advantages: Tensor,
    mask: Tensor,
    clip_eps: float = 0.2,
    loss_agg: str = "token_mean",
) -> tuple[Tensor, dict[str, Tensor]]:
    """PPO clipped surrogate policy loss with a symmetric clip range (token-level ratios).

    Thin alias of :func:`clipped_policy_loss` with ``clip_eps_low = clip_eps_high = clip_eps``::

        loss_t = max(-A_t * ratio_t, -A_t * clip(ratio_t, 1 - clip_eps, 1 + clip_eps))

    Args:
        logprobs: Log-probabilities of the sampled tokens under the current policy ``(B, T)``.
        old_logprobs: Log-probabilities under the policy that generated the samples ``(B, T)``.
        advantages: Per-token ``(B, T)`` or sequence-level ``(B,)`` advantages (detached).
        mask: Valid-token mask ``(B, T)``.
        clip_eps: Clipping range epsilon.
        loss_agg: ``"token_mean"`` or ``"seq_mean_token_mean"`` (``"seq_mean_token_sum_norm"`` needs
            :func:`clipped_policy_loss` for its ``max_length``), see :func:`aggregate_loss`.

    Returns:
        ``(loss, stats)`` as :func:`clipped_policy_loss`.
    """
    return clipped_policy_loss(
        logprobs,
        old_logprobs,
        advantages,
        mask,
        clip_eps_low=clip_eps,
        clip_eps_high=clip_eps,
        loss_agg=loss_agg,
    )


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
        mask: Valid-token mask ``(B, T)``. Masked positions of every input may hold ``inf`` / ``nan``.
        clip_range: Value clipping range; ``None`` disables clipping (plain ``0.5 * (values - returns) ** 2``).

    Returns:
        ``(loss, stats)``; ``stats["value_clipfrac"]`` is the fraction of valid tokens where the clipped error is
        strictly larger than the unclipped one (always 0 without clipping).
    """
    valid = _valid(mask, values)  # (B, T)
    values = _select(values, valid)  # (B, T)
    old_values = _select(old_values.to(values.device), valid)  # (B, T)
    returns = _select(returns.to(values.device), valid)  # (B, T)
    unclipped = (values - returns) ** 2  # (B, T)
    if clip_range is None:
        per_token = 0.5 * unclipped  # (B, T)
        clipfrac = torch.zeros((), dtype=values.dtype, device=values.device)
    else:
        v_clipped = old_values + torch.clamp(values - old_values, -clip_range, clip_range)  # (B, T)
        clipped = (v_clipped - returns) ** 2  # (B, T)
        per_token = 0.5 * torch.maximum(unclipped, clipped)  # (B, T)
        with torch.no_grad():
            clipfrac = masked_mean((clipped > unclipped).to(values.dtype), valid)
    loss = masked_mean(per_token, valid)
    return loss, {"value_clipfrac": clipfrac.detach()}


def reinforce_loss(
    logprobs: Tensor,
    advantages: Tensor,
    mask: Tensor,
    loss_agg: str = "token_mean",
    max_length: int | None = None,
) -> Tensor:
    """REINFORCE / RLOO policy-gradient loss ``-(A * logprobs)`` aggregated over valid tokens.

    Args:
        logprobs: Log-probabilities of the sampled tokens ``(B, T)``; masked positions may hold ``-inf`` / ``nan``.
        advantages: Sequence-level advantages ``(B,)`` (broadcast to every token) or per-token ``(B, T)``; detached.
        mask: Valid-token mask ``(B, T)``.
        loss_agg: One of :data:`LOSS_AGGREGATIONS`, see :func:`aggregate_loss`.
        max_length: Divisor for ``loss_agg="seq_mean_token_sum_norm"``.

    Returns:
        Scalar loss.

    Raises:
        ValueError: For an unknown ``loss_agg`` or a missing ``max_length``.
    """
    _check_loss_agg(loss_agg, max_length)
    valid = _valid(mask, logprobs)  # (B, T)
    adv = _select(_token_advantages(advantages.to(logprobs.device), logprobs), valid)  # (B, T)
    per_token = -adv * _select(logprobs, valid)  # (B, T)
    return aggregate_loss(per_token, valid, loss_agg, max_length)


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
