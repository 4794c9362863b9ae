"""``perl export``: turn a trained adapter directory into something a serving stack loads.

Two modes:

* ``merged``: load the adapter's base model for its role (``causal-lm`` for a policy, ``sequence-classification``
  with the score head for a reward model), fold the LoRA update into the base weights with peft's
  ``merge_and_unload`` and save a standalone model (safetensors), tokenizer, chat template and generation config.
  Plain ``AutoModelForCausalLM.from_pretrained(out)`` / ``AutoModelForSequenceClassification.from_pretrained(out)``
  loads it without peft and gives the same logits / rewards as base + adapter.
* ``adapter``: a clean adapter-only directory (``adapter_model.safetensors``, ``adapter_config.json``, heads,
  tokenizer), e.g. the policy out of an RL output directory that holds ``policy/`` and ``value/``.

A fully fine-tuned (non-peft) save is re-saved as is by ``merged`` (optionally in another dtype); ``adapter`` refuses
it. Every export is written atomically: ``out`` is either the previous complete directory or the new one.

Examples::

    perl export --adapter runs/rl/rl_adapters --out exported/policy            # merged policy
    perl export --adapter runs/rm/reward_adapter --out exported/rm --dtype bf16
    perl export --adapter runs/rl/rl_adapters/policy --out exported/policy_lora --mode adapter
"""

from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from peft import PeftModel
from safetensors.torch import load_file, save_file
from transformers import (
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PreTrainedTokenizerBase,
)

from perl_lightning.io import atomic_directory
from perl_lightning.models.artifacts import META_FILE, adapter_base_model, is_peft_dir
from perl_lightning.models.backbone import Role, load_backbone, load_tokenizer, resolve_dtype
from perl_lightning.models.vlm import is_vlm, load_vlm, load_vlm_processor

Mode = Literal["merged", "adapter"]
MODES: tuple[str, ...] = ("merged", "adapter")
DTYPES: tuple[str, ...] = ("fp32", "bf16", "fp16")
#: Sub-directory picked from an RL output directory (``PolicyModule.save_adapters`` writes policy/ and value/).
POLICY_SUBDIR = "policy"


@dataclass
class ExportSource:
    """What an input directory holds.

    Attributes:
        path: the directory holding the adapter (or the full model), after picking ``policy/`` from an RL output.
        peft: whether it is a peft adapter (else a fully fine-tuned ``save_pretrained`` model).
        role: ``causal-lm`` or ``sequence-classification``.
        base_model: the base the adapter was trained on (``perl_lightning.json`` ``model``, else peft's
            ``base_model_name_or_path``); the directory itself for a full model.
        meta: ``perl_lightning.json`` as a dict (empty when absent).
    """

    path: Path
    peft: bool
    role: Role
    base_model: str
    meta: dict


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: unreadable JSON ({err})") from err


def _role(path: Path, peft: bool, meta: dict) -> Role:
    if meta.get("role") in ("causal-lm", "sequence-classification"):
        return meta["role"]
    if peft:
        task = str(_read_json(path / "adapter_config.json").get("task_type") or "").upper()
        return "sequence-classification" if task == "SEQ_CLS" else "causal-lm"
    architectures = _read_json(path / "config.json").get("architectures") or []
    return "sequence-classification" if any("SequenceClassification" in a for a in architectures) else "causal-lm"


def inspect_source(path: str | Path) -> ExportSource:
    """Find what ``path`` holds: a peft adapter, an RL output directory (its ``policy/``) or a full model.

    Raises:
        FileNotFoundError: when ``path`` does not exist or holds neither an adapter nor a model.
    """
    root = Path(path).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"--adapter {root}: no such directory")
    src = root
    if not is_peft_dir(src) and not (src / "config.json").is_file() and (src / POLICY_SUBDIR).is_dir():
        src = src / POLICY_SUBDIR  # an RL output directory: policy/ (and value/)
    peft = is_peft_dir(src)
    if not peft and not (src / "config.json").is_file():
        raise FileNotFoundError(
            f"--adapter {root}: not an adapter directory (no adapter_config.json), not a saved model (no config.json)"
            f" and no '{POLICY_SUBDIR}/' sub-directory of an RL run"
        )
    meta = _read_json(src / META_FILE) if (src / META_FILE).is_file() else {}
    base = adapter_base_model(src) if peft else str(src)
    return ExportSource(path=src, peft=peft, role=_role(src, peft, meta), base_model=base, meta=meta)


