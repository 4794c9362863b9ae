"""Tests for perl_lightning.rl.losses against numbers worked out by hand."""

import math

import pytest
import torch
from torch.testing import assert_close

from perl_lightning.rl.losses import (
    aggregate_loss,
    entropy_from_logits,
    pairwise_reward_loss,
    ppo_policy_loss,
    reinforce_loss,
    value_loss,
)

LOG2 = math.log(2.0)


def t(x, dtype=torch.float64):
    return torch.tensor(x, dtype=dtype)


# --------------------------------------------------------------------------------------------------------------------
# pairwise_reward_loss
# --------------------------------------------------------------------------------------------------------------------


def test_pairwise_reward_loss_plain():
    # diffs = [2 - 1, 0 - 0] = [1, 0]
    # -logsigmoid(1) = log(1 + e^-1) = 0.3132616875
    # -logsigmoid(0) = log 2        = 0.6931471806
    # mean = 0.5032044340
    loss = pairwise_reward_loss(t([2.0, 0.0]), t([1.0, 0.0]))
    assert_close(loss, t(0.5032044340), atol=1e-9, rtol=0)


def test_pairwise_reward_loss_float_margin():
    # margin 1: diffs = [0, -1] -> [log 2, log(1 + e)] = [0.6931471806, 1.3132616875], mean = 1.0032044340
    loss = pairwise_reward_loss(t([2.0, 0.0]), t([1.0, 0.0]), margin=1.0)
    assert_close(loss, t(1.0032044340), atol=1e-9, rtol=0)


def test_pairwise_reward_loss_tensor_margin():
    # per-pair margin [1, 0]: diffs = [0, 0] -> both log 2
    loss = pairwise_reward_loss(t([2.0, 0.0]), t([1.0, 0.0]), margin=t([1.0, 0.0]))
    assert_close(loss, t(LOG2), atol=1e-9, rtol=0)


def test_pairwise_reward_loss_centering():
    # BT part 0.5032044340 (as above); (chosen + rejected)^2 = [9, 0], mean 4.5; 0.1 * 4.5 = 0.45
    # total = 0.9532044340
    loss = pairwise_reward_loss(t([2.0, 0.0]), t([1.0, 0.0]), center_coef=0.1)
    assert_close(loss, t(0.9532044340), atol=1e-9, rtol=0)


def test_pairwise_reward_loss_gradient_direction():
    chosen = t([0.0, 0.5]).requires_grad_()
    rejected = t([0.0, 1.0]).requires_grad_()
    pairwise_reward_loss(chosen, rejected).backward()
    # gradient descent must raise chosen and lower rejected: d/dchosen = -sigmoid(-(c - r)) / B
    # pair 0: -sigmoid(0)/2 = -0.25; pair 1: -sigmoid(0.5)/2 = -0.6224593312/2 = -0.3112296656
    assert_close(chosen.grad, t([-0.25, -0.3112296656]), atol=1e-9, rtol=0)
    assert_close(rejected.grad, -chosen.grad)


# --------------------------------------------------------------------------------------------------------------------
# ppo_policy_loss
# --------------------------------------------------------------------------------------------------------------------


