"""Tests for perl_lightning.rl.kl against numbers worked out by hand."""

import math

import pytest
import torch
from torch.testing import assert_close

from perl_lightning.rl.kl import (
    KL_ESTIMATORS,
    AdaptiveKLController,
    FixedKLController,
    jensen_shannon_penalty,
    jensen_shannon_sampled,
    kl_penalty,
    masked_kl,
)

LOG2 = math.log(2.0)
INF = float("inf")
NAN = float("nan")


def t(x, dtype=torch.float64):
    return torch.tensor(x, dtype=dtype)


# log-ratio r = logprobs - ref_logprobs = [0.5, -1.0, 0.0]
LOGPROBS = [[-1.0, -2.0, -0.5]]
REF_LOGPROBS = [[-1.5, -1.0, -0.5]]


# --------------------------------------------------------------------------------------------------------------------
# sampled-token estimators
# --------------------------------------------------------------------------------------------------------------------


def test_k1():
    assert_close(kl_penalty(t(LOGPROBS), t(REF_LOGPROBS), "k1"), t([[0.5, -1.0, 0.0]]), atol=1e-12, rtol=0)


def test_k2():
    # 0.5 * r^2 = [0.125, 0.5, 0]
    assert_close(kl_penalty(t(LOGPROBS), t(REF_LOGPROBS), "k2"), t([[0.125, 0.5, 0.0]]), atol=1e-12, rtol=0)


def test_k3():
    # exp(-r) - 1 + r:
    #   r = 0.5:  e^-0.5 - 0.5 = 0.6065306597 - 0.5 = 0.1065306597
    #   r = -1:   e^1 - 2      = 2.7182818285 - 2  = 0.7182818285
    #   r = 0:    0
    out = kl_penalty(t(LOGPROBS), t(REF_LOGPROBS), "k3")
    assert_close(out, t([[0.1065306597, 0.7182818285, 0.0]]), atol=1e-9, rtol=0)


def test_clamped_and_none():
    assert_close(kl_penalty(t(LOGPROBS), t(REF_LOGPROBS), "clamped"), t([[0.5, 0.0, 0.0]]), atol=0, rtol=0)
    assert_close(kl_penalty(t(LOGPROBS), t(REF_LOGPROBS), "none"), t([[0.0, 0.0, 0.0]]), atol=0, rtol=0)


def test_jensen_shannon_sampled_values():
    # g(u) = 0.5*log(2/(1+u)) + 0.5*u*log(2u/(1+u)), u = exp(-r):
    #   r = 0.5: u = 0.6065306597: 0.5*log(1.2449186624) + 0.3032653299*log(0.7550813376)
    #          = 0.5*0.2190702 + 0.3032653299*(-0.2809298)            = 0.0243388286
    #   r = -1:  u = e = 2.7182818285: 0.5*log(0.5378828427) + 1.3591409142*log(1.4621171573)
    #          = 0.5*(-0.6201145) + 1.3591409142*0.3798855           = 0.2062606628
    #   r = 0:   u = 1: 0
    expected = t([[0.0243388286, 0.2062606628, 0.0]])
    assert_close(jensen_shannon_sampled(t(LOGPROBS), t(REF_LOGPROBS)), expected, atol=1e-9, rtol=0)
    # kl_penalty dispatches to it
    assert_close(kl_penalty(t(LOGPROBS), t(REF_LOGPROBS), "jensen_shannon"), expected, atol=1e-9, rtol=0)


def test_every_listed_estimator_is_accepted():
    assert "jensen_shannon" in KL_ESTIMATORS
    for name in KL_ESTIMATORS:
        out = kl_penalty(t(LOGPROBS), t(REF_LOGPROBS), name)
        assert out.shape == (1, 3)


def test_unknown_estimator_raises_with_valid_names():
    with pytest.raises(ValueError) as excinfo:
        kl_penalty(t(LOGPROBS), t(REF_LOGPROBS), "kl")
    message = str(excinfo.value)
    for name in KL_ESTIMATORS:
        assert name in message


