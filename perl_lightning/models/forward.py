"""Forward passes of a causal LM for RL: hidden states, response log-probs and entropy, per-token values.

Shapes: ``N`` sequences, ``P`` prompt tokens (left-padded), ``R`` response tokens (right-padded); sequences are
``(N, P + R)`` and response token ``t`` is predicted by the logits at column ``P + t - 1``.
"""

from __future__ import annotations

import inspect

import torch
from peft import PeftModel
from torch import nn
from torch.utils.checkpoint import checkpoint
from transformers import PreTrainedModel

from perl_lightning.models.backbone import position_ids_from_mask
from perl_lightning.rl.losses import entropy_from_logits
from perl_lightning.rl.masking import trim_left_padding
from perl_lightning.rl.types import ImageInputs


def transformers_model(model: nn.Module) -> PreTrainedModel:
    """The transformers model inside a ``PeftModel`` (or the model itself)."""
    return model.get_base_model() if isinstance(model, PeftModel) else model


def cache_argument(model: nn.Module) -> str:
    """The keyword a transformers model's forward takes its KV cache by: ``cache`` (transformers >= 5.24, where
    ``past_key_values`` is deprecated) or ``past_key_values`` (older releases)."""
    return "cache" if "cache" in inspect.signature(transformers_model(model).forward).parameters else "past_key_values"


def output_cache(out: object) -> object:
    """The KV cache a forward returned (``out.cache``, or ``out.past_key_values`` before transformers 5.24)."""
    cache = getattr(out, "cache", None)
    return cache if cache is not None else out.past_key_values


def image_token_id(model: nn.Module) -> int | None:
    """The id of a vision-language model's image placeholder token (``None`` for a text-only model)."""
    config = transformers_model(model).config
    value = getattr(config, "image_token_id", None)
    return value if value is not None else getattr(config, "image_token_index", None)


def image_kwargs(
    model: nn.Module, input_ids: torch.Tensor, images: ImageInputs | None, rows: torch.Tensor | None = None
) -> dict[str, torch.Tensor]:
    """The image tensors a vision-language model's forward takes for the given rows (all when ``None``); nothing for
    text-only batches.

    Raises:
        ValueError: ``input_ids`` hold image tokens but no ``images`` came with them. Llava / Idefics3 forwards would
            then embed the placeholders as text and answer blind to the image, without an error of their own.
    """
    if images is None:
        token = image_token_id(model)
        if token is not None and bool((input_ids == token).any()):
            raise ValueError("the sequences hold image tokens but no images were passed: a vision-language model "
                             "would run blind to the image (pass the batch's ImageInputs)")  # fmt: skip
        return {}
    return images.rows(rows)


def last_hidden_state(
    model: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor, images: ImageInputs | None = None
) -> torch.Tensor:
    """The decoder body's final (normed) hidden states (N, T, H), as a ``*ForSequenceClassification`` head sees them.

    Skips the LM head, so no (N, T, vocab) logits are built for value and reward passes. A vision-language model
    gets the rows' ``images`` (its image tokens are in ``input_ids``).
    """
    body = transformers_model(model).base_model  # e.g. LlamaModel, or LlavaModel for a VLM
    out = body(
        input_ids=input_ids,
        attention_mask=attention_mask,
        position_ids=position_ids_from_mask(attention_mask),
        use_cache=False,
        **image_kwargs(model, input_ids, images),
    )
    return out.last_hidden_state  # (N, T, H)


