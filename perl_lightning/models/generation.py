"""Sampling responses with ``generate``: end tokens, stop strings, masks and decoded texts, as a :class:`Rollout`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from transformers import GenerationConfig, PreTrainedTokenizerBase

from perl_lightning.models.backbone import end_token_id
from perl_lightning.models.decoding import can_decode, decode, suppressed_tokens
from perl_lightning.models.forward import image_kwargs, transformers_model
from perl_lightning.rl.config import SamplingConfig
from perl_lightning.rl.masking import truncate_after_end
from perl_lightning.rl.types import ImageInputs, Rollout


def end_token_ids(tokenizer: PreTrainedTokenizerBase, model: nn.Module | None = None) -> list[int]:
    """Tokens that end a response: EOS (tokenizer and generation config) and the pad token when distinct."""
    ids: list[int] = []
    eos = end_token_id(tokenizer)
    if eos is not None:
        ids.append(eos)
    defaults = getattr(transformers_model(model), "generation_config", None) if model else None
    config_eos = getattr(defaults, "eos_token_id", None)
    for token in config_eos if isinstance(config_eos, list) else [config_eos]:
        if token is not None and token not in ids:
            ids.append(int(token))
    if tokenizer.pad_token_id is not None and tokenizer.pad_token_id not in ids:
        ids.append(tokenizer.pad_token_id)
    return ids


def cut_at_stop_strings(
    tokenizer: PreTrainedTokenizerBase,
    responses: torch.Tensor,
    response_mask: torch.Tensor,
    ended: torch.Tensor,
    stop_strings: Sequence[str],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Shorten responses to the first token whose text completes a stop string (that token is kept).

    Returns:
        Updated ``(response_mask, ended)``.
    """
    if not stop_strings:
        return response_mask, ended
    mask, ended = response_mask.clone(), ended.clone()
    for i in range(responses.shape[0]):
        n = int(mask[i].sum())
        ids = responses[i, :n].tolist()
        if not any(s in tokenizer.decode(ids) for s in stop_strings):
            continue
        lo, hi = 1, n  # smallest prefix length whose text contains a stop string
        while lo < hi:
            mid = (lo + hi) // 2
            if any(s in tokenizer.decode(ids[:mid]) for s in stop_strings):
                hi = mid
            else:
                lo = mid + 1
        mask[i, lo:] = 0
        ended[i] = True
    return mask, ended


def generation_config(
    config: SamplingConfig, end_ids: Sequence[int], pad_id: int | None, suppress: Sequence[int] = ()
) -> GenerationConfig:
    """``generate``'s settings for ``config``; ``suppress``: token ids never sampled."""
    knobs = dict(temperature=config.temperature, top_p=config.top_p, top_k=config.top_k) if config.do_sample else {}
    return GenerationConfig(max_new_tokens=config.max_new_tokens, min_new_tokens=config.min_new_tokens,
                            do_sample=config.do_sample, eos_token_id=list(end_ids), pad_token_id=pad_id,
                            use_cache=True, suppress_tokens=list(suppress) or None, **knobs)  # fmt: skip


@torch.no_grad()
def sample(
    model: nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    prompts: Sequence[str],
    config: SamplingConfig,
    end_ids: Sequence[int],
    row_ids: Sequence[str] = (),
    metadata: Sequence[dict[str, Any]] = (),
    k: int = 1,
    images: ImageInputs | None = None,
) -> Rollout:
    """Sample responses for left-padded prompts (eval mode, KV cache) and mask after the end.

    ``config.engine`` picks the sampler: the lean loop of :mod:`perl_lightning.models.decoding` (each prompt
    prefilled once for its ``k`` samples; it also records the sampled tokens' log-probs) or transformers'
    ``generate``; both make the same random draws, so on a fixed seed they give the same tokens up to rounding.

    Args:
        model: causal LM with the policy active.
        tokenizer: the policy's tokenizer (decoding, stop strings).
        input_ids: (N, P) left-padded prompts (already repeated for several samples per prompt).
        attention_mask: (N, P).
        prompts: N prompt texts.
        config: sampling settings.
        end_ids: tokens that end a response.
        row_ids: N data-row ids carried to the rollout (rewards, evaluation).
        metadata: N rows' extra fields carried to the rollout.
        k: samples per prompt (rows ``k*i .. k*i + k - 1`` repeat prompt ``i``).
        images: the rows' images, for a vision-language model; carried to the rollout.
    """
    if input_ids.shape[0] and attention_mask[:, -1].min() == 0:
        raise ValueError("prompts must be LEFT-padded for generation (PromptDataModule does this)")
    was_training = model.training
    model.eval()
    logprobs = entropy = None
    try:
        if config.engine == "lean" and can_decode(model):
            sequences, logprobs, entropy = decode(model, input_ids, attention_mask, config, end_ids,
                                                  tokenizer.pad_token_id, k, images)  # fmt: skip
        else:
            sequences = model.generate(
                input_ids=input_ids,
                attention_mask=attention_mask,
                generation_config=generation_config(config, end_ids, tokenizer.pad_token_id, suppressed_tokens(model)),
                **image_kwargs(model, input_ids, images),
            )
    finally:
        model.train(was_training)
    prompt_length = input_ids.shape[1]
    responses = sequences[:, prompt_length:]  # (N, R)
    response_mask, ended = truncate_after_end(responses, end_ids)  # (N, R), (N,)
    response_mask, ended = cut_at_stop_strings(tokenizer, responses, response_mask, ended, config.stop_strings)
    texts = [
        tokenizer.decode(row[mask.bool()].tolist(), skip_special_tokens=True)
        for row, mask in zip(responses, response_mask, strict=True)
    ]
    return Rollout(
        sequences=sequences,
        attention_mask=torch.cat([attention_mask, response_mask.to(attention_mask.dtype)], dim=1),
        response_mask=response_mask,
        ended=ended,
        prompt_length=prompt_length,
        prompts=list(prompts),
        responses=texts,
        row_ids=list(row_ids),
        metadata=list(metadata),
        logprobs=logprobs,
        entropy=entropy,
        images=images,
    )
