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

import math
from typing import Any

import torch
from torch import Tensor

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


def _as_weights(x: Tensor, mask: Tensor) -> Tensor:
    """Broadcast ``mask`` against ``x`` and cast it to ``x``'s floating dtype."""
    dtype = x.dtype if x.is_floating_point() else torch.get_default_dtype()
    return mask.to(device=x.device, dtype=dtype).expand_as(x)


def masked_sum(x: Tensor, mask: Tensor, dim: int | None = None) -> Tensor:
    """Sum of ``x * mask`` that ignores whatever ``x`` holds at masked positions (even ``inf``/``nan``).

    Args:
        x: Values, any shape.
        mask: Weights broadcastable to ``x`` (1 = keep, 0 = ignore).
        dim: Dimension to reduce; ``None`` reduces over all elements.

    Returns:
        The masked sum, a scalar if ``dim`` is None, else ``x`` reduced along ``dim``.
    """
    w = _as_weights(x, mask)
    # Select before multiplying: nan * 0 = nan, and the gradient of an unselected nan / inf would be nan too.
    xs = torch.where(w != 0, x, torch.zeros((), dtype=x.dtype, device=x.device))
    xw = xs * w
    return xw.sum() if dim is None else xw.sum(dim=dim)


def masked_mean(x: Tensor, mask: Tensor, dim: int | None = None) -> Tensor:
    """Mean of ``x`` over the positions where ``mask`` is non-zero (weighted by ``mask``).

    Args:
        x: Values, e.g. ``(B, T)``.
        mask: Weights broadcastable to ``x`` (1 = valid token, 0 = padding).
        dim: Dimension to reduce; ``None`` reduces over all elements.

    Returns:
        ``sum(x * mask) / sum(mask)``; a scalar if ``dim`` is None, else reduced along ``dim``. Where the mask sums to
        zero the result is 0 (no NaN, and no NaN gradients).
    """
    w = _as_weights(x, mask)
    num = masked_sum(x, w, dim=dim)
    den = w.sum() if dim is None else w.sum(dim=dim)
    safe_den = torch.where(den != 0, den, torch.ones_like(den))
    return torch.where(den != 0, num / safe_den, torch.zeros_like(num))


def masked_var(x: Tensor, mask: Tensor, unbiased: bool = True) -> Tensor:
    """Variance of ``x`` over the masked positions (all dimensions reduced).

    Args:
        x: Values, e.g. ``(B, T)``.
        mask: Weights broadcastable to ``x``; for ``unbiased`` the count is ``sum(mask)``.
        unbiased: Apply Bessel's correction ``n / (n - 1)``. With ``n <= 1`` the correction is skipped.

    Returns:
        Scalar variance; 0 for an all-zero mask. Values at masked positions (even ``inf``/``nan``) are ignored, also in
        the gradient.
    """
    w = _as_weights(x, mask)
    xs = torch.where(w != 0, x, torch.zeros((), dtype=x.dtype, device=x.device))
    mean = masked_mean(xs, w)
    var = masked_mean((xs - mean) ** 2, w)
    if unbiased:
        n = w.sum()
        factor = torch.where(n > 1, n / torch.where(n > 1, n - 1, torch.ones_like(n)), torch.ones_like(n))
        var = var * factor
    return var