def _tokenizer(source: ExportSource) -> PreTrainedTokenizerBase:
    """The adapter's own tokenizer (it carries the training pad token), else the base's; with a chat template."""
    if (source.path / "tokenizer_config.json").is_file():
        tokenizer = AutoTokenizer.from_pretrained(source.path)
    else:
        tokenizer = load_tokenizer(source.base_model)
    if not getattr(tokenizer, "chat_template", None) and source.peft:
        try:
            tokenizer.chat_template = load_tokenizer(source.base_model).chat_template
        except OSError:
            pass  # no base tokenizer reachable: export without a chat template
    return tokenizer


def _auto_class(role: Role) -> type:
    return AutoModelForCausalLM if role == "causal-lm" else AutoModelForSequenceClassification


def merged_model(source: ExportSource, dtype: str = "fp32") -> torch.nn.Module:
    """Base + adapter folded into one plain transformers model (merged in fp32, then cast to ``dtype``)."""
    target = resolve_dtype(dtype)
    if not source.peft:
        model = _auto_class(source.role).from_pretrained(source.path, dtype=torch.float32)
    elif is_vlm(source.base_model):
        if source.role != "causal-lm":
            raise ValueError(f"--adapter {source.path}: a VLM reward model (its score head is this project's, not a "
                             "transformers class) exports with --mode adapter only")  # fmt: skip
        base, _ = load_vlm(source.base_model, dtype="fp32")  # LoRA folded into the LM, a trained projector copied
        model = PeftModel.from_pretrained(base, str(source.path)).merge_and_unload()
    else:
        tokenizer = _tokenizer(source)
        base = load_backbone(source.base_model, source.role, dtype="fp32", tokenizer=tokenizer, num_labels=1)
        peft_model = PeftModel.from_pretrained(base, str(source.path))
        model = peft_model.merge_and_unload()
    model = model.to(target).eval()
    model.config.name_or_path = source.base_model
    return model


def _write_tokenizer_and_generation(model: torch.nn.Module, tokenizer: PreTrainedTokenizerBase, out: Path) -> None:
    model.config.pad_token_id = tokenizer.pad_token_id
    generation = getattr(model, "generation_config", None)
    if generation is not None and model.can_generate():
        generation.pad_token_id = tokenizer.pad_token_id
        if generation.eos_token_id is None:
            generation.eos_token_id = tokenizer.eos_token_id
    tokenizer.save_pretrained(out)


def export_merged(source: ExportSource, out: Path, dtype: str = "fp32") -> Path:
    """Write the merged model, tokenizer, chat template and generation config to ``out`` atomically (a VLM's whole
    processor too: ``AutoModelForImageTextToText`` + ``AutoProcessor`` reload it)."""
    model = merged_model(source, dtype)
    processor = load_vlm_processor(source.base_model) if is_vlm(source.base_model) else None
    tokenizer = processor.tokenizer if processor is not None else _tokenizer(source)
    with atomic_directory(out) as tmp:
        _write_tokenizer_and_generation(model, tokenizer, tmp)
        if processor is not None:
            processor.save_pretrained(tmp)
        model.save_pretrained(tmp, safe_serialization=True)
        meta = {"export": "merged", "source": str(source.path), "base_model": source.base_model,
                "role": source.role, "dtype": dtype, "peft": False, "source_meta": source.meta}  # fmt: skip
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2))
    return out