def test_nonnegative_estimators_on_random_inputs():
    gen = torch.Generator().manual_seed(0)
    lp = torch.randn(64, 32, generator=gen) * 3.0
    ref = torch.randn(64, 32, generator=gen) * 3.0
    for name in ("k2", "k3", "clamped", "jensen_shannon"):
        out = kl_penalty(lp, ref, name)
        assert torch.isfinite(out).all(), name
        assert (out >= 0).all(), name
    # tiny log-ratios, where round-off could push k3 / JS below zero
    tiny = torch.randn(1000, generator=gen, dtype=torch.float32) * 1e-4
    assert (kl_penalty(tiny, torch.zeros_like(tiny), "k3") >= 0).all()
    assert (jensen_shannon_sampled(tiny, torch.zeros_like(tiny)) >= 0).all()


def test_estimators_zero_for_equal_inputs():
    lp = torch.randn(4, 5, dtype=torch.float64)
    for name in KL_ESTIMATORS:
        assert_close(kl_penalty(lp, lp.clone(), name), torch.zeros_like(lp), atol=1e-12, rtol=0)


def test_k1_and_k3_are_unbiased_for_kl():
    # p = [0.5, 0.3, 0.2], q = [0.2, 0.2, 0.6]
    # KL(p||q) = 0.5 ln 2.5 + 0.3 ln 1.5 + 0.2 ln(1/3) = 0.4581453659 + 0.1216395324 - 0.2197224577 = 0.3600624406
    p = t([0.5, 0.3, 0.2])
    q = t([0.2, 0.2, 0.6])
    for name in ("k1", "k3"):
        expectation = (p * kl_penalty(p.log(), q.log(), name)).sum()
        assert_close(expectation, t(0.3600624406), atol=1e-9, rtol=0)


# --------------------------------------------------------------------------------------------------------------------
# masked_kl: safe in a loss when masked positions hold -inf / nan
# --------------------------------------------------------------------------------------------------------------------

# r = [0.5, (masked), 0.0]; the masked token's log-probabilities are poisoned
KL_MASK = [[1.0, 0.0, 1.0]]


def _poisoned_kl_inputs(fill):
    lp = t(LOGPROBS)
    ref = t(REF_LOGPROBS)
    lp[0, 1] = fill
    ref[0, 1] = fill
    return lp.requires_grad_(), ref.requires_grad_()


def test_masked_kl_values():
    lp, ref = _poisoned_kl_inputs(-INF)
    # k1: [0.5, 0, 0]; k3: [e^-0.5 - 1 + 0.5, 0, 0] = [0.1065306597, 0, 0]
    assert_close(masked_kl(lp, ref, t(KL_MASK), "k1"), t([[0.5, 0.0, 0.0]]), atol=1e-12, rtol=0)
    assert_close(masked_kl(lp, ref, t(KL_MASK), "k3"), t([[0.1065306597, 0.0, 0.0]]), atol=1e-9, rtol=0)
    # bool masks work the same
    assert_close(masked_kl(lp, ref, t(KL_MASK).bool(), "k2"), t([[0.125, 0.0, 0.0]]), atol=1e-12, rtol=0)


def test_masked_kl_gradient_by_hand():
    # loss = masked mean of k3 over the 2 valid tokens; d k3 / d lp = 1 - exp(-r), d k3 / d ref = -(1 - exp(-r)):
    #   r = 0.5: 1 - 0.6065306597 = 0.3934693403, / 2 tokens = 0.1967346701 ; r = 0: 0 ; masked: exactly 0
    lp, ref = _poisoned_kl_inputs(-INF)
    mask = t(KL_MASK)
    loss = masked_kl(lp, ref, mask, "k3").sum() / mask.sum()
    loss.backward()
    assert_close(lp.grad, t([[0.1967346701, 0.0, 0.0]]), atol=1e-9, rtol=0)
    assert_close(ref.grad, t([[-0.1967346701, 0.0, 0.0]]), atol=1e-9, rtol=0)


@pytest.mark.parametrize("fill", [-INF, INF, NAN])
@pytest.mark.parametrize("estimator", KL_ESTIMATORS)
def test_masked_kl_finite_gradients_with_poisoned_masked_positions(fill, estimator):
    lp, ref = _poisoned_kl_inputs(fill)
    out = masked_kl(lp, ref, t(KL_MASK), estimator)
    assert torch.isfinite(out).all()
    assert out[0, 1] == 0
    loss = out.sum() / 2
    if not loss.requires_grad:  # "none" does not depend on its inputs
        return
    grads = torch.autograd.grad(loss, (lp, ref), allow_unused=True)
    for g in grads:
        if g is not None:
            assert torch.isfinite(g).all()
            assert g[0, 1] == 0


