"""AdapterCheckpoint: PEFT adapter directories every N steps, on the best monitored value, at the end, on interrupt."""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Literal

import lightning as L
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities import rank_zero_info
from lightning.pytorch.utilities.exceptions import SIGTERMException

from perl_lightning.callbacks.ema import AdapterEMA
from perl_lightning.io import atomic_directory

RUN_CONFIG = "run_config.json"
INDEX = "checkpoints.json"


def _plain(value: Any) -> Any:
    """``value`` as JSON: containers walked, anything else JSON cannot hold written as its ``str``."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return str(value)


class AdapterCheckpoint(Callback):
    """Write the module's adapters (PEFT directories, safetensors, with their heads and the tokenizer) during training.

    Each checkpoint is a directory ``<dirpath>/<kind>/step-<global step>`` holding what the module's
    ``save_adapters`` writes, plus ``run_config.json``: the module's and
    data's hyperparameters, step, epoch and the monitored value. Three kinds: ``last`` every ``every_n_train_steps``
    steps (the newest ``save_last_k`` kept), ``best`` when the ``monitor`` metric improves on the kept ones (the
    best ``save_top_k`` kept), and ``final`` at the end of training (or ``interrupted`` on Ctrl-C / SIGTERM).
    ``checkpoints.json`` at the root lists them with their scores.

    Every write is atomic: the directory is built under a temporary name and renamed into place, so a failure
    (disk full, permission) raises an ``OSError`` naming the target and leaves every earlier checkpoint intact.
    Checkpoints are written by global rank zero; under a sharding strategy (FSDP, DeepSpeed ZeRO-3) use the
    Lightning ``.ckpt`` from ``ModelCheckpoint`` and ``perl export`` instead. With an ``AdapterEMA`` callback the
    averaged adapters are written, whatever the order of the two callbacks.

    Args:
        dirpath: root directory; ``None`` uses ``<log_dir>/adapters`` (or ``<default_root_dir>/adapters``).
        every_n_train_steps: write a ``last`` checkpoint every this many optimizer steps (``None``: never).
        save_last_k: how many ``last`` checkpoints to keep.
        monitor: metric to watch after each validation (e.g. ``val/accuracy``, ``val/reward``); ``None``: no ``best``.
        mode: ``max`` or ``min``: which direction of ``monitor`` is better.
        save_top_k: how many ``best`` checkpoints to keep.
        save_on_train_end: write ``final`` when training ends.
        save_on_interrupt: write ``interrupted`` on KeyboardInterrupt or SIGTERM (not on other errors, such as a
            non-finite loss, whose state is not worth keeping).
    """

    def __init__(
        self,
        dirpath: str | None = None,
        every_n_train_steps: int | None = None,
        save_last_k: int = 1,
        monitor: str | None = None,
        mode: Literal["max", "min"] = "max",
        save_top_k: int = 1,
        save_on_train_end: bool = True,
        save_on_interrupt: bool = True,
    ) -> None:
        if mode not in ("max", "min"):
            raise ValueError(f"AdapterCheckpoint mode must be 'max' or 'min', got {mode!r}")
        if every_n_train_steps is not None and every_n_train_steps < 1:
            raise ValueError(f"every_n_train_steps must be >= 1 or None, got {every_n_train_steps}")
        if save_last_k < 1 or save_top_k < 1:
            raise ValueError("save_last_k and save_top_k must be >= 1")
        self.dirpath = Path(dirpath) if dirpath else None
        self.every_n_train_steps = every_n_train_steps
        self.save_last_k = save_last_k
        self.monitor = monitor
        self.mode = mode
        self.save_top_k = save_top_k
        self.save_on_train_end = save_on_train_end
        self.save_on_interrupt = save_on_interrupt
        self.last: list[dict[str, Any]] = []  # oldest first: {"path", "step", "score"}
        self.best: list[dict[str, Any]] = []  # best first
        self.final: str | None = None
        self._last_saved_step = -1

    # ---- where and what ------------------------------------------------------------------------------------------
    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if self.dirpath is None:
            self.dirpath = Path(trainer.log_dir or trainer.default_root_dir) / "adapters"
        if not callable(getattr(pl_module, "save_adapters", None)):
            raise TypeError(f"AdapterCheckpoint needs a module with save_adapters(path); {type(pl_module).__name__}")

    def _run_config(self, trainer: L.Trainer, pl_module: L.LightningModule, score: float | None) -> dict[str, Any]:
        datamodule = trainer.datamodule
        return _plain(
            {
                "module": f"{type(pl_module).__module__}.{type(pl_module).__qualname__}",
                "hparams": dict(pl_module.hparams),
                "data": f"{type(datamodule).__module__}.{type(datamodule).__qualname__}" if datamodule else None,
                "data_hparams": dict(datamodule.hparams) if datamodule is not None else None,
                "identity": pl_module.identity() if hasattr(pl_module, "identity") else None,
                "global_step": trainer.global_step,
                "epoch": trainer.current_epoch,
                "monitor": self.monitor,
                "score": score,
                "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
        )

    def _write(self, trainer: L.Trainer, pl_module: L.LightningModule, kind: str, score: float | None = None) -> Path:
        assert self.dirpath is not None
        periodic = kind in ("last", "best")
        target = self.dirpath / kind / f"step-{trainer.global_step:07d}" if periodic else self.dirpath / kind
        with atomic_directory(target) as tmp, self._averaged(trainer, pl_module):
            pl_module.save_adapters(tmp / "adapter")
            (tmp / RUN_CONFIG).write_text(json.dumps(self._run_config(trainer, pl_module, score), indent=2))
        return target

    @staticmethod
    def _emas(trainer: L.Trainer) -> list:
        return [c for c in trainer.callbacks if isinstance(c, AdapterEMA) and c.average is not None]

    @contextmanager
    def _averaged(self, trainer: L.Trainer, pl_module: L.LightningModule) -> Iterator[None]:
        """With ``AdapterEMA`` callbacks, their averaged weights in the module for the write."""
        with ExitStack() as stack:
            for ema in self._emas(trainer):
                stack.enter_context(ema.average_in(pl_module))
            yield

    def _write_index(self) -> None:
        assert self.dirpath is not None
        index = {"last": self.last, "best": self.best, "final": self.final, "monitor": self.monitor, "mode": self.mode}
        tmp = self.dirpath / f".{INDEX}.tmp"
        tmp.write_text(json.dumps(_plain(index), indent=2))
        tmp.replace(self.dirpath / INDEX)

    # ---- when ----------------------------------------------------------------------------------------------------
    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        n, step = self.every_n_train_steps, trainer.global_step
        if n is None or step == 0 or step % n or step == self._last_saved_step or not trainer.is_global_zero:
            return
        self._last_saved_step = step
        for ema in self._emas(trainer):  # fold this step into the average first (idempotent: once per step)
            ema.on_train_batch_end(trainer, pl_module, *args)
        self.last.append({"path": str(self._write(trainer, pl_module, "last")), "step": step, "score": None})
        for old in self.last[: -self.save_last_k]:
            shutil.rmtree(old["path"], ignore_errors=True)
        self.last = self.last[-self.save_last_k :]
        self._write_index()

    def _better(self, a: float, b: float) -> bool:
        return a > b if self.mode == "max" else a < b

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.monitor is None or trainer.sanity_checking or not trainer.is_global_zero:
            return
        value = trainer.callback_metrics.get(self.monitor)
        if value is None:
            raise KeyError(
                f"AdapterCheckpoint monitors {self.monitor!r}, which was not logged; logged: "
                f"{sorted(trainer.callback_metrics)}"
            )
        score = float(value)
        if not math.isfinite(score):
            return
        step = trainer.global_step
        if any(b["step"] == step for b in self.best):
            return
        if len(self.best) >= self.save_top_k and not self._better(score, self.best[-1]["score"]):
            return
        path = self._write(trainer, pl_module, "best", score)
        self.best.append({"path": str(path), "step": step, "score": score})
        self.best.sort(key=lambda b: b["score"], reverse=self.mode == "max")
        for dropped in self.best[self.save_top_k :]:
            shutil.rmtree(dropped["path"], ignore_errors=True)
        self.best = self.best[: self.save_top_k]
        self._write_index()

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.save_on_train_end and trainer.is_global_zero:
            self.final = str(self._write(trainer, pl_module, "final"))
            self._write_index()
            rank_zero_info(f"adapters saved to {self.final}")

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        interrupted = isinstance(exception, (KeyboardInterrupt, SIGTERMException))
        if self.save_on_interrupt and interrupted and trainer.is_global_zero and self.dirpath is not None:
            path = self._write(trainer, pl_module, "interrupted")
            rank_zero_info(f"interrupted at step {trainer.global_step}: adapters saved to {path}")

    # ---- resume --------------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"last": self.last, "best": self.best, "dirpath": str(self.dirpath) if self.dirpath else None}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.last = [entry for entry in state_dict.get("last", []) if Path(entry["path"]).is_dir()]
        self.best = [entry for entry in state_dict.get("best", []) if Path(entry["path"]).is_dir()]
