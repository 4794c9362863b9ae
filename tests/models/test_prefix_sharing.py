"""Shared-prefix pair scoring equals scoring the full sequences: rewards and gradients."""

from __future__ import annotations

import torch
from peft import TaskType

from perl_lightning.data.formatting import pad
from perl_lightning.models.backbone import position_ids_from_mask
from perl_lightning.models.prefix_sharing import score_pairs_with_shared_prefix, shared_prefix_lengths


def _pairs():
    prompt_a, prompt_b = [5, 6, 7, 8, 9, 10], [11, 12, 13]
    chosen = [prompt_a + [20, 21, 22], prompt_b + [30, 31], [40, 41]]
    rejected = [prompt_a + [20, 23], prompt_b + [32, 33, 34, 35], [42]]
    return chosen, rejected


def test_shared_prefix_lengths_by_hand():
    chosen, rejected = _pairs()
    ids, mask = pad(chosen + rejected, 0)
    # pair 0 shares the prompt and the first response token (7 tokens); pair 1 the prompt (3); pair 2 nothing
    assert shared_prefix_lengths(ids, mask).tolist() == [7, 3, 0]
    same = [[1, 2, 3], [1, 2, 3]]  # identical rows keep one token out of the prefix
    ids, mask = pad(same, 0)
    assert shared_prefix_lengths(ids, mask).tolist() == [2]


def test_rewards_and_gradients_equal_full_forward(tiny_lora, tiny_tokenizer):
    model = tiny_lora("sequence-classification", TaskType.SEQ_CLS)
    chosen, rejected = _pairs()
    ids, mask = pad(chosen + rejected, tiny_tokenizer.pad_token_id)
    full = model(input_ids=ids, attention_mask=mask, position_ids=position_ids_from_mask(mask)).logits[:, 0]
    full.pow(2).sum().backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
    model.zero_grad()
    shared = score_pairs_with_shared_prefix(model, ids, mask)
    torch.testing.assert_close(shared, full, atol=1e-5, rtol=1e-4)
    shared.pow(2).sum().backward()
    for name, p in model.named_parameters():
        if p.requires_grad:
            torch.testing.assert_close(p.grad, grads[name], atol=1e-5, rtol=1e-3, msg=name)