def response_hidden_states(
    model: nn.Module,
    sequences: torch.Tensor,
    attention_mask: torch.Tensor,
    prompt_length: int,
    images: ImageInputs | None = None,
) -> torch.Tensor:
    """Final hidden states (N, R, H) at the positions that predict the response tokens (``P - 1 .. P + R - 2``).

    Rows that share their prompt (the ``k`` samples of a prompt in GRPO / RLOO, or several episodes from one first
    observation) run it once: the distinct prompts go through the decoder, their key/value cache is indexed out to
    every row, and only the response columns run per row. With UI screens (~400 prompt tokens, ~10 response
    tokens) and 4 samples per prompt this is ~3.5x fewer token passes. Gradients flow through the cache, so the
    outputs and gradients equal one full forward up to float rounding (tested). Falls back to the full forward when
    no prompt repeats, for encoders, and under activation checkpointing in training (which disables the cache).

    With ``images`` (a vision-language model), a prompt is its tokens *and* its image: two rows asking the same
    question of different images are different prompts. The shared pass encodes each distinct prompt's image once;
    the response columns need no image.
    """
    body = transformers_model(model).base_model
    n = sequences.shape[0]
    prompts = sequences[:, :prompt_length].masked_fill(attention_mask[:, :prompt_length] == 0, -1)
    if images is not None:  # the image entry is part of the prompt
        prompts = torch.cat([prompts, images.index.to(prompts.device).unsqueeze(1)], dim=1)
    unique, inverse = torch.unique(prompts, dim=0, return_inverse=True)
    checkpointed = body.training and any(getattr(m, "gradient_checkpointing", False) for m in body.modules())
    causal = not getattr(transformers_model(model).config, "is_encoder_decoder", False)
    if unique.shape[0] == n or prompt_length == 0 or sequences.shape[1] == prompt_length or checkpointed or not causal:
        return last_hidden_state(model, sequences, attention_mask, images)[:, prompt_length - 1 : -1]
    rows = torch.arange(n, device=sequences.device)
    first = torch.full((unique.shape[0],), n, device=sequences.device).scatter_reduce(0, inverse, rows, "amin")
    prompt_mask = attention_mask[first, :prompt_length]
    out = body(input_ids=sequences[first, :prompt_length], attention_mask=prompt_mask,
               position_ids=position_ids_from_mask(prompt_mask), use_cache=True,
               **image_kwargs(model, sequences[first, :prompt_length], images, first))  # fmt: skip
    cache = output_cache(out)
    cache.batch_select_indices(inverse)  # differentiable: indexing the prompts' keys and values out to every row
    cont = body(input_ids=sequences[:, prompt_length:], attention_mask=attention_mask,
                position_ids=position_ids_from_mask(attention_mask)[:, prompt_length:], use_cache=True,
                **{cache_argument(body): cache})  # fmt: skip
    return torch.cat([out.last_hidden_state[inverse, -1:], cont.last_hidden_state[:, :-1]], dim=1)


#: Most logits (rows x positions x vocabulary) alive at once in :func:`response_logprobs` (32 MiB in float32).
LOGIT_CHUNK_ELEMENTS = 2**23


LogitTransform = tuple[float, float | None]  # (multiplier, soft cap)


def output_logits(head: nn.Module, hidden: torch.Tensor, transform: LogitTransform = (1.0, None)) -> torch.Tensor:
    """float32 logits (..., V) of hidden states (..., H) through the LM head, scaled and soft-capped as the model
    does in its own forward."""
    scale, softcap = transform
    logits = head(hidden).float()
    logits = logits if scale == 1.0 else logits * scale
    return logits if not softcap else torch.tanh(logits / softcap) * softcap


def logit_transform(model: nn.Module) -> LogitTransform:
    """What the architecture's causal-LM forward does to the LM head's output: a scale (Cohere's ``logit_scale``,
    Granite's ``1 / logits_scaling``) and a final soft cap (Gemma 2/3)."""
    config = transformers_model(model).config.get_text_config(decoder=True)
    scale = float(getattr(config, "logit_scale", None) or 1.0) / float(getattr(config, "logits_scaling", None) or 1.0)
    return scale, getattr(config, "final_logit_softcapping", None)


