"""Tests for perl_lightning.rl.losses against numbers worked out by hand."""

import math

import pytest
import torch
from torch.testing import assert_close

from perl_lightning.rl.losses import (
    LOSS_AGGREGATIONS,
    aggregate_loss,
    clipped_policy_loss,
    entropy_from_logits,
    micro_batch_weights,
    ppo_policy_loss,
    reinforce_loss,
    value_loss,
)
from perl_lightning.rl.stats import masked_mean

INF = float("inf")
NAN = float("nan")


def t(x, dtype=torch.float64):
    return torch.tensor(x, dtype=dtype)


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
    loss, _ = ppo_policy_loss(logprobs, old, adv, mask, clip_eps=0.2, loss_agg="seq_mean_token_mean")
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
    for agg in LOSS_AGGREGATIONS:
        loss, stats = clipped_policy_loss(logprobs, old, adv, mask, loss_agg=agg, max_length=3)
        assert_close(loss, t(0.0), atol=0, rtol=0)
        for v in stats.values():
            assert_close(v, t(0.0), atol=0, rtol=0)
        (grad,) = torch.autograd.grad(loss, logprobs)
        assert torch.isfinite(grad).all()


def test_ppo_policy_loss_seq_mean_token_sum_norm():
    # per token (see above): row 0 = [-1.2, -0.5, -1.1], sum -2.8; row 1 = [1.5, 0.8, masked], sum 2.3
    # max_length 3: [-2.8 / 3, 2.3 / 3] = [-0.9333333333, 0.7666666667]; mean over both rows = -0.1666666667 / 2
    #   = -0.0833333333
    logprobs, old, adv, mask = _ppo_inputs()
    loss, _ = clipped_policy_loss(logprobs, old, adv, mask, loss_agg="seq_mean_token_sum_norm", max_length=3)
    assert_close(loss, t(-0.0833333333), atol=1e-9, rtol=0)


# --------------------------------------------------------------------------------------------------------------------
# clipped_policy_loss: asymmetric clipping (DAPO clip-higher) and GSPO
# --------------------------------------------------------------------------------------------------------------------


def _asym_inputs():
    # one sequence of 4 tokens, old log-probs 0 so ratio = exp(logprobs)
    ratios = t([[1.25, 0.75, 1.25, 0.75]])
    adv = t([[1.0, -1.0, -1.0, 1.0]])
    return ratios.log(), torch.zeros(1, 4, dtype=torch.float64), adv, torch.ones(1, 4)


def test_clipped_policy_loss_symmetric_clip():
    # clip range [0.8, 1.2]; per token max(-A*r, -A*clip(r)):
    #   r=1.25, A=+1: max(-1.25, -1.2) = -1.2   clipped at the upper bound
    #   r=0.75, A=-1: max( 0.75,  0.8) =  0.8   clipped at the lower bound
    #   r=1.25, A=-1: max( 1.25,  1.2) =  1.25  not active
    #   r=0.75, A=+1: max(-0.75, -0.8) = -0.75  not active
    # token_mean = (-1.2 + 0.8 + 1.25 - 0.75) / 4 = 0.1 / 4 = 0.025
    logprobs, old, adv, mask = _asym_inputs()
    loss, stats = clipped_policy_loss(logprobs, old, adv, mask, clip_eps_low=0.2, clip_eps_high=0.2)
    assert_close(loss, t(0.025), atol=1e-9, rtol=0)
    assert_close(stats["clipfrac"], t(0.5), atol=1e-12, rtol=0)
    assert_close(stats["clipfrac_low"], t(0.25), atol=1e-12, rtol=0)
    assert_close(stats["clipfrac_high"], t(0.25), atol=1e-12, rtol=0)
    # ratio_mean = (1.25 + 0.75 + 1.25 + 0.75) / 4 = 1
    assert_close(stats["ratio_mean"], t(1.0), atol=1e-12, rtol=0)
    # approx_kl = 0.5 * (ln(1.25)^2 + ln(0.75)^2) / 2 = 0.5 * (0.0497930445 + 0.0827609748) / 2 = 0.0331385048
    assert_close(stats["approx_kl"], t(0.0331385048), atol=1e-9, rtol=0)
    # the alias with clip_eps = 0.2 gives the same
    alias_loss, alias_stats = ppo_policy_loss(logprobs, old, adv, mask, clip_eps=0.2)
    assert_close(alias_loss, loss, atol=0, rtol=0)
    assert alias_stats.keys() == stats.keys()


