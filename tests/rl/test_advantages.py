"""Tests for perl_lightning.rl.advantages against numbers worked out by hand."""

import math

import pytest
import torch
from torch.testing import assert_close

from perl_lightning.rl.advantages import (
    GROUP_ADVANTAGE_SCALES,
    RunningMeanStd,
    gae,
    group_advantages,
    group_mean_baseline,
    masked_mean,
    masked_sum,
    masked_var,
    masked_whiten,
    rloo_advantages,
    zero_std_groups,
)


def t(x, dtype=torch.float64):
    return torch.tensor(x, dtype=dtype)


X = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
MASK = [[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]]  # valid values: 1, 2, 4


# --------------------------------------------------------------------------------------------------------------------
# masked statistics
# --------------------------------------------------------------------------------------------------------------------


def test_masked_mean():
    # (1 + 2 + 4) / 3 = 7/3
    assert_close(masked_mean(t(X), t(MASK)), t(7.0 / 3.0), atol=1e-12, rtol=0)
    # per row: [(1 + 2) / 2, 4 / 1] = [1.5, 4]
    assert_close(masked_mean(t(X), t(MASK), dim=-1), t([1.5, 4.0]), atol=1e-12, rtol=0)
    # bool mask works the same
    assert_close(masked_mean(t(X), t(MASK).bool()), t(7.0 / 3.0), atol=1e-12, rtol=0)


def test_masked_mean_ignores_nan_and_inf_at_masked_positions():
    x = t([[1.0, 2.0, float("nan")], [4.0, float("inf"), float("-inf")]]).requires_grad_()
    out = masked_mean(x, t(MASK))
    assert_close(out, t(7.0 / 3.0), atol=1e-12, rtol=0)
    out.backward()
    # gradient 1/3 on the valid entries, exactly 0 elsewhere
    assert_close(x.grad, t([[1 / 3, 1 / 3, 0.0], [1 / 3, 0.0, 0.0]]), atol=1e-12, rtol=0)


def test_masked_mean_all_zero_mask():
    x = t(X).requires_grad_()
    zero = torch.zeros(2, 3)
    out = masked_mean(x, zero)
    assert_close(out, t(0.0), atol=0, rtol=0)
    assert_close(masked_mean(x, zero, dim=-1), t([0.0, 0.0]), atol=0, rtol=0)
    out.backward()
    assert torch.isfinite(x.grad).all()


def test_masked_mean_dim_with_one_empty_row():
    # row 0 mean (1 + 2 + 3)/3 = 2, row 1 empty -> 0
    out = masked_mean(t(X), t([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]), dim=1)
    assert_close(out, t([2.0, 0.0]), atol=1e-12, rtol=0)


def test_masked_var():
    # values 1, 2, 4, mean 7/3, deviations -4/3, -1/3, 5/3, squares sum = (16 + 1 + 25) / 9 = 42/9 = 14/3
    # biased = (14/3) / 3 = 14/9; unbiased = (14/3) / 2 = 7/3
    assert_close(masked_var(t(X), t(MASK), unbiased=False), t(14.0 / 9.0), atol=1e-12, rtol=0)
    assert_close(masked_var(t(X), t(MASK), unbiased=True), t(7.0 / 3.0), atol=1e-12, rtol=0)


