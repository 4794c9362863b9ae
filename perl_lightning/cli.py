"""The ``perl`` command: LightningCLI (``fit``, ``validate``, ``test``, ``predict``) plus the pipeline job.

Examples::

    perl fit --config conf/rm_tiny.yaml
    perl fit --config conf/rm_smollm2_lora.yaml --config conf/logger/wandb.yaml
    perl pipeline            # the main job: reward model on the embedded model and built-in data
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import lightning as L
from lightning.pytorch.cli import LightningCLI


class PerlCLI(LightningCLI):
    """LightningCLI with the model and data given by class path (subclass mode), configs overwritten per run."""

    def __init__(self, args: list[str] | None = None, run: bool = True) -> None:
        super().__init__(
            L.LightningModule,
            L.LightningDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            save_config_kwargs={"overwrite": True},
            args=args,
            run=run,
        )


def _pipeline(argv: list[str]) -> int:
    from perl_lightning.pipeline import main as pipeline_main

    return pipeline_main(argv)


COMMANDS: dict[str, Callable[[list[str]], int]] = {"pipeline": _pipeline}


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
