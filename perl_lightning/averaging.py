"""WARM: weight-averaged reward models (Ramé et al. 2024, "WARM: On the Benefits of Weight Averaged Reward Models").

``average_adapters`` averages N peft adapter directories fine-tuned from the same base (reward adapters written by
``RewardModelModule.save_adapters``, or policy / value adapters written by ``PolicyModule.save_adapters``) into one
adapter directory with the same layout, so everything that reads a single adapter (``PolicyModule``'s
``reward_adapter``, plain ``transformers`` + ``peft``) reads the average.

What is averaged: every tensor of ``adapter_model.safetensors`` (LoRA ``A`` and ``B`` matrices, the score head and
any other ``modules_to_save``) and of the extra head file named in ``perl_lightning.json`` (``value_head.safetensors``),
tensor by tensor: ``sum_i w_i * T_i``.

Note on LoRA: averaging ``A`` and ``B`` separately is what WARM / model soups on LoRA do in practice, but the
weight update of the average, ``mean(B) @ mean(A)``, is *not* the average of the members' updates
``mean(B @ A)`` (the cross terms ``B_i @ A_j`` enter). The two agree when the members stay close to a shared
initialisation, which is also WARM's premise (linear mode connectivity): train the members from the same LoRA
initialisation (same seed at construction) and vary the data order or hyper-parameters. Members started from
different random ``A`` matrices average to a weaker adapter.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from perl_lightning.io import atomic_directory
from perl_lightning.models.artifacts import META_FILE

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
#: ``adapter_config.json`` fields that may differ between members (bookkeeping, not the adapter's shape).
CONFIG_FIELDS_IGNORED = frozenset({"peft_version", "inference_mode", "revision"})
#: ``perl_lightning.json`` fields every member must share.
META_FIELDS_CHECKED = ("model", "role", "stage", "lora", "pad_token_id", "peft", "head_file")
#: Files of a member that are written anew (not copied from the first member).
NOT_COPIED = frozenset({ADAPTER_CONFIG, ADAPTER_WEIGHTS, META_FILE, "README.md"})


def _normalise(value: Any) -> Any:
    """Lists of names compare as sets (peft writes ``target_modules`` from a set, in no fixed order)."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return sorted(set(value))
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    return value


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from err


def _check_same(field: str, a: Any, b: Any, path_a: Path, path_b: Path) -> None:
    if _normalise(a) != _normalise(b):
        raise ValueError(
            f"cannot average adapters that differ in {field}: {a!r} in {path_a} but {b!r} in {path_b} "
            "(WARM needs adapters fine-tuned from the same base with the same LoRA configuration)"
        )


def normalise_weights(weights: Sequence[float] | None, n: int) -> list[float]:
    """Weights that sum to one: uniform when ``None``; else ``n`` finite values >= 0, not all zero."""
    if weights is None:
        return [1.0 / n] * n
    weights = [float(w) for w in weights]
    if len(weights) != n:
        raise ValueError(f"{len(weights)} weights for {n} adapters: give one weight per adapter")
    if any(not math.isfinite(w) or w < 0 for w in weights):
        raise ValueError(f"weights must be finite and >= 0, got {weights}")
    total = sum(weights)
    if total <= 0:
        raise ValueError(f"weights sum to {total}: at least one must be positive")
    return [w / total for w in weights]


def _tensor_files(path: Path, meta: dict[str, Any]) -> list[str]:
    files = [ADAPTER_WEIGHTS]
    head_file = meta.get("head_file")
    if head_file:
        files.append(str(head_file))
    return files


def _load_member(path: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, dict[str, torch.Tensor]]]:
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: adapter directory not found")
    if not (path / ADAPTER_CONFIG).is_file():
        raise ValueError(f"{path}: not a peft adapter directory (no {ADAPTER_CONFIG}); WARM here averages adapters")
    config = _read_json(path / ADAPTER_CONFIG)
    meta = _read_json(path / META_FILE) if (path / META_FILE).is_file() else {}
    tensors = {}
    for name in _tensor_files(path, meta):
        if not (path / name).is_file():
            raise FileNotFoundError(f"{path}: {name} is missing")
        tensors[name] = load_file(str(path / name))
    return config, meta, tensors


