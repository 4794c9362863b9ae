"""Score chosen and rejected sequences that share a prefix by running the prefix once (causal models only).

A preference pair's two sequences share the whole prompt (and often the first response tokens). In a causal model
the hidden states of shared tokens are identical, so the prefix is run once, its key/value cache is repeated for the
two continuations, and only the continuations are run again. On HH-RLHF the prompt is ~60% of each sequence, so a
pair costs ~206 instead of ~321 token passes with SmolLM2's tokenizer. Gradients flow through the cache, so the
result (rewards and gradients) equals scoring the two full sequences, up to float rounding (tested).
"""

from __future__ import annotations

import torch
from torch import nn

from perl_lightning.models.backbone import position_ids_from_mask
from perl_lightning.models.forward import cache_argument, output_cache

#: Bidirectional encoders: every token sees the whole sequence, so prefixes cannot be shared.
ENCODER_TYPES: frozenset[str] = frozenset(
    {
        "bert",
        "roberta",
        "distilbert",
        "deberta",
        "deberta-v2",
        "electra",
        "albert",
        "xlm-roberta",
        "mpnet",
        "modernbert",
        "t5",
    }
)


def supports_prefix_sharing(model: nn.Module) -> bool:
    """Whether ``model`` is causal (decoder-only), so that a shared prefix can be computed once."""
    config = getattr(model, "config", None)
    return (
        config is not None
        and getattr(config, "model_type", None) not in ENCODER_TYPES
        and not getattr(config, "is_encoder_decoder", False)
    )


def shared_prefix_lengths(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Per pair, the number of leading tokens common to chosen and rejected (right-padded (2B, T) input).

    At least one token of each sequence is left out of the prefix, so both continuations are non-empty.
    """
    b = input_ids.shape[0] // 2
    lengths = attention_mask.sum(-1)  # (2B,)
    same = (input_ids[:b] == input_ids[b:]) & attention_mask[:b].bool() & attention_mask[b:].bool()  # (B, T)
    common = same.long().cumprod(-1).sum(-1)  # (B,) length of the leading run of equal tokens
    return torch.minimum(common, torch.minimum(lengths[:b], lengths[b:]) - 1).clamp(min=0)


def score_pairs_with_shared_prefix(
    model: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor
) -> torch.Tensor:
    """Rewards (2B,) for right-padded pair rows (chosen ``0..B-1``, rejected ``B..2B-1``) of a causal classifier.

    Args:
        model: a (peft-wrapped) ``*ForSequenceClassification`` causal model whose pad token id is distinct from
            every real token (the pooled logit is read at the last non-pad token of the continuation).
        input_ids: (2B, T) right-padded.
        attention_mask: (2B, T).
    """
    b = input_ids.shape[0] // 2
    lengths = attention_mask.sum(-1)  # (2B,)
    prefix = shared_prefix_lengths(input_ids, attention_mask)  # (B,)
    p_max = int(prefix.max())
    pad_id = model.config.pad_token_id
    if p_max == 0:
        out = model(
            input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids_from_mask(attention_mask)
        )
        return out.logits[:, 0]
    # prefixes, left-padded to p_max: (B, P)
    cols = torch.arange(p_max, device=input_ids.device)
    src = cols[None, :] - (p_max - prefix[:, None])  # column in the original row, negative = padding
    prefix_mask = (src >= 0).long()
    prefix_ids = torch.where(src >= 0, input_ids[:b].gather(1, src.clamp(min=0)), pad_id)
    # continuations, right-padded: (2B, W)
    starts = prefix.repeat(2)  # (2B,)
    cont_len = lengths - starts
    width = int(cont_len.max())
    ccols = torch.arange(width, device=input_ids.device)
    csrc = (starts[:, None] + ccols[None, :]).clamp(max=input_ids.shape[1] - 1)
    cont_mask = (ccols[None, :] < cont_len[:, None]).long()
    cont_ids = torch.where(cont_mask.bool(), input_ids.gather(1, csrc), pad_id)
    cont_pos = starts[:, None] + ccols[None, :]

    out = model(
        input_ids=prefix_ids,
        attention_mask=prefix_mask,
        position_ids=position_ids_from_mask(prefix_mask),
        use_cache=True,
    )
    cache = output_cache(out)
    cache.batch_repeat_interleave(2)  # rows (c0, r0, c1, r1, ...): differentiable repeat of the prefix keys/values
    order = torch.stack([torch.arange(b), torch.arange(b) + b], 1).flatten().to(input_ids.device)  # interleave
    full_mask = torch.cat([prefix_mask.repeat_interleave(2, 0), cont_mask[order]], dim=1)
    out = model(
        input_ids=cont_ids[order],
        attention_mask=full_mask,
        position_ids=cont_pos[order],
        use_cache=True,
        **{cache_argument(model): cache},
    )
    rewards = out.logits[:, 0]  # interleaved (2B,)
    return torch.cat([rewards[0::2], rewards[1::2]])