def masked_whiten(x: Tensor, mask: Tensor, shift_mean: bool = True, eps: float = 1e-8) -> Tensor:
    """Normalise ``x`` to unit (unbiased, masked) variance, using statistics of the valid positions only.

    Args:
        x: Values, e.g. advantages ``(B, T)``.
        mask: Weights broadcastable to ``x``.
        shift_mean: If True the result has zero mean (``(x - mean) / std``). If False the spread is normalised but the
            original mean is kept (``(x - mean) / std + mean``), as in TRL.
        eps: Added to the variance before the square root.

    Returns:
        Whitened tensor of the same shape and dtype as ``x``. Masked positions are set to 0 (they carry no information
        and are ignored by every masked loss). An all-zero mask returns all zeros. float16 / bfloat16 inputs are
        whitened in float32 (``eps`` would underflow in float16, and a zero variance would give inf / NaN) and cast
        back.
    """
    orig_dtype = x.dtype
    xf = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
    w = _as_weights(xf, mask)
    xf = torch.where(w != 0, xf, torch.zeros((), dtype=xf.dtype, device=xf.device))
    mean = masked_mean(xf, w)
    var = masked_var(xf, w, unbiased=True)
    whitened = (xf - mean) * torch.rsqrt(var + eps)
    if not shift_mean:
        whitened = whitened + mean
    return torch.where(w != 0, whitened, torch.zeros_like(whitened)).to(orig_dtype)


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
        mask: Valid-token mask ``(B, T)``, right-padded (ones then zeros). A zero inside a row is treated as the end
            of the episode for the tokens before it.
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
    m = _as_weights(values, mask)  # (B, T)
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
    if scores.dim() != 1:
        raise ValueError(f"rloo_advantages expects 1-D scores of shape (B * k,), got shape {tuple(scores.shape)}")
    if scores.shape[0] % k != 0:
        raise ValueError(
            f"rloo_advantages: number of scores ({scores.shape[0]}) is not divisible by k={k}; the k samples of each "
            "prompt must be contiguous"
        )
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


class RunningMeanStd:
    """Running mean / variance of a scalar stream (Chan et al. parallel update), for baselines and normalisation.

    Starts at ``mean=0``, ``var=1``, ``count=0``; the first update replaces these by the batch statistics. Variance is
    the population variance (``ddof=0``) of everything seen so far. State is kept in plain Python floats so it can be
    stored in any checkpoint.

    Example:
        >>> rms = RunningMeanStd()
        >>> rms.update(torch.tensor([1.0, 2.0, 3.0]))
        >>> rms.mean, rms.count
        (2.0, 3.0)
    """

    def __init__(self, epsilon: float = 1e-8) -> None:
        """Create an empty tracker.

        Args:
            epsilon: Added to the variance in :attr:`std` and :meth:`normalize`.
        """
        self.epsilon = float(epsilon)
        self.mean = 0.0
        self.var = 1.0
        self.count = 0.0

    @property
    def std(self) -> float:
        """Running standard deviation ``sqrt(var + epsilon)``."""
        return math.sqrt(self.var + self.epsilon)

    @torch.no_grad()
    def update(self, x: Tensor) -> None:
        """Fold a batch of values (any shape, flattened) into the running statistics. Empty batches are ignored.

        Args:
            x: Batch of values.
        """
        flat = x.detach().reshape(-1).to(torch.float64)  # (N,)
        n = float(flat.numel())
        if n == 0:
            return
        batch_mean = float(flat.mean())
        batch_var = float(flat.var(unbiased=False))
        total = self.count + n
        delta = batch_mean - self.mean
        m2 = self.var * self.count + batch_var * n + delta * delta * self.count * n / total
        self.mean = self.mean + delta * n / total
        self.var = m2 / total
        self.count = total

    def normalize(self, x: Tensor, shift_mean: bool = True) -> Tensor:
        """Scale ``x`` by the running std, optionally subtracting the running mean.

        Args:
            x: Values, any shape.
            shift_mean: Subtract the running mean before scaling.

        Returns:
            ``(x - mean) / std`` or ``x / std``, same shape as ``x``.
        """
        out = x - self.mean if shift_mean else x
        return out / self.std

    def state_dict(self) -> dict[str, float]:
        """Return the state as plain floats."""
        return {"mean": self.mean, "var": self.var, "count": self.count, "epsilon": self.epsilon}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state produced by :meth:`state_dict`.

        Args:
            state: Mapping with ``mean``, ``var``, ``count`` (and optionally ``epsilon``).
        """
        self.mean = float(state["mean"])
        self.var = float(state["var"])
        self.count = float(state["count"])
        if "epsilon" in state:
            self.epsilon = float(state["epsilon"])

    def __repr__(self) -> str:
        return f"RunningMeanStd(mean={self.mean:.6g}, var={self.var:.6g}, count={self.count:.0f})"
