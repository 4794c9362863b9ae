"""Read raw rows from the built-in data, local files (jsonl / json / parquet / csv) or the hub via ``datasets``.

Row-level problems are reported by file and row: JSON-lines files are parsed line by line (so an unparsable line
is named, not just "the dataset failed to load"), everything else goes through ``datasets.load_dataset``.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import datasets

log = logging.getLogger(__name__)

BUILTIN_DIR = Path(__file__).parent / "builtin"
BUILTIN_SOURCES: dict[str, Path] = {
    "builtin": BUILTIN_DIR / "preferences.jsonl",
    "builtin:preferences": BUILTIN_DIR / "preferences.jsonl",
    "builtin:prompts": BUILTIN_DIR / "prompts.jsonl",
}
_FILE_BUILDERS = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}
BadRows = Literal["error", "skip"]


class DataError(ValueError):
    """A row of the input data is unusable; the message names the source, the row and the field."""


@dataclass
class Row:
    """One raw record with where it came from (1-based row number: the line for JSON lines, else the index)."""

    source: str
    number: int
    data: dict[str, Any]


@dataclass
class BadRowLog:
    """Counts and first examples of skipped rows, so nothing is dropped silently."""

    policy: BadRows = "error"
    skipped: list[str] = field(default_factory=list)

    def report(self, message: str) -> None:
        """Raise in ``error`` mode; record and warn in ``skip`` mode."""
        if self.policy == "error":
            raise DataError(message + " (set bad_rows: skip to skip such rows and count them)")
        if self.policy != "skip":
            raise ValueError(f"bad_rows must be 'error' or 'skip', not '{self.policy}'")
        if len(self.skipped) < 5:
            log.warning("skipping bad row: %s", message)
        self.skipped.append(message)

    def summary(self, what: str) -> None:
        """Log how many rows were skipped for ``what``."""
        if self.skipped:
            log.warning("%s: skipped %d bad rows (first: %s)", what, len(self.skipped), self.skipped[0])


def _open_text(path: Path):
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8")


def _iter_jsonl(path: Path, bad: BadRowLog) -> Iterator[Row]:
    with _open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                bad.report(f"{path}: row {number}: unparsable JSON ({err.msg} at column {err.colno})")
                continue
            if not isinstance(record, dict):
                bad.report(f"{path}: row {number}: expected a JSON object, got {type(record).__name__}")
                continue
            yield Row(str(path), number, record)


def _file_kind(path: Path) -> str:
    suffixes = [s for s in path.suffixes if s != ".gz"]
    suffix = suffixes[-1] if suffixes else ""
    if suffix == ".json":
        with _open_text(path) as handle:
            head = handle.read(1).lstrip() or handle.read(64).lstrip()[:1]
        return ".json" if head == "[" or head == "" else ".jsonl"
    return suffix


def load_rows(
    path: str,
    split: str | None = None,
    name: str | None = None,
    bad: BadRowLog | None = None,
) -> list[Row]:
    """Read every row of a source.

    Args:
        path: ``builtin``, ``builtin:prompts``, a local file or directory, or a hub dataset id.
        split: split of a hub dataset (or of a directory of files); ``None`` takes ``train``.
        name: hub dataset configuration name (e.g. ``harmless-base`` for ``Anthropic/hh-rlhf`` data_dir).
        bad: where unparsable lines are reported.
    """
    bad = bad or BadRowLog()
    resolved = BUILTIN_SOURCES.get(path, Path(path).expanduser())
    if resolved.is_file():
        if split not in (None, "train"):  # a file has one split: never hand back its rows as another split
            raise DataError(
                f"{resolved}: a single file has no split '{split}' (only a dataset directory or a hub dataset has "
                f"splits); give the validation data as a directory split, or leave the split unset"
            )
        kind = _file_kind(resolved)
        if kind == ".jsonl":
            return list(_iter_jsonl(resolved, bad))
        if kind not in _FILE_BUILDERS:
            raise DataError(f"{resolved}: unsupported file type '{kind}' (use jsonl, json, parquet or csv)")
        try:
            ds = datasets.load_dataset(_FILE_BUILDERS[kind], data_files=str(resolved), split="train")
        except Exception as err:  # datasets raises many types; name the file
            raise DataError(f"{resolved}: could not be read as {kind}: {err}") from err
        source = str(resolved)
    else:
        if str(path).startswith("builtin"):
            raise DataError(f"unknown built-in source '{path}'; known: {sorted(BUILTIN_SOURCES)}")
        try:
            ds = datasets.load_dataset(str(resolved) if resolved.is_dir() else path, name, split=split or "train")
        except Exception as err:
            raise DataError(
                f"could not load dataset '{path}' (split={split or 'train'}, name={name}): not a local file, and "
                f"`datasets.load_dataset` failed (offline runs need it in the local cache): {err}"
            ) from err
        source = f"{path}[{split or 'train'}]"
    return [Row(source, i + 1, dict(record)) for i, record in enumerate(ds)]


def validated(rows: list[Row], parse: Callable[[Row], Any], bad: BadRowLog, what: str) -> list[Any]:
    """Apply ``parse`` (raising ``DataError`` for a bad row) to each row, routing failures through ``bad``."""
    out = []
    for row in rows:
        try:
            out.append(parse(row))
        except DataError as err:
            bad.report(str(err))
    bad.summary(what)
    if not out:
        raise DataError(f"{what}: no usable rows")
    return out


def require_str(row: Row, key: str, allow_empty: bool = False) -> str:
    """Fetch a string field or raise ``DataError`` naming source, row and field."""
    if key not in row.data or row.data[key] is None:
        raise DataError(f"{row.source}: row {row.number}: missing field '{key}' (fields: {sorted(row.data)})")
    value = row.data[key]
    if not isinstance(value, str):
        raise DataError(f"{row.source}: row {row.number}: field '{key}' must be a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise DataError(f"{row.source}: row {row.number}: field '{key}' is empty")
    return value
