"""Tests for perl_lightning.rl.stats: the AUROC standard error against numbers worked out by hand."""

import math

import pytest
import torch
from torch.testing import assert_close

from perl_lightning.rl.stats import auroc_standard_error


def test_auroc_standard_error_at_chance_is_the_mann_whitney_null():
    # A = 0.5: Q1 = Q2 = 0.5 / 1.5 = 1/3, Q - A^2 = 1/12; n_pos = 3, n_neg = 2:
    # SE^2 = (0.25 + 2/12 + 1/12) / 6 = 0.5 / 6 = 1/12 = (3 + 2 + 1) / (12 * 3 * 2)
    assert_close(auroc_standard_error(0.5, 3, 2), torch.tensor(math.sqrt(1 / 12), dtype=torch.float64))
    # 345 liked and 55 disliked (a 400-rating Taskmaster held-out set): sqrt(401 / (12 * 345 * 55)) = 0.0419653
    assert_close(auroc_standard_error(0.5, 345, 55), torch.tensor(0.0419653, dtype=torch.float64), atol=1e-7, rtol=0)


def test_auroc_standard_error_worked_example():
    # A = 0.8, n_pos = 10, n_neg = 5: Q1 = 0.8 / 1.2 = 0.6666667, Q2 = 2 * 0.64 / 1.8 = 0.7111111
    # SE^2 = (0.16 + 9 * 0.0266667 + 4 * 0.0711111) / 50 = (0.16 + 0.24 + 0.2844444) / 50 = 0.0136889
    # SE = sqrt(0.0136889) = 0.1169995
    assert_close(auroc_standard_error(0.8, 10, 5), torch.tensor(0.1169995, dtype=torch.float64), atol=1e-7, rtol=0)
    # Hanley & McNeil's own example (their Table 2): A = 0.893, 51 abnormal, 58 normal -> SE 0.032
    assert abs(float(auroc_standard_error(0.893, 51, 58)) - 0.032) < 0.001


def test_auroc_standard_error_edges_and_tensors():
    assert float(auroc_standard_error(1.0, 7, 4)) == 0.0  # a perfect ranking: Q1 = Q2 = A^2 = 1
    batch = auroc_standard_error(torch.tensor([0.5, 0.8]), 10, 5)
    assert batch.shape == (2,) and float(batch[1]) == pytest.approx(0.1169995, abs=1e-7)
    with pytest.raises(ValueError, match="both classes"):
        auroc_standard_error(0.7, 10, 0)
