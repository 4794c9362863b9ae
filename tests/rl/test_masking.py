"""Padding helpers: the left padding every row shares is dropped, rows are ordered by prompt length."""

from __future__ import annotations

import torch

from perl_lightning.rl.masking import forward_tokens, length_order, trim_left_padding


def test_trim_drops_only_the_padding_every_row_has():
    seqs = torch.tensor([[0, 0, 0, 5, 6, 7, 8], [0, 0, 4, 5, 6, 7, 0], [0, 0, 0, 0, 6, 7, 8]])
    mask = (seqs != 0).long()
    out, out_mask, p = trim_left_padding(seqs, mask, prompt_length=5)
    assert p == 3 and torch.equal(out, seqs[:, 2:]) and torch.equal(out_mask, mask[:, 2:])
    _, _, p = trim_left_padding(seqs[[0, 2]], mask[[0, 2]], prompt_length=5)
    assert p == 2  # the two longer-padded rows share three padding columns
    empty = torch.zeros(0, 7, dtype=torch.long)
    assert trim_left_padding(empty, empty, 5)[2] == 5


def test_trim_keeps_one_prompt_column_when_prompts_are_empty():
    seqs = torch.tensor([[0, 0, 6, 7], [0, 0, 8, 0]])
    _, _, p = trim_left_padding(seqs, (seqs != 0).long(), prompt_length=2)
    assert p == 1  # the last prompt column predicts the first response token


def test_length_order_longest_prompt_first_stable():
    mask = torch.tensor([[0, 1, 1, 1], [0, 0, 1, 1], [1, 1, 1, 1], [0, 0, 1, 1]])
    assert length_order(mask, prompt_length=3).tolist() == [2, 0, 1, 3]


def test_forward_tokens_counts_a_shared_prompt_once() -> None:
    # rows 0, 1, 3 share prompt (0, 5, 6) (left-padded), row 2 has another; 3 prompt columns, 2 response columns
    seq = torch.tensor([[0, 5, 6, 7, 8], [0, 5, 6, 9, 0], [4, 5, 6, 7, 7], [0, 5, 6, 1, 2]])
    mask = torch.tensor([[0, 1, 1, 1, 1], [0, 1, 1, 1, 0], [1, 1, 1, 1, 1], [0, 1, 1, 1, 1]])
    assert forward_tokens(seq, mask, 3) == 2 * 3 + 4 * 2
    assert forward_tokens(seq[[0, 2]], mask[[0, 2]], 3) == 2 * 5  # nothing shared: every row's whole width
    # the same ids with a different padding are different prompts
    other = mask.clone()
    other[1, 0] = 1
    assert forward_tokens(seq, other, 3) == 3 * 3 + 4 * 2
