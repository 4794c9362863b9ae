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


def test_rl_run_logs_sample_table_and_full_config_offline(tmp_path, monkeypatch):
    """RLOO + W&B: the validation sample table is a W&B table; the run config holds the whole CLI config."""
    import json

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_SILENT", "true")
    cli = PerlCLI(
        args=[
            "fit",
            "--config",
            str(CONF / "rl_tiny_rloo.yaml"),
            "--config",
            str(CONF / "logger" / "wandb.yaml"),
            "--trainer.max_steps=2",
            "--trainer.val_check_interval=2",
            "--trainer.limit_val_batches=1",
            f"--trainer.default_root_dir={tmp_path}",
            f"--trainer.logger.init_args.save_dir={tmp_path}",
            f"--model.init_args.save_dir={tmp_path / 'ad'}",
            "--trainer.enable_progress_bar=false",
        ],
    )
    experiment = cli.trainer.logger.experiment
    config = dict(experiment.config)["config"]  # LoggerSaveConfigCallback: the full config, not only hparams
    init = config["model"]["init_args"]
    assert config["model"]["class_path"] == "perl_lightning.modules.PolicyModule"
    assert init["algorithm"] == "rloo" and init["lora"]["r"] == 8 and init["sampling"]["temperature"] == 0.1
    assert config["trainer"]["max_steps"] == 2 and config["data"]["init_args"]["batch_size"] == 4
    experiment.finish()

    (run,) = list(tmp_path.rglob("offline-run-*"))
    tables = sorted((run / "files" / "media" / "table" / "val").glob("samples_*.table.json"))
    assert len(tables) == 1, list(run.rglob("*.table.json"))  # one validation, one table
    table = json.loads(tables[0].read_text())
    assert table["columns"] == ["prompt", "before", "after", "reward_before", "reward_after"]
    assert len(table["data"]) == len(cli.model.samples) > 0
    assert [row[0] for row in table["data"]] == [s["prompt"] for s in cli.model.samples]
    records = next(run.rglob("*.wandb")).read_bytes()
    assert b"val/samples" in records  # the table is referenced from the run history
    assert b'"lora":{"r":8,"alpha":16' in records and b'"max_steps":2' in records  # the config record
    assert b"rl/reward_mean" in records and b"memory/rollout/rss_peak_gib" in records  # metrics, MemoryMonitor
    assert list((run / "files" / "media" / "table" / "memory").glob("summary_*.table.json"))
