"""Supervised fine-tuning (SFT) math: the next-token negative log-likelihood of demonstrations, response tokens only.

Pure tensor math (torch only). Labels follow the Hugging Face convention: ``labels`` (B, T) hold the token id where
the loss counts (the response tokens, end token included) and :data:`IGNORE_INDEX` (-100) elsewhere (prompt,
padding). The logits at column ``t`` predict the token at column ``t + 1`` (:func:`shift_labels`).

Exact accumulation: a batch's loss is the mean NLL over *all* its response tokens (a long response weighs more than
a short one, as in one pass over the batch). So the NLL of a micro-batch is returned as a sum and a token count
(:class:`TokenNLL`), and each micro-batch contributes ``total_i / batch_tokens`` (:func:`micro_batch_loss`): the
contributions add up to ``sum_i total_i / sum_i tokens_i``, the whole batch's token mean, where a mean of the
micro-batches' means would not. Perplexity over a data set is likewise ``exp(sum of NLL / number of tokens)``
(:func:`perplexity`), not a mean of per-batch perplexities.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

__all__ = ["IGNORE_INDEX", "TokenNLL", "micro_batch_loss", "perplexity", "sft_nll", "shift_labels", "token_nll"]

#: Label of a position the loss ignores (prompt, padding), as in ``torch.nn.functional.cross_entropy``.
IGNORE_INDEX = -100


class TokenNLL(NamedTuple):
    """Summed negative log-likelihood and the number of tokens it sums over."""

    total: Tensor  # () float32 (or float64 logits' dtype): sum over the counted tokens of -log p(token)
    tokens: Tensor  # () long: number of counted tokens

    @property
    def mean(self) -> Tensor:
        """The token-mean NLL (0 when no token counts)."""
        return self.total / self.tokens.clamp(min=1)


def shift_labels(labels: Tensor, ignore_index: int = IGNORE_INDEX) -> Tensor:
    """Next-token targets: ``targets[:, t] = labels[:, t + 1]``, the last column ignored.

    Args:
        labels: (B, T) token ids where the loss counts, ``ignore_index`` elsewhere.
        ignore_index: the label of ignored positions.

    Returns:
        (B, T) targets aligned with the logits: the logits at column ``t`` are scored against ``targets[:, t]``.
    """
    return torch.cat([labels[:, 1:], labels.new_full((labels.shape[0], 1), ignore_index)], dim=1)


def token_nll(logits: Tensor, targets: Tensor, ignore_index: int = IGNORE_INDEX) -> TokenNLL:
    """Summed NLL of ``targets`` under ``logits``, skipping ``ignore_index`` positions.

    Ignored positions contribute exactly 0 to the sum and to the gradient.

    Args:
        logits: (..., V) unnormalised scores (computed in float32 at least).
        targets: (...) token ids aligned with ``logits`` (already shifted), ``ignore_index`` where nothing counts.
        ignore_index: the label of ignored positions.

    Returns:
        :class:`TokenNLL` ``(total, tokens)``.
    """
    valid = targets != ignore_index  # (...)
    safe = torch.where(valid, targets, torch.zeros_like(targets))  # a valid index everywhere for the gather
    logits = logits.to(torch.promote_types(logits.dtype, torch.float32))  # bf16 / fp16 -> fp32; fp64 stays
    picked = logits.gather(-1, safe.unsqueeze(-1)).squeeze(-1)  # (...)
    nll = torch.logsumexp(logits, dim=-1) - picked  # (...) -log softmax(logits)[target]
    nll = torch.where(valid, nll, torch.zeros((), dtype=nll.dtype, device=nll.device))
    return TokenNLL(nll.sum(), valid.sum())


def sft_nll(logits: Tensor, labels: Tensor, ignore_index: int = IGNORE_INDEX) -> TokenNLL:
    """Summed next-token NLL of the labelled (response) tokens of a batch.

    Args:
        logits: (B, T, V) a causal LM's logits of the input ids.
        labels: (B, T) the input ids on response tokens, ``ignore_index`` on prompt and padding.
        ignore_index: the label of ignored positions.

    Returns:
        :class:`TokenNLL` over every labelled token of the batch.
    """
    return token_nll(logits, shift_labels(labels, ignore_index), ignore_index)


def micro_batch_loss(part: TokenNLL, batch_tokens: Tensor | int) -> Tensor:
    """A micro-batch's share of the batch's token-mean loss: ``part.total / batch_tokens``.

    Backpropagating this for every micro-batch accumulates the gradient of the whole batch's token mean exactly.

    Args:
        part: the micro-batch's summed NLL and token count.
        batch_tokens: labelled tokens of the whole batch (at least 1 is used).
    """
    denominator = torch.as_tensor(batch_tokens, dtype=part.total.dtype, device=part.total.device).clamp(min=1)
    return part.total / denominator


def perplexity(total: Tensor, tokens: Tensor) -> Tensor:
    """``exp(total / tokens)``: the perplexity of a data set from its summed NLL and token count."""
    return torch.exp(total / tokens.to(total.dtype).clamp(min=1))