def test_clipped_policy_loss_clip_higher():
    # clip range [0.8, 1.28]: r=1.25 with A=+1 is now inside (-1.25); the lower clip of r=0.75, A=-1 stays (0.8)
    # token_mean = (-1.25 + 0.8 + 1.25 - 0.75) / 4 = 0.05 / 4 = 0.0125
    logprobs, old, adv, mask = _asym_inputs()
    logprobs.requires_grad_()
    loss, stats = clipped_policy_loss(logprobs, old, adv, mask, clip_eps_low=0.2, clip_eps_high=0.28)
    assert_close(loss, t(0.0125), atol=1e-9, rtol=0)
    assert_close(stats["clipfrac"], t(0.25), atol=1e-12, rtol=0)
    assert_close(stats["clipfrac_low"], t(0.25), atol=1e-12, rtol=0)
    assert_close(stats["clipfrac_high"], t(0.0), atol=0, rtol=0)
    # d loss / d lp_t = -A_t * r_t / 4 where unclipped, 0 where clipped:
    #   [-1.25/4, 0, 1.25/4, -0.75/4] = [-0.3125, 0, 0.3125, -0.1875]
    loss.backward()
    assert_close(logprobs.grad, t([[-0.3125, 0.0, 0.3125, -0.1875]]), atol=1e-9, rtol=0)


def test_clipped_policy_loss_wider_low_bound():
    # clip range [0.7, 1.28]: nothing is clipped any more; token_mean = (-1.25 + 0.75 + 1.25 - 0.75) / 4 = 0
    logprobs, old, adv, mask = _asym_inputs()
    loss, stats = clipped_policy_loss(logprobs, old, adv, mask, clip_eps_low=0.3, clip_eps_high=0.28)
    assert_close(loss, t(0.0), atol=1e-12, rtol=0)
    assert_close(stats["clipfrac"], t(0.0), atol=0, rtol=0)


def test_clipped_policy_loss_sequence_advantages_broadcast():
    # (B,) advantages equal their (B, T) broadcast
    logprobs, old, _, mask = _ppo_inputs()
    adv = t([1.0, -1.0])
    loss_b, _ = clipped_policy_loss(logprobs, old, adv, mask)
    loss_bt, _ = clipped_policy_loss(logprobs, old, adv[:, None].expand(2, 3), mask)
    # equals the hand-computed -0.1 of test_ppo_policy_loss_both_sides_of_clip_token_mean
    assert_close(loss_b, t(-0.1), atol=1e-9, rtol=0)
    assert_close(loss_bt, loss_b, atol=0, rtol=0)