def test_kl_penalty_times_mask_is_not_enough():
    # why masked_kl exists: multiplying the unmasked penalty by the mask leaves a nan gradient at the masked token
    lp, ref = _poisoned_kl_inputs(-INF)
    (kl_penalty(lp, ref, "k3") * t(KL_MASK)).sum().backward()
    assert not torch.isfinite(lp.grad).all()


def test_masked_kl_unknown_estimator_raises():
    with pytest.raises(ValueError, match="k3"):
        masked_kl(t(LOGPROBS), t(REF_LOGPROBS), t(KL_MASK), "kl")


# --------------------------------------------------------------------------------------------------------------------
# Jensen-Shannon
# --------------------------------------------------------------------------------------------------------------------


def test_jensen_shannon_penalty_hand_example():
    # position 0: p = [0.5, 0.5, 0], q = [1, 0, 0], m = [0.75, 0.25, 0]
    #   KL(p||m) = 0.5 ln(0.5/0.75) + 0.5 ln(0.5/0.25) = 0.5*(-0.4054651081) + 0.5*0.6931471806 = 0.1438410362
    #   KL(q||m) = ln(1/0.75) = 0.2876820725
    #   JS = 0.5 * (0.1438410362 + 0.2876820725) = 0.2157615543
    # position 1: disjoint supports p = [1, 0, 0], q = [0, 1, 0]: JS = ln 2 = 0.6931471806
    logits = t([[[0.0, 0.0, -INF], [0.0, -INF, -INF]]])  # (B=1, T=2, V=3)
    ref_logits = t([[[0.0, -INF, -INF], [-INF, 0.0, -INF]]])
    out = jensen_shannon_penalty(logits, ref_logits)
    assert out.shape == (1, 2)
    assert_close(out, t([[0.2157615543, LOG2]]), atol=1e-9, rtol=0)


def test_jensen_shannon_penalty_three_outcome_example():
    # p = [0.5, 0.3, 0.2], q = [0.2, 0.2, 0.6], m = [0.35, 0.25, 0.4]
    #   KL(p||m) = 0.5 ln(0.5/0.35) + 0.3 ln(0.3/0.25) + 0.2 ln(0.2/0.4)
    #            = 0.1783374720 + 0.0546964670 - 0.1386294361 = 0.0944045029
    #   KL(q||m) = 0.2 ln(0.2/0.35) + 0.2 ln(0.2/0.25) + 0.6 ln(0.6/0.4)
    #            = -0.1119231576 - 0.0446287103 + 0.2432790649 = 0.0867271970
    #   JS = 0.5 * (0.0944045029 + 0.0867271970) = 0.0905658500
    p = t([0.5, 0.3, 0.2])
    q = t([0.2, 0.2, 0.6])
    out = jensen_shannon_penalty(p.log()[None, None], q.log()[None, None])
    assert_close(out, t([[0.0905658500]]), atol=1e-9, rtol=0)


def test_jensen_shannon_sampled_expectation_matches_exact():
    # Enumerate all outcomes x ~ p and weight the per-token estimator by p(x): E_p[g] = JS(p, q) = 0.0905658500
    p = t([0.5, 0.3, 0.2])
    q = t([0.2, 0.2, 0.6])
    expectation = (p * jensen_shannon_sampled(p.log(), q.log())).sum()
    assert_close(expectation, t(0.0905658500), atol=1e-9, rtol=0)
    # and on random categoricals against the exact full-distribution version
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(5, 7, 11, generator=gen, dtype=torch.float64) * 2
    ref_logits = torch.randn(5, 7, 11, generator=gen, dtype=torch.float64) * 2
    logp = logits.log_softmax(-1)
    logq = ref_logits.log_softmax(-1)
    sampled_expectation = (logp.exp() * jensen_shannon_sampled(logp, logq)).sum(-1)  # (5, 7)
    assert_close(sampled_expectation, jensen_shannon_penalty(logits, ref_logits), atol=1e-12, rtol=0)


def test_jensen_shannon_sampled_per_token_bounds():
    # per token: g >= 0 always, g <= 0.5 ln 2 whenever u = q/p <= 1 (r >= 0), unbounded for u > 1
    r = torch.linspace(0.0, 30.0, 301, dtype=torch.float64)
    g = jensen_shannon_sampled(r, torch.zeros_like(r))
    assert (g >= 0).all() and (g <= 0.5 * LOG2 + 1e-12).all()
    # r = -5: u = e^5 = 148.4131591026; g = 0.5 ln(2/149.41) + 74.2066 * ln(296.826/149.413) = 48.7809742691
    big = jensen_shannon_sampled(t([-5.0]), t([0.0]))
    assert_close(big, t([48.7809742691]), atol=1e-8, rtol=0)
    assert big.item() > LOG2


