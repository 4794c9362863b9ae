"""Tests for perl_lightning.rl.supervised (SFT NLL) against numbers worked out by hand."""

import math

import torch
from torch.testing import assert_close

from perl_lightning.rl.supervised import (
    IGNORE_INDEX,
    TokenNLL,
    micro_batch_loss,
    perplexity,
    sft_nll,
    shift_labels,
    token_nll,
)

X = IGNORE_INDEX
LN2 = math.log(2.0)
#: logits whose softmax is (1/4, 1/4, 1/2): -log p = log 4, log 4, log 2 for tokens 0, 1, 2
QUARTERS = [0.0, 0.0, LN2]


def test_shift_labels_moves_each_label_to_the_position_that_predicts_it():
    labels = torch.tensor([[X, X, 2, 1], [X, 0, X, X]])
    assert shift_labels(labels).tolist() == [[X, 2, 1, X], [0, X, X, X]]


def test_sft_nll_counts_response_tokens_only():
    # ids [0, 1, 2, 1]: prompt [0, 1], response [2, 1]; logits at column t predict the token at t + 1
    labels = torch.tensor([[X, X, 2, 1]])
    garbage = [1e4, -1e4, 3.0]  # columns 0 and 3 predict a prompt token / nothing: must not count
    logits = torch.tensor([[garbage, QUARTERS, QUARTERS, garbage]], dtype=torch.float64, requires_grad=True)
    out = sft_nll(logits, labels)
    # column 1 predicts 2 (p = 1/2): log 2; column 2 predicts 1 (p = 1/4): log 4 = 2 log 2
    assert_close(out.total, torch.tensor(3 * LN2), check_dtype=False)
    assert out.tokens.item() == 2
    assert_close(out.mean, torch.tensor(1.5 * LN2), check_dtype=False)
    out.total.backward()
    # d(-log softmax(z)[y]) / dz = softmax(z) - onehot(y); exactly 0 where nothing counts
    expected = torch.tensor([[[0, 0, 0], [0.25, 0.25, -0.5], [0.25, -0.75, 0.5], [0, 0, 0]]], dtype=torch.float64)
    assert_close(logits.grad, expected)


def test_token_nll_matches_cross_entropy_with_ignore_index():
    torch.manual_seed(0)
    logits = torch.randn(3, 5, 7)
    targets = torch.randint(0, 7, (3, 5))
    targets[0, :2] = X
    targets[2, 4] = X
    out = token_nll(logits, targets)
    reference = torch.nn.functional.cross_entropy(logits.reshape(-1, 7), targets.reshape(-1), reduction="sum")
    assert_close(out.total, reference)
    assert out.tokens.item() == 12


def test_no_counted_token_gives_zero_not_nan():
    out = token_nll(torch.randn(2, 3, 4), torch.full((2, 3), X))
    assert out.total.item() == 0.0 and out.tokens.item() == 0 and out.mean.item() == 0.0


def test_micro_batches_weighted_by_tokens_give_the_token_mean_of_the_batch():
    # sequence A: 1 response token at p = 1/2 (NLL log 2); sequence B: 3 tokens at p = 1/4 (NLL 2 log 2 each)
    logits = torch.tensor([QUARTERS] * 3, dtype=torch.float64)
    a = token_nll(logits.unsqueeze(0), torch.tensor([[2, X, X]]))
    b = token_nll(logits.unsqueeze(0), torch.tensor([[0, 1, 0]]))
    assert_close(a.total, torch.tensor(LN2, dtype=torch.float64))
    assert_close(b.total, torch.tensor(6 * LN2, dtype=torch.float64))
    whole = token_nll(torch.stack([logits, logits]), torch.tensor([[2, X, X], [0, 1, 0]]))
    batch_tokens = a.tokens + b.tokens  # 4
    # token mean (log 2 + 6 log 2) / 4 = 7/4 log 2; the mean of the two means would be (log 2 + 2 log 2) / 2
    accumulated = micro_batch_loss(a, batch_tokens) + micro_batch_loss(b, batch_tokens)
    assert_close(accumulated, torch.tensor(1.75 * LN2, dtype=torch.float64))
    assert_close(accumulated, whole.mean)
    assert not math.isclose(float((a.mean + b.mean) / 2), 1.75 * LN2)
    # the perplexity of the two sequences together: exp(7/4 log 2) = 2 ** 1.75
    assert_close(perplexity(whole.total, whole.tokens), torch.tensor(2**1.75, dtype=torch.float64))


def test_micro_batch_loss_of_an_empty_batch_is_zero():
    empty = TokenNLL(torch.tensor(0.0), torch.tensor(0))
    assert micro_batch_loss(empty, 0).item() == 0.0
