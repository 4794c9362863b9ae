"""Forward passes of a causal LM for RL: hidden states, response log-probs and entropy, per-token values.

Shapes: ``N`` sequences, ``P`` prompt tokens (left-padded), ``R`` response tokens (right-padded); sequences are
``(N, P + R)`` and response token ``t`` is predicted by the logits at column ``P + t - 1``.
"""

from __future__ import annotations

import torch
from peft import PeftModel
from torch import nn
from transformers import PreTrainedModel

from perl_lightning.models.backbone import position_ids_from_mask
from perl_lightning.rl.losses import entropy_from_logits


def transformers_model(model: nn.Module) -> PreTrainedModel:
    """The transformers model inside a ``PeftModel`` (or the model itself)."""
    return model.get_base_model() if isinstance(model, PeftModel) else model


def last_hidden_state(model: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """The decoder body's final (normed) hidden states (N, T, H), as a ``*ForSequenceClassification`` head sees them.

    Skips the LM head, so no (N, T, vocab) logits are built for value and reward passes.
    """
    body = transformers_model(model).base_model  # e.g. LlamaModel
    out = body(
        input_ids=input_ids,
        attention_mask=attention_mask,
        position_ids=position_ids_from_mask(attention_mask),
        use_cache=False,
    )
    return out.last_hidden_state  # (N, T, H)


def response_logprobs(
    model: nn.Module,
    sequences: torch.Tensor,
    attention_mask: torch.Tensor,
    prompt_length: int,
    temperature: float = 1.0,
    with_entropy: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Log-probabilities of the response tokens (logits / temperature, as when sampling) and optionally entropy.

    Only the logits that predict response tokens are computed (``logits_to_keep``), through the model's own forward
    (so architecture details such as logit soft-capping apply).

    Args:
        model: causal LM (a ``PeftModel`` with the wanted adapter active, or a plain model).
        sequences: (N, P + R) prompt and response ids.
        attention_mask: (N, P + R).
        prompt_length: P.
        temperature: the sampling temperature.
        with_entropy: also return the per-token entropy.

    Returns:
        ``(logprobs, entropy)``: (N, R) float32 each; ``entropy`` is ``None`` unless asked for.
    """
    width = sequences.shape[1] - prompt_length  # R
    out = model(
        input_ids=sequences,
        attention_mask=attention_mask,
        position_ids=position_ids_from_mask(attention_mask),
        use_cache=False,
        logits_to_keep=width + 1,
    )
    logits = out.logits[:, :-1].float() / temperature  # (N, R, V): column j predicts response token j
    targets = sequences[:, prompt_length:]  # (N, R)
    logprobs = torch.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)  # (N, R)
    entropy = entropy_from_logits(logits) if with_entropy else None  # (N, R)
    return logprobs, entropy


def response_values(
    model: nn.Module, head: nn.Module, sequences: torch.Tensor, attention_mask: torch.Tensor, prompt_length: int
) -> torch.Tensor:
    """Values V(s_t) (N, R) of the states before each response token: the head on the hidden state at ``P + t - 1``."""
    hidden = last_hidden_state(model, sequences, attention_mask)  # (N, P + R, H)
    return head(hidden[:, prompt_length - 1 : -1])  # (N, R)


def in_chunks(n: int, size: int | None) -> list[slice]:
    """Row slices covering ``range(n)`` in pieces of at most ``size`` (all at once for ``None``)."""
    size = n if not size else size
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]
