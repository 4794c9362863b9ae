"""AdapterEMA: an exponential moving average of the trainable parameters only (LoRA adapters and heads).

Lightning's :class:`~lightning.pytorch.callbacks.WeightAveraging` keeps a ``torch.optim.swa_utils.AveragedModel``: a
deep copy of the whole module, frozen base included. For a LoRA model that is one more copy of the base for an
average of a few MiB of adapter weights. ``AdapterEMA`` keeps Lightning's hooks and update schedule (the parent's
``on_train_batch_end`` / ``on_validation_epoch_*`` / ``on_train_end`` drive it) but replaces the averaged model by
:class:`TrainableEMA`, which holds a copy of the parameters with ``requires_grad`` only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import WeightAveraging
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities import rank_zero_warn
from torch.optim.swa_utils import get_ema_multi_avg_fn


class TrainableEMA:
    """EMA of a module's trainable parameters, duck-typed as the ``AveragedModel`` that ``WeightAveraging`` updates.

    The average is allocated at the first update, as a copy of the parameters then (``W_0^EMA = W_0``); every later
    update is ``W^EMA <- decay * W^EMA + (1 - decay) * W`` (torch's ``get_ema_multi_avg_fn``).

    Args:
        module: the module whose parameters with ``requires_grad`` are averaged (read once, here).
        decay: EMA decay in [0, 1].
        device: where the average lives; ``None``: next to each parameter.
    """

    def __init__(self, module: torch.nn.Module, decay: float, device: torch.device | None = None) -> None:
        named = [(name, p) for name, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise ValueError("AdapterEMA: the module has no trainable parameters (requires_grad) to average")
        self.names = [name for name, _ in named]
        self.params = [p for _, p in named]
        self.device = device
        self.avg_fn = get_ema_multi_avg_fn(decay)
        self.average: list[torch.Tensor] | None = None
        self.n_averaged = 0

    def numel(self) -> int:
        """Elements held by the average (0 before the first update)."""
        return sum(t.numel() for t in self.average) if self.average is not None else 0

    @torch.no_grad()
    def update_parameters(self, module: torch.nn.Module | None = None) -> None:
        """Fold the current trainable parameters into the average (``module`` is ignored: they were bound at init)."""
        current = [p.detach() for p in self.params]
        if self.average is None:
            self.average = [p.to(self.device or p.device, copy=True) for p in current]
        else:
            self.avg_fn(self.average, [p.to(a.device) for p, a in zip(current, self.average, strict=True)], None)
        self.n_averaged += 1

    def state(self) -> dict[str, torch.Tensor]:
        """The average keyed by parameter name (empty before the first update)."""
        return dict(zip(self.names, self.average, strict=True)) if self.average is not None else {}

    @torch.no_grad()
    def load_state(self, state: dict[str, torch.Tensor], n_averaged: int) -> None:
        """Restore an average saved by :meth:`state`, checking names and shapes against the bound parameters."""
        if not state:
            self.average, self.n_averaged = None, 0
            return
        missing, extra = set(self.names) - set(state), set(state) - set(self.names)
        if missing or extra:
            raise ValueError(
                f"AdapterEMA checkpoint state does not match the module's trainable parameters: missing "
                f"{sorted(missing)[:3]}, unexpected {sorted(extra)[:3]}"
            )
        average = []
        for name, p in zip(self.names, self.params, strict=True):
            if state[name].shape != p.shape:
                raise ValueError(f"AdapterEMA checkpoint: '{name}' has shape {tuple(state[name].shape)}, "
                                 f"the module's {tuple(p.shape)}")  # fmt: skip
            average.append(state[name].to(device=self.device or p.device, dtype=p.dtype, copy=True))
        self.average, self.n_averaged = average, n_averaged


class AdapterEMA(WeightAveraging):
    """Exponential moving average of the trainable parameters (LoRA adapters, heads), not of the frozen base.

    * Updated after training batches, from ``start_step`` on (optimizer steps, 0-based), at most once per
      ``update_every_n_steps`` optimizer steps. A batch with several optimizer steps (PPO epochs / minibatches in
      ``PolicyModule``) folds in the weights after its last step, once.
    * Validation during fit runs with the averaged weights, swapped in and swapped back afterwards.
    * At the end of fit the average is copied into the module. Callback ``on_train_end`` hooks run before the
      module's, so ``save_adapters`` write the averaged adapter.
    * The Lightning checkpoint holds, under this callback's state, the average (and, once fit ended, the last
      training weights) keyed by parameter name: trainable tensors only, ``torch.load(weights_only=True)`` reads it.
      The module's own ``state_dict`` keeps the training weights, so resuming continues exactly where it stopped.

    Extra memory: one copy of the trainable parameters (plus one more at the end of fit).

    Args:
        decay: EMA decay (``W^EMA <- decay * W^EMA + (1 - decay) * W``); 0.99-0.9999 are usual.
        update_every_n_steps: fold the weights in every this many optimizer steps.
        start_step: warm-up: the first update is at this optimizer step (0-based) and copies the weights then.
        device: where the average lives (e.g. ``cpu`` to spare accelerator memory); ``None``: next to the weights.
    """

    def __init__(
        self,
        decay: float = 0.999,
        update_every_n_steps: int = 1,
        start_step: int = 0,
        device: str | None = None,
    ) -> None:
        if not 0.0 <= decay <= 1.0:
            raise ValueError(f"AdapterEMA: decay must be in [0, 1], got {decay}")
        if update_every_n_steps < 1:
            raise ValueError(f"AdapterEMA: update_every_n_steps must be >= 1, got {update_every_n_steps}")
        if start_step < 0:
            raise ValueError(f"AdapterEMA: start_step must be >= 0, got {start_step}")
        super().__init__(device=device, use_buffers=False)
        self.decay = decay
        self.update_every_n_steps = update_every_n_steps
        self.start_step = start_step
        self._average_model: TrainableEMA | None = None  # type: ignore[assignment]  # duck-typed AveragedModel
        self._pending: dict[str, Any] | None = None  # state loaded before setup
        self._training_weights: list[torch.Tensor] | None = None  # the pre-average weights, once fit ended

    @property
    def average(self) -> TrainableEMA | None:
        """The running average (``None`` outside fit)."""
        return self._average_model

    def should_update(self, step_idx: int | None = None, epoch_idx: int | None = None) -> bool:
        """Update after optimizer step ``step_idx`` (0-based) from ``start_step`` on, every n steps; never per epoch."""
        if step_idx is None or step_idx < self.start_step:
            return False
        if self._average_model is None or self._average_model.n_averaged == 0:
            return True
        return step_idx + 1 - self._latest_update_step >= self.update_every_n_steps

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        """At fit start, bind the trainable parameters (a new fit starts a new average)."""
        if stage != "fit":
            return
        self._average_model = TrainableEMA(pl_module, self.decay, self._device)
        self._latest_update_step, self._latest_update_epoch = 0, -1
        self._training_weights = None
        if self._pending is not None:
            self._restore(self._pending)

    def _swap_models(self, pl_module: L.LightningModule) -> None:
        """Exchange the trainable weights with their average (validation during fit)."""
        avg = self._average_model
        if avg is None or avg.average is None or pl_module.trainer.state.fn != TrainerFn.FITTING:
            return
        with torch.no_grad():
            for a, p in zip(avg.average, avg.params, strict=True):
                current = p.detach().clone()
                p.copy_(a)
                a.copy_(current)

    @contextmanager
    def average_in(self, pl_module: L.LightningModule) -> Iterator[None]:
        """The averaged weights in the module for the duration, unless it holds them already (after fit ended).

        For writers outside validation (e.g. ``AdapterCheckpoint``), so what they save is the average.
        """
        swap = self._average_model is not None and self._average_model.average is not None
        swap = swap and self._training_weights is None
        if swap:
            self._swap_models(pl_module)
        try:
            yield
        finally:
            if swap:
                self._swap_models(pl_module)

    def _copy_average_to_current(self, pl_module: L.LightningModule) -> None:
        """At the end of fit: the module takes the averaged weights; the training weights are kept for checkpoints."""
        avg = self._average_model
        if avg is None or avg.average is None:
            rank_zero_warn(
                f"AdapterEMA: fit ended before the first update (start_step={self.start_step}); "
                "the module keeps its last training weights"
            )
            return
        with torch.no_grad():
            self._training_weights = [p.detach().clone() for p in avg.params]
            for a, p in zip(avg.average, avg.params, strict=True):
                p.copy_(a)

    # ---- checkpoints: the callback state holds the trainable tensors; the module state_dict is left alone ----------
    def state_dict(self) -> dict[str, Any]:
        """``latest_update_step``, ``n_averaged``, ``average`` ({name: tensor}) and, after fit, ``training``."""
        avg = self._average_model
        state: dict[str, Any] = {
            "latest_update_step": self._latest_update_step,
            "n_averaged": avg.n_averaged if avg is not None else 0,
            "average": avg.state() if avg is not None else {},
        }
        if avg is not None and self._training_weights is not None:
            state["training"] = dict(zip(avg.names, self._training_weights, strict=True))
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the average (at fit, after the module's weights; the training weights replace an average there)."""
        if self._average_model is None:
            self._pending = state_dict
        else:
            self._restore(state_dict)

    def _restore(self, state: dict[str, Any]) -> None:
        avg = self._average_model
        assert avg is not None
        self._latest_update_step = int(state["latest_update_step"])
        avg.load_state(state.get("average", {}), int(state.get("n_averaged", 0)))
        training = state.get("training")
        if training:  # saved after fit ended: the module state_dict holds the average; resume from the real weights
            with torch.no_grad():
                for name, p in zip(avg.names, avg.params, strict=True):
                    p.copy_(training[name])
        self._pending = None

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        """Nothing to move: unlike ``WeightAveraging`` the module ``state_dict`` stays the training weights."""

    def on_load_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        """Nothing to do: :meth:`load_state_dict` restores the average."""
