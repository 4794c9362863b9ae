"""What every adapter-trained module shares: identity, trainable-only checkpoints, saving adapters at the end of fit.

A subclass says which parameters train (:meth:`AdapterModule.trainable_parameters`), what its run depends on
(:meth:`identity_extras`), what it keeps besides tensors (:meth:`extra_state` / :meth:`load_extra_state`) and how
its adapters are written (:meth:`write_adapters`); the base does the rest the same way for the reward model, the
policy and the SFT module:

* ``.ckpt``: only the trainable tensors (never a frozen base or reward), the run identity (module, base name and
  architecture, adapter config), every rank's RNG state and the subclass's extra state; a checkpoint of another base,
  adapter config or module is refused with each differing field named (``perl_lightning.checkpointing``);
* FSDP2 under Lightning's ``ModelParallelStrategy``: :meth:`configure_model` shards the backbones the subclass
  names (:meth:`fsdp_units`);
* adapters written once, atomically, at the end of fit, by rank zero after every rank gathered whole parameters
  (FSDP, FSDP2) under ``<log_dir>/<adapter_dir_name>`` or ``save_dir``, with :meth:`save_adapters`.
"""

from __future__ import annotations

import tempfile
from abc import ABC, abstractmethod
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, ClassVar

import lightning as L
import torch
from lightning.pytorch.strategies import ModelParallelStrategy
from lightning.pytorch.utilities import rank_zero_info
from torch.distributed.fsdp import FSDPModule, fully_shard

from perl_lightning import checkpointing as ckpt
from perl_lightning.io import atomic_directory
from perl_lightning.models.adapters import LoRAConfig, count_parameters
from perl_lightning.models.sharding import shard_backbone
from perl_lightning.modules.optim import build_optimizer

#: The ``auto`` token budget of a micro-batch on CPU. Measured (SmolLM2-135M LoRA reward model, 8 HH pairs of <= 256
#: tokens a step, 2 threads): 256-512 tokens run a step as fast as 1024 (8.9-9.5 s vs 10.7 s) in 1.6-1.9 GiB
#: instead of 2.5; accelerators want whole batches.
CPU_MICRO_BATCH_TOKENS = 512


def token_budget(value: int | str | None, device: torch.device) -> int | None:
    """A micro-batch token budget: ``auto`` is :data:`CPU_MICRO_BATCH_TOKENS` on CPU and no limit elsewhere."""
    if value == "auto":
        return CPU_MICRO_BATCH_TOKENS if device.type == "cpu" else None
    return value


def plain(value: Any) -> Any:
    """Dataclasses (and lists of them) as plain dicts: hparams must load with ``torch.load(weights_only=True)``."""
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


