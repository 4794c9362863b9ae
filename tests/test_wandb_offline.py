"""conf/logger/wandb.yaml works offline with the real wandb package: metrics and config land in the run files.

The run's ``.wandb`` file is read back record by record (wandb's LevelDB-style log of ``wandb_internal_pb2.Record``
protobufs), so the tests compare logged values, not only key names.
"""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from perl_lightning.callbacks.sample_table import COLUMNS
from perl_lightning.cli import PerlCLI

CONF = Path(__file__).resolve().parents[1] / "conf"
BLOCK, HEADER = 32768, 7  # the log's block size and per-chunk header (crc32, length, type)


def _records(path: Path) -> Iterator:
    """The protobuf records of a ``.wandb`` file (chunks FULL=1 or FIRST=2, MIDDLE=3..., LAST=4; never across the
    zero padding at a block's end)."""
    from wandb.proto import wandb_internal_pb2 as pb

    data = path.read_bytes()
    ident, magic, _version = struct.unpack("<4sHB", data[:HEADER])
    assert (ident, magic) == (b":W&B", 0xBEE1), f"{path}: not a wandb log ({ident!r}, {magic:#x})"
    pos, pending = HEADER, b""
    while pos + HEADER <= len(data):
        left = BLOCK - pos % BLOCK
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + HEADER])
        if left < HEADER or (kind == 0 and length == 0):  # block padding
            pos += left
            continue
        pending += data[pos + HEADER : pos + HEADER + length]
        pos += HEADER + length
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(pending)
            pending = b""
            yield record


def _history(run: Path) -> list[dict[str, object]]:
    """Every history row (``wandb.log`` call) of an offline run, values decoded from JSON."""
    rows = []
    for record in _records(next(run.rglob("*.wandb"))):
        if record.WhichOneof("record_type") == "history":
            rows.append({item.key or "/".join(item.nested_key): json.loads(item.value_json)
                         for item in record.history.item})  # fmt: skip
    return rows


def _rows_with(run: Path, key: str, count: int = 1) -> list[dict[str, object]]:
    """The history rows holding ``key``, once at least ``count`` of them have reached the log: wandb's own process
    writes the file, and ``finish()`` can return before its last records land (seen once in CI)."""
    for _ in range(80):
        rows = [row for row in _history(run) if key in row]
        if len(rows) >= count:
            return rows
        time.sleep(0.25)
    return rows


def _last(rows: list[dict[str, object]], key: str) -> object:
    values = [row[key] for row in rows if key in row]
    assert values, f"{key} was never logged; keys: {sorted({k for r in rows for k in r})}"
    return values[-1]


def _offline_fit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: Path, *extra: str) -> PerlCLI:
    """``perl fit`` on ``config`` plus conf/logger/wandb.yaml, 2 steps and one validation, W&B offline in tmp_path."""
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_SILENT", "true")
    return PerlCLI(
        args=[
            "fit",
            "--config",
            str(config),
            "--config",
            str(CONF / "logger" / "wandb.yaml"),
            *extra,
            "--trainer.max_steps=2",
            "--trainer.val_check_interval=2",
            f"--trainer.default_root_dir={tmp_path}",
            f"--trainer.logger.init_args.save_dir={tmp_path}",
            f"--model.init_args.save_dir={tmp_path / 'ad'}",
            "--trainer.enable_progress_bar=false",
        ],
    )


def test_wandb_logger_config_runs_offline(tmp_path, monkeypatch):
    cli = _offline_fit(tmp_path, monkeypatch, CONF / "rm_tiny.yaml")
    from lightning.pytorch.loggers import WandbLogger

    assert isinstance(cli.trainer.logger, WandbLogger)
    cli.trainer.logger.experiment.finish()
    runs = list(tmp_path.rglob("offline-run-*"))
    assert runs, "no offline wandb run directory was written"
    log = next(runs[0].rglob("*.wandb"), None)
    assert log is not None, "no .wandb log in the offline run"
    _rows_with(runs[0], "val/accuracy")  # wait for the last rows to reach the file
    records = log.read_bytes()  # protobuf records: keys are stored as plain UTF-8
    assert b"learning_rate" in records  # the hyperparameters were recorded
    assert b"train/loss" in records and b"val/accuracy" in records  # and the metrics
    # the values read back are the ones the module logged (callback_metrics: the last value of each key)
    rows, logged = _history(runs[0]), cli.trainer.callback_metrics
    losses = [row["train/loss"] for row in rows if "train/loss" in row]
    assert len(losses) == 2 and losses[0] != losses[1]  # one per step; the model trained
    assert losses[-1] == float(logged["train/loss"])
    assert _last(rows, "val/accuracy") == float(logged["val/accuracy"])
    assert _last(rows, "val/loss") == float(logged["val/loss"])


