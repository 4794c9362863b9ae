"""KL-style penalties between the policy and the frozen reference model, and KL coefficient controllers.

Pure tensor math (torch only). Per-token penalties have shape ``(B, T)``. Conventions: ``logprobs`` are the
log-probabilities of the *sampled* tokens under the policy, ``ref_logprobs`` those of the same tokens under the
reference model, and the samples are drawn from the policy. With the log-ratio ``r = logprobs - ref_logprobs`` the
estimators of ``KL(policy || reference)`` follow Schulman, "Approximating KL Divergence" (2020).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "KL_ESTIMATORS",
    "kl_penalty",
    "masked_kl",
    "jensen_shannon_penalty",
    "jensen_shannon_sampled",
    "AdaptiveKLController",
    "FixedKLController",
]

KL_ESTIMATORS: tuple[str, ...] = ("k1", "k2", "k3", "clamped", "none", "jensen_shannon")

_LOG2 = math.log(2.0)


def _upcast_half(x: Tensor) -> Tensor:
    """Upcast float16 / bfloat16 to float32; leave other dtypes alone."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def kl_penalty(logprobs: Tensor, ref_logprobs: Tensor, estimator: str = "k1") -> Tensor:
    """Per-token penalty from sampled-token log-probabilities.

    With ``r = logprobs - ref_logprobs``:

    * ``"k1"``: ``r`` (unbiased for KL(p||q), can be negative per token),
    * ``"k2"``: ``0.5 * r ** 2`` (biased, low variance, >= 0),
    * ``"k3"``: ``exp(-r) - 1 + r`` (unbiased, >= 0),
    * ``"clamped"``: ``max(0, r)``,
    * ``"none"``: zeros,
    * ``"jensen_shannon"``: :func:`jensen_shannon_sampled` (unbiased single-sample JS estimator, >= 0).

    Args:
        logprobs: Policy log-probabilities of the sampled tokens ``(B, T)``.
        ref_logprobs: Reference log-probabilities of the same tokens ``(B, T)``.
        estimator: One of :data:`KL_ESTIMATORS`.

    Returns:
        Per-token penalty ``(B, T)``. Masking is left to the caller.

    Raises:
        ValueError: For an unknown estimator name.
    """
    if estimator == "k1":
        return logprobs - ref_logprobs  # (B, T)
    if estimator == "k2":
        return 0.5 * (logprobs - ref_logprobs) ** 2  # (B, T)
    if estimator == "k3":
        r = logprobs - ref_logprobs  # (B, T)
        # expm1 keeps precision near r = 0; the clamp only removes round-off below the exact lower bound 0.
        return (torch.expm1(-r) + r).clamp_min(0.0)  # (B, T)
    if estimator == "clamped":
        return (logprobs - ref_logprobs).clamp_min(0.0)  # (B, T)
    if estimator == "none":
        return torch.zeros_like(logprobs)  # (B, T)
    if estimator == "jensen_shannon":
        return jensen_shannon_sampled(logprobs, ref_logprobs)  # (B, T)
    raise ValueError(f"Unknown KL estimator {estimator!r}; valid names are {KL_ESTIMATORS}")


def masked_kl(logprobs: Tensor, ref_logprobs: Tensor, mask: Tensor, estimator: str = "k1") -> Tensor:
    """Per-token :func:`kl_penalty` that is safe to use in a loss when masked positions hold ``-inf`` / ``nan``.

    The *inputs* are selected with ``torch.where(mask, x, 0)`` before the estimator's non-linearities (``exp``,
    ``softplus``, squares), and the output is zeroed at masked positions. Hence the penalty and its gradients are
    finite, and the gradient at masked positions is exactly 0 (multiplying the output by the mask would not be
    enough: ``nan * 0 = nan``).

    Args:
        logprobs: Policy log-probabilities of the sampled tokens ``(B, T)``.
        ref_logprobs: Reference log-probabilities of the same tokens ``(B, T)``.
        mask: Valid-token mask ``(B, T)`` (bool, integer or float; non-zero = valid).
        estimator: One of :data:`KL_ESTIMATORS`.

    Returns:
        Per-token penalty ``(B, T)``, 0 at masked positions. Reduce it with e.g.
        ``perl_lightning.rl.advantages.masked_mean(masked_kl(...), mask)``.

    Raises:
        ValueError: For an unknown estimator name.
    """
    valid = (mask.to(device=logprobs.device) != 0).expand_as(logprobs)  # (B, T)
    zero = torch.zeros((), dtype=logprobs.dtype, device=logprobs.device)
    lp = torch.where(valid, logprobs, zero)  # (B, T)
    ref = torch.where(valid, ref_logprobs.to(device=logprobs.device), zero)  # (B, T)
    kl = kl_penalty(lp, ref, estimator)  # (B, T)
    return torch.where(valid, kl, torch.zeros((), dtype=kl.dtype, device=kl.device))  # (B, T)


