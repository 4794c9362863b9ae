"""The algorithm table: one entry per RL algorithm, read by ``PolicyModule``, which never tests an algorithm's name.

Each entry says how advantages are estimated, which policy loss is used, whether a value model is needed, and the
defaults for samples per prompt, update epochs and advantage whitening. Adding an algorithm is one entry here plus
its math in :mod:`perl_lightning.rl.advantages` / :mod:`perl_lightning.rl.losses`.

=================  =====================================================  ============  ============  ===  ======
name               advantage                                              policy loss   value model   k    epochs
=================  =====================================================  ============  ============  ===  ======
``ppo``            GAE(gamma, lambda) on per-token rewards, learned value clipped ratio  always        1    4
``reinforce``      return-to-go minus a baseline (value / mean / none)    vanilla PG    if baseline   1    1
``rloo``           sequence return minus the other k-1 samples' mean      vanilla PG    never         4    1
``grpo``           (return - group mean) / (group | batch std | 1)        clipped ratio never         4    1
``reinforce_pp``   return-to-go minus the group's mean score, whitened    clipped ratio never         4    1
=================  =====================================================  ============  ============  ===  ======

Shapes: ``N`` responses (the k samples of a prompt contiguous), ``R`` response tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NamedTuple

import torch
from torch import Tensor

from perl_lightning.rl.advantages import (
    RunningMeanStd,
    gae,
    group_advantages,
    group_mean_baseline,
    masked_mean,
    masked_whiten,
    rloo_advantages,
)
from perl_lightning.rl.config import UpdateConfig
from perl_lightning.rl.losses import clipped_policy_loss, reinforce_loss


class AdvantageInputs(NamedTuple):
    """What an advantage estimator may read (all detached)."""

    rewards: Tensor  # (N, R) per-token rewards: -beta * KL_t, plus the shaped score at the last token
    scores: Tensor  # (N,) shaped sequence scores (without KL)
    values: Tensor  # (N, R) value estimates (zeros without a value model)
    mask: Tensor  # (N, R) float response mask
    k: int  # samples per prompt
    config: UpdateConfig
    baseline_stats: RunningMeanStd  # running statistics of the REINFORCE mean baseline (updated in place)


Estimator = Callable[[AdvantageInputs], tuple[Tensor, Tensor]]


def _return_to_go(x: AdvantageInputs) -> Tensor:
    """Discounted return-to-go (N, R) of the per-token rewards."""
    returns, _ = gae(x.rewards, torch.zeros_like(x.rewards), x.mask, x.config.gamma, 1.0)
    return returns


def _ppo(x: AdvantageInputs) -> tuple[Tensor, Tensor]:
    return gae(x.rewards, x.values, x.mask, x.config.gamma, x.config.lam)


def _reinforce(x: AdvantageInputs) -> tuple[Tensor, Tensor]:
    returns = _return_to_go(x)
    if x.config.baseline == "value":
        return (returns - x.values) * x.mask, returns
    if x.config.baseline == "mean":
        x.baseline_stats.update(returns[:, 0])
        return (returns - x.baseline_stats.mean) * x.mask, returns
    return returns * x.mask, returns


def _rloo(x: AdvantageInputs) -> tuple[Tensor, Tensor]:
    returns = _return_to_go(x)
    return rloo_advantages(returns[:, 0], x.k)[:, None] * x.mask, returns


def _grpo(x: AdvantageInputs) -> tuple[Tensor, Tensor]:
    returns = _return_to_go(x)  # column 0: the sequence's score plus its KL terms when the KL is in the reward
    return group_advantages(returns[:, 0], x.k, x.config.scale_rewards)[:, None] * x.mask, returns


def _reinforce_pp(x: AdvantageInputs) -> tuple[Tensor, Tensor]:
    returns = _return_to_go(x)  # REINFORCE++-baseline: the group's mean score is the baseline of every token
    return (returns - group_mean_baseline(x.scores, x.k)[:, None]) * x.mask, returns


@dataclass(frozen=True)
class Algorithm:
    """One row of the table.

    Attributes:
        name: the value of ``PolicyModule(algorithm=...)``.
        estimator: advantages and value targets from :class:`AdvantageInputs`.
        policy_loss: ``clipped`` (importance ratio, clipped; several epochs allowed) or ``vanilla``
            (``-A * log pi``, on-policy).
        value_model: ``always``, ``never`` or ``baseline`` (when ``update.baseline == "value"``).
        samples_per_prompt: default k.
        min_samples_per_prompt: the smallest k the estimator is defined for.
        update_epochs: default passes over a rollout batch.
        whiten: whether advantages are whitened over the batch by default.
        clip_values: whether the value loss clips (``update.value_clip``).
    """

    name: str
    estimator: Estimator
    policy_loss: Literal["clipped", "vanilla"]
    value_model: Literal["always", "never", "baseline"]
    samples_per_prompt: int
    min_samples_per_prompt: int
    update_epochs: int
    whiten: bool
    clip_values: bool = False

    def needs_value(self, config: UpdateConfig) -> bool:
        """Whether a value adapter and head are trained."""
        return self.value_model == "always" or (self.value_model == "baseline" and config.baseline == "value")

    def resolve(self, config: UpdateConfig) -> UpdateConfig:
        """``config`` with the algorithm's defaults filled in and checked."""
        k = config.samples_per_prompt or self.samples_per_prompt
        if k < self.min_samples_per_prompt:
            raise ValueError(f"{self.name} needs samples_per_prompt >= {self.min_samples_per_prompt}, got {k}")
        resolved = UpdateConfig(**{**config.__dict__})
        resolved.samples_per_prompt = k
        resolved.update_epochs = config.update_epochs or self.update_epochs
        resolved.whiten_advantages = self.whiten if config.whiten_advantages is None else config.whiten_advantages
        resolved.clip_eps_high = config.clip_eps_low if config.clip_eps_high is None else config.clip_eps_high
        if config.zero_std != "keep" and k < 2:
            raise ValueError(f"zero_std: {config.zero_std} needs groups: samples_per_prompt >= 2, got {k}")
        return resolved

    def advantages(self, inputs: AdvantageInputs) -> tuple[Tensor, Tensor]:
        """Advantages and value targets, both (N, R); whitened over the batch's valid tokens when configured."""
        advantages, returns = self.estimator(inputs)
        if inputs.config.whiten_advantages:
            advantages = masked_whiten(advantages, inputs.mask)
        return advantages, returns

    def loss(
        self, logprobs: Tensor, old_logprobs: Tensor, advantages: Tensor, mask: Tensor, config: UpdateConfig,
        max_length: int,
    ) -> tuple[Tensor, dict[str, Tensor]]:  # fmt: skip
        """The policy loss of one micro-batch and its statistics (``clipfrac``, ``approx_kl``)."""
        if self.policy_loss == "clipped":
            return clipped_policy_loss(
                logprobs, old_logprobs, advantages, mask, config.clip_eps_low, config.clip_eps_high, config.loss_agg,
                config.importance_sampling_level, max_length,
            )  # fmt: skip
        loss = reinforce_loss(logprobs, advantages, mask, config.loss_agg, max_length)
        valid = mask != 0
        log_ratio = torch.where(valid, logprobs.detach() - old_logprobs, torch.zeros_like(logprobs))
        stats = {"clipfrac": torch.zeros((), device=mask.device), "approx_kl": masked_mean(0.5 * log_ratio**2, mask)}
        return loss, stats


ALGORITHMS: dict[str, Algorithm] = {
    a.name: a
    for a in (
        Algorithm("ppo", _ppo, "clipped", "always", 1, 1, 4, whiten=True, clip_values=True),
        Algorithm("reinforce", _reinforce, "vanilla", "baseline", 1, 1, 1, whiten=True),
        Algorithm("rloo", _rloo, "vanilla", "never", 4, 2, 1, whiten=True),
        Algorithm("grpo", _grpo, "clipped", "never", 4, 2, 1, whiten=False),
        Algorithm("reinforce_pp", _reinforce_pp, "clipped", "never", 4, 2, 1, whiten=True),
    )
}

AlgorithmName = Literal["ppo", "reinforce", "rloo", "grpo", "reinforce_pp"]


def get_algorithm(name: str) -> Algorithm:
    """The table entry of ``name``; a clear error listing the known algorithms otherwise."""
    if name not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {name!r}; known: {', '.join(ALGORITHMS)}")
    return ALGORITHMS[name]
