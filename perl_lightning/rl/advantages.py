"""Masked statistics, advantage estimators and running statistics for RLHF.

All functions are pure tensor math (torch only). Token-level tensors have shape ``(B, T)`` where ``B`` is the number
of sequences and ``T`` the number of response tokens; ``mask`` marks valid response tokens with 1 and padding with 0.
Masks may be bool, integer or float tensors; they are converted to the dtype of the data.

Every function tolerates an all-zero mask and returns zeros instead of NaN in that case, and ignores whatever the
data holds at masked positions (even ``inf``/``nan``), in the value and in the gradient.

Group functions (GRPO / RLOO / REINFORCE++-baseline) take sequence-level scores ``(N,)`` where the ``k`` samples of
each of the ``G = N / k`` prompts are contiguous.
"""

from __future__ import annotations

import torch
from torch import Tensor

from perl_lightning.rl.stats import RunningMeanStd, as_weights, masked_mean, masked_sum, masked_var, masked_whiten

__all__ = [
    "masked_mean",
    "masked_sum",
    "masked_var",
    "masked_whiten",
    "gae",
    "rloo_advantages",
    "GROUP_ADVANTAGE_SCALES",
    "group_advantages",
    "group_mean_baseline",
    "zero_std_groups",
    "RunningMeanStd",
]

GROUP_ADVANTAGE_SCALES: tuple[str, ...] = ("group", "batch", "none")


def gae(
    rewards: Tensor,
    values: Tensor,
    mask: Tensor,
    gamma: float = 1.0,
    lam: float = 0.95,
) -> tuple[Tensor, Tensor]:
    """Generalised Advantage Estimation (Schulman et al. 2016) over right-padded response tokens.

    With ``V_{t+1} = 0`` past the last valid token (the episode ends there)::

        delta_t = r_t + gamma * V_{t+1} - V_t
        A_t     = delta_t + gamma * lam * A_{t+1}
        R_t     = A_t + V_t

    Args:
        rewards: Per-token rewards ``(B, T)`` (typically ``-beta * KL`` per token plus the score on the last token).
        values: Value estimates ``(B, T)``. Should be detached by the caller.
        mask: Valid-token mask ``(B, T)``. Masked positions inside a row (the observation tokens between a
            multi-turn episode's actions) are skipped: a valid token's successor is the next valid token of its row,
            so the final reward reaches every action. Right padding ends the episode.
        gamma: Discount factor.
        lam: GAE lambda.

    Returns:
        ``(advantages, returns)``, both ``(B, T)``, zero at masked positions.
    """
    if rewards.shape != values.shape or rewards.shape != mask.shape:
        raise ValueError(
            f"rewards, values and mask must have the same (B, T) shape, got {tuple(rewards.shape)}, "
            f"{tuple(values.shape)} and {tuple(mask.shape)}"
        )
    m = as_weights(values, mask)  # (B, T)
    if bool(((m[:, 1:] != 0) & (m[:, :-1] == 0)).any()):  # holes: run on the valid tokens packed left, then unpack
        order = torch.argsort((m == 0).to(torch.int8), dim=-1, stable=True)  # (B, T) valid positions first
        packed = [torch.gather(x, 1, order) for x in (rewards, values, m)]
        adv, ret = gae(packed[0], packed[1], packed[2], gamma, lam)
        inverse = torch.argsort(order, dim=-1)
        return torch.gather(adv, 1, inverse), torch.gather(ret, 1, inverse)
    rewards = torch.where(m != 0, rewards, torch.zeros_like(rewards))  # (B, T)
    values = torch.where(m != 0, values, torch.zeros_like(values))  # (B, T)
    num_tokens = rewards.shape[-1]
    last_gae = torch.zeros_like(values[:, 0])  # (B,)
    advantages_reversed: list[Tensor] = []
    for t in reversed(range(num_tokens)):
        if t + 1 < num_tokens:
            next_mask = m[:, t + 1]  # (B,)
            next_value = values[:, t + 1] * next_mask  # (B,)
        else:
            next_mask = torch.zeros_like(last_gae)
            next_value = torch.zeros_like(last_gae)
        delta = rewards[:, t] + gamma * next_value - values[:, t]  # (B,)
        last_gae = delta + gamma * lam * next_mask * last_gae  # (B,)
        advantages_reversed.append(last_gae)
    advantages = torch.stack(advantages_reversed[::-1], dim=1) * m  # (B, T)
    returns = (advantages + values) * m  # (B, T)
    return advantages, returns


def rloo_advantages(scores: Tensor, k: int) -> Tensor:
    """REINFORCE Leave-One-Out advantages (Kool et al. 2019; Ahmadian et al. 2024).

    Each prompt has ``k`` sampled completions stored contiguously: rows ``i*k .. i*k+k-1`` belong to prompt ``i``.
    The baseline of a sample is the mean score of the other ``k - 1`` samples of the same prompt::

        A_j = s_j - (sum_l s_l - s_j) / (k - 1)

    Args:
        scores: Sequence-level scores ``(B * k,)``.
        k: Number of samples per prompt (``>= 2``).

    Returns:
        Advantages ``(B * k,)`` in the same order as ``scores``.

    Raises:
        ValueError: If ``k < 2``, ``scores`` is not 1-D, or its length is not a multiple of ``k``.
    """
    if k < 2:
        raise ValueError(f"rloo_advantages needs k >= 2 samples per prompt for a leave-one-out baseline, got k={k}")
    _check_groups(scores, k, "rloo_advantages")
    grouped = scores.reshape(-1, k)  # (B, k)
    baseline = (grouped.sum(dim=1, keepdim=True) - grouped) / (k - 1)  # (B, k)
    return (grouped - baseline).reshape(-1)  # (B * k,)


