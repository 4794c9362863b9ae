"""A stage's progress with its key metrics: a tqdm bar on a terminal, plain lines in a file or a pipe."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

import lightning as L
from lightning.pytorch.callbacks import TQDMProgressBar
from typing_extensions import override


class StageProgressBar(TQDMProgressBar):
    """Progress of one stage (``SFT``, ``RM``, ``RL``, ...) with its key metrics.

    On a terminal: Lightning's tqdm bar, labelled with the stage and counting its optimizer steps (``RL 12/40``, not
    ``Epoch 0/-2`` for a ``max_steps`` run), with ``keys`` as its postfix. When the output goes to a file or a pipe:
    no bars (no carriage returns in a log); instead a plain line at the first step, the last step and otherwise at
    most every ``every_s`` seconds, for training steps and for evaluation batches alike, so a long stage never sits
    silent::

        [RL] step 12/40  reward 0.312  kl 0.041  (8.1 s/step, 1:37 elapsed)
        [RL] evaluating 3/13 batches

    Args:
        stage: the label in front of the bar or the line.
        keys: logged metrics to show, each ``name`` or ``name=label`` (``rl/reward_mean=reward``); the ones not
            logged yet are left out.
        plain: ``True``: plain lines; ``False``: bars; ``None``: plain lines when ``stream`` is not a terminal.
        every_s: the most seconds between two plain lines while steps or batches go on.
        stream: where plain lines go (``sys.stdout`` when ``None``).
        clock: the time source (for tests).
    """

    def __init__(
        self,
        stage: str,
        keys: Sequence[str] = (),
        plain: bool | None = None,
        every_s: float = 5.0,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream or sys.stdout
        self.plain = (not self.stream.isatty()) if plain is None else plain
        super().__init__(leave=False)
        if self.plain:
            self.disable()
        self.stage, self.every_s, self.clock = stage, every_s, clock
        self.keys = [tuple(k.split("=", 1)) if "=" in k else (k, k.rsplit("/", 1)[-1]) for k in keys]
        self._start = self._last = 0.0

    # ---- what is shown ---------------------------------------------------------------------------------------------
    def key_metrics(self, trainer: L.Trainer) -> dict[str, float]:
        """The ``keys`` logged so far (the latest value of each), by their labels."""
        logged = trainer.callback_metrics
        out = {}
        for name, label in self.keys:
            if name in logged:
                value = float(logged[name])
                if math.isfinite(value):
                    out[label] = value
        return out

    @override
    def get_metrics(self, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, int | str | float | dict]:
        return self.key_metrics(trainer) if self.keys else super().get_metrics(trainer, pl_module)

    def _say(self, text: str) -> None:
        print(f"[{self.stage}] {text}", file=self.stream, flush=True)
        self._last = self.clock()

    @staticmethod
    def _total_steps(trainer: L.Trainer) -> int:
        """The run's optimizer steps (``max_steps``), 0 when it is bounded by epochs instead."""
        return trainer.max_steps if trainer.max_steps and trainer.max_steps > 0 else 0

    def _due(self, first: bool, last: bool) -> bool:
        return first or last or self.clock() - self._last >= self.every_s

    # ---- training --------------------------------------------------------------------------------------------------
    @override
    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_start(trainer, pl_module)  # when plain, the bars exist but are disabled
        self._start = self._last = self.clock()
        if self.plain:
            total = self._total_steps(trainer)
            self._say(f"training: {total} steps" if total else "training")

    @override
    def on_train_epoch_start(self, trainer: L.Trainer, *_: Any) -> None:
        super().on_train_epoch_start(trainer)
        if self._total_steps(trainer):
            self.train_progress_bar.reset(total=trainer.max_steps)
            self.train_progress_bar.initial = trainer.global_step
            self.train_progress_bar.n = trainer.global_step
        self.train_progress_bar.set_description(self.stage)

    @override
    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        total = self._total_steps(trainer)
        if not self.plain:
            if total:  # count optimizer steps, not the batches of an epoch
                self.train_progress_bar.n = trainer.global_step
                self.train_progress_bar.set_postfix(self.get_metrics(trainer, pl_module))
                self.train_progress_bar.refresh()
            else:
                super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
            return
        step = trainer.global_step
        if not self._due(step <= 1, total > 0 and step >= total):
            return
        elapsed = self.clock() - self._start
        parts = [f"step {step}/{total}" if total else f"step {step}"]
        parts += [f"{k} {v:.4g}" for k, v in self.key_metrics(trainer).items()]
        parts.append(f"({elapsed / max(step, 1):.1f} s/step, {int(elapsed // 60)}:{int(elapsed % 60):02d} elapsed)")
        self._say("  ".join(parts))

    # ---- evaluation ------------------------------------------------------------------------------------------------
    @override
    def on_validation_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        super().on_validation_batch_end(trainer, pl_module, outputs, batch, batch_idx, dataloader_idx)
        if not self.plain:
            return
        batches = trainer.num_sanity_val_batches if trainer.sanity_checking else trainer.num_val_batches
        batches = batches[dataloader_idx] if isinstance(batches, list) else batches
        total = int(batches) if math.isfinite(batches) else 0
        if self._due(batch_idx == 0, total > 0 and batch_idx + 1 >= total):
            what = "sanity check" if trainer.sanity_checking else "evaluating"
            self._say(f"{what} {batch_idx + 1}{f'/{total}' if total else ''} batches")