def test_masked_var_degenerate_masks():
    assert_close(masked_var(t(X), torch.zeros(2, 3)), t(0.0), atol=0, rtol=0)
    # a single valid element: variance 0, no division by n - 1 = 0
    one = t([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    assert_close(masked_var(t(X), one, unbiased=True), t(0.0), atol=0, rtol=0)


def test_masked_whiten_shift_mean():
    # mean 7/3, unbiased var 7/3 -> 1/std = sqrt(3/7) = 0.6546536707
    #   (1 - 7/3) * 0.6546536707 = -4/3 * 0.6546536707 = -0.8728715609
    #   (2 - 7/3) * 0.6546536707 = -1/3 * 0.6546536707 = -0.2182178902
    #   (4 - 7/3) * 0.6546536707 =  5/3 * 0.6546536707 =  1.0910894512
    # masked positions -> 0
    out = masked_whiten(t(X), t(MASK))
    expected = t([[-0.8728715609, -0.2182178902, 0.0], [1.0910894512, 0.0, 0.0]])
    assert_close(out, expected, atol=1e-8, rtol=0)
    # and the valid entries now have mean 0 and unbiased variance 1
    assert_close(masked_mean(out, t(MASK)), t(0.0), atol=1e-8, rtol=0)
    assert_close(masked_var(out, t(MASK)), t(1.0), atol=1e-7, rtol=0)


def test_masked_whiten_keep_mean():
    # same as above plus the original mean 7/3 = 2.3333333333:
    #   -0.8728715609 + 2.3333333333 = 1.4604617724
    #   -0.2182178902 + 2.3333333333 = 2.1151154431
    #    1.0910894512 + 2.3333333333 = 3.4244227845
    out = masked_whiten(t(X), t(MASK), shift_mean=False)
    expected = t([[1.4604617724, 2.1151154431, 0.0], [3.4244227845, 0.0, 0.0]])
    assert_close(out, expected, atol=1e-8, rtol=0)


def test_masked_whiten_all_zero_mask():
    out = masked_whiten(t(X), torch.zeros(2, 3))
    assert_close(out, torch.zeros(2, 3, dtype=torch.float64), atol=0, rtol=0)


NAN = float("nan")
INF = float("inf")


def test_masked_sum_and_var_ignore_nan_at_masked_positions_in_gradient():
    # valid values 1, 2, 4 (as above); masked positions hold nan / inf / -inf
    poisoned = [[1.0, 2.0, NAN], [4.0, INF, -INF]]
    x = t(poisoned).requires_grad_()
    assert_close(masked_sum(x, t(MASK)), t(7.0), atol=0, rtol=0)
    var = masked_var(x, t(MASK))
    assert_close(var, t(7.0 / 3.0), atol=1e-12, rtol=0)
    # d var / d x_i = 2 (x_i - mean) / (n - 1) = (x_i - 7/3): [-4/3, -1/3, 5/3] on the valid entries, 0 elsewhere
    (grad,) = torch.autograd.grad(var, x)
    assert_close(grad, t([[-4 / 3, -1 / 3, 0.0], [5 / 3, 0.0, 0.0]]), atol=1e-12, rtol=0)
    # masked_whiten: same values as test_masked_whiten_shift_mean, finite gradient, 0 at masked positions
    x = t(poisoned).requires_grad_()
    out = masked_whiten(x, t(MASK))
    assert_close(out, t([[-0.8728715609, -0.2182178902, 0.0], [1.0910894512, 0.0, 0.0]]), atol=1e-8, rtol=0)
    (grad,) = torch.autograd.grad((out * t([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])).sum(), x)
    assert torch.isfinite(grad).all()
    assert (grad[t(MASK) == 0] == 0).all()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_masked_whiten_half_precision_zero_variance_is_finite(dtype):
    # all valid entries equal (3): variance 0. In float16, eps = 1e-8 underflows to 0 and rsqrt(0) = inf, so a
    # float16 computation would give 0 * inf = nan. Statistics in float32: (3 - 3) * rsqrt(1e-8) = 0.
    x = t([[3.0, 3.0, 3.0], [3.0, 9.0, 9.0]], dtype=dtype)
    mask = t([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    out = masked_whiten(x, mask)
    assert out.dtype == dtype
    assert_close(out, torch.zeros(2, 3, dtype=dtype), atol=0, rtol=0)
    # keep the mean: 0 + 3 at the valid positions
    kept = masked_whiten(x, mask, shift_mean=False)
    assert kept.dtype == dtype
    assert_close(kept, t([[3.0, 3.0, 3.0], [3.0, 0.0, 0.0]], dtype=dtype), atol=0, rtol=0)


def test_masked_whiten_float16_matches_float32():
    gen = torch.Generator().manual_seed(0)
    x32 = torch.randn(8, 16, generator=gen) * 5 + 2
    mask = (torch.rand(8, 16, generator=gen) > 0.3).float()
    x16 = x32.to(torch.float16)
    out16 = masked_whiten(x16, mask)
    assert out16.dtype == torch.float16
    assert torch.isfinite(out16).all()
    # reference: the float32 whitening of the same (float16-rounded) inputs, compared at float16 tolerance
    expected = masked_whiten(x16.float(), mask)
    assert_close(out16.float(), expected, atol=1e-3, rtol=1e-3)
    assert_close(
        masked_whiten(x16, mask, shift_mean=False).float(),
        masked_whiten(x16.float(), mask, shift_mean=False),
        atol=1e-2,
        rtol=1e-3,
    )


# --------------------------------------------------------------------------------------------------------------------
# GAE
# --------------------------------------------------------------------------------------------------------------------

REWARDS = [[0.0, 0.0, 1.0], [0.5, 2.0, 5.0]]  # the 5.0 sits on a padded token and must be ignored
VALUES = [[0.1, 0.2, 0.3], [0.4, 0.6, 9.0]]  # the 9.0 sits on a padded token and must be ignored
GAE_MASK = [[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]]


def test_gae_gamma1_lam1():
    # gamma = lam = 1: A_t = (sum of rewards from t to the end) - V_t; returns = sum of future rewards
    # row 0: returns [1, 1, 1];           A = [1 - 0.1, 1 - 0.2, 1 - 0.3] = [0.9, 0.8, 0.7]
    # row 1: returns [2.5, 2.0, masked];  A = [2.5 - 0.4, 2.0 - 0.6, 0]   = [2.1, 1.4, 0]
    adv, ret = gae(t(REWARDS), t(VALUES), t(GAE_MASK), gamma=1.0, lam=1.0)
    assert_close(adv, t([[0.9, 0.8, 0.7], [2.1, 1.4, 0.0]]), atol=1e-12, rtol=0)
    assert_close(ret, t([[1.0, 1.0, 1.0], [2.5, 2.0, 0.0]]), atol=1e-12, rtol=0)


def test_gae_gamma09_lam05():
    # gamma = 0.9, lam = 0.5, gamma * lam = 0.45; V past the last valid token is 0.
    # row 0:
    #   t=2: delta = 1   + 0.9*0   - 0.3 = 0.7           A2 = 0.7
    #   t=1: delta = 0   + 0.9*0.3 - 0.2 = 0.07          A1 = 0.07 + 0.45*0.7   = 0.385
    #   t=0: delta = 0   + 0.9*0.2 - 0.1 = 0.08          A0 = 0.08 + 0.45*0.385 = 0.25325
    #   returns = A + V = [0.35325, 0.585, 1.0]
    # row 1 (t=2 is padding):
    #   t=2: masked -> 0
    #   t=1: delta = 2   + 0.9*0   - 0.6 = 1.4           A1 = 1.4   (nothing bootstrapped from the padding)
    #   t=0: delta = 0.5 + 0.9*0.6 - 0.4 = 0.64          A0 = 0.64 + 0.45*1.4   = 1.27
    #   returns = [1.67, 2.0, 0]
    adv, ret = gae(t(REWARDS), t(VALUES), t(GAE_MASK), gamma=0.9, lam=0.5)
    assert_close(adv, t([[0.25325, 0.385, 0.7], [1.27, 1.4, 0.0]]), atol=1e-12, rtol=0)
    assert_close(ret, t([[0.35325, 0.585, 1.0], [1.67, 2.0, 0.0]]), atol=1e-12, rtol=0)


def test_gae_lam0_is_one_step_td():
    # lam = 0: A_t = delta_t. row 0 with gamma 0.9: [0.08, 0.07, 0.7]
    adv, _ = gae(t(REWARDS), t(VALUES), t(GAE_MASK), gamma=0.9, lam=0.0)
    assert_close(adv[0], t([0.08, 0.07, 0.7]), atol=1e-12, rtol=0)


def test_gae_all_zero_mask():
    adv, ret = gae(t(REWARDS), t(VALUES), torch.zeros(2, 3), gamma=0.9, lam=0.5)
    zeros = torch.zeros(2, 3, dtype=torch.float64)
    assert_close(adv, zeros, atol=0, rtol=0)
    assert_close(ret, zeros, atol=0, rtol=0)


def test_gae_shape_mismatch_raises():
    with pytest.raises(ValueError, match="same"):
        gae(t(REWARDS), t(VALUES)[:, :2], t(GAE_MASK))


# --------------------------------------------------------------------------------------------------------------------
# RLOO
# --------------------------------------------------------------------------------------------------------------------


def test_rloo_k2():
    # prompt 0: [1, 3] -> [1 - 3, 3 - 1] = [-2, 2]; prompt 1: [10, 4] -> [6, -6]
    assert_close(rloo_advantages(t([1.0, 3.0, 10.0, 4.0]), k=2), t([-2.0, 2.0, 6.0, -6.0]), atol=1e-12, rtol=0)


def test_rloo_k3():
    # prompt 0: [1, 2, 6], sum 9: 1 - (2+6)/2 = -3, 2 - (1+6)/2 = -1.5, 6 - (1+2)/2 = 4.5
    # prompt 1: [0, 0, 3], sum 3: 0 - 1.5 = -1.5, 0 - 1.5 = -1.5, 3 - 0 = 3
    out = rloo_advantages(t([1.0, 2.0, 6.0, 0.0, 0.0, 3.0]), k=3)
    assert_close(out, t([-3.0, -1.5, 4.5, -1.5, -1.5, 3.0]), atol=1e-12, rtol=0)


def test_rloo_errors():
    with pytest.raises(ValueError, match="k >= 2"):
        rloo_advantages(t([1.0, 2.0]), k=1)
    with pytest.raises(ValueError, match="not divisible by k=2"):
        rloo_advantages(t([1.0, 2.0, 3.0]), k=2)
    with pytest.raises(ValueError, match="1-D"):
        rloo_advantages(t([[1.0, 2.0]]), k=2)


# --------------------------------------------------------------------------------------------------------------------
# GRPO group advantages, group-mean baseline, zero-std groups
# --------------------------------------------------------------------------------------------------------------------

# two prompts, k = 2: groups [1, 2] and [3, 5]
SCORES = [1.0, 2.0, 3.0, 5.0]
# group means 1.5, 1.5, 4, 4 -> centered [-0.5, 0.5, -1, 1]
# unbiased group std: sqrt((0.5^2 + 0.5^2) / 1) = sqrt(0.5) = 0.7071067812;
#                      sqrt((1^2 + 1^2) / 1) = sqrt(2) = 1.4142135624


def test_group_advantages_group_scale():
    # -0.5 / 0.7071067812 = -0.7071067812 ; 1 / 1.4142135624 = 0.7071067812 (with eps = 0)
    out = group_advantages(t(SCORES), k=2, eps=0.0)
    assert_close(out, t([-0.7071067812, 0.7071067812, -0.7071067812, 0.7071067812]), atol=1e-9, rtol=0)
    # default eps = 1e-6 is added to the std: -0.5 / 0.7071077812 = -0.7071057812 ; -1 / 1.4142145624 = -0.7071062812
    out = group_advantages(t(SCORES), k=2)
    assert_close(out, t([-0.7071057812, 0.7071057812, -0.7071062812, 0.7071062812]), atol=1e-9, rtol=0)


def test_group_advantages_batch_scale():
    # std of all four scores: mean 11/4 = 2.75, deviations -1.75, -0.75, 0.25, 2.25,
    #   squares 3.0625 + 0.5625 + 0.0625 + 5.0625 = 8.75, unbiased var 8.75 / 3 = 2.9166666667, std 1.7078251277
    # centered [-0.5, 0.5, -1, 1] / 1.7078251277 = [-0.2927700219, 0.2927700219, -0.5855400438, 0.5855400438]
    out = group_advantages(t(SCORES), k=2, scale="batch", eps=0.0)
    assert_close(out, t([-0.2927700219, 0.2927700219, -0.5855400438, 0.5855400438]), atol=1e-9, rtol=0)


def test_group_advantages_no_scale_dr_grpo():
    # Dr. GRPO: only the group mean is subtracted: [-0.5, 0.5, -1, 1]
    out = group_advantages(t(SCORES), k=2, scale="none")
    assert_close(out, t([-0.5, 0.5, -1.0, 1.0]), atol=1e-12, rtol=0)


def test_group_advantages_degenerate_groups():
    # a group with equal scores: (2 - 2) / (0 + eps) = 0, no NaN; the other group [1, 3]: mean 2, std sqrt(2)
    #   -1 / (1.4142135624 + 1e-6) = -1 / 1.4142145624 = -0.7071062812
    out = group_advantages(t([2.0, 2.0, 1.0, 3.0]), k=2, eps=1e-6)
    assert_close(out, t([0.0, 0.0, -0.7071062812, 0.7071062812]), atol=1e-9, rtol=0)
    # k = 1: each score is its own group mean, std taken as 0 -> all zeros for every scale
    for scale in GROUP_ADVANTAGE_SCALES:
        assert_close(group_advantages(t([3.0, 7.0]), k=1, scale=scale), t([0.0, 0.0]), atol=0, rtol=0)
    # k = N (one group): [1, 2, 3] mean 2, unbiased std 1 -> [-1, 0, 1]
    assert_close(group_advantages(t([1.0, 2.0, 3.0]), k=3, eps=0.0), t([-1.0, 0.0, 1.0]), atol=1e-12, rtol=0)


def test_group_advantages_dtypes():
    half = group_advantages(t(SCORES, dtype=torch.float16), k=2, eps=0.0)
    assert half.dtype == torch.float16
    assert_close(half, t([-0.7071, 0.7071, -0.7071, 0.7071], dtype=torch.float16), atol=1e-3, rtol=0)
    ints = group_advantages(torch.tensor([1, 2, 3, 5]), k=2, scale="none")
    assert ints.is_floating_point()
    assert_close(ints, torch.tensor([-0.5, 0.5, -1.0, 1.0]), atol=0, rtol=0)


def test_group_advantages_errors():
    with pytest.raises(ValueError, match="k >= 1"):
        group_advantages(t(SCORES), k=0)
    with pytest.raises(ValueError, match="not divisible by k=3"):
        group_advantages(t(SCORES), k=3)
    with pytest.raises(ValueError, match="1-D"):
        group_advantages(t([SCORES]), k=2)
    with pytest.raises(ValueError) as excinfo:
        group_advantages(t(SCORES), k=2, scale="std")
    for name in ("group", "batch", "none"):
        assert name in str(excinfo.value)


def test_group_mean_baseline():
    # group means 1.5 and 4, each repeated k = 2 times
    assert_close(group_mean_baseline(t(SCORES), k=2), t([1.5, 1.5, 4.0, 4.0]), atol=1e-12, rtol=0)
    # one group of 4: 11 / 4 = 2.75
    assert_close(group_mean_baseline(t(SCORES), k=4), t([2.75] * 4), atol=1e-12, rtol=0)
    # k = 1: the score itself
    assert_close(group_mean_baseline(t(SCORES), k=1), t(SCORES), atol=0, rtol=0)
    with pytest.raises(ValueError, match="not divisible"):
        group_mean_baseline(t(SCORES), k=3)


def test_zero_std_groups():
    # groups [1, 1], [2, 3], [4, 4] -> equal, not equal, equal
    out = zero_std_groups(t([1.0, 1.0, 2.0, 3.0, 4.0, 4.0]), k=2)
    assert out.dtype == torch.bool
    assert out.tolist() == [True, False, True]
    # spreads 0.05 and 1: exact comparison says neither is constant, atol 0.1 accepts the first
    scores = t([1.0, 1.05, 2.0, 3.0])
    assert zero_std_groups(scores, k=2).tolist() == [False, False]
    assert zero_std_groups(scores, k=2, atol=0.1).tolist() == [True, False]
    # k = 1: every group is trivially constant
    assert zero_std_groups(t([1.0, 2.0]), k=1).tolist() == [True, True]
    # and it agrees with group_advantages being all zero for those groups
    adv = group_advantages(t([1.0, 1.0, 2.0, 3.0, 4.0, 4.0]), k=2).reshape(3, 2)
    assert (adv[out] == 0).all()
    with pytest.raises(ValueError, match="not divisible"):
        zero_std_groups(t(SCORES), k=3)


# --------------------------------------------------------------------------------------------------------------------
# RunningMeanStd
# --------------------------------------------------------------------------------------------------------------------


def test_running_mean_std():
    rms = RunningMeanStd()
    assert (rms.mean, rms.var, rms.count) == (0.0, 1.0, 0.0)
    rms.update(t([1.0, 2.0, 3.0]))
    # mean 2, population variance ((1)^2 + 0 + 1^2) / 3 = 2/3
    assert rms.count == 3.0
    assert math.isclose(rms.mean, 2.0, abs_tol=1e-12)
    assert math.isclose(rms.var, 2.0 / 3.0, abs_tol=1e-12)
    rms.update(t([[4.0], [5.0]]))  # any shape is flattened
    # all of 1..5: mean 3, population variance (4 + 1 + 0 + 1 + 4) / 5 = 2
    assert rms.count == 5.0
    assert math.isclose(rms.mean, 3.0, abs_tol=1e-12)
    assert math.isclose(rms.var, 2.0, abs_tol=1e-12)
    assert math.isclose(rms.std, math.sqrt(2.0 + 1e-8), abs_tol=1e-12)
    rms.update(torch.empty(0))  # no-op
    assert rms.count == 5.0
    # normalize: (5 - 3) / sqrt(2) = 1.4142135624; without shift 3 / sqrt(2) = 2.1213203436
    assert_close(rms.normalize(t([5.0])), t([1.4142135624]), atol=1e-8, rtol=0)
    assert_close(rms.normalize(t([3.0]), shift_mean=False), t([2.1213203436]), atol=1e-8, rtol=0)


def test_running_mean_std_state_dict_roundtrip():
    rms = RunningMeanStd()
    rms.update(t([1.0, 2.0, 3.0, 4.0, 5.0]))
    state = rms.state_dict()
    assert all(type(v) is float for v in state.values())
    other = RunningMeanStd()
    other.load_state_dict(state)
    assert (other.mean, other.var, other.count) == (rms.mean, rms.var, rms.count)
    # continuing from the restored state equals continuing from the original
    rms.update(t([10.0]))
    other.update(t([10.0]))
    assert other.state_dict() == rms.state_dict()
    # all of 1..5 and 10: mean 25/6 = 4.1666666667
    assert math.isclose(other.mean, 25.0 / 6.0, abs_tol=1e-12)
