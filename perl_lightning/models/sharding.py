"""FSDP2 (``torch.distributed.fsdp.fully_shard``) for the backbones of a module, as Lightning's
``ModelParallelStrategy`` expects from ``configure_model``.

Each transformer block (the classes a transformers model lists in ``_no_split_modules``) becomes one FSDP unit, then
the whole transformers model (embeddings, final norm, LM / score head) the root unit, so that a ``PeftModel``'s
adapter switching and ``generate`` (which calls the transformers model's own forward) run through FSDP's hooks. Frozen
base weights and trainable LoRA weights share units (FSDP2 allows mixed ``requires_grad``); every rank holds
``1 / world`` of them. ``generate`` keeps ranks in step (``synced_gpus``) because the transformers model is marked
as FSDP-managed. Gathering whole parameters (to write adapters) is ``perl_lightning.checkpointing.full_parameters``.
"""

from __future__ import annotations

from torch import nn
from torch.distributed.device_mesh import DeviceMesh
from torch.distributed.fsdp import FSDPModule, fully_shard

from perl_lightning.models.forward import transformers_model


def shard_backbone(model: nn.Module, mesh: DeviceMesh) -> None:
    """``fully_shard`` every transformer block of ``model`` (a transformers model or a ``PeftModel``), then the
    transformers model as the root unit; idempotent."""
    hf = transformers_model(model)
    if isinstance(hf, FSDPModule):
        return
    blocks = set(getattr(hf, "_no_split_modules", None) or [])
    layers = [m for m in hf.modules() if type(m).__name__ in blocks]
    if not layers:
        raise ValueError(f"{type(hf).__name__} names no transformer blocks (_no_split_modules): cannot shard it")
    for layer in layers:
        fully_shard(layer, mesh=mesh)
    fully_shard(hf, mesh=mesh)
    hf._is_fsdp_managed_module = True  # transformers' generate then keeps every rank stepping (synced_gpus)
