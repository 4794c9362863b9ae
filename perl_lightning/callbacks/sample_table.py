"""SampleTable: the evaluation's sample table (prompt, response before and after, rewards) to CSV or a W&B table."""

from __future__ import annotations

import csv
from pathlib import Path

import lightning as L
import wandb
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import WandbLogger

#: Columns of the table, in order (what ``PolicyModule.eval_samples`` rows hold).
COLUMNS = ["row_id", "prompt", "before", "after", "reward_before", "reward_after"]


class SampleTable(Callback):
    """After each validation, write the module's ``eval_samples`` rows (a few held-out prompts with the initial and
    the current policy's responses and rewards): a W&B table ``val/samples`` under a ``WandbLogger``, else
    ``<log_dir>/samples/step_<global step>.csv``. ``PolicyModule`` adds one with the defaults when none is configured.

    For a vision-language policy the rows also carry the image the model saw: an ``image`` column of ``wandb.Image``
    in the W&B table, and in CSV the path of a PNG written next to it (``step_<step>/<n>.png``). Under W&B the images
    are also logged as ``val/sample_images`` (captioned with the row id): an offline run keeps only the word "Image"
    in a table's image cells (wandb issue 4611), a plain list of images it keeps as PNG files.

    Args:
        dirpath: where the CSV files go; ``None``: ``<log_dir>/samples``.
        wandb: log a W&B table when a ``WandbLogger`` is attached (else CSV anyway).
    """

    def __init__(self, dirpath: str | None = None, wandb: bool = True) -> None:
        self.dirpath, self.wandb = dirpath, wandb
        self.written: list[Path] = []

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        log_dir = trainer.log_dir  # a broadcast under DDP: every rank must ask, not only rank 0
        samples = getattr(pl_module, "eval_samples", [])
        rows = [[row.get(c) for c in COLUMNS] for row in samples]
        if not rows or trainer.sanity_checking or not trainer.is_global_zero:
            return
        images = [row.get("image") for row in samples]
        columns = COLUMNS + (["image"] if any(i is not None for i in images) else [])
        loggers = [lg for lg in trainer.loggers if isinstance(lg, WandbLogger)] if self.wandb else []
        for logger in loggers:
            data = rows if len(columns) == len(COLUMNS) else [
                [*r, None if i is None else wandb.Image(i)] for r, i in zip(rows, images, strict=True)]  # fmt: skip
            logger.log_table(key="val/samples", columns=columns, data=data, step=trainer.global_step)
            shown = [(r[0], i) for r, i in zip(rows, images, strict=True) if i is not None]
            if shown:
                logger.log_image(key="val/sample_images", images=[i for _, i in shown],
                                 caption=[str(r) for r, _ in shown], step=trainer.global_step)  # fmt: skip
        if loggers:
            return
        root = Path(self.dirpath or Path(log_dir or trainer.default_root_dir) / "samples")
        root.mkdir(parents=True, exist_ok=True)
        path = root / f"step_{trainer.global_step:06d}.csv"
        if len(columns) > len(COLUMNS):  # the images as PNG files, their paths in the table
            folder = root / path.stem
            folder.mkdir(exist_ok=True)
            for n, (row, image) in enumerate(zip(rows, images, strict=True)):
                if image is not None:
                    image.save(folder / f"{n}.png")
                row.append(None if image is None else f"{folder.name}/{n}.png")
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([columns, *rows])
        tmp.replace(path)  # atomic: a reader never sees half a table
        self.written.append(path)
