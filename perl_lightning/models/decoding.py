"""A lean sampling loop around the model's own forward, for rollouts: what ``generate`` does, minus its overheads.

Per response token, ``generate`` grows a dynamic KV cache by concatenation (every layer's keys and values copied at
every step), runs its whole input-preparation and stopping machinery, and computes logits through ``nn.Linear``,
which on CPU takes ~2.5x longer for a few rows than the same product taken weight-major (oneDNN picks a poor
kernel for a ``(8, 576) x (576, 49152)`` GEMM). For RL, where the ``k`` samples of a prompt share it, it also runs
every prompt ``k`` times. This loop:

* runs each distinct prompt once (prefill), then repeats its keys and values ``k`` times into a preallocated
  :class:`~transformers.StaticCache` that each step writes one column into;
* computes logits of the last position only, and on CPU runs every linear layer weight-major while decoding
  (:func:`weight_major_linears`);
* selects tokens exactly as ``generate`` does: the same logits processors in the same order
  (min-new-tokens, temperature, top-k, top-p), ``softmax`` then ``torch.multinomial`` (or ``argmax``), finished rows
  fed the pad token, stopping when every row has ended, with the same random draws. The logits equal
  ``generate``'s up to float rounding (the weight-major products, a merged adapter and the shared prefill round
  differently), so on a fixed seed the tokens are ``generate``'s (tested) except where rounding flips a near-tie,
  which low temperatures make likelier.

Models it cannot drive (encoder-decoders, models without a ``StaticCache``-compatible decoder body) use
``generate`` (``SamplingConfig.engine``).
"""

from __future__ import annotations

import types
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import NamedTuple

