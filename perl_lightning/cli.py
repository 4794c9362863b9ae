"""The ``perl`` command: LightningCLI (``fit``, ``validate``, ``test``, ``predict``) plus the pipeline job.

Examples::

    perl fit --config conf/rm_tiny.yaml
    perl fit --config conf/rm_smollm2_lora.yaml --config conf/logger/wandb.yaml
    perl pipeline            # the main job: reward model on the embedded model and built-in data
    perl export --adapter runs/rm_tiny/version_0/reward_adapter --out exported/rm   # merged model for serving
    perl warm --adapters rm_seed0 rm_seed1 rm_seed2 --out rm_warm   # WARM: weight-averaged reward adapter
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import lightning as L
import yaml
from lightning.pytorch.cli import LightningCLI, SaveConfigCallback

# the modules and data modules, imported so that `perl fit --help` lists them as the known subclasses to pick
from perl_lightning import data, modules  # noqa: F401
from perl_lightning.averaging import main as warm_main
from perl_lightning.export import main as export_main
from perl_lightning.pipeline import main as pipeline_main


class LoggerSaveConfigCallback(SaveConfigCallback):
    """Lightning's ``config.yaml`` in the log directory, plus the full run config sent to every logger as ``config``.

    The modules' hyperparameters reach the loggers anyway, but not the trainer, data, seed and callback settings, nor
    init arguments a module keeps out of ``save_hyperparameters`` (``lora``, ``sampling``); with this the W&B run
    config holds the whole command (``config.model.init_args.lora.r``, ``config.trainer.max_steps``, ...).
    """

    def save_config(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        config = yaml.safe_load(self.parser.dump(self.config, skip_none=False))
        for logger in trainer.loggers:
            logger.log_hyperparams({"config": config})


class PerlCLI(LightningCLI):
    """LightningCLI with the model and data given by class path (subclass mode), configs overwritten per run."""

    def __init__(self, args: list[str] | None = None, run: bool = True) -> None:
        super().__init__(
            L.LightningModule,
            L.LightningDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            save_config_callback=LoggerSaveConfigCallback,
            save_config_kwargs={"overwrite": True},
            args=args,
            run=run,
        )


COMMANDS: dict[str, Callable[[list[str]], int]] = {"pipeline": pipeline_main, "export": export_main, "warm": warm_main}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``perl`` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args and args[0] in COMMANDS:
        return COMMANDS[args[0]](args[1:])
    PerlCLI(args=argv)  # None: LightningCLI reads sys.argv itself
    return 0


if __name__ == "__main__":
    sys.exit(main())
