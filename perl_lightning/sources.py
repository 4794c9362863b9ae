"""Read raw rows from the built-in data, local files (jsonl / json / parquet / csv) or the hub via ``datasets``.

Row-level problems are reported by file and row: JSON-lines files are parsed line by line (so an unparsable line
is named, not just "the dataset failed to load"), everything else goes through ``datasets.load_dataset``.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import datasets

log = logging.getLogger(__name__)

BUILTIN_DIR = Path(__file__).parent / "data" / "builtin"
#: Short names of the built-in files; any other file under ``BUILTIN_DIR`` is ``builtin:<folder>/<stem>`` (e.g.
#: ``builtin:summarization/comparisons``), which is how each task names its built-in sample.
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
class BadLine:
    """A line of a JSON-lines file that is no record (not UTF-8, not JSON, not an object), in its place in the file."""

    source: str
    number: int
    message: str


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


def _iter_jsonl(path: Path) -> Iterator[Row | BadLine]:
    """Every line in file order: a :class:`Row`, or a :class:`BadLine` saying what is wrong with it.

    Lines are read as bytes and decoded one by one, so a line that is not UTF-8 is named (with the byte offset
    within the line) instead of failing the whole file.
    """
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                bad_byte = f"byte 0x{raw[err.start]:02x} at byte {err.start + 1} of the line"
                yield BadLine(str(path), number, f"not UTF-8 text ({bad_byte})")
                continue
            if number == 1:
                line = line.removeprefix("\ufeff")  # a byte-order mark is not part of the first record
            if not line.strip():
                continue
            try:
                record = json.loads(line.rstrip("\r\n"))
            except json.JSONDecodeError as err:  # some messages end in "at" ("Unterminated string starting at")
                where = f"column {err.colno}" if err.msg.endswith(" at") else f"at column {err.colno}"
                yield BadLine(str(path), number, f"unparsable JSON: {err.msg} {where}")
                continue
            if not isinstance(record, dict):
                yield BadLine(str(path), number, f"expected a JSON object, got {type(record).__name__}")
                continue
            yield Row(str(path), number, record)


def _file_kind(path: Path) -> str:
    suffixes = [s for s in path.suffixes if s != ".gz"]
    suffix = suffixes[-1] if suffixes else ""
    if suffix == ".json":
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as handle:
            head = handle.read(4096).decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")[:1]
        return ".json" if head in ("[", "") else ".jsonl"
    return suffix


def resolve_source(path: str) -> Path:
    """The local path of a source: a built-in name (``builtin``, ``builtin:prompts``, ``builtin:<folder>/<stem>``)
    or a local path (``~`` expanded; it may not exist, e.g. a hub id)."""
    if path in BUILTIN_SOURCES:
        return BUILTIN_SOURCES[path]
    if path.startswith("builtin:"):
        matches = sorted(BUILTIN_DIR.glob(path.removeprefix("builtin:") + ".*"))
        files = [m for m in matches if m.suffix != ".py"]
        if not files:
            known = sorted(BUILTIN_SOURCES) + sorted(
                f"builtin:{f.parent.name}/{f.stem}" for f in BUILTIN_DIR.glob("*/*") if f.suffix in (".jsonl", ".json")
            )
            raise DataError(f"unknown built-in source '{path}'; known: {known}")
        return files[0]
    return Path(path).expanduser()


def iter_rows(path: str, split: str | None = None, name: str | None = None) -> Iterator[Row | BadLine]:
    """Every row of a source in order, unreadable JSON lines as :class:`BadLine` in their place.

    Args:
        path: ``builtin``, ``builtin:prompts``, ``builtin:<task>/<file>``, a local file or directory, or a hub id.
        split: split of a hub dataset (or of a directory of files); ``None`` takes ``train``.
        name: hub dataset configuration name (e.g. ``harmless-base`` for ``Anthropic/hh-rlhf`` data_dir).
    """
    resolved = resolve_source(path)
    if resolved.is_file():
        if split not in (None, "train"):  # a file has one split: never hand back its rows as another split
            raise DataError(
                f"{resolved}: a single file has no split '{split}' (only a dataset directory or a hub dataset has "
                f"splits); give the validation data as a directory split, or leave the split unset"
            )
        kind = _file_kind(resolved)
        if kind == ".jsonl":
            yield from _iter_jsonl(resolved)
            return
        if kind not in _FILE_BUILDERS:
            raise DataError(f"{resolved}: unsupported file type '{kind}' (use jsonl, json, parquet or csv)")
        try:
            ds = datasets.load_dataset(_FILE_BUILDERS[kind], data_files=str(resolved), split="train")
        except Exception as err:  # datasets raises many types; name the file
            raise DataError(f"{resolved}: could not be read as {kind}: {err}") from err
        source = str(resolved)
    else:
        try:
            ds = datasets.load_dataset(str(resolved) if resolved.is_dir() else path, name, split=split or "train")
        except Exception as err:
            raise DataError(
                f"could not load dataset '{path}' (split={split or 'train'}, name={name}): not a local file, and "
                f"`datasets.load_dataset` failed (offline runs need it in the local cache): {err}"
            ) from err
        source = f"{path}[{split or 'train'}]"
    for i, record in enumerate(ds):
        yield Row(source, i + 1, dict(record))


def load_rows(
    path: str,
    split: str | None = None,
    name: str | None = None,
    bad: BadRowLog | None = None,
) -> list[Row]:
    """Every readable row of a source (see :func:`iter_rows`); unreadable JSON lines go to ``bad`` (by default an
    error naming file and row)."""
    bad = bad or BadRowLog()
    rows = []
    for item in iter_rows(path, split, name):
        if isinstance(item, BadLine):
            bad.report(f"{item.source}: row {item.number}: {item.message}")
        else:
            rows.append(item)
    return rows


def validated(rows: Iterable[Row | BadLine], parse: Callable[[Row], Any], bad: BadRowLog, what: str) -> list[Any]:
    """Apply ``parse`` (raising ``DataError`` for a bad row) to each row, routing failures through ``bad`` in file
    order: an unreadable line (:class:`BadLine`, from :func:`iter_rows`) is reported where it stands among the rows'
    field errors. ``parse`` may return ``None`` for a row the task filters out on purpose (not an error)."""
    out, filtered = [], 0
    for row in rows:
        if isinstance(row, BadLine):
            bad.report(f"{row.source}: row {row.number}: {row.message}")
            continue
        try:
            parsed = parse(row)
        except DataError as err:
            bad.report(str(err))
            continue
        if parsed is None:
            filtered += 1
        else:
            out.append(parsed)
    bad.summary(what)
    if filtered:
        log.info("%s: %d rows filtered out by the task's rules", what, filtered)
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