import torch
from torch import nn
from torch.distributed.fsdp import FSDPModule
from transformers import (
    DynamicCache,
    LogitsProcessorList,
    MinNewTokensLengthLogitsProcessor,
    StaticCache,
    SuppressTokensLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

from perl_lightning.models.backbone import position_ids_from_mask
from perl_lightning.models.forward import (
    cache_argument,
    image_kwargs,
    image_token_id,
    logit_transform,
    output_logits,
    transformers_model,
)
from perl_lightning.rl.config import SamplingConfig
from perl_lightning.rl.types import ImageInputs


class Decoded(NamedTuple):
    """What :func:`decode` sampled, and the sampler's own view of it."""

    sequences: torch.Tensor  # (N, P + T) prompts and sampled tokens
    logprobs: torch.Tensor  # (N, T) log-probs of the sampled tokens under logits / temperature (before top-k / top-p)
    entropy: torch.Tensor  # (N, T) entropy of that distribution


def suppressed_tokens(model: nn.Module) -> list[int]:
    """Tokens a policy must never sample: a vision-language model's image placeholder (a sampled one would make the
    next forward's image tokens outnumber its images)."""
    token = image_token_id(model)
    return [] if token is None else [int(token)]


def logits_processors(
    config: SamplingConfig,
    prompt_length: int,
    end_ids: Sequence[int],
    device: torch.device,
    suppress: Sequence[int] = (),
) -> LogitsProcessorList:
    """The processors ``generate`` applies for these settings, in its order (processors, then sampling warpers);
    ``suppress``: token ids never sampled (``generate``'s ``suppress_tokens``)."""
    processors = LogitsProcessorList()
    if suppress:
        processors.append(SuppressTokensLogitsProcessor(list(suppress), device=device))
    if config.min_new_tokens > 0 and end_ids:
        eos = torch.tensor(list(end_ids), device=device)
        processors.append(MinNewTokensLengthLogitsProcessor(prompt_length, config.min_new_tokens, eos, device=device))
    if config.do_sample:
        if config.temperature != 1.0:
            processors.append(TemperatureLogitsWarper(config.temperature))
        if config.top_k:
            processors.append(TopKLogitsWarper(top_k=config.top_k))
        if config.top_p < 1.0:
            processors.append(TopPLogitsWarper(top_p=config.top_p))
    return processors


#: Rows up to which a CPU ``nn.Linear`` computes weight-major while decoding (prefills of more rows use ``F.linear``).
WEIGHT_MAJOR_MAX_ROWS = 64


def _weight_major_linear(self: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    rows = x.reshape(-1, x.shape[-1])
    if rows.shape[0] > WEIGHT_MAJOR_MAX_ROWS:
        return nn.functional.linear(x, self.weight, self.bias)
    out = torch.matmul(self.weight, rows.T).T  # (rows, out)
    out = out if self.bias is None else out + self.bias
    return out.reshape(*x.shape[:-1], self.weight.shape[0])


@contextmanager
def weight_major_linears(model: nn.Module) -> Iterator[None]:
    """While decoding on CPU, every plain ``nn.Linear`` of ``model`` computes ``x W^T`` as ``(W x^T)^T`` for few rows.

    With 8 rows, SmolLM2's 211 linear layers take ~62 ms a step through ``F.linear`` and ~49 ms weight-major (same
    process, same weights); the results agree to float rounding. The instance ``forward`` is shadowed for the
    duration and removed after, so the modules are left exactly as they were. No-op off the CPU.
    """
    linears = [m for m in model.modules() if type(m) is nn.Linear and m.weight.device.type == "cpu"]
    for module in linears:
        module.forward = types.MethodType(_weight_major_linear, module)
    try:
        yield
    finally:
        for module in linears:
            del module.forward


def can_decode(model: nn.Module) -> bool:
    """Whether :func:`decode` can drive ``model``: a decoder-only causal LM with a body and an LM head, not sharded
    (under FSDP2 ``generate`` keeps the ranks stepping together and runs the root unit's hooks), without
    sliding-window attention (whose caches keep only a window; ``generate`` handles those)."""
    causal = transformers_model(model)
    config = getattr(causal, "config", None)
    if config is None or getattr(config, "is_encoder_decoder", False) or isinstance(causal, FSDPModule):
        return False
    text = config.get_text_config(decoder=True)
    if getattr(text, "sliding_window", None) and getattr(text, "use_sliding_window", True):
        return False
    body = getattr(causal, "base_model", None)
    return body is not None and body is not causal and causal.get_output_embeddings() is not None


def distinct_rows(
    input_ids: torch.Tensor, attention_mask: torch.Tensor, k: int, images: ImageInputs | None = None
) -> bool:
    """Whether rows come in contiguous runs of ``k`` identical prompts, images included (so each run can be
    prefilled once)."""
    if k <= 1 or input_ids.shape[0] % k:
        return False
    ids, mask = input_ids.view(-1, k, input_ids.shape[1]), attention_mask.view(-1, k, attention_mask.shape[1])
    same_image = True if images is None else bool((images.index.view(-1, k) == images.index.view(-1, k)[:, :1]).all())
    return bool((ids == ids[:, :1]).all() and (mask == mask[:, :1]).all()) and same_image


@torch.no_grad()
def decode(
    model: nn.Module,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    config: SamplingConfig,
    end_ids: Sequence[int],
    pad_id: int,
    k: int = 1,
    images: ImageInputs | None = None,
) -> Decoded:
    """Sample continuations of left-padded prompts, as ``generate`` would, with a static cache and shared prefill.

    Also returns, per sampled token, its log-probability and the entropy under the temperature-scaled logits (the
    distribution RL's log-probs are taken from; top-k / top-p only shape the sampling). In float32 these equal a
    separate forward pass over the sampled sequences up to float rounding (~1e-6; tested), so an RL step can use
    them as its old log-probs instead of running that pass.

    Args:
        model: causal LM (a ``PeftModel`` with the wanted adapter active, or a plain model), in eval mode.
        input_ids: (N, P) left-padded prompts; when ``k > 1`` each prompt appears in ``k`` contiguous rows.
        attention_mask: (N, P).
        config: sampling settings (``max_new_tokens``, ``min_new_tokens``, ``do_sample``, temperature, top-k/p).
        end_ids: tokens that end a response.
        pad_id: the token fed to (and written for) rows that have ended.
        k: samples per prompt; the prompt is run once per ``k`` rows when the rows are indeed repeats.
        images: the rows' images (a vision-language model): only the prefill takes them, once per distinct prompt;
            the image placeholder token is never sampled.

    Returns:
        (N, P + T) prompt and sampled tokens, ``T <= max_new_tokens`` (fewer when every row ended early), and the
        (N, T) log-probs and entropies.
    """
    causal = transformers_model(model)
    with weight_major_linears(causal):
        return _decode(causal, input_ids, attention_mask, config, end_ids, pad_id, k, images)


def _decode(
    causal: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor, config: SamplingConfig,
    end_ids: Sequence[int], pad_id: int, k: int, images: ImageInputs | None,
) -> Decoded:  # fmt: skip
    body, head = causal.base_model, causal.get_output_embeddings()
    transform = logit_transform(causal)
    n, p = input_ids.shape
    device, width = input_ids.device, p + config.max_new_tokens
    shared = distinct_rows(input_ids, attention_mask, k, images)
    first = slice(None, None, k) if shared else slice(None)
    cache_arg = cache_argument(causal)
    prefill = DynamicCache(config=causal.config)
    pixels = image_kwargs(causal, input_ids[first], images, torch.arange(n, device=device)[first])
    out = body(input_ids=input_ids[first], attention_mask=attention_mask[first],
               position_ids=position_ids_from_mask(attention_mask[first]), use_cache=True,
               cache_position=torch.arange(p, device=device), **{cache_arg: prefill}, **pixels)  # fmt: skip
    logits = output_logits(head, out.last_hidden_state[:, -1], transform)  # (N / k or N, V)
    cache = StaticCache(config=causal.config, max_cache_len=width)
    for i, layer in enumerate(prefill.layers):
        keys, values = (layer.keys, layer.values) if not shared else (
            layer.keys.repeat_interleave(k, 0), layer.values.repeat_interleave(k, 0))  # fmt: skip
        cache.update(keys, values, i, {"cache_position": torch.arange(p, device=device)})
    del prefill, out
    logits = logits.repeat_interleave(k, 0) if shared else logits  # (N, V)

    sequences = torch.full((n, width), pad_id, dtype=input_ids.dtype, device=device)
    sequences[:, :p] = input_ids
    mask = torch.zeros((n, width), dtype=attention_mask.dtype, device=device)
    mask[:, :p] = attention_mask
    positions = attention_mask.long().sum(-1, keepdim=True)  # (N, 1): the next token's position
    processors = logits_processors(config, p, end_ids, device, suppressed_tokens(causal))
    # SDPA takes a boolean (N, 1, 1, W) mask as it is; building it here skips transformers' mask construction
    sdpa = getattr(causal.config, "_attn_implementation", None) == "sdpa"
    ends = torch.tensor(list(end_ids), device=device)
    unfinished = torch.ones(n, dtype=torch.long, device=device)
    logprobs = torch.zeros((n, config.max_new_tokens), device=device)
    entropy = torch.zeros((n, config.max_new_tokens), device=device)
    t = 0
    while True:
        scaled = logits / config.temperature if config.temperature != 1.0 else logits
        scores = processors(sequences[:, : p + t], logits)
        if config.do_sample:
            tokens = torch.multinomial(torch.softmax(scores, dim=-1), num_samples=1).squeeze(1)
        else:
            tokens = torch.argmax(scores, dim=-1)
        tokens = tokens * unfinished + pad_id * (1 - unfinished)
        logp = torch.log_softmax(scaled, dim=-1)  # (N, V)
        logprobs[:, t] = logp.gather(-1, tokens[:, None]).squeeze(-1)
        entropy[:, t] = -(logp.exp() * logp).sum(-1)
        sequences[:, p + t] = tokens
        mask[:, p + t] = 1
        unfinished = unfinished & ~torch.isin(tokens, ends)
        t += 1
        if t == config.max_new_tokens or not bool(unfinished.any()):
            break
        step_mask = mask[:, None, None, :].bool() if sdpa else mask  # (N, 1, 1, W): what the one query may see
        out = body(input_ids=tokens[:, None], attention_mask=step_mask, position_ids=positions + (t - 1),
                   use_cache=True, cache_position=torch.tensor([p + t - 1], device=device),
                   **{cache_arg: cache})  # fmt: skip
        logits = output_logits(head, out.last_hidden_state[:, -1], transform)
    return Decoded(sequences[:, : p + t], logprobs[:, :t], entropy[:, :t])