def jensen_shannon_penalty(logits: Tensor, ref_logits: Tensor, mask: Tensor | None = None) -> Tensor:
    """Exact Jensen-Shannon divergence between the full next-token distributions at each position.

    ``JS(p, q) = 0.5 * KL(p || m) + 0.5 * KL(q || m)`` with ``m = (p + q) / 2``, computed in log space:
    ``log(p / m) = log 2 - softplus(log q - log p)`` (and symmetrically for ``q``), so no probability is ever divided
    and tokens with zero probability under one distribution contribute exactly their limit. The result lies in
    ``[0, log 2]`` (round-off is clamped into that range). Half-precision logits are upcast to float32.

    Args:
        logits: Policy logits ``(B, T, V)``.
        ref_logits: Reference logits ``(B, T, V)``.
        mask: Optional valid-token mask ``(B, T)``; masked positions are set to 0.

    Returns:
        Per-position JS divergence ``(B, T)`` in nats.
    """
    logp = torch.log_softmax(_upcast_half(logits), dim=-1)  # (B, T, V)
    logq = torch.log_softmax(_upcast_half(ref_logits), dim=-1)  # (B, T, V)
    p = logp.exp()  # (B, T, V)
    q = logq.exp()  # (B, T, V)
    d = logq - logp  # (B, T, V)
    log_p_over_m = _LOG2 - F.softplus(d)  # (B, T, V)
    log_q_over_m = _LOG2 - F.softplus(-d)  # (B, T, V)
    zero = torch.zeros((), dtype=p.dtype, device=p.device)
    kl_pm = torch.where(p > 0, p * log_p_over_m, zero).sum(dim=-1)  # (B, T)
    kl_qm = torch.where(q > 0, q * log_q_over_m, zero).sum(dim=-1)  # (B, T)
    js = (0.5 * (kl_pm + kl_qm)).clamp(0.0, _LOG2)  # (B, T)
    if mask is not None:
        js = torch.where(mask.to(js.device) != 0, js, zero)  # (B, T)
    return js