def _check_compatible(path0: Path, member0: tuple, path: Path, member: tuple) -> None:
    """Raise ``ValueError`` naming the field and both paths when ``member`` cannot be averaged with ``member0``."""
    (config0, meta0, tensors0), (config, meta, tensors) = member0, member
    _check_same("base model (perl_lightning.json 'model')", meta0.get("model"), meta.get("model"), path0, path)
    base_key = "base_model_name_or_path"
    _check_same(f"base model (adapter_config.json '{base_key}')", config0.get(base_key), config.get(base_key),
                path0, path)  # fmt: skip
    for key in sorted((set(config0) | set(config)) - CONFIG_FIELDS_IGNORED - {base_key}):
        _check_same(f"adapter_config.json '{key}'", config0.get(key), config.get(key), path0, path)
    for key in META_FIELDS_CHECKED[1:]:
        _check_same(f"perl_lightning.json '{key}'", meta0.get(key), meta.get(key), path0, path)
    for file, state0 in tensors0.items():
        state = tensors[file]
        missing, extra = sorted(set(state0) - set(state)), sorted(set(state) - set(state0))
        if missing or extra:
            raise ValueError(
                f"cannot average adapters that differ in tensor names of {file}: {path0} has {missing[:3]} that "
                f"{path} lacks, {path} has {extra[:3]} that {path0} lacks"
            )
        for key, t0 in state0.items():
            _check_same(f"shape of tensor '{key}' in {file}", list(t0.shape), list(state[key].shape), path0, path)


def average_adapters(paths: Sequence[str | Path], out: str | Path, weights: Sequence[float] | None = None) -> Path:
    """Average N peft adapter directories trained from the same base into a new adapter directory (WARM).

    Args:
        paths: two or more adapter directories (``RewardModelModule.save_adapters`` output, or ``policy/`` /
            ``value/`` directories of ``PolicyModule.save_adapters``).
        out: the directory to write, atomically (replaced as a whole if it exists).
        weights: one weight >= 0 per adapter, normalised to sum to one; ``None``: uniform.

    Returns:
        ``out``, holding ``adapter_config.json``, ``adapter_model.safetensors`` (averaged), the head file if any,
        the tokenizer files of the first adapter and ``perl_lightning.json`` with ``averaging`` (method, sources,
        normalised weights).

    Raises:
        ValueError: fewer than two adapters, bad weights, or adapters that differ in base model, LoRA
            configuration, metadata, tensor names or shapes (the message names the field and both paths).
        FileNotFoundError: a directory or one of its files is missing.
    """
    paths = [Path(p).expanduser().resolve() for p in paths]
    if len(paths) < 2:
        raise ValueError(f"average_adapters needs at least two adapters, got {len(paths)}")
    norm = normalise_weights(weights, len(paths))
    members = [_load_member(p) for p in paths]
    config0, meta0, tensors0 = members[0]
    for path, member in zip(paths[1:], members[1:], strict=True):
        _check_compatible(paths[0], members[0], path, member)

    averaged: dict[str, dict[str, torch.Tensor]] = {}
    for file, state0 in tensors0.items():
        averaged[file] = {}
        for key, t0 in state0.items():
            total = sum(w * m[2][file][key].double() for w, m in zip(norm, members, strict=True))
            averaged[file][key] = total.to(t0.dtype).contiguous()

    meta_out = {
        **meta0,
        "averaging": {
            "method": "warm (uniform)" if weights is None else "warm (weighted)",
            "sources": [str(p) for p in paths],
            "weights": norm,
        },
    }
    config_out = {**config0, "inference_mode": True}
    with atomic_directory(out) as tmp:
        for file, state in averaged.items():
            save_file(state, str(tmp / file), metadata={"format": "pt"})
        (tmp / ADAPTER_CONFIG).write_text(json.dumps(config_out, indent=2))
        (tmp / META_FILE).write_text(json.dumps(meta_out, indent=2))
        for item in paths[0].iterdir():  # tokenizer files and anything else that is not a tensor file
            if item.is_file() and item.name not in NOT_COPIED and item.name not in averaged:
                shutil.copy2(item, tmp / item.name)
    return Path(out)


def main(argv: list[str] | None = None) -> int:
    """``perl warm``: average reward (or policy) adapters trained from the same base into one adapter directory."""
    parser = argparse.ArgumentParser(
        prog="perl warm",
        description="WARM: average N peft adapter directories trained from the same base (LoRA A/B and heads, "
        "tensor by tensor) into a new adapter directory that loads like any one of them.",
    )
    parser.add_argument("--adapters", nargs="+", required=True, metavar="DIR", help="two or more adapter dirs")
    parser.add_argument("--weights", nargs="+", type=float, metavar="W",
                        help="one weight >= 0 per adapter, normalised to sum to 1 (default: uniform)")  # fmt: skip
    parser.add_argument("--out", required=True, metavar="DIR", help="directory to write (replaced atomically)")
    args = parser.parse_args(argv)
    try:
        out = average_adapters(args.adapters, args.out, args.weights)
    except (ValueError, FileNotFoundError) as err:
        parser.error(str(err))
    weights = json.loads((out / META_FILE).read_text())["averaging"]["weights"]
    print(f"averaged {len(args.adapters)} adapters (weights {', '.join(f'{w:.4g}' for w in weights)}) into {out}")
    return 0