def _chunk_logprobs(
    head: nn.Module, hidden: torch.Tensor, targets: torch.Tensor, temperature: float, transform: LogitTransform,
    with_entropy: bool,
) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    logits = output_logits(head, hidden, transform) / temperature  # (n, R, V): only this chunk's
    logprobs = logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(logits, dim=-1)  # (n, R)
    entropy = entropy_from_logits(logits) if with_entropy else logprobs.new_zeros((0,))
    return logprobs, entropy


def response_logprobs(
    model: nn.Module,
    sequences: torch.Tensor,
    attention_mask: torch.Tensor,
    prompt_length: int,
    temperature: float = 1.0,
    with_entropy: bool = False,
    entropy_grad: bool = True,
    chunk_elements: int = LOGIT_CHUNK_ELEMENTS,
    images: ImageInputs | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Log-probabilities of the response tokens (logits / temperature, as when sampling) and optionally entropy.

    Left-padding columns that every row has are skipped (:func:`~perl_lightning.rl.masking.trim_left_padding`).
    The decoder body runs once; the LM head then runs on the response positions only, a few rows at a time
    (``chunk_elements`` logits at most), and with gradients each chunk is checkpointed: its logits are recomputed
    in the backward pass instead of kept. So no (N, R, vocab) float32 tensor is ever whole (for SmolLM2, 8 x 48
    response tokens: 77 MB of logits, plus as much again for the log-softmax and for each of their gradients),
    at the cost of one more LM-head product per response token in the backward pass. Logit scaling and
    soft-capping are applied as the model's own forward does (:func:`logit_transform`).

    Args:
        model: causal LM (a ``PeftModel`` with the wanted adapter active, or a plain model).
        sequences: (N, P + R) prompt and response ids.
        attention_mask: (N, P + R).
        prompt_length: P.
        temperature: the sampling temperature.
        with_entropy: also return the per-token entropy.
        entropy_grad: whether the entropy carries gradients (an entropy bonus) or is only a metric (no graph kept).
        chunk_elements: most logits computed at once.
        images: the rows' images, for a vision-language model (see :class:`~perl_lightning.rl.types.ImageInputs`).

    Returns:
        ``(logprobs, entropy)``: (N, R) float32 each; ``entropy`` is ``None`` unless asked for.
    """
    causal = transformers_model(model)
    sequences, attention_mask, prompt_length = trim_left_padding(sequences, attention_mask, prompt_length)
    hidden = response_hidden_states(model, sequences, attention_mask, prompt_length, images)  # (N, R, H)
    targets = sequences[:, prompt_length:]  # (N, R)
    head, transform = causal.get_output_embeddings(), logit_transform(model)
    n, width = targets.shape
    vocab = getattr(head, "out_features", None) or causal.config.get_text_config(decoder=True).vocab_size
    rows = max(1, chunk_elements // max(width * vocab, 1))
    grad = torch.is_grad_enabled()
    logprobs, entropies = [], []
    for s in in_chunks(n, rows):
        args = (head, hidden[s], targets[s], temperature, transform, with_entropy)
        lp, ent = checkpoint(_chunk_logprobs, *args, use_reentrant=False) if grad else _chunk_logprobs(*args)
        logprobs.append(lp)
        entropies.append(ent if entropy_grad else ent.detach())
    return torch.cat(logprobs), torch.cat(entropies) if with_entropy else None


def response_values(
    model: nn.Module,
    head: nn.Module,
    sequences: torch.Tensor,
    attention_mask: torch.Tensor,
    prompt_length: int,
    images: ImageInputs | None = None,
) -> torch.Tensor:
    """Values V(s_t) (N, R) of the states before each response token: the head on the hidden state at ``P + t - 1``."""
    sequences, attention_mask, prompt_length = trim_left_padding(sequences, attention_mask, prompt_length)
    return head(response_hidden_states(model, sequences, attention_mask, prompt_length, images))  # (N, R)


def in_chunks(n: int, size: int | None) -> list[slice]:
    """Row slices covering ``range(n)`` in pieces of at most ``size`` (all at once for ``None``)."""
    size = n if not size else size
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]