def jensen_shannon_sampled(logprobs: Tensor, ref_logprobs: Tensor) -> Tensor:
    """Unbiased single-sample estimator of JS(policy, reference) from policy samples.

    Derivation, with ``p`` the policy, ``q`` the reference, ``m = (p + q) / 2`` and ``u = q(x) / p(x)``::

        KL(p || m) = E_p[log(2p / (p + q))]          = E_p[log(2 / (1 + u))]
        KL(q || m) = E_q[log(2q / (p + q))]          = E_p[u * log(2u / (1 + u))]   (importance weight u)
        JS(p, q)   = E_{x~p}[ g(u) ],  g(u) = 0.5 * log(2 / (1 + u)) + 0.5 * u * log(2u / (1 + u))

    ``g`` is the JS f-divergence generator: ``g(1) = 0``, ``g'(u) = 0.5 * log(2u / (1 + u))`` vanishes at ``u = 1``
    and ``g''(u) = 0.5 / (u * (1 + u)) > 0``, so ``g`` is convex with minimum 0 and **every per-token term is >= 0**
    (0 exactly when the two log-probabilities agree). It is **not** bounded by ``log 2`` per token: on ``u <= 1``
    (policy at least as likely as the reference) ``0 <= g(u) <= 0.5 * log 2``, but for ``u > 1`` it grows roughly like
    ``0.5 * log(2) * u``. Only the expectation under the policy is the JS divergence and hence ``<= log 2``.

    Computed stably from ``r = logprobs - ref_logprobs`` (``log u = -r``)::

        g = 0.5 * (log 2 - softplus(-r)) + 0.5 * exp(-r) * (log 2 - softplus(r))

    Args:
        logprobs: Policy log-probabilities of the sampled tokens ``(B, T)``.
        ref_logprobs: Reference log-probabilities of the same tokens ``(B, T)``.

    Returns:
        Per-token estimate ``(B, T)``, >= 0.
    """
    r = logprobs - ref_logprobs  # (B, T)
    term_p = 0.5 * (_LOG2 - F.softplus(-r))  # (B, T)
    term_q = 0.5 * torch.exp(-r) * (_LOG2 - F.softplus(r))  # (B, T)
    # g >= 0 exactly; the clamp only removes round-off from the cancellation near r = 0.
    return (term_p + term_q).clamp_min(0.0)  # (B, T)


class AdaptiveKLController:
    """Adaptive KL coefficient (Ziegler et al. 2019, "Fine-Tuning Language Models from Human Preferences").

    After each step with observed KL ``current``::

        proportional_error = clip(current / target - 1, -0.2, 0.2)
        value *= 1 + proportional_error * n_steps / horizon

    so the coefficient grows when the KL is above target and shrinks when it is below.
    """

    def __init__(self, init_kl_coef: float, target: float, horizon: int) -> None:
        """Create the controller.

        Args:
            init_kl_coef: Initial coefficient.
            target: Target KL (per sequence, in the same units as the value passed to :meth:`update`); > 0.
            horizon: Number of samples over which the error is corrected; > 0.
        """
        if target <= 0:
            raise ValueError(f"AdaptiveKLController target must be > 0, got {target}")
        if horizon <= 0:
            raise ValueError(f"AdaptiveKLController horizon must be > 0, got {horizon}")
        self.value = float(init_kl_coef)
        self.target = float(target)
        self.horizon = int(horizon)

    def update(self, current_kl: float, n_steps: int) -> None:
        """Adjust the coefficient towards the target.

        Args:
            current_kl: Observed KL of the latest batch.
            n_steps: Number of samples (or steps) the observation covers.
        """
        proportional_error = min(max(float(current_kl) / self.target - 1.0, -0.2), 0.2)
        mult = 1.0 + proportional_error * n_steps / self.horizon
        self.value *= mult

    def state_dict(self) -> dict[str, float]:
        """Return the state as plain floats."""
        return {"value": self.value, "target": self.target, "horizon": float(self.horizon)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state produced by :meth:`state_dict`.

        Args:
            state: Mapping with ``value`` and optionally ``target`` and ``horizon``.
        """
        self.value = float(state["value"])
        if "target" in state:
            self.target = float(state["target"])
        if "horizon" in state:
            self.horizon = int(state["horizon"])

    def __repr__(self) -> str:
        return f"AdaptiveKLController(value={self.value:.6g}, target={self.target}, horizon={self.horizon})"


class FixedKLController:
    """Constant KL coefficient with the same interface as :class:`AdaptiveKLController`."""

    def __init__(self, kl_coef: float) -> None:
        """Create the controller.

        Args:
            kl_coef: The constant coefficient.
        """
        self.value = float(kl_coef)

    def update(self, current_kl: float, n_steps: int) -> None:
        """No-op (kept for interface compatibility).

        Args:
            current_kl: Ignored.
            n_steps: Ignored.
        """

    def state_dict(self) -> dict[str, float]:
        """Return the state as plain floats."""
        return {"value": self.value}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state produced by :meth:`state_dict`.

        Args:
            state: Mapping with ``value``.
        """
        self.value = float(state["value"])

    def __repr__(self) -> str:
        return f"FixedKLController(value={self.value:.6g})"
