"""NonFiniteGuard: stop or skip on a NaN / inf loss or gradient before it reaches the weights or a checkpoint."""

from __future__ import annotations

import math
from typing import Any, Literal

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities import rank_zero_warn

Action = Literal["stop", "skip"]


class NonFiniteError(RuntimeError):
    """A NaN or inf loss or gradient stopped the run (raised by :class:`NonFiniteGuard`)."""


class NonFiniteGuard(Callback):
    """Stop the run, or skip the optimizer step, when a loss or gradient is NaN or infinite.

    Works for automatic and manual optimisation alike (``RewardModelModule`` and ``PolicyModule.update`` call
    ``optimizer.step()`` themselves): every loss passed to ``backward`` / ``manual_backward`` is checked in
    ``on_before_backward``, and the gradients in ``on_before_optimizer_step``, which Lightning calls from inside the
    wrapped ``optimizer.step()`` (after the backward pass, before the parameter update) in both modes.

    * ``action="stop"`` raises :class:`NonFiniteError` naming the global step and batch index *before* the update,
      so the weights stay those of the last good step; no ``ModelCheckpoint`` file of the bad step is written and
      existing checkpoint files stay as they were. (``OnExceptionCheckpoint``, if configured, saves those last good
      weights on the way out.)
    * ``action="skip"`` drops every gradient of the optimizer (``grad = None``), so AdamW leaves the parameters and
      its moments and step counts bit-identical for that step, and counts it (logged as
      ``faults/skipped_batches``). After ``max_skips`` skipped steps the next non-finite one stops the run anyway.
      Lightning still counts the skipped optimizer step in ``trainer.global_step``, and a module that steps its LR
      scheduler after ``optimizer.step()`` (both of ours do) still advances the schedule by one step.

    Whatever the action, a checkpoint whose trainable weights or optimizer state hold a NaN / inf is refused
    (:class:`NonFiniteError` from ``on_save_checkpoint``): the previous checkpoint file stays the last good one.

    With fp16 mixed precision (``precision="16-mixed"``) the ``GradScaler`` already skips steps with inf gradients
    and lowers its scale, so only the losses are checked there.

    Args:
        action: ``stop`` (raise) or ``skip`` (drop the optimizer step).
        max_skips: most optimizer steps skipped in a run (``action="skip"``); the next non-finite step stops it.
        check_gradients: also check the gradients (a finite loss can still give inf gradients); one reduction over
            the trainable parameters per optimizer step.
    """

    def __init__(self, action: Action = "stop", max_skips: int = 10, check_gradients: bool = True) -> None:
        if action not in ("stop", "skip"):
            raise ValueError(f"NonFiniteGuard action '{action}': use 'stop' or 'skip'")
        if max_skips < 0:
            raise ValueError(f"NonFiniteGuard max_skips must be >= 0, got {max_skips}")
        self.action = action
        self.max_skips = max_skips
        self.check_gradients = check_gradients
        self.skipped = 0
        self._batch_idx = -1
        self._bad_loss: float | None = None

    # ---- detection -----------------------------------------------------------------------------------------------
    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self._batch_idx = batch_idx
        self._bad_loss = None

    def on_before_backward(self, trainer: L.Trainer, pl_module: L.LightningModule, loss: torch.Tensor) -> None:
        if self._bad_loss is None and not bool(torch.isfinite(loss.detach()).all()):
            self._bad_loss = float(loss.detach().float().sum())

    def _bad_gradient(self, trainer: L.Trainer, pl_module: L.LightningModule, optimizer: Any) -> str | None:
        if not self.check_gradients or getattr(trainer.precision_plugin, "scaler", None) is not None:
            return None
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if not grads:
            return None
        finite = torch.stack([torch.isfinite(g).all() for g in grads]).all()
        if bool(finite):
            return None
        names = {id(p): n for n, p in pl_module.named_parameters()}
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.grad is not None and not bool(torch.isfinite(p.grad).all()):
                    return f"gradient of {names.get(id(p), 'an unnamed parameter')}"
        return "gradient"

    def on_before_optimizer_step(self, trainer: L.Trainer, pl_module: L.LightningModule, optimizer: Any) -> None:
        what = f"loss ({self._bad_loss})" if self._bad_loss is not None else None
        what = what or self._bad_gradient(trainer, pl_module, optimizer)
        self._bad_loss = None  # one verdict per optimizer step (PolicyModule takes several per batch)
        bad = trainer.strategy.reduce_boolean_decision(what is not None, all=False)  # every rank acts alike
        if not bad:
            return
        what = what or "loss or gradient on another rank"
        where = f"global step {trainer.global_step} (batch {self._batch_idx}, epoch {trainer.current_epoch})"
        if self.action == "stop":
            raise NonFiniteError(
                f"non-finite {what} at {where}: stopped before the optimizer step, so the weights and the checkpoints "
                f"on disk are those of the last good step. Lower the learning rate, check the data, or configure "
                f"NonFiniteGuard(action='skip')."
            )
        if self.skipped >= self.max_skips:
            raise NonFiniteError(
                f"non-finite {what} at {where}: {self.skipped} optimizer steps already skipped (max_skips="
                f"{self.max_skips}); stopping before the optimizer step, the weights are those of the last good step."
            )
        for group in optimizer.param_groups:
            for p in group["params"]:
                p.grad = None  # torch optimizers skip parameters without a gradient: no update, no state change
        self.skipped += 1
        rank_zero_warn(f"NonFiniteGuard: non-finite {what} at {where}: optimizer step skipped ({self.skipped} so far)")

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if self.action == "skip":
            pl_module.log("faults/skipped_batches", float(self.skipped), on_step=True, on_epoch=False)

    # ---- checkpoints ---------------------------------------------------------------------------------------------
    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        """Refuse to write a checkpoint whose trainable weights or optimizer state are not finite."""
        for name, p in pl_module.named_parameters():
            if p.requires_grad and not bool(torch.isfinite(p.detach()).all()):
                raise NonFiniteError(
                    f"refusing to write a checkpoint at global step {trainer.global_step}: trainable parameter {name} "
                    f"holds NaN / inf (the previous checkpoint file is kept)"
                )
        for i, state in enumerate(checkpoint.get("optimizer_states", [])):
            for values in state.get("state", {}).values():
                for key, value in values.items():
                    bad = (
                        not bool(torch.isfinite(value).all())
                        if isinstance(value, torch.Tensor) and value.is_floating_point()
                        else isinstance(value, float) and not math.isfinite(value)
                    )
                    if bad:
                        raise NonFiniteError(
                            f"refusing to write a checkpoint at global step {trainer.global_step}: optimizer {i} "
                            f"state '{key}' holds NaN / inf (the previous checkpoint file is kept)"
                        )

    def state_dict(self) -> dict[str, Any]:
        return {"skipped": self.skipped}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.skipped = int(state_dict.get("skipped", 0))
