"""Masked statistics over valid response tokens, running statistics kept across steps (and resumes), and the
standard error of an AUROC.

Pure tensor math (torch only). Masks may be bool, integer or float tensors; they are converted to the data's dtype.
Every function tolerates an all-zero mask (zeros, not NaN) and ignores whatever the data holds at masked positions
(even ``inf``/``nan``), in the value and in the gradient.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

__all__ = ["auroc_standard_error", "masked_mean", "masked_sum", "masked_var", "masked_whiten", "RunningMeanStd"]


def as_weights(x: Tensor, mask: Tensor) -> Tensor:
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
    w = as_weights(x, mask)
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
    w = as_weights(x, mask)
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
    w = as_weights(x, mask)
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
    w = as_weights(xf, mask)
    xf = torch.where(w != 0, xf, torch.zeros((), dtype=xf.dtype, device=xf.device))
    mean = masked_mean(xf, w)
    var = masked_var(xf, w, unbiased=True)
    whitened = (xf - mean) * torch.rsqrt(var + eps)
    if not shift_mean:
        whitened = whitened + mean
    return torch.where(w != 0, whitened, torch.zeros_like(whitened)).to(orig_dtype)


def auroc_standard_error(auroc: float | Tensor, n_pos: int, n_neg: int) -> Tensor:
    """Standard error of an area under the ROC curve (Hanley & McNeil 1982, Radiology 143:29-36, eq. 2).

    ``SE^2 = (A (1 - A) + (n_pos - 1) (Q1 - A^2) + (n_neg - 1) (Q2 - A^2)) / (n_pos n_neg)`` with
    ``Q1 = A / (2 - A)`` (two positives both scored above one negative) and ``Q2 = 2 A^2 / (1 + A)`` (one positive
    above two negatives). At ``A = 0.5`` this is the Mann-Whitney null ``sqrt((n_pos + n_neg + 1) / (12 n_pos
    n_neg))``: "AUROC > 0.5 + 2 SE(0.5)" is a one-sided test at about the 2.3% level that a scorer beats chance.

    Args:
        auroc: The AUROC ``A`` in ``[0, 1]`` (the standard error assumed at it: the observed value for a
            confidence interval, 0.5 for a test against chance), a float or a tensor of any shape.
        n_pos: Number of positive examples (liked responses).
        n_neg: Number of negative examples (disliked responses).

    Returns:
        The standard error, float64, with ``auroc``'s shape.

    Raises:
        ValueError: When either class is empty.
    """
    if n_pos < 1 or n_neg < 1:
        raise ValueError(f"an AUROC needs both classes, got {n_pos} positives and {n_neg} negatives")
    a = torch.as_tensor(auroc, dtype=torch.float64)
    q1, q2 = a / (2 - a), 2 * a**2 / (1 + a)
    var = (a * (1 - a) + (n_pos - 1) * (q1 - a**2) + (n_neg - 1) * (q2 - a**2)) / (n_pos * n_neg)
    return var.clamp_min(0).sqrt()


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
