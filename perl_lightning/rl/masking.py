"""Masks of sampled responses: where a response ends, and which token is its last.

Shapes: ``N`` responses, ``R`` response tokens (right-padded).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def last_token_index(attention_mask: torch.Tensor) -> torch.Tensor:
    """Index of each row's last real token, for either padding side.

    Args:
        attention_mask: (B, T) ones on real tokens.

    Returns:
        (B,) long indices; a row without any real token gets index 0.
    """
    width = attention_mask.shape[-1]
    flipped_first = attention_mask.flip(-1).long().argmax(-1)  # (B,) distance of the last 1 from the end
    index = width - 1 - flipped_first  # (B,)
    return torch.where(attention_mask.any(-1), index, torch.zeros_like(index))


def truncate_after_end(responses: torch.Tensor, end_ids: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Mask everything after the first end token (the end token itself is kept: it is a sampled action).

    Args:
        responses: (N, R) sampled ids (``generate`` pads finished rows with the pad token).
        end_ids: ids that end a response.

    Returns:
        ``(response_mask, ended)``: (N, R) long mask and (N,) bool.
    """
    is_end = torch.isin(responses, torch.as_tensor(list(end_ids), device=responses.device))  # (N, R)
    ended = is_end.any(-1)  # (N,)
    ends_before = is_end.long().cumsum(-1) - is_end.long()  # (N, R) end tokens strictly before each position
    return (ends_before == 0).long(), ended


def trim_left_padding(
    sequences: torch.Tensor, attention_mask: torch.Tensor, prompt_length: int
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Drop the left-padding columns every row has (prompts are left-padded to the batch's longest).

    A forward over the trimmed rows gives the same response outputs: padding is masked out and positions count real
    tokens only. Rows grouped by prompt length (:func:`length_order`) lose most of their padding this way.

    Returns:
        ``(sequences, attention_mask, prompt_length)`` without the shared padding columns.
    """
    if sequences.shape[0] == 0:
        return sequences, attention_mask, prompt_length
    real = attention_mask[:, :prompt_length].bool().any(0)  # (P,) columns where some row has a prompt token
    first = int(real.float().argmax()) if bool(real.any()) else max(prompt_length - 1, 0)
    first = min(first, max(prompt_length - 1, 0))  # keep at least one prompt column (it predicts response token 0)
    return sequences[:, first:], attention_mask[:, first:], prompt_length - first


def length_order(attention_mask: torch.Tensor, prompt_length: int) -> torch.Tensor:
    """Row order by real prompt length, longest first (stable), so that chunks of consecutive rows share widths."""
    lengths = attention_mask[:, :prompt_length].sum(-1)  # (N,)
    return torch.argsort(lengths, descending=True, stable=True)


def forward_tokens(sequences: torch.Tensor, attention_mask: torch.Tensor, prompt_length: int) -> int:
    """Token positions a response forward runs over ``(N, P + R)`` rows when rows that share a prompt run it once
    (``perl_lightning.models.forward.response_hidden_states``): distinct prompts x ``P`` + ``N`` x ``R``."""
    n, width = sequences.shape
    if n == 0 or prompt_length == 0:
        return n * width
    prompts = sequences[:, :prompt_length].masked_fill(attention_mask[:, :prompt_length] == 0, -1)
    return int(torch.unique(prompts, dim=0).shape[0]) * prompt_length + n * (width - prompt_length)