def _ppo_inputs():
    # old log-probs are 0, so ratio = exp(logprobs) is the listed ratio.
    ratios = t([[1.5, 0.5, 1.1], [1.5, 0.5, 0.9]])
    logprobs = ratios.log()
    old = torch.zeros_like(logprobs)
    adv = t([[1.0, 1.0, 1.0], [-1.0, -1.0, -1.0]])
    mask = t([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    return logprobs, old, adv, mask


def test_ppo_policy_loss_both_sides_of_clip_token_mean():
    # eps = 0.2, clip range [0.8, 1.2]; per token max(-A*r, -A*clip(r)):
    # row 0 (A=+1):
    #   r=1.5: max(-1.5, -1.2) = -1.2   clipped active (ratio above 1+eps, positive advantage)
    #   r=0.5: max(-0.5, -0.8) = -0.5   not active (positive advantage, ratio below 1-eps is not clipped)
    #   r=1.1: max(-1.1, -1.1) = -1.1   inside the range
    # row 1 (A=-1):
    #   r=1.5: max( 1.5,  1.2) =  1.5   not active (negative advantage, ratio above 1+eps is not clipped)
    #   r=0.5: max( 0.5,  0.8) =  0.8   clipped active (ratio below 1-eps, negative advantage)
    #   r=0.9: masked
    # token_mean = (-1.2 - 0.5 - 1.1 + 1.5 + 0.8) / 5 = -0.5 / 5 = -0.1
    logprobs, old, adv, mask = _ppo_inputs()
    loss, stats = ppo_policy_loss(logprobs, old, adv, mask, clip_eps=0.2)
    assert_close(loss, t(-0.1), atol=1e-9, rtol=0)
    # clipfrac: 2 active of 5 valid tokens
    assert_close(stats["clipfrac"], t(0.4), atol=1e-9, rtol=0)
    # ratio_mean = (1.5 + 0.5 + 1.1 + 1.5 + 0.5) / 5 = 5.1 / 5 = 1.02
    assert_close(stats["ratio_mean"], t(1.02), atol=1e-9, rtol=0)
    # approx_kl = mean over 5 tokens of 0.5 * log(r)^2:
    #   0.5*ln(1.5)^2 = 0.0822009769, 0.5*ln(0.5)^2 = 0.2402265070, 0.5*ln(1.1)^2 = 0.0045420152
    #   (2*0.0822009769 + 2*0.2402265070 + 0.0045420152) / 5 = 0.1298793966
    assert_close(stats["approx_kl"], t(0.1298793966), atol=1e-9, rtol=0)
    assert not any(v.requires_grad for v in stats.values())


def test_ppo_policy_loss_seq_mean():
    # row 0 mean = (-1.2 - 0.5 - 1.1) / 3 = -0.9333333333; row 1 mean = (1.5 + 0.8) / 2 = 1.15
    # seq_mean = (-0.9333333333 + 1.15) / 2 = 0.1083333333
    logprobs, old, adv, mask = _ppo_inputs()
    loss, _ = ppo_policy_loss(logprobs, old, adv, mask, clip_eps=0.2, loss_agg="seq_mean")
    assert_close(loss, t(0.1083333333), atol=1e-9, rtol=0)


def test_ppo_policy_loss_gradient_zero_where_clipped():
    # d(token_mean)/d logprob = d/dlp(-A * exp(lp)) / 5 = -A * r / 5 where the unclipped branch is taken, 0 where the
    # clipped branch is active (and for the masked token):
    #   row 0: [0, -0.5/5, -1.1/5] = [0, -0.1, -0.22]; row 1: [1.5/5, 0, 0] = [0.3, 0, 0]
    logprobs, old, adv, mask = _ppo_inputs()
    logprobs.requires_grad_()
    loss, _ = ppo_policy_loss(logprobs, old, adv, mask, clip_eps=0.2)
    loss.backward()
    assert_close(logprobs.grad, t([[0.0, -0.1, -0.22], [0.3, 0.0, 0.0]]), atol=1e-9, rtol=0)


def test_ppo_policy_loss_no_clipping_when_ratio_is_one():
    # ratio 1 everywhere: loss = mean(-A) = -(1 + 2 + 3 + 4) / 4 = -2.5, nothing clipped, no KL.
    logprobs = t([[-1.0, -2.0], [-0.3, -0.7]])
    adv = t([[1.0, 2.0], [3.0, 4.0]])
    mask = torch.ones(2, 2)
    loss, stats = ppo_policy_loss(logprobs, logprobs.clone(), adv, mask)
    assert_close(loss, t(-2.5), atol=1e-9, rtol=0)
    assert_close(stats["clipfrac"], t(0.0), atol=0, rtol=0)
    assert_close(stats["approx_kl"], t(0.0), atol=0, rtol=0)
    assert_close(stats["ratio_mean"], t(1.0), atol=1e-12, rtol=0)


def test_ppo_policy_loss_all_zero_mask_no_nan():
    logprobs, old, adv, _ = _ppo_inputs()
    logprobs.requires_grad_()
    mask = torch.zeros(2, 3)
    for agg in ("token_mean", "seq_mean"):
        loss, stats = ppo_policy_loss(logprobs, old, adv, mask, loss_agg=agg)
        assert_close(loss, t(0.0), atol=0, rtol=0)
        for v in stats.values():
            assert_close(v, t(0.0), atol=0, rtol=0)
        (grad,) = torch.autograd.grad(loss, logprobs)
        assert torch.isfinite(grad).all()


# --------------------------------------------------------------------------------------------------------------------
# value_loss
# --------------------------------------------------------------------------------------------------------------------


def _value_inputs():
    values = t([[0.5, 0.5], [0.7, 1.0]])
    old = t([[0.0, 0.0], [1.0, 1.0]])
    returns = t([[1.0, 0.0], [0.0, 3.0]])
    mask = t([[1.0, 1.0], [1.0, 0.0]])
    return values, old, returns, mask


def test_value_loss_clipped():
    # clip_range 0.2, v_clip = old + clamp(v - old, -0.2, 0.2):
    #   (0,0): v=0.5, old=0 -> v_clip=0.2, R=1: (0.5-1)^2=0.25, (0.2-1)^2=0.64 -> 0.64   clip active
    #   (0,1): v=0.5, old=0 -> v_clip=0.2, R=0: (0.5)^2=0.25,   (0.2)^2=0.04   -> 0.25   clip not active
    #   (1,0): v=0.7, old=1 -> v_clip=0.8, R=0: 0.49,           0.64           -> 0.64   clip active
    #   (1,1): masked
    # loss = 0.5 * (0.64 + 0.25 + 0.64) / 3 = 0.5 * 1.53 / 3 = 0.255; value_clipfrac = 2/3
    values, old, returns, mask = _value_inputs()
    loss, stats = value_loss(values, old, returns, mask, clip_range=0.2)
    assert_close(loss, t(0.255), atol=1e-9, rtol=0)
    assert_close(stats["value_clipfrac"], t(2.0 / 3.0), atol=1e-9, rtol=0)


def test_value_loss_unclipped():
    # 0.5 * (0.25 + 0.25 + 0.49) / 3 = 0.5 * 0.99 / 3 = 0.165
    values, old, returns, mask = _value_inputs()
    loss, stats = value_loss(values, old, returns, mask, clip_range=None)
    assert_close(loss, t(0.165), atol=1e-9, rtol=0)
    assert_close(stats["value_clipfrac"], t(0.0), atol=0, rtol=0)


def test_value_loss_gradient_zero_where_clipped():
    # d/dv of token_mean 0.5*(v-R)^2 is (v - R)/3 on unclipped tokens, 0 where the clipped error wins:
    #   (0,0): clipped branch -> 0 ; (0,1): (0.5 - 0)/3 = 0.1666666667 ; (1,0): clipped -> 0 ; (1,1): masked -> 0
    values, old, returns, mask = _value_inputs()
    values.requires_grad_()
    loss, _ = value_loss(values, old, returns, mask, clip_range=0.2)
    loss.backward()
    assert_close(values.grad, t([[0.0, 1.0 / 6.0], [0.0, 0.0]]), atol=1e-9, rtol=0)


def test_value_loss_all_zero_mask_no_nan():
    values, old, returns, _ = _value_inputs()
    loss, stats = value_loss(values, old, returns, torch.zeros(2, 2))
    assert_close(loss, t(0.0), atol=0, rtol=0)
    assert_close(stats["value_clipfrac"], t(0.0), atol=0, rtol=0)


# --------------------------------------------------------------------------------------------------------------------
# reinforce_loss / aggregate_loss
# --------------------------------------------------------------------------------------------------------------------


def _reinforce_inputs():
    logprobs = t([[-1.0, -2.0, -3.0], [-0.5, -1.5, -9.0]])
    mask = t([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    return logprobs, mask


def test_reinforce_loss_sequence_advantages():
    # A = [2, -1] broadcast; -A*lp: row 0 = [2, 4, 6], row 1 = [-0.5, -1.5, (masked -9)]
    # token_mean = (2 + 4 + 6 - 0.5 - 1.5) / 5 = 10 / 5 = 2.0
    # seq_mean   = (mean(2,4,6) + mean(-0.5,-1.5)) / 2 = (4 - 1) / 2 = 1.5
    logprobs, mask = _reinforce_inputs()
    adv = t([2.0, -1.0])
    assert_close(reinforce_loss(logprobs, adv, mask), t(2.0), atol=1e-9, rtol=0)
    assert_close(reinforce_loss(logprobs, adv, mask, loss_agg="seq_mean"), t(1.5), atol=1e-9, rtol=0)
    # the (B, T) form of the same advantages gives the same result
    adv_bt = adv[:, None].expand(2, 3)
    assert_close(reinforce_loss(logprobs, adv_bt, mask), t(2.0), atol=1e-9, rtol=0)


def test_reinforce_loss_token_advantages():
    # A = [[1,0,0],[0,0,1]]: -A*lp = [[1,0,0],[0,0,(masked 9)]] -> token_mean = 1 / 5 = 0.2
    logprobs, mask = _reinforce_inputs()
    adv = t([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    assert_close(reinforce_loss(logprobs, adv, mask), t(0.2), atol=1e-9, rtol=0)


def test_reinforce_loss_gradient():
    # d(token_mean)/d lp = -A / 5 on valid tokens: row 0 -> -0.4, row 1 -> 0.2, masked -> 0
    logprobs, mask = _reinforce_inputs()
    logprobs.requires_grad_()
    reinforce_loss(logprobs, t([2.0, -1.0]), mask).backward()
    assert_close(logprobs.grad, t([[-0.4, -0.4, -0.4], [0.2, 0.2, 0.0]]), atol=1e-9, rtol=0)


def test_seq_mean_skips_empty_sequences():
    # row 1 has no valid tokens: seq_mean averages only row 0 -> mean(2, 4, 6) = 4
    logprobs, _ = _reinforce_inputs()
    mask = t([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    adv = t([2.0, -1.0])
    assert_close(reinforce_loss(logprobs, adv, mask, loss_agg="seq_mean"), t(4.0), atol=1e-9, rtol=0)
    assert_close(reinforce_loss(logprobs, adv, mask, loss_agg="token_mean"), t(4.0), atol=1e-9, rtol=0)


def test_reinforce_loss_all_zero_mask_no_nan():
    logprobs, _ = _reinforce_inputs()
    logprobs.requires_grad_()
    for agg in ("token_mean", "seq_mean"):
        loss = reinforce_loss(logprobs, t([2.0, -1.0]), torch.zeros(2, 3), loss_agg=agg)
        assert_close(loss, t(0.0), atol=0, rtol=0)
        (grad,) = torch.autograd.grad(loss, logprobs)
        assert torch.isfinite(grad).all()


def test_unknown_loss_agg_raises():
    logprobs, mask = _reinforce_inputs()
    with pytest.raises(ValueError, match="token_mean"):
        aggregate_loss(logprobs, mask, "sum")
    with pytest.raises(ValueError, match="seq_mean"):
        reinforce_loss(logprobs, t([1.0, 1.0]), mask, loss_agg="mean")


# --------------------------------------------------------------------------------------------------------------------
# entropy_from_logits
# --------------------------------------------------------------------------------------------------------------------


def test_entropy_from_logits():
    inf = float("inf")
    logits = t(
        [
            [
                [0.0, 0.0, 0.0, 0.0],  # uniform over 4: ln 4 = 1.3862943611
                [0.0, math.log(3.0), -inf, -inf],  # p = [0.25, 0.75]: 0.25 ln 4 + 0.75 ln(4/3) = 0.5623351446
            ],
            [
                [1000.0, 1000.0, -inf, -inf],  # huge logits, uniform over 2: ln 2 = 0.6931471806
                [5.0, -inf, -inf, -inf],  # point mass: 0
            ],
        ]
    )  # (B=2, T=2, V=4)
    ent = entropy_from_logits(logits)
    assert ent.shape == (2, 2)
    assert_close(ent, t([[1.3862943611, 0.5623351446], [0.6931471806, 0.0]]), atol=1e-9, rtol=0)


def test_entropy_from_logits_half_precision_is_finite():
    logits = (torch.randn(2, 3, 50) * 30).to(torch.bfloat16)
    ent = entropy_from_logits(logits)
    assert ent.dtype == torch.float32
    assert torch.isfinite(ent).all()
    assert (ent >= 0).all() and (ent <= math.log(50) + 1e-5).all()