def export_adapter(source: ExportSource, out: Path, dtype: str = "fp32") -> Path:
    """Copy an adapter directory (adapter weights, config, heads, tokenizer) to ``out`` atomically.

    Floating-point tensors of every ``*.safetensors`` file (the adapter and heads such as ``value_head``) are cast to
    ``dtype``; everything else is copied byte for byte.

    Raises:
        ValueError: when the source is a fully fine-tuned model (there is no adapter to export).
    """
    if not source.peft:
        raise ValueError(
            f"--adapter {source.path}: a fully fine-tuned model (config.json, no adapter_config.json): there is no "
            f"adapter to export; use --mode merged"
        )
    weights = source.path / "adapter_model.safetensors"
    if not weights.is_file():
        raise FileNotFoundError(f"--adapter {source.path}: adapter_model.safetensors is missing")
    target = resolve_dtype(dtype)
    with atomic_directory(out) as tmp:
        for file in sorted(source.path.iterdir()):
            if not file.is_file():
                continue
            if file.suffix == ".safetensors":
                state = {k: v.to(target) if v.is_floating_point() else v for k, v in load_file(str(file)).items()}
                save_file(
                    {k: v.contiguous() for k, v in state.items()}, str(tmp / file.name), metadata={"format": "pt"}
                )
            else:
                shutil.copy2(file, tmp / file.name)
        if not (tmp / "tokenizer_config.json").is_file():
            _tokenizer(source).save_pretrained(tmp)
    return out


def export(adapter: str | Path, out: str | Path, mode: Mode = "merged", dtype: str = "fp32") -> Path:
    """Export ``adapter`` (an adapter directory, an RL output directory or a full model) to ``out``.

    Args:
        adapter: the trained directory: a reward adapter (``RewardModelModule.save_adapters``), a policy adapter, an
            RL output directory (its ``policy/`` is taken) or a fully fine-tuned ``save_pretrained`` directory.
        out: the directory to write (replaced atomically if it exists).
        mode: ``merged`` (standalone model without peft) or ``adapter`` (adapter-only directory).
        dtype: ``fp32``, ``bf16`` or ``fp16`` for the written weights.

    Returns:
        ``out`` as a ``Path``.
    """
    if mode not in MODES:
        raise ValueError(f"--mode {mode}: use one of {MODES}")
    if dtype not in DTYPES:
        raise ValueError(f"--dtype {dtype}: use one of {DTYPES}")
    source = inspect_source(adapter)
    out = Path(out).expanduser()
    resolved_out, resolved_src = out.resolve(), source.path.resolve()
    if resolved_out == resolved_src or resolved_src in resolved_out.parents or resolved_out in resolved_src.parents:
        raise ValueError(f"--out {out} overlaps the input {source.path}: choose another directory")
    if mode == "merged":
        if source.meta.get("stage") == "rl_value":
            raise ValueError(
                f"--adapter {source.path}: a value adapter (stage rl_value) merged into the base is no servable model; "
                "export the policy, or use --mode adapter to keep the value adapter with its head"
            )
        return export_merged(source, out, dtype)
    return export_adapter(source, out, dtype)


def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``perl export``."""
    parser = argparse.ArgumentParser(
        prog="perl export",
        description="Export a trained adapter for serving: a merged standalone model (no peft needed) or a clean "
        "adapter-only directory.",
    )
    parser.add_argument(
        "--adapter",
        required=True,
        help="trained directory: a reward or policy adapter, an RL output directory (its policy/ is used) or a "
        "fully fine-tuned model",
    )
    parser.add_argument("--out", required=True, help="directory to write (replaced atomically if it exists)")
    parser.add_argument(
        "--mode",
        choices=MODES,
        default="merged",
        help="merged: base + LoRA folded into one plain transformers model; adapter: adapter weights, config, "
        "heads and tokenizer only (default: merged)",
    )
    parser.add_argument("--dtype", choices=DTYPES, default="fp32", help="dtype of the written weights (default: fp32)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``perl export``."""
    args = build_parser().parse_args(argv)
    out = export(args.adapter, args.out, args.mode, args.dtype)
    source = inspect_source(args.adapter)
    kind = "merged model" if args.mode == "merged" else "adapter"
    print(f"exported {kind} ({source.role}, {args.dtype}) from {source.path} to {out}")
    return 0


__all__ = ["ExportSource", "export", "export_adapter", "export_merged", "inspect_source", "main", "merged_model"]
