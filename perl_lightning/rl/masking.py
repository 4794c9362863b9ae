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