class AdapterModule(L.LightningModule, ABC):
    """Base of the LightningModules that train adapters (and small heads) on a frozen backbone.

    Subclasses set ``self.base_name`` (the model name), ``self.lora`` (``LoRAConfig`` or ``None``) and
    ``self.save_dir`` and implement :meth:`trainable_parameters`, :meth:`base_config` and :meth:`write_adapters`.
    """

    #: Folder under the log directory that :meth:`on_train_end` writes the adapters to.
    adapter_dir_name = "adapters"
    base_name: str
    lora: LoRAConfig | None
    save_dir: str | None = None

    def __init__(self) -> None:
        super().__init__()
        self.strict_loading = False  # checkpoints hold only the trainable parameters
        self.saved_adapters: Path | None = None  # where on_train_end wrote the adapters

    def store_hparams(self, **dataclasses: Any) -> None:
        """``save_hyperparameters`` with dataclass arguments stored as plain dicts (``weights_only`` loads)."""
        self.save_hyperparameters(ignore=list(dataclasses))
        for key, value in dataclasses.items():
            self.hparams[key] = plain(value)

    # ---- what subclasses provide ---------------------------------------------------------------------------------
    @abstractmethod
    def trainable_parameters(self) -> list[torch.nn.Parameter]:
        """The parameters that train (adapters, heads; whole models without LoRA)."""

    @abstractmethod
    def base_config(self) -> Any:
        """The backbone's ``PretrainedConfig`` (architecture facts checked on resume and adapter load)."""

    @abstractmethod
    def write_adapters(self, path: Path) -> None:
        """Write the adapter directories into ``path`` (an empty temporary directory)."""

    def fsdp_units(self) -> tuple[list[torch.nn.Module], list[torch.nn.Module]]:
        """What FSDP2 shards: ``(backbones, heads)``; backbones are transformers models or ``PeftModel``s."""
        return [], []

    def identity_extras(self) -> dict[str, Any]:
        """Further facts a checkpoint of this module depends on (e.g. the RL layout)."""
        return {}

    def extra_state(self) -> dict[str, Any]:
        """Non-tensor training state saved in the ``.ckpt`` (controllers, running statistics)."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`extra_state` returned."""

    # ---- shared behaviour ----------------------------------------------------------------------------------------
    def configure_model(self) -> None:
        """Under ``ModelParallelStrategy`` (FSDP2, ``data_parallel_size`` = number of processes) shard every backbone
        block by block and every trained head over the data-parallel mesh; other strategies leave the model whole.
        Idempotent (Lightning may call it more than once)."""
        mesh = self.device_mesh
        if mesh is None:
            return
        if mesh.mesh_dim_names and "data_parallel" in mesh.mesh_dim_names:
            mesh = mesh["data_parallel"]
        backbones, heads = self.fsdp_units()
        for backbone in backbones:
            shard_backbone(backbone, mesh)
        for head in heads:
            if not isinstance(head, FSDPModule):
                fully_shard(head, mesh=mesh)  # trained heads outside the backbone: their gradients reduced too

    def identity(self) -> dict[str, Any]:
        """What a checkpoint or adapter of this module depends on: module, base model, adapter config, extras."""
        return {
            "module": type(self).__name__,
            **ckpt.base_identity(self.base_name, self.base_config()),
            "lora": asdict(self.lora) if self.lora is not None else None,
            **self.identity_extras(),
        }

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        """The trainable entries of ``state_dict()``."""
        ids = {id(p) for p in self.trainable_parameters()}
        keep = {name for name, p in self.named_parameters() if id(p) in ids}
        return ckpt.trainable_only(self.state_dict(), keep)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Keep only trainable parameters, plus the run's identity, every rank's RNG state and the extra state."""
        checkpoint["state_dict"] = ckpt.trainable_only(checkpoint["state_dict"], set(self.trainable_state_dict()))
        ckpt.save_extras(checkpoint, self.identity(), {"extra": self.extra_state()})

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Refuse a checkpoint of another base, adapter config or module; restore RNG states and extra state."""
        extras = ckpt.load_extras(checkpoint, self.identity(), self.trainable_state_dict())
        self.load_extra_state(extras.get("extra") or {})

    def on_train_end(self) -> None:
        """Write the adapters once: every rank gathers whole parameters (FSDP), rank zero writes. Under FSDP2 every
        rank runs the writer (it gathers each tensor, a collective) and the other ranks' copies are discarded."""
        log_dir = self.trainer.log_dir  # a broadcast under DDP: every rank must ask, not only rank 0
        with ckpt.full_parameters(self.trainer):
            if self.trainer.is_global_zero:
                root = self.save_dir or Path(log_dir or self.trainer.default_root_dir) / self.adapter_dir_name
                self.saved_adapters = self.save_adapters(root)
                rank_zero_info(f"{type(self).__name__}: adapters saved to {self.saved_adapters}")
            elif isinstance(self.trainer.strategy, ModelParallelStrategy):
                with tempfile.TemporaryDirectory() as scratch:
                    self.write_adapters(Path(scratch))

    def save_adapters(self, path: str | Path) -> Path:
        """Write this module's adapter directories to ``path`` atomically (the previous contents survive a failure).

        Every directory reloads with plain ``transformers`` + ``peft``; see the subclass for its layout.
        """
        path = Path(path)
        with atomic_directory(path) as tmp:
            self.write_adapters(tmp)
        return path


class FineTuneModule(AdapterModule):
    """An :class:`AdapterModule` that trains one model (``self.model``) with one AdamW + schedule: the SFT and reward
    model stages. Subclasses set ``self.model``, ``self.learning_rate``, the hparams ``weight_decay``, ``schedule``
    and ``warmup_ratio``, and ``stage_label`` (the name in the parameter-count line)."""

    stage_label: ClassVar[str] = "model"

    def configure_optimizers(self) -> dict:
        hp = self.hparams
        return build_optimizer(
            self.model.parameters(),
            self.learning_rate,
            hp.weight_decay,
            hp.schedule,
            hp.warmup_ratio,
            self.trainer.estimated_stepping_batches,
        )

    def on_fit_start(self) -> None:
        trainable, total = count_parameters(self.model)
        rank_zero_info(
            f"{self.stage_label}: {trainable:,} trainable / {total:,} parameters "
            f"({100 * trainable / total:.2f}%), lr {self.learning_rate:g}"
        )
        if self.logger is not None:
            self.logger.log_metrics({"params/trainable": trainable, "params/total": total}, step=0)