def test_rl_run_logs_sample_table_and_full_config_offline(tmp_path, monkeypatch):
    """RLOO + W&B: the validation sample table is a W&B table; the run config holds the whole CLI config."""
    import json

    cli = _offline_fit(tmp_path, monkeypatch, CONF / "rl_tiny_rloo.yaml", "--trainer.limit_val_batches=1")
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
    assert table["columns"] == COLUMNS == ["row_id", "prompt", "before", "after", "reward_before", "reward_after"]
    samples = cli.model.eval_samples
    assert len(table["data"]) == len(samples) > 0
    assert [row[:2] for row in table["data"]] == [[s["row_id"], s["prompt"]] for s in samples]
    assert [row[5] for row in table["data"]] == [s["reward_after"] for s in samples]
    _rows_with(run, "rl/reward_mean", count=2)  # wait for the last rows to reach the file
    rows, logged = _history(run), cli.trainer.callback_metrics
    rewards = [row["rl/reward_mean"] for row in rows if "rl/reward_mean" in row]
    assert len(rewards) == 2 and rewards[-1] == float(logged["rl/reward_mean"])  # the value, not only the key
    assert _last(rows, "val/reward") == float(logged["val/reward"])
    assert _last(rows, "rl/kl_coef") == float(logged["rl/kl_coef"]) == pytest.approx(0.01)
    records = next(run.rglob("*.wandb")).read_bytes()
    assert b"val/samples" in records  # the table is referenced from the run history
    assert b'"lora":{"r":8,"alpha":16' in records and b'"max_steps":2' in records  # the config record
    assert b"rl/reward_mean" in records and b"memory/rollout/rss_peak_gib" in records  # metrics, MemoryMonitor
    assert list((run / "files" / "media" / "table" / "memory").glob("summary_*.table.json"))


def test_vlm_rl_run_logs_the_images_and_its_memory_offline(tmp_path, monkeypatch):
    """GRPO on tiny-llava (conf/vqa/rl_tiny.yaml) + W&B + MemoryMonitor: each sample-table row carries the image the
    model saw as a W&B image (a PNG in the run's media), and the memory figures of the VLM's phases are logged."""
    cli = _offline_fit(tmp_path, monkeypatch, CONF / "vqa" / "rl_tiny.yaml", "--trainer.limit_val_batches=1",
                       "--trainer.callbacks+=perl_lightning.callbacks.memory.MemoryMonitor")  # fmt: skip
    cli.trainer.logger.experiment.finish()
    (run,) = list(tmp_path.rglob("offline-run-*"))
    (table_file,) = sorted((run / "files" / "media" / "table" / "val").glob("samples_*.table.json"))
    table = json.loads(table_file.read_text())
    assert table["columns"] == [*COLUMNS, "image"]
    samples = cli.model.eval_samples
    assert len(table["data"]) == len(samples) > 0 and all(s.get("image") is not None for s in samples)
    # offline, wandb keeps only the word "Image" in a table's image cells (wandb issue 4611); the images also go out
    # as a list, which it writes as PNG files: the images the model saw (one file per distinct image: wandb names
    # them by content, and the samples of one prompt share its image)
    pngs = sorted((run / "files" / "media" / "images" / "val").glob("sample_images_*.png"))
    seen = {(Image.open(p).size, Image.open(p).convert("RGB").tobytes()) for p in pngs}
    assert seen and seen == {(s["image"].size, s["image"].convert("RGB").tobytes()) for s in samples}
    rows = _rows_with(run, "val/sample_images/count")
    assert rows, "no history row with the sample images reached the run's log"
    logged = rows[0]  # one image per sample, in order
    assert logged["val/sample_images/count"] == len(samples)
    assert logged["val/sample_images/captions"] == [s["row_id"] for s in samples]
    assert all((run / "files" / f).is_file() for f in logged["val/sample_images/filenames"])
    records = next(run.rglob("*.wandb")).read_bytes()
    assert b"memory/rollout/rss_peak_gib" in records and b"memory/scoring/rss_peak_gib" in records
