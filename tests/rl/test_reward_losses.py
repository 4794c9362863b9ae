"""Tests for perl_lightning.rl.reward_losses against numbers worked out by hand."""

import math

import pytest
import torch
from torch.testing import assert_close

from perl_lightning.rl.reward_losses import pairwise_reward_loss, pointwise_reward_loss

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
# pointwise_reward_loss
# --------------------------------------------------------------------------------------------------------------------

# logits [0, 2, -1], labels [1, 0, 0]:
#   liked at 0:      -log sigmoid(0)      = log 2          = 0.6931471806
#   disliked at 2:   -log (1 - sigmoid(2)) = log(1 + e^2)  = 2.1269280110
#   disliked at -1:  -log (1 - sigmoid(-1)) = log(1 + e^-1) = 0.3132616875
LOGITS, LABELS = [0.0, 2.0, -1.0], [1.0, 0.0, 0.0]


def test_pointwise_reward_loss_plain():
    # mean = (0.6931471806 + 2.1269280110 + 0.3132616875) / 3 = 3.1333368791 / 3 = 1.0444456264
    loss = pointwise_reward_loss(t(LOGITS), t(LABELS))
    assert_close(loss, t(1.0444456264), atol=1e-9, rtol=0)


def test_pointwise_reward_loss_pos_weight():
    # the liked term halves: 0.3465735903; (0.3465735903 + 2.1269280110 + 0.3132616875) / 3 = 0.9289210963
    # (still divided by all 3 responses, not by the weights' sum)
    for weight in (0.5, t(0.5)):
        loss = pointwise_reward_loss(t(LOGITS), t(LABELS), pos_weight=weight)
        assert_close(loss, t(0.9289210963), atol=1e-9, rtol=0)


def test_pointwise_reward_loss_soft_labels():
    # y = 0.25 at logit 1: 0.25 log(1 + e^-1) + 0.75 log(1 + e) = 0.0783154219 + 0.9849462656 = 1.0632616875;
    # y = 0.25 at logit 0: log 2 whatever the label. mean = (1.0632616875 + 0.6931471806) / 2 = 0.8782044340
    loss = pointwise_reward_loss(t([1.0, 0.0]), t([0.25, 0.25]))
    assert_close(loss, t(0.8782044340), atol=1e-9, rtol=0)


def test_pointwise_reward_loss_gradient():
    logits = t(LOGITS).requires_grad_()
    pointwise_reward_loss(logits, t(LABELS)).backward()
    # d/dr = (sigmoid(r) - y) / B: [(0.5 - 1) / 3, sigmoid(2) / 3, sigmoid(-1) / 3]
    #      = [-0.1666666667, 0.8807970780 / 3, 0.2689414214 / 3] = [-0.1666666667, 0.2935990260, 0.0896471405]
    assert_close(logits.grad, t([-0.1666666667, 0.2935990260, 0.0896471405]), atol=1e-9, rtol=0)
    # liked rewards go up, disliked ones down under gradient descent
    weighted = t(LOGITS).requires_grad_()
    pointwise_reward_loss(weighted, t(LABELS), pos_weight=4.0).backward()
    # a liked response: -p (1 - sigmoid(r)) / B = -4 * 0.5 / 3 = -0.6666666667; the disliked ones unchanged
    assert_close(weighted.grad, t([-0.6666666667, 0.2935990260, 0.0896471405]), atol=1e-9, rtol=0)


def test_pointwise_reward_loss_is_stable_at_large_logits():
    # a confidently wrong response costs its logit: log(1 + e^100) = 100 (+ 4e-44), no overflow to inf
    loss = pointwise_reward_loss(t([100.0, -100.0]), t([0.0, 1.0]), pos_weight=0.5)
    assert_close(loss, t((100.0 + 0.5 * 100.0) / 2), atol=1e-9, rtol=0)
    loss32 = pointwise_reward_loss(t([100.0, -100.0], torch.float32), t([1.0, 0.0], torch.float32))
    assert 0.0 <= float(loss32) < 1e-30  # log(1 + e^-100) = 3.7e-44, not log(0) = -inf


def test_pointwise_reward_loss_size_weighted_parts_make_the_whole():
    # what micro-batching relies on: the batch loss is the size-weighted mean of its parts' losses, pos_weight or not
    logits, labels = t([0.3, -1.2, 2.0, 0.0, 1.5]), t([1.0, 0.0, 1.0, 1.0, 0.0])
    for weight in (None, 0.2):
        whole = pointwise_reward_loss(logits, labels, weight)
        parts = sum(
            pointwise_reward_loss(logits[s], labels[s], weight) * len(logits[s]) / 5 for s in (slice(0, 2), slice(2, 5))
        )
        assert_close(parts, whole, atol=1e-12, rtol=0)


def test_pointwise_reward_loss_rejects_bad_labels_and_shapes():
    with pytest.raises(ValueError, match=r"labels must be in \[0, 1\]"):
        pointwise_reward_loss(t([0.0, 1.0]), t([1.0, 2.0]))
    with pytest.raises(ValueError, match="same shape"):
        pointwise_reward_loss(t([0.0, 1.0]), t([1.0]))
