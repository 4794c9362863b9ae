"""Helpers for the task tests: files in a task's schema, with malformed rows where a test wants them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perl_lightning.sources import BadRowLog, iter_rows, validated

REPO = Path(__file__).resolve().parents[2]
TASKMASTER = REPO.parent / "shared" / "data" / "taskmaster-coffee"


def _write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def _parse_all(path: Path | str, parse, policy: str = "error") -> tuple[list, list[str]]:
    bad = BadRowLog(policy)
    return validated(iter_rows(str(path)), parse, bad, str(path)), bad.skipped


@pytest.fixture
def write_jsonl():
    """``write_jsonl(path, rows)``: rows (dicts, or raw strings for malformed lines) as a JSON-lines file."""
    return _write_jsonl


@pytest.fixture
def parse_all():
    """``parse_all(path, parse, policy="error")``: the examples ``parse`` makes of a file's rows, and the skipped
    rows' messages."""
    return _parse_all


@pytest.fixture
def taskmaster() -> Path:
    """The real Taskmaster Coffee reward slice (skipped when absent)."""
    if not TASKMASTER.is_dir():
        pytest.skip(f"real data slice absent: {TASKMASTER}")
    return TASKMASTER
