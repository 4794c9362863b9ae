"""What goes into a Lightning ``.ckpt`` besides Lightning's own loop state, and what is checked when it comes back.

A checkpoint holds only the trainable tensors (adapters and heads, never the frozen base), the identity of the run it
belongs to (base model and adapter config), and every rank's RNG state, so that a resumed run draws the same samples
an uninterrupted one would. Everything in it is a tensor or a plain Python value: it loads with
``torch.load(weights_only=True)``. The functions are used by the modules' ``on_save_checkpoint`` /
``on_load_checkpoint`` hooks.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from lightning.pytorch.strategies import FSDPStrategy
from torch.distributed.fsdp import FullyShardedDataParallel

KEY = "perl_lightning"


class CheckpointMismatchError(ValueError):
    """A checkpoint or adapter written for another base model, adapter config or module."""


def base_identity(model_name: str, config: Any) -> dict[str, Any]:
    """The facts about a base model that an adapter depends on: name, architecture and shapes."""
    fields = (
        "model_type",
        "hidden_size",
        "num_hidden_layers",
        "num_attention_heads",
        "intermediate_size",
        "vocab_size",
    )
    return {"model": model_name, **{f: getattr(config, f, None) for f in fields}}


def trainable_only(state_dict: dict[str, torch.Tensor], keep: set[str]) -> dict[str, torch.Tensor]:
    """The entries of ``state_dict`` named in ``keep`` (the trainable parameters)."""
    return {k: v for k, v in state_dict.items() if k in keep}


def check_identity(saved: dict[str, Any] | None, current: dict[str, Any], what: str) -> None:
    """Raise :class:`CheckpointMismatchError` naming every field where ``saved`` and ``current`` differ."""
    if saved is None:
        raise CheckpointMismatchError(f"{what} has no perl_lightning identity: it was not written by this package")
    diffs = [
        f"{key}: checkpoint has {saved.get(key)!r}, this run has {current.get(key)!r}"
        for key in sorted(set(saved) | set(current))
        if saved.get(key) != current.get(key)
    ]
    if diffs:
        raise CheckpointMismatchError(f"{what} does not match this model:\n  " + "\n  ".join(diffs))


def check_tensors(saved: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], what: str) -> None:
    """Raise :class:`CheckpointMismatchError` unless ``saved`` has exactly the ``expected`` names and shapes."""
    missing = sorted(set(expected) - set(saved))
    unexpected = sorted(set(saved) - set(expected))
    shapes = [
        f"{k}: checkpoint {tuple(saved[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in sorted(set(saved) & set(expected))
        if saved[k].shape != expected[k].shape
    ]
    problems = []
    for label, items in (("missing", missing), ("unexpected", unexpected), ("shape mismatch", shapes)):
        if items:
            more = f" (+{len(items) - 5} more)" if len(items) > 5 else ""
            problems.append(f"{label}: {', '.join(items[:5])}{more}")
    if problems:
        raise CheckpointMismatchError(f"{what}: trainable tensors do not match this model: " + "; ".join(problems))


def rng_state() -> dict[str, Any]:
    """This process's torch (CPU and CUDA), numpy and Python RNG states, as tensors and plain values."""
    version, state, gauss = random.getstate()
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *map(float, np_state[2:])],
        "python": [version, list(state), gauss],
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` captured."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    name, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), int(pos), int(has_gauss), gauss))
    version, values, gauss = state["python"]
    random.setstate((version, tuple(values), gauss))


def all_ranks_rng_state() -> list[dict[str, Any]]:
    """Every rank's RNG state (gathered when a process group is up; this rank's alone otherwise)."""
    state = rng_state()
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        states: list[Any] = [None] * torch.distributed.get_world_size()
        torch.distributed.all_gather_object(states, state)
        return states
    return [state]


def restore_rank_rng_state(states: list[dict[str, Any]]) -> None:
    """Restore this rank's RNG state from :func:`all_ranks_rng_state`'s list (rank 0's when the world grew)."""
    rank = (
        torch.distributed.get_rank() if torch.distributed.is_available() and torch.distributed.is_initialized() else 0
    )
    set_rng_state(states[rank] if rank < len(states) else states[0])


def save_extras(checkpoint: dict[str, Any], identity: dict[str, Any], extra: dict[str, Any] | None = None) -> None:
    """Record the run's identity, the RNG states and module-specific ``extra`` state in ``checkpoint``."""
    checkpoint[KEY] = {"identity": identity, "rng": all_ranks_rng_state(), **(extra or {})}


def load_extras(
    checkpoint: dict[str, Any], identity: dict[str, Any], expected: dict[str, torch.Tensor], what: str = "checkpoint"
) -> dict[str, Any]:
    """Check identity and tensors of ``checkpoint`` against this run, restore the RNG, return the stored extras."""
    extras = checkpoint.get(KEY)
    check_identity(extras.get("identity") if extras else None, identity, what)
    check_tensors(checkpoint.get("state_dict", {}), expected, what)
    if extras.get("rng"):
        restore_rank_rng_state(extras["rng"])
    return extras


@contextmanager
def full_parameters(trainer: Any) -> Iterator[None]:
    """Every parameter whole on every rank for the duration (a collective: all ranks must enter).

    Under Lightning's ``FSDPStrategy`` the parameters are flat shards outside forward; writing adapters needs them
    gathered (``summon_full_params``, no write-back). Under ``ModelParallelStrategy`` (FSDP2) parameters stay sharded
    ``DTensor``s: every rank runs the writer, which gathers each tensor it writes (``full_tensor``), and only rank
    zero keeps the files (``AdapterModule.on_train_end``). Other strategies hold whole parameters already (DDP,
    DeepSpeed ZeRO-1/2);
    DeepSpeed ZeRO-3 is not handled here: use its ``.ckpt``.
    """
    strategy = getattr(trainer, "strategy", None)
    model = getattr(strategy, "model", None)
    if isinstance(strategy, FSDPStrategy) and model is not None:
        with FullyShardedDataParallel.summon_full_params(model, writeback=False):
            yield
    else:
        yield
