"""Parts of the RL step kept out of ``policy.py`` so that its ``training_step`` reads like the algorithm box:
DAPO-style handling of groups whose rewards are all equal (and the idle steps of a batch left with none), where
``log pi_old`` comes from, micro-batch counts, the step's metrics, eval mode for the rollout."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from perl_lightning.data.prompts import PromptBatch
from perl_lightning.modules.base import token_budget
from perl_lightning.rewards.layer import RewardResult
from perl_lightning.rl.advantages import masked_mean, masked_var, zero_std_groups
from perl_lightning.rl.config import UpdateConfig
from perl_lightning.rl.types import Experience, Rollout, TokenRewards, concat_rollouts

Redraw = Callable[[PromptBatch], tuple[Rollout, RewardResult]]


@contextmanager
def eval_mode(module: nn.Module) -> Iterator[None]:
    """Every submodule in eval mode (no dropout while sampling and scoring), each one's own mode restored after:
    frozen parts stay in eval mode."""
    modes = {m: m.training for m in module.modules()}
    module.eval()
    try:
        yield
    finally:
        for sub, training in modes.items():
            sub.training = training


def select_result(result: RewardResult, rows: list[int]) -> RewardResult:
    """The reward result of the given rows only."""
    return RewardResult(result.total[rows], {n: s[rows] for n, s in result.sources.items()},
                        {n: m[:, rows] for n, m in result.members.items()})  # fmt: skip


def cat_results(a: RewardResult, b: RewardResult) -> RewardResult:
    """The rows of ``a`` then those of ``b``."""
    return RewardResult(torch.cat([a.total, b.total]), {n: torch.cat([s, b.sources[n]]) for n, s in a.sources.items()},
                        {n: torch.cat([m, b.members[n]], 1) for n, m in a.members.items()})  # fmt: skip


def dynamic_sampling(
    batch: PromptBatch, rollout: Rollout, result: RewardResult, cfg: UpdateConfig, redraw: Redraw, pad_id: int,
    world_size: int = 1,
) -> tuple[Rollout | None, RewardResult | None, dict[str, float]]:  # fmt: skip
    """Count groups whose k raw rewards are all equal (their advantage is zero) and, per ``cfg.zero_std``, keep
    them, drop them, or redraw them (``redraw``: generate and score, up to ``max_resamples`` times) and drop what
    stays degenerate.

    Returns the rollout and reward result to train on (``None`` when nothing is left: the step skips its update)
    and the counts ``zero_std_fraction`` (before any redraw) and ``dropped_groups``. Under several processes a rank
    left with nothing keeps its batch (every rank must run the same collectives).
    """
    k = cfg.samples_per_prompt or 1
    if k < 2:
        return rollout, result, {}
    flat = zero_std_groups(result.total, k)  # (G,)
    stats = {"zero_std_fraction": float(flat.float().mean()), "dropped_groups": 0.0}
    if cfg.zero_std == "keep" or not flat.any():
        return rollout, result, stats
    for _ in range(cfg.max_resamples if cfg.zero_std == "resample" else 0):
        redo = flat.nonzero().flatten().tolist()
        if not redo:
            break
        fresh, fresh_result = redraw(batch.select(redo))
        fixed = ~zero_std_groups(fresh_result.total, k)  # (len(redo),)
        n, index = rollout.sequences.shape[0], list(range(rollout.sequences.shape[0]))
        for j, g in enumerate(redo):
            if fixed[j]:  # group g's rows come from the fresh draw's group j
                index[g * k : (g + 1) * k] = range(n + j * k, n + (j + 1) * k)
                flat[g] = False
        rollout = concat_rollouts([rollout, fresh], pad_id).select(index)
        result = select_result(cat_results(result, fresh_result), index)
    keep = (~flat).nonzero().flatten().tolist()
    if not keep and world_size > 1:
        return rollout, result, stats
    stats["dropped_groups"] = float(len(flat) - len(keep))
    if not keep:
        return None, None, stats
    rows = [i for g in keep for i in range(g * k, (g + 1) * k)]
    return rollout.select(rows), select_result(result, rows), stats


def idle_steps(optimizer: Optimizer, scheduler: LRScheduler | None, n: int) -> None:
    """``n`` optimizer (and schedule) steps with no gradient: no weight moves, the step counters advance (a batch that
    makes no update still counts towards ``max_steps``)."""
    for _ in range(n):
        optimizer.zero_grad(set_to_none=True)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()


def old_logprob_source(cfg: UpdateConfig, has_sampler: bool, fp32: bool, one_micro_batch: bool, has_value: bool) -> str:
    """Where a step's ``log pi_old`` comes from (``update.old_logprobs``).

    ``sampler``: recorded while sampling (asked for, or ``auto`` in fp32 without mixed precision, where the
    sampler's numbers equal a forward pass's). ``update``: the update is one optimizer step on one micro-batch and
    there is no value model, so the policy is still pi_old at the update and its forward with gradients serves,
    detached (the ratio is exactly 1). ``recompute``: a no-grad forward pass.
    """
    if has_sampler and (cfg.old_logprobs == "sampler" or (cfg.old_logprobs == "auto" and fp32)):
        return "sampler"
    one = cfg.update_epochs == 1 and cfg.num_minibatches == 1 and one_micro_batch
    return "update" if one and not has_value else "recompute"


def micro_batch_count(rows: int, tokens: int, cfg: UpdateConfig, device: torch.device) -> int:
    """Micro-batches a minibatch of ``rows`` sequences whose forward runs over ``tokens`` padded positions (shared
    prompts counted once, :func:`~perl_lightning.rl.masking.forward_tokens`) is split into (see
    ``UpdateConfig.micro_batch_tokens``)."""
    budget = token_budget(cfg.micro_batch_tokens, device)
    by_tokens = -(-tokens // budget) if budget else 1
    return max(1, min(rows, max(cfg.gradient_accumulation_steps, by_tokens)))


def step_metrics(
    rollout: Rollout, result: RewardResult, scores: torch.Tensor, rewards: TokenRewards, entropy: torch.Tensor,
    exp: Experience, kl_in_loss_coef: float, kl_logged: bool, has_value: bool,
) -> dict[str, torch.Tensor]:  # fmt: skip
    """The ``rl/`` statistics of a training step, each reward source's mean (``rl/reward/<name>``) included.

    Args:
        kl_in_loss_coef: the KL coefficient when the KL term sits in the loss (0 when it is in the reward).
        kl_logged: log ``rl/kl`` and ``rl/kl_k3`` (off when no reference pass ran).
        has_value: log ``rl/explained_variance`` of the value model.
    """
    mask = exp.response_mask
    seq_reward = rewards.rewards.sum(-1) - kl_in_loss_coef * rewards.kl_k3  # (N,) total reward of each response
    metrics = {
        "rl/reward_mean": seq_reward.mean(), "rl/reward_std": seq_reward.std(unbiased=False),
        "rl/score_mean": result.total.mean(), "rl/shaped_score_mean": scores.mean(),
        "rl/entropy": masked_mean(entropy, mask), "rl/response_length": rollout.lengths.float().mean(),
        "rl/no_eos_fraction": (~rollout.ended).float().mean(),
    }  # fmt: skip
    if kl_logged:
        metrics.update({"rl/kl": rewards.kl_k1.mean(), "rl/kl_k3": rewards.kl_k3.mean()})
    for name, source_scores in result.sources.items():  # each source's mean over the rows it applies to (0: none)
        valid = ~torch.isnan(source_scores)  # logged every step: under DDP every rank must log the same keys
        metrics[f"rl/reward/{name}"] = source_scores[valid].mean() if valid.any() else source_scores.new_zeros(())
    if has_value:  # the share of the returns' variance the value model explains
        residual = masked_var(exp.returns - exp.old_values, mask) / masked_var(exp.returns, mask).clamp_min(1e-8)
        metrics["rl/explained_variance"] = 1 - residual
    for name, members in result.members.items():  # ensemble disagreement: grows when the policy exploits one member
        metrics["rl/reward_ensemble_std" + ("" if name == "rm" else f"/{name}")] = members.std(0, unbiased=False).mean()
    return metrics