def test_jensen_shannon_penalty_bounded_and_zero_for_equal():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 4, 50, generator=gen) * 20
    ref_logits = torch.randn(3, 4, 50, generator=gen) * 20
    js = jensen_shannon_penalty(logits, ref_logits)
    assert js.shape == (3, 4)
    assert torch.isfinite(js).all()
    assert (js >= 0).all() and (js <= LOG2 + 1e-6).all()
    assert_close(jensen_shannon_penalty(logits, logits.clone()), torch.zeros(3, 4), atol=1e-6, rtol=0)
    # symmetric in its two arguments
    assert_close(jensen_shannon_penalty(ref_logits, logits), js, atol=1e-6, rtol=0)


def test_jensen_shannon_penalty_mask():
    logits = t([[[0.0, -INF], [0.0, -INF]], [[0.0, -INF], [0.0, -INF]]])  # (2, 2, 2)
    ref_logits = t([[[-INF, 0.0], [-INF, 0.0]], [[-INF, 0.0], [-INF, 0.0]]])
    mask = t([[1.0, 0.0], [0.0, 0.0]])
    out = jensen_shannon_penalty(logits, ref_logits, mask=mask)
    assert_close(out, t([[LOG2, 0.0], [0.0, 0.0]]), atol=1e-12, rtol=0)


# --------------------------------------------------------------------------------------------------------------------
# KL controllers
# --------------------------------------------------------------------------------------------------------------------


def test_adaptive_kl_controller_moves_the_right_way():
    ctl = AdaptiveKLController(init_kl_coef=0.1, target=6.0, horizon=10000)
    # KL 12 > target: error = clip(12/6 - 1, -0.2, 0.2) = 0.2; mult = 1 + 0.2 * 256 / 10000 = 1.00512
    ctl.update(current_kl=12.0, n_steps=256)
    assert math.isclose(ctl.value, 0.100512, rel_tol=0, abs_tol=1e-12)
    # KL 3 < target: error = clip(-0.5) = -0.2; mult = 0.99488; 0.100512 * 0.99488 = 0.1 * (1 - 0.00512^2)
    ctl.update(current_kl=3.0, n_steps=256)
    assert math.isclose(ctl.value, 0.1 * (1 - 0.00512**2), rel_tol=0, abs_tol=1e-12)
    assert math.isclose(ctl.value, 0.0999973786, rel_tol=0, abs_tol=1e-10)


def test_adaptive_kl_controller_unclipped_error():
    ctl = AdaptiveKLController(init_kl_coef=0.2, target=6.0, horizon=1000)
    # KL 6.6: error = 6.6/6 - 1 = 0.1 (inside the clip); mult = 1 + 0.1 * 100 / 1000 = 1.01 -> 0.202
    ctl.update(6.6, 100)
    assert math.isclose(ctl.value, 0.202, rel_tol=0, abs_tol=1e-12)
    # KL exactly on target: unchanged
    ctl.update(6.0, 100)
    assert math.isclose(ctl.value, 0.202, rel_tol=0, abs_tol=1e-12)


def test_adaptive_kl_controller_state_dict():
    ctl = AdaptiveKLController(0.1, 6.0, 10000)
    ctl.update(12.0, 256)
    state = ctl.state_dict()
    assert all(type(v) is float for v in state.values())
    other = AdaptiveKLController(1.0, 1.0, 1)
    other.load_state_dict(state)
    assert (other.value, other.target, other.horizon) == (ctl.value, 6.0, 10000)


def test_adaptive_kl_controller_validates():
    with pytest.raises(ValueError, match="target"):
        AdaptiveKLController(0.1, 0.0, 100)
    with pytest.raises(ValueError, match="horizon"):
        AdaptiveKLController(0.1, 6.0, 0)


def test_fixed_kl_controller():
    ctl = FixedKLController(0.05)
    ctl.update(100.0, 1000)
    assert ctl.value == 0.05
    state = ctl.state_dict()
    assert state == {"value": 0.05} and type(state["value"]) is float
    other = FixedKLController(1.0)
    other.load_state_dict(state)
    assert other.value == 0.05
