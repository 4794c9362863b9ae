"""Linear probes: they recover a planted direction, the L2 term shrinks them, and the raw-space head reproduces the
standardised fit."""

from __future__ import annotations

import pytest
import torch
from torchmetrics.functional.classification import binary_auroc

from perl_lightning.rl.probe import fit_pairwise_probe, fit_pointwise_probe


def auroc(score, y):
    return binary_auroc(score, y.long()).item()


def planted(n: int = 600, h: int = 16, seed: int = 0):
    """Features with wildly different column scales and offsets, labels from a logistic model on two of them."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, h, generator=g) * torch.logspace(-2, 2, h) + torch.linspace(-50, 50, h)
    logit = 3 * (x[:, 3] - x[:, 3].mean()) / x[:, 3].std() - 2 * (x[:, 12] - x[:, 12].mean()) / x[:, 12].std()
    y = (torch.rand(n, generator=g) < torch.sigmoid(logit)).float()
    return x, y, logit


def test_pointwise_probe_recovers_a_planted_direction_on_held_out_rows():
    x, y, logit = planted(1200)
    probe = fit_pointwise_probe(x[:600], y[:600], weight_decay=1e-3)
    score = x[600:] @ probe.weight + probe.bias
    assert torch.corrcoef(torch.stack([score, logit[600:]]))[0, 1] > 0.95
    assert auroc(score, y[600:]) > auroc(-score, y[600:]) + 0.5
    assert probe.train_loss < 0.45  # the zero head's loss is log 2 = 0.693


def test_pointwise_probe_is_calibrated_with_an_intercept_and_ranks_without_one():
    x, y, _ = planted()
    with_bias = fit_pointwise_probe(x, y, weight_decay=1e-4)
    p = torch.sigmoid(x @ with_bias.weight + with_bias.bias)
    assert abs(p.mean().item() - y.mean().item()) < 0.01  # logistic regression's score equation
    no_bias = fit_pointwise_probe(x, y, weight_decay=1e-4, intercept=False)
    assert no_bias.bias.item() == 0.0
    assert auroc(x @ no_bias.weight, y) > auroc(x @ with_bias.weight, y) - 0.02


def test_weight_decay_shrinks_the_probe_and_pos_weight_moves_its_bias():
    x, y, _ = planted()
    scores = [x @ fit_pointwise_probe(x, y, weight_decay=wd).weight for wd in (1e-4, 1.0)]
    assert scores[1].std() < 0.5 * scores[0].std()
    assert fit_pointwise_probe(x, y, pos_weight=0.2).bias < fit_pointwise_probe(x, y, pos_weight=5.0).bias


def test_pairwise_probe_orders_held_out_pairs_and_centres_rewards():
    x, _, logit = planted(1200)
    order = logit[:600] > logit[600:]
    chosen = torch.where(order[:, None], x[:600], x[600:])
    rejected = torch.where(order[:, None], x[600:], x[:600])
    probe = fit_pairwise_probe(chosen[:400], rejected[:400], weight_decay=1e-3)
    margin = (chosen[400:] - rejected[400:]) @ probe.weight
    assert (margin > 0).float().mean() > 0.9
    rewards = torch.cat([chosen[:400], rejected[:400]]) @ probe.weight + probe.bias
    assert abs(rewards.mean().item()) < 1e-3 * rewards.std().item()


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="features"):
        fit_pointwise_probe(torch.zeros(0, 3), torch.zeros(0))
    with pytest.raises(ValueError, match="labels"):
        fit_pointwise_probe(torch.zeros(4, 3), torch.zeros(5))
    with pytest.raises(ValueError, match="rejected"):
        fit_pairwise_probe(torch.zeros(4, 3), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="weight_decay"):
        fit_pairwise_probe(torch.zeros(4, 3), torch.zeros(4, 3), weight_decay=-1)
