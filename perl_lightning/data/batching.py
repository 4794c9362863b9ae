"""Reward-model batches cut to a token budget: whole pairs (or rated responses) per micro-batch, each trimmed to its
own longest sequence."""

from __future__ import annotations

import torch

from perl_lightning.data.preference import PreferenceBatch
from perl_lightning.data.rated import RatedBatch

__all__ = ["batch_size", "micro_batches"]


def batch_size(batch: PreferenceBatch | RatedBatch) -> int:
    """What a batch's loss averages over: pairs, or rated responses."""
    return batch.num_pairs if isinstance(batch, PreferenceBatch) else batch.num_rated


def micro_batches(batch: PreferenceBatch | RatedBatch, max_tokens: int | None) -> list[PreferenceBatch | RatedBatch]:
    """Split a batch into micro-batches of whole pairs (or rated responses) of at most ``max_tokens`` padded tokens.

    Items are sorted by length (longest first) and grouped greedily, each group trimmed to its own longest
    sequence, so little compute goes to padding. A pair's chosen and rejected rows stay together, so each
    micro-batch's loss is exact on its own; an item longer than the budget forms a group alone. Works for right- and
    left-padded batches (the side is read off the attention mask). ``None`` keeps the batch whole.
    """
    if max_tokens is None:
        return [batch]
    pairs, n = isinstance(batch, PreferenceBatch), batch_size(batch)
    lengths = batch.attention_mask.sum(-1)  # (2B,) or (B,)
    item_len = torch.maximum(lengths[:n], lengths[n:]) if pairs else lengths  # (B,)
    rows_per_item = 2 if pairs else 1
    order = torch.argsort(item_len, descending=True, stable=True).tolist()
    groups: list[list[int]] = []
    for i in order:  # longest first: a group's width is its first item's length
        if groups and rows_per_item * (len(groups[-1]) + 1) * int(item_len[groups[-1][0]]) <= max_tokens:
            groups[-1].append(i)
        else:
            groups.append([i])
    left = bool((batch.attention_mask[:, 0] == 0).any())
    out: list[PreferenceBatch | RatedBatch] = []
    for group in groups:
        idx = torch.tensor(group, device=batch.input_ids.device)
        width = int(item_len[idx].max())
        cols = slice(batch.input_ids.shape[1] - width, None) if left else slice(0, width)
        if pairs:
            rows = torch.cat([idx, idx + n])
            images = None if batch.images is None else batch.images.select(rows)
            out.append(PreferenceBatch(batch.input_ids[rows, cols], batch.attention_mask[rows, cols], images))
        else:
            out.append(RatedBatch(batch.input_ids[idx, cols], batch.attention_mask[idx, cols], batch.labels[idx]))
    return out