def _check_groups(scores: Tensor, k: int, name: str) -> None:
    """Validate ``scores`` ``(G * k,)`` for a per-prompt group function; raise ValueError otherwise."""
    if k < 1:
        raise ValueError(f"{name} needs k >= 1 samples per prompt, got k={k}")
    if scores.dim() != 1:
        raise ValueError(f"{name} expects 1-D scores of shape (G * k,), got shape {tuple(scores.shape)}")
    if scores.shape[0] % k != 0:
        raise ValueError(
            f"{name}: number of scores ({scores.shape[0]}) is not divisible by k={k}; the k samples of each prompt "
            "must be contiguous"
        )


def _float_scores(scores: Tensor) -> Tensor:
    """Scores as a float tensor for statistics: half precision upcast to float32, integers to the default dtype."""
    if scores.dtype in (torch.float16, torch.bfloat16):
        return scores.float()
    if not scores.is_floating_point():
        return scores.to(torch.get_default_dtype())
    return scores


def _unbiased_std(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Unbiased (Bessel-corrected) standard deviation that is 0, not NaN, for a single element."""
    n = x.numel() if dim is None else x.shape[dim]
    if n < 2:
        return torch.zeros_like(x.sum() if dim is None else x.sum(dim=dim, keepdim=keepdim))
    return x.std() if dim is None else x.std(dim=dim, keepdim=keepdim)


def group_advantages(scores: Tensor, k: int, scale: str = "group", eps: float = 1e-6) -> Tensor:
    """GRPO group-relative advantages (Shao et al. 2024), with the Dr. GRPO variant (Liu et al. 2025).

    Each prompt has ``k`` sampled completions stored contiguously: rows ``g*k .. g*k+k-1`` form group ``g``. With
    ``mean_g`` and ``std_g`` the mean and unbiased standard deviation of the group's ``k`` scores (as TRL and verl)::

        scale="group": A_j = (s_j - mean_g) / (std_g + eps)
        scale="batch": A_j = (s_j - mean_g) / (std(all N scores) + eps)
        scale="none":  A_j =  s_j - mean_g                               (Dr. GRPO: no std normalisation)

    The standard deviation of a single element is taken as 0, so ``k == 1`` gives all-zero advantages.

    Args:
        scores: Sequence-level scores ``(N,)`` with ``N = G * k``.
        k: Number of samples per prompt (``>= 1``).
        scale: One of :data:`GROUP_ADVANTAGE_SCALES`.
        eps: Added to the standard deviation before dividing.

    Returns:
        Advantages ``(N,)`` in the order of ``scores``, same dtype as ``scores`` if it is floating point (half
        precision is computed in float32 and cast back).

    Raises:
        ValueError: If ``k < 1``, ``scores`` is not 1-D, ``N`` is not a multiple of ``k``, or ``scale`` is unknown.
    """
    if scale not in GROUP_ADVANTAGE_SCALES:
        raise ValueError(f"Unknown group advantage scale {scale!r}; expected one of {GROUP_ADVANTAGE_SCALES}")
    _check_groups(scores, k, "group_advantages")
    x = _float_scores(scores)  # (N,)
    grouped = x.reshape(-1, k)  # (G, k)
    centered = grouped - grouped.mean(dim=1, keepdim=True)  # (G, k)
    if scale == "group":
        centered = centered / (_unbiased_std(grouped, dim=1, keepdim=True) + eps)  # (G, k)
    elif scale == "batch":
        centered = centered / (_unbiased_std(x) + eps)  # (G, k)
    out = centered.reshape(-1)  # (N,)
    return out.to(scores.dtype) if scores.is_floating_point() else out


def group_mean_baseline(scores: Tensor, k: int) -> Tensor:
    """Mean score of each prompt's ``k`` samples, repeated for each sample (the REINFORCE++-baseline baseline).

    Args:
        scores: Sequence-level scores ``(N,)`` with ``N = G * k``, the ``k`` samples of each prompt contiguous.
        k: Number of samples per prompt (``>= 1``).

    Returns:
        Baseline ``(N,)``: entry ``j`` of group ``g`` is ``mean_g``.

    Raises:
        ValueError: If ``k < 1``, ``scores`` is not 1-D, or ``N`` is not a multiple of ``k``.
    """
    _check_groups(scores, k, "group_mean_baseline")
    x = _float_scores(scores)  # (N,)
    means = x.reshape(-1, k).mean(dim=1, keepdim=True)  # (G, 1)
    out = means.expand(-1, k).reshape(-1)  # (N,)
    return out.to(scores.dtype) if scores.is_floating_point() else out


def zero_std_groups(scores: Tensor, k: int, atol: float = 0.0) -> Tensor:
    """Which prompt groups carry no learning signal because all their ``k`` scores are equal.

    Such groups have zero group-relative advantage; their count gives ``rl/zero_std_fraction`` and they are the groups
    that DAPO dynamic sampling drops or resamples.

    Args:
        scores: Sequence-level scores ``(N,)`` with ``N = G * k``, the ``k`` samples of each prompt contiguous.
        k: Number of samples per prompt (``>= 1``).
        atol: Groups whose ``max - min <= atol`` count as equal.

    Returns:
        Bool tensor ``(G,)``, True for groups whose scores are all equal (within ``atol``). Always True for ``k == 1``.

    Raises:
        ValueError: If ``k < 1``, ``scores`` is not 1-D, or ``N`` is not a multiple of ``k``.
    """
    _check_groups(scores, k, "zero_std_groups")
    grouped = scores.reshape(-1, k)  # (G, k)
    spread = grouped.amax(dim=1) - grouped.amin(dim=1)  # (G,)
    return spread <= atol  # (G,)
