"""From reward-source scores to per-token rewards: the KL term, score shaping, ensembles, empty responses."""

from __future__ import annotations

import math

import pytest
import torch

from perl_lightning.rl.advantages import RunningMeanStd
from perl_lightning.rl.algorithms import ALGORITHMS, AdvantageInputs
from perl_lightning.rl.config import UpdateConfig
from perl_lightning.rl.shaping import reduce_ensemble, shape_scores, token_rewards


def test_token_rewards_kl_shaping_by_hand():
    logprobs = torch.tensor([[-1.0, -2.0, -0.5], [-1.0, 0.0, 0.0]])
    ref = torch.tensor([[-1.5, -1.0, -0.5], [-2.0, 0.0, 0.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    out = token_rewards(torch.tensor([2.0, -1.0]), logprobs, ref, mask, "k1", kl_coef=0.1)
    k1 = torch.tensor([[0.5, -1.0, 0.0], [1.0, 0.0, 0.0]])
    expected = -0.1 * k1
    expected[0, 2] += 2.0  # the score sits on each response's last token
    expected[1, 0] += -1.0
    torch.testing.assert_close(out.rewards, expected)
    torch.testing.assert_close(out.kl_k1, torch.tensor([-0.5, 1.0]))
    k3 = lambda r: math.exp(-r) - 1 + r  # noqa: E731
    torch.testing.assert_close(out.kl_k3, torch.tensor([k3(0.5) + k3(-1.0), k3(1.0)]))
    in_loss = token_rewards(torch.tensor([2.0, -1.0]), logprobs, ref, mask, "k1", 0.1, kl_in_reward=False)
    assert in_loss.rewards[0].tolist() == [0.0, 0.0, 2.0]
    torch.testing.assert_close(in_loss.kl_k1, out.kl_k1)  # still measured, only not in the reward
    for estimator in ("k2", "k3", "clamped", "jensen_shannon", "none"):
        shaped = token_rewards(torch.tensor([0.0, 0.0]), logprobs, ref, mask, estimator, 0.1)
        assert torch.isfinite(shaped.rewards).all() and (shaped.kl >= 0).all()
    # no reference pass (KL off): every KL term is zero, the score alone remains
    off = token_rewards(torch.tensor([2.0, -1.0]), logprobs, None, mask, "k1", 0.1)
    assert off.rewards.tolist() == [[0.0, 0.0, 2.0], [-1.0, 0.0, 0.0]] and off.kl_k1.tolist() == [0.0, 0.0]


def test_empty_responses_give_finite_zero_rewards_and_advantages():
    mask = torch.zeros(4, 5)
    lp = torch.full((4, 5), float("nan"))  # whatever sits under the mask must not leak
    out = token_rewards(torch.ones(4), lp, lp, mask, "k3", 0.1)
    assert torch.equal(out.rewards, torch.zeros(4, 5)) and torch.equal(out.kl_k1, torch.zeros(4))
    for name, algo in ALGORITHMS.items():
        cfg = algo.resolve(UpdateConfig(samples_per_prompt=2, baseline="mean"))
        adv, ret = algo.advantages(AdvantageInputs(out.rewards, torch.ones(4), torch.zeros(4, 5), mask, 2, cfg,
                                                   RunningMeanStd()))  # fmt: skip
        assert torch.isfinite(adv).all() and torch.isfinite(ret).all(), name


def test_score_shaping():
    raw = torch.tensor([1.0, -3.0, 5.0])
    lengths, ended = torch.tensor([2, 4, 10]), torch.tensor([True, True, False])
    # clip to [-2, 2], minus 0.1 per token, minus 1 for the response that never ended
    shaped = shape_scores(raw, lengths, ended, clip=2.0, length_penalty=0.1, no_eos_penalty=1.0)
    torch.testing.assert_close(shaped, torch.tensor([1.0 - 0.2, -2.0 - 0.4, 2.0 - 1.0 - 1.0]))
    assert torch.equal(shape_scores(raw, lengths, ended), raw)  # no shaping: unchanged
    norm = RunningMeanStd()
    shaped = shape_scores(raw, lengths, ended, normalizer=norm)
    assert abs(float(shaped.mean())) < 1e-5 and norm.count == 3
    # (x - mean) / std with mean 1 and population std sqrt(32 / 3) = 3.265986
    torch.testing.assert_close(shaped, torch.tensor([0.0, -4.0, 4.0]) / 3.265986, atol=1e-5, rtol=0)


def test_ensemble_reductions():
    members = torch.tensor([[1.0, 2.0], [3.0, 0.0]])  # (M=2, N=2)
    assert reduce_ensemble(members, "mean").tolist() == [2.0, 1.0]
    assert reduce_ensemble(members, "min").tolist() == [1.0, 0.0]
    assert reduce_ensemble(members, "mean_minus_std", 0.5).tolist() == [1.5, 0.5]  # population std 1 and 1
    assert reduce_ensemble(members[:1], "mean_minus_std").tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match="unknown ensemble reduction"):
        reduce_ensemble(members, "median")