def _gspo_inputs():
    # row 0: log-ratios [0.1, 0.3] and a masked token holding -inf; A = +1
    #   s_0 = exp((0.1 + 0.3) / 2) = exp(0.2) = 1.2214027582
    # row 1: log-ratios [-0.2, 0.0, 0.2]; A = -1; s_1 = exp(0) = 1
    logprobs = t([[0.1, 0.3, -INF], [-0.2, 0.0, 0.2]])
    old = t([[0.0, 0.0, -INF], [0.0, 0.0, 0.0]])
    adv = t([1.0, -1.0])
    mask = t([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    return logprobs, old, adv, mask


def test_gspo_sequence_ratio_token_mean_and_gradient():
    # clip range [0.8, 1.28]: neither s is clipped. Per token: row 0: -A*s_0 = -1.2214027582 (x2); row 1: +1 (x3)
    # token_mean = (2 * -1.2214027582 + 3 * 1) / 5 = 0.5571944836 / 5 = 0.1114388967
    # gradient: loss = (-2 s_0 + 3 s_1) / 5 and d s_i / d lp_t = s_i / |y_i|:
    #   row 0: (-2 / 5) * s_0 / 2 = -s_0 / 5 = -0.2442805516 on each valid token, 0 on the masked one
    #   row 1: ( 3 / 5) * s_1 / 3 =  1 / 5  =  0.2
    logprobs, old, adv, mask = _gspo_inputs()
    logprobs.requires_grad_()
    loss, stats = clipped_policy_loss(
        logprobs, old, adv, mask, clip_eps_high=0.28, importance_sampling_level="sequence"
    )
    assert_close(loss, t(0.1114388967), atol=1e-9, rtol=0)
    # ratio_mean = (2 * 1.2214027582 + 3 * 1) / 5 = 1.0885611033
    assert_close(stats["ratio_mean"], t(1.0885611033), atol=1e-9, rtol=0)
    # approx_kl stays token-level: 0.5 * (0.01 + 0.09 + 0.04 + 0 + 0.04) / 5 = 0.018
    assert_close(stats["approx_kl"], t(0.018), atol=1e-12, rtol=0)
    assert_close(stats["clipfrac"], t(0.0), atol=0, rtol=0)
    loss.backward()
    assert_close(logprobs.grad, t([[-0.2442805516, -0.2442805516, 0.0], [0.2, 0.2, 0.2]]), atol=1e-9, rtol=0)


def test_gspo_seq_mean_token_mean_gradient():
    # loss = (-s_0 + s_1) / 2 = (-1.2214027582 + 1) / 2 = -0.1107013791
    # gradient: row 0: -(1/2) * s_0 / 2 = -0.3053506895; row 1: (1/2) * 1 / 3 = 0.1666666667
    logprobs, old, adv, mask = _gspo_inputs()
    logprobs.requires_grad_()
    loss, _ = clipped_policy_loss(
        logprobs,
        old,
        adv,
        mask,
        clip_eps_high=0.28,
        loss_agg="seq_mean_token_mean",
        importance_sampling_level="sequence",
    )
    assert_close(loss, t(-0.1107013791), atol=1e-9, rtol=0)
    loss.backward()
    expected = t([[-0.3053506895, -0.3053506895, 0.0], [1 / 6, 1 / 6, 1 / 6]])
    assert_close(logprobs.grad, expected, atol=1e-9, rtol=0)


def test_gspo_sequence_ratio_clipped():
    # clip range [0.8, 1.2]: s_0 = 1.2214 > 1.2 with A = +1 -> both row-0 tokens clipped at the upper bound (-1.2
    # each, zero gradient); row 1 unchanged (+1 each). token_mean = (-2.4 + 3) / 5 = 0.12; clipfrac = 2 / 5 = 0.4
    logprobs, old, adv, mask = _gspo_inputs()
    logprobs.requires_grad_()
    loss, stats = clipped_policy_loss(logprobs, old, adv, mask, importance_sampling_level="sequence")
    assert_close(loss, t(0.12), atol=1e-9, rtol=0)
    assert_close(stats["clipfrac"], t(0.4), atol=1e-12, rtol=0)
    assert_close(stats["clipfrac_high"], t(0.4), atol=1e-12, rtol=0)
    assert_close(stats["clipfrac_low"], t(0.0), atol=0, rtol=0)
    loss.backward()
    assert_close(logprobs.grad, t([[0.0, 0.0, 0.0], [0.2, 0.2, 0.2]]), atol=1e-9, rtol=0)


def test_clipped_policy_loss_validates_arguments():
    logprobs, old, adv, mask = _ppo_inputs()
    with pytest.raises(ValueError, match="token.*sequence"):
        clipped_policy_loss(logprobs, old, adv, mask, importance_sampling_level="seq")
    with pytest.raises(ValueError, match="max_length"):
        clipped_policy_loss(logprobs, old, adv, mask, loss_agg="seq_mean_token_sum_norm")
    with pytest.raises(ValueError, match=">= 0"):
        clipped_policy_loss(logprobs, old, adv, mask, clip_eps_low=-0.1)
    with pytest.raises(ValueError, match="seq_mean_token_mean"):
        clipped_policy_loss(logprobs, old, adv, mask, loss_agg="seq_mean")


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
    assert_close(reinforce_loss(logprobs, adv, mask, loss_agg="seq_mean_token_mean"), t(1.5), atol=1e-9, rtol=0)
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
    assert_close(reinforce_loss(logprobs, adv, mask, loss_agg="seq_mean_token_mean"), t(4.0), atol=1e-9, rtol=0)
    assert_close(reinforce_loss(logprobs, adv, mask, loss_agg="token_mean"), t(4.0), atol=1e-9, rtol=0)


def test_reinforce_loss_all_zero_mask_no_nan():
    logprobs, _ = _reinforce_inputs()
    logprobs.requires_grad_()
    for agg in LOSS_AGGREGATIONS:
        loss = reinforce_loss(logprobs, t([2.0, -1.0]), torch.zeros(2, 3), loss_agg=agg, max_length=3)
        assert_close(loss, t(0.0), atol=0, rtol=0)
        (grad,) = torch.autograd.grad(loss, logprobs)
        assert torch.isfinite(grad).all()


def test_unknown_loss_agg_raises():
    logprobs, mask = _reinforce_inputs()
    with pytest.raises(ValueError, match="token_mean"):
        aggregate_loss(logprobs, mask, "sum")
    with pytest.raises(ValueError, match="seq_mean_token_mean"):
        reinforce_loss(logprobs, t([1.0, 1.0]), mask, loss_agg="mean")


def test_reinforce_loss_seq_mean_token_sum_norm():
    # -A*lp: row 0 = [2, 4, 6] (sum 12), row 1 = [-0.5, -1.5] (sum -2); max_length 4:
    # (12 / 4 + -2 / 4) / 2 = (3 - 0.5) / 2 = 1.25
    logprobs, mask = _reinforce_inputs()
    loss = reinforce_loss(logprobs, t([2.0, -1.0]), mask, loss_agg="seq_mean_token_sum_norm", max_length=4)
    assert_close(loss, t(1.25), atol=1e-9, rtol=0)


# rows of length 4, 2 and 0; masked entries hold nan / inf and must be ignored
AGG_LOSS = [[1.0, 2.0, 3.0, 4.0], [6.0, 8.0, NAN, INF], [NAN, -INF, 5.0, 5.0]]
AGG_MASK = [[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]


def test_aggregate_loss_modes_differ_on_unequal_lengths():
    loss, mask = t(AGG_LOSS), t(AGG_MASK)
    # token_mean: (1 + 2 + 3 + 4 + 6 + 8) / 6 = 24 / 6 = 4
    assert_close(aggregate_loss(loss, mask, "token_mean"), t(4.0), atol=1e-12, rtol=0)
    # seq_mean_token_mean: row means [10 / 4, 14 / 2] = [2.5, 7]; the empty row is skipped: (2.5 + 7) / 2 = 4.75
    assert_close(aggregate_loss(loss, mask, "seq_mean_token_mean"), t(4.75), atol=1e-12, rtol=0)
    # seq_mean_token_sum_norm, max_length 4: row sums [10, 14, 0] / 4 = [2.5, 3.5, 0]; mean over all 3 rows = 2
    assert_close(aggregate_loss(loss, mask, "seq_mean_token_sum_norm", max_length=4), t(2.0), atol=1e-12, rtol=0)
    # max_length 8: [1.25, 1.75, 0] -> 1
    assert_close(aggregate_loss(loss, mask, "seq_mean_token_sum_norm", max_length=8), t(1.0), atol=1e-12, rtol=0)


def test_aggregate_loss_gradients_per_mode():
    # d/d loss_bt: token_mean 1/6 on each valid token; seq_mean_token_mean (1/2) * (1/|y_i|): row 0 1/8, row 1 1/4;
    # seq_mean_token_sum_norm (max_length 4): 1 / (4 * 3) = 1/12 on every valid token. Masked entries get exactly 0.
    m = t(AGG_MASK)
    for agg, row0, row1 in (
        ("token_mean", 1 / 6, 1 / 6),
        ("seq_mean_token_mean", 1 / 8, 1 / 4),
        ("seq_mean_token_sum_norm", 1 / 12, 1 / 12),
    ):
        loss = t(AGG_LOSS).requires_grad_()
        (grad,) = torch.autograd.grad(aggregate_loss(loss, m, agg, max_length=4), loss)
        expected = t([[row0] * 4, [row1, row1, 0.0, 0.0], [0.0] * 4])
        assert_close(grad, expected, atol=1e-12, rtol=0, msg=agg)


def test_aggregate_loss_max_length_required():
    loss, mask = t(AGG_LOSS), t(AGG_MASK)
    for bad in (None, 0):
        with pytest.raises(ValueError, match="max_length"):
            aggregate_loss(loss, mask, "seq_mean_token_sum_norm", max_length=bad)
    # the old name is gone
    with pytest.raises(ValueError, match="seq_mean_token_sum_norm"):
        aggregate_loss(loss, mask, "seq_mean")
    assert LOSS_AGGREGATIONS == ("token_mean", "seq_mean_token_mean", "seq_mean_token_sum_norm")


# --------------------------------------------------------------------------------------------------------------------
# robustness: -inf / nan at masked positions
# --------------------------------------------------------------------------------------------------------------------

ROBUST_MASK = [[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]]


def _poisoned(values, fill):
    """A (2, 3) leaf with ``fill`` at the masked positions of ROBUST_MASK."""
    x = t(values)
    x[t(ROBUST_MASK) == 0] = fill
    return x.requires_grad_()


def _assert_finite_and_masked_zero(loss, leaves):
    assert torch.isfinite(loss)
    grads = torch.autograd.grad(loss, leaves)
    masked = t(ROBUST_MASK) == 0
    for g in grads:
        assert torch.isfinite(g).all()
        assert (g[masked] == 0).all()
    return grads


@pytest.mark.parametrize("fill", [-INF, NAN])
@pytest.mark.parametrize("level", ["token", "sequence"])
@pytest.mark.parametrize("agg", LOSS_AGGREGATIONS)
def test_clipped_policy_loss_finite_with_poisoned_masked_positions(fill, level, agg):
    logprobs = _poisoned([[-0.5, -1.0, 0.0], [-2.0, 0.0, 0.0]], fill)
    old = _poisoned([[-0.6, -0.9, 0.0], [-1.5, 0.0, 0.0]], fill)  # ratios inside the clip range at valid tokens
    adv = _poisoned([[1.0, 0.5, 0.0], [0.5, 0.0, 0.0]], fill)  # (B, T) advantages poisoned too
    loss, stats = clipped_policy_loss(
        logprobs, old, adv, t(ROBUST_MASK), loss_agg=agg, importance_sampling_level=level, max_length=3
    )
    for v in stats.values():
        assert torch.isfinite(v)
    grads = _assert_finite_and_masked_zero(loss, (logprobs, old))
    # and the valid positions do get a gradient
    assert grads[0][0, 0] != 0


@pytest.mark.parametrize("fill", [-INF, NAN])
def test_ppo_policy_loss_finite_with_poisoned_masked_positions(fill):
    logprobs = _poisoned([[-0.5, -1.0, 0.0], [-2.0, 0.0, 0.0]], fill)
    old = _poisoned([[-0.7, -0.9, 0.0], [-1.5, 0.0, 0.0]], fill)
    loss, _ = ppo_policy_loss(logprobs, old, t([1.0, -1.0]), t(ROBUST_MASK))
    _assert_finite_and_masked_zero(loss, (logprobs, old))


@pytest.mark.parametrize("fill", [-INF, NAN])
@pytest.mark.parametrize("agg", LOSS_AGGREGATIONS)
def test_reinforce_loss_finite_with_poisoned_masked_positions(fill, agg):
    logprobs = _poisoned([[-0.5, -1.0, 0.0], [-2.0, 0.0, 0.0]], fill)
    adv = _poisoned([[1.0, -1.0, 0.0], [0.5, 0.0, 0.0]], fill)
    loss = reinforce_loss(logprobs, adv, t(ROBUST_MASK), loss_agg=agg, max_length=3)
    (grad,) = _assert_finite_and_masked_zero(loss, (logprobs,))
    assert grad[0, 0] != 0


@pytest.mark.parametrize("fill", [INF, -INF, NAN])
@pytest.mark.parametrize("clip_range", [0.2, None])
def test_value_loss_finite_with_poisoned_masked_positions(fill, clip_range):
    values = _poisoned([[0.5, 0.5, 0.0], [0.7, 0.0, 0.0]], fill)
    old = _poisoned([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]], fill)
    returns = _poisoned([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]], fill)
    loss, stats = value_loss(values, old, returns, t(ROBUST_MASK), clip_range=clip_range)
    assert torch.isfinite(stats["value_clipfrac"])
    # old_values only enter the loss when clipping
    _assert_finite_and_masked_zero(loss, (values, returns) if clip_range is None else (values, old, returns))


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


@pytest.mark.parametrize("loss_agg", ["token_mean", "seq_mean_token_mean", "seq_mean_token_sum_norm"])
def test_micro_batch_weights_sum_to_the_batch_loss(loss_agg):
    """Micro-batches of unequal lengths (a row with no valid token too): weighted micro losses add up to the
    batch's loss, for the policy aggregation and for token-mean terms."""
    torch.manual_seed(0)
    per_token = torch.randn(5, 6)
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0], [0] * 6, [1, 1, 1, 0, 0, 0]])
    whole = aggregate_loss(per_token, mask, loss_agg, max_length=6)
    whole_token = masked_mean(per_token, mask)
    total = token_total = 0.0
    for rows in ([0, 1], [2, 3], [4]):
        policy_w, token_w = micro_batch_weights(mask[rows], mask, loss_agg)
        total += policy_w * aggregate_loss(per_token[rows], mask[rows], loss_agg, max_length=6)
        token_total += token_w * masked_mean(per_token[rows], mask[rows])
    torch.testing.assert_close(total, whole)
    torch.testing.assert_close(token_total, whole_token)
