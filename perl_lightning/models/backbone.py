"""Load a base model and its tokenizer for a role, by hub id, local path, embedded name or tiny test name."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Literal

import torch
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    LlamaConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from perl_lightning.models.embedded import EMBEDDED_MODELS, SMOLLM2, embedded_path, is_embedded

Role = Literal["causal-lm", "sequence-classification"]
ROLES: tuple[str, ...] = ("causal-lm", "sequence-classification")

#: Tiny randomly initialised models for unit tests: a real tokenizer (SmolLM2's), a small seeded random network.
TINY_MODELS: dict[str, dict] = {
    "tiny-llama": dict(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        tie_word_embeddings=True,
        rms_norm_eps=1e-5,
    ),
}

#: Parameter-name prefixes of the scalar heads a reward model adds to a language model (new by design, so missing
#: from a causal-LM checkpoint): Llama-style ``score``, BERT-style ``classifier``.
HEAD_PREFIXES: tuple[str, ...] = ("score.", "classifier.")


def resolve_dtype(dtype: str | torch.dtype = "auto") -> torch.dtype:
    """``"auto"``: bf16 when CUDA with bf16 support is present, else fp32. Also accepts names like ``"bf16"``."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype == "auto":
        return torch.bfloat16 if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else torch.float32
    names = {
        "fp32": torch.float32,
        "float32": torch.float32,
        "bf16": torch.bfloat16,
        "bfloat16": torch.bfloat16,
        "fp16": torch.float16,
        "float16": torch.float16,
    }
    if dtype not in names:
        raise ValueError(f"unknown dtype '{dtype}'; use one of auto, {', '.join(names)}")
    return names[dtype]


def resolve_model_path(name_or_path: str) -> str:
    """Map an embedded name to its local directory; return anything else unchanged."""
    if is_embedded(name_or_path):
        return str(embedded_path(name_or_path))
    return name_or_path


def _load_error(name: str, err: Exception) -> OSError:
    offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False")
    return OSError(
        f"could not load model '{name}'. Tried: a local directory (none at '{Path(name).expanduser()}'), "
        f"the embedded names {sorted(EMBEDDED_MODELS)}, the tiny test names {sorted(TINY_MODELS)}, and the "
        f"Hugging Face hub / local cache{' (HF_HUB_OFFLINE=1: cache only)' if offline else ''}. Last error: {err}"
    )


def load_tokenizer(name_or_path: str, trust_remote_code: bool = False) -> PreTrainedTokenizerBase:
    """Load a tokenizer and make sure it has a pad token distinct from EOS where the vocabulary allows."""
    source = SMOLLM2 if name_or_path in TINY_MODELS else name_or_path
    try:
        tokenizer = AutoTokenizer.from_pretrained(resolve_model_path(source), trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as err:
        raise _load_error(name_or_path, err) from err
    if tokenizer.pad_token_id is None or tokenizer.pad_token_id == tokenizer.eos_token_id:
        for candidate in ("<|endoftext|>", tokenizer.unk_token):
            if candidate and candidate in tokenizer.get_vocab() and candidate != tokenizer.eos_token:
                tokenizer.pad_token = candidate
                break
        else:
            if tokenizer.pad_token_id is None:
                tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def _tiny_model(name: str, role: str, tokenizer: PreTrainedTokenizerBase, num_labels: int) -> PreTrainedModel:
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.bos_token_id,
        num_labels=num_labels,
        **TINY_MODELS[name],
    )
    cls = AutoModelForCausalLM if role == "causal-lm" else AutoModelForSequenceClassification
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # the same tiny network every time: tests compare loads
        model = cls.from_config(config, dtype=torch.float32)
    model.config.name_or_path = name
    return model


def load_backbone(
    name_or_path: str,
    role: Role = "causal-lm",
    dtype: str | torch.dtype = "auto",
    device: str | torch.device | None = None,
    tokenizer: PreTrainedTokenizerBase | None = None,
    num_labels: int = 1,
    trust_remote_code: bool = False,
) -> PreTrainedModel:
    """Load a base model for ``role`` through the real ``from_pretrained``.

    Args:
        name_or_path: hub id, local directory, embedded name (``smollm2-135m-instruct``, ``minilm-l6``) or tiny
            test name (``tiny-llama``).
        role: ``"causal-lm"`` (policy, reference) or ``"sequence-classification"`` (reward model, scalar head).
        dtype: ``"auto"`` (bf16 with CUDA, else fp32), ``"fp32"``, ``"bf16"`` or ``"fp16"``.
        device: where to put the model; ``None`` leaves it on CPU (Lightning moves it).
        tokenizer: used to align the model's pad token id; loaded when not given.
        num_labels: outputs of the classification head.
        trust_remote_code: passed to transformers; off unless the user sets it.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role '{role}'; use one of {ROLES}")
    tokenizer = tokenizer or load_tokenizer(name_or_path, trust_remote_code)
    if name_or_path in TINY_MODELS:
        model = _tiny_model(name_or_path, role, tokenizer, num_labels)
        model = model.to(resolve_dtype(dtype))
    else:
        path = resolve_model_path(name_or_path)
        kwargs: dict = dict(dtype=resolve_dtype(dtype), trust_remote_code=trust_remote_code)
        try:
            if role == "causal-lm":
                model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
            else:
                config = AutoConfig.from_pretrained(path, num_labels=num_labels, trust_remote_code=trust_remote_code)
                config.pad_token_id = tokenizer.pad_token_id
                model = _load_with_new_head(path, config, kwargs)
        except (OSError, ValueError) as err:
            raise _load_error(name_or_path, err) from err
    model.config.pad_token_id = tokenizer.pad_token_id
    if getattr(model, "generation_config", None) is not None and role == "causal-lm":
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    if device is not None:
        model = model.to(device)
    return model


def _load_with_new_head(path: str, config: AutoConfig, kwargs: dict) -> PreTrainedModel:
    """``AutoModelForSequenceClassification.from_pretrained`` of a language-model checkpoint. Its scalar head is not
    in the checkpoint by design (initialised here), so transformers' load report, which would list it as MISSING,
    is held back; a warning names any other weight left at its random initialisation or reshaped."""
    log = logging.getLogger("transformers.modeling_utils")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        model, info = AutoModelForSequenceClassification.from_pretrained(
            path, config=config, output_loading_info=True, **kwargs
        )
    finally:
        log.setLevel(level)
    missing = [k for k in info.get("missing_keys", ()) if not k.startswith(HEAD_PREFIXES)]
    mismatched = [str(k) for k in info.get("mismatched_keys", ())]
    if missing or mismatched:
        warnings.warn(f"{path}: weights initialised at random (not in the checkpoint, or of another shape): "
                      f"{', '.join(missing + mismatched)}", stacklevel=3)  # fmt: skip
    return model


def position_ids_from_mask(attention_mask: torch.Tensor) -> torch.Tensor:
    """Positions that count only real tokens, so left-padded rows see the same positions as unpadded ones.

    Args:
        attention_mask: (B, T) ones for tokens, zeros for padding.

    Returns:
        (B, T) long tensor; padding positions are clamped to 0.
    """
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


def end_token_id(tokenizer: PreTrainedTokenizerBase) -> int | None:
    """Token closing a response: EOS for decoders (``<|im_end|>`` for chat models), SEP for BERT-style encoders."""
    return tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.sep_token_id
