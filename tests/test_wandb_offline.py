"""conf/logger/wandb.yaml works offline with the real wandb package: metrics and config land in the run files."""

from __future__ import annotations

from pathlib import Path

from perl_lightning.cli import PerlCLI

CONF = Path(__file__).resolve().parents[1] / "conf"


def test_wandb_logger_config_runs_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_SILENT", "true")
    cli = PerlCLI(
        args=[
            "fit",
            "--config",
            str(CONF / "rm_tiny.yaml"),
            "--config",
            str(CONF / "logger" / "wandb.yaml"),
            "--trainer.max_steps=2",
            "--trainer.val_check_interval=2",
            f"--trainer.default_root_dir={tmp_path}",
            f"--trainer.logger.init_args.save_dir={tmp_path}",
            f"--model.init_args.save_dir={tmp_path / 'ad'}",
            "--trainer.enable_progress_bar=false",
        ],
    )
    from lightning.pytorch.loggers import WandbLogger

    assert isinstance(cli.trainer.logger, WandbLogger)
    cli.trainer.logger.experiment.finish()
    runs = list(tmp_path.rglob("offline-run-*"))
    assert runs, "no offline wandb run directory was written"
    log = next(runs[0].rglob("*.wandb"), None)
    assert log is not None, "no .wandb log in the offline run"
    records = log.read_bytes()  # protobuf records: keys are stored as plain UTF-8
    assert b"learning_rate" in records  # the hyperparameters were recorded
    assert b"train/loss" in records and b"val/accuracy" in records  # and the metrics
