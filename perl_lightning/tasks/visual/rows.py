"""Reading a VQA row robustly: its image, question and annotator answers, with errors naming file, row and field.

Real VQAv2-style data comes in several shapes, all accepted here:

- the image as a path (absolute, or relative to ``base_dir``, else to the directory of the row's source: the jsonl
  file, or the dataset directory of a ``"<dir>[<split>]"`` source as :func:`perl_lightning.sources.iter_rows` names
  it; otherwise to the working directory), raw PNG/JPEG bytes, a ``datasets`` ``Image`` feature's
  ``{"bytes": ..., "path": ...}`` dict, or a PIL image;
- the answers as a list of strings, VQAv2's list of ``{"answer": ..., "answer_confidence": ..., "answer_id": ...}``
  dicts, the dict of lists a ``datasets`` ``Sequence`` of such dicts yields (``{"answer": [...], ...}``), or, for
  single-answer rows, one ``answer`` string.

Decoded image files are cached by (resolved path, modification time, size), at most :data:`IMAGE_CACHE_SIZE` of
them, so the k samples of one prompt and later epochs decode a file once; callers get a copy they may modify.
"""

from __future__ import annotations

import functools
import io
import os
import re
from pathlib import Path
from typing import Any

from PIL import Image

from perl_lightning.sources import DataError, Row
from perl_lightning.tasks.base import field_value, first_field, text_field, where

__all__ = ["IMAGE_CACHE_SIZE", "answers", "clear_image_cache", "load_image", "question", "source_dir"]

#: How many decoded image files :func:`load_image` keeps.
IMAGE_CACHE_SIZE = 128
_SPLIT_SOURCE = re.compile(r"^(?P<path>.*)\[[^\[\]]+\]$")
_IMAGE_ERRORS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)  # PIL's decoders raise these


def source_dir(row: Row) -> Path | None:
    """The directory a row's relative paths are relative to: its source file's directory, or the directory of a
    ``"<dir>[<split>]"`` source; ``None`` when the source is neither (a hub dataset)."""
    source = Path(row.source)
    if source.is_file():
        return source.parent
    match = _SPLIT_SOURCE.match(row.source)
    if match and Path(match["path"]).is_dir():
        return Path(match["path"])
    return None


@functools.lru_cache(maxsize=IMAGE_CACHE_SIZE)
def _decode_file(path: str, mtime_ns: int, size: int) -> Image.Image:
    """An image file decoded to RGB (cached; the key's mtime and size make a rewritten file decode again)."""
    with Image.open(path) as image:
        return image.convert("RGB")


def clear_image_cache() -> None:
    """Forget every decoded image file."""
    _decode_file.cache_clear()


def _decode_bytes(row: Row, field: str, data: bytes) -> Image.Image:
    if not data:
        raise DataError(f"{where(row, field)}: the image bytes are empty")
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.convert("RGB")
    except _IMAGE_ERRORS as err:
        raise DataError(f"{where(row, field)}: unreadable image bytes ({len(data)} bytes): {err}") from None


def _open_path(row: Row, field: str, value: str | os.PathLike[str], base_dir: str | Path | None) -> Image.Image:
    path = Path(value).expanduser()
    if not path.is_absolute():
        base = Path(base_dir) if base_dir is not None else source_dir(row)
        path = base / path if base is not None else path
    path = path.resolve()
    try:
        stat = path.stat()
    except OSError as err:
        raise DataError(f"{where(row, field)}: image file {path} not found ({err.strerror})") from None
    if not path.is_file():
        raise DataError(f"{where(row, field)}: image path {path} is not a file")
    try:
        return _decode_file(str(path), stat.st_mtime_ns, stat.st_size).copy()
    except _IMAGE_ERRORS as err:
        raise DataError(f"{where(row, field)}: unreadable image file {path}: {err}") from None


def load_image(row: Row, field: str = "image", base_dir: str | Path | None = None) -> Image.Image:
    """The row's image as an RGB PIL image.

    Args:
        row: the raw row.
        field: the image field (``a.b`` for a nested one).
        base_dir: the directory relative paths are relative to (default: see :func:`source_dir`).

    Raises:
        DataError: the field is missing, holds an unsupported type, names a missing file, or holds bytes / a file
            PIL cannot decode; the message names the source, the row, the field and the cause.
    """
    value: Any = field_value(row, field)
    if isinstance(value, Image.Image):
        try:
            return value.convert("RGB")
        except _IMAGE_ERRORS as err:
            raise DataError(f"{where(row, field)}: unreadable PIL image: {err}") from None
    if isinstance(value, bytes | bytearray | memoryview):
        return _decode_bytes(row, field, bytes(value))
    if isinstance(value, dict):  # a datasets Image feature: {"bytes": ..., "path": ...}
        if value.get("bytes") is not None:
            return _decode_bytes(row, field, bytes(value["bytes"]))
        if value.get("path"):
            return _open_path(row, field, value["path"], base_dir)
        raise DataError(f"{where(row, field)}: an image dict needs 'bytes' or 'path' (keys: {sorted(value)})")
    if isinstance(value, str | os.PathLike):
        if not str(value).strip():
            raise DataError(f"{where(row, field)} is empty")
        return _open_path(row, field, value, base_dir)
    raise DataError(
        f"{where(row, field)} must be an image path, image bytes, a {{'bytes', 'path'}} dict or a PIL image, "
        f"got {type(value).__name__}"
    )


def question(row: Row, field: str = "question") -> str:
    """The row's question, stripped; ``DataError`` naming the field when missing, not a string, or blank."""
    return text_field(row, field).strip()


def _answer_text(row: Row, field: str, item: Any) -> str:
    if isinstance(item, dict):
        item = item.get("answer")
    if not isinstance(item, str):
        raise DataError(f"{where(row, field)} must hold strings or {{'answer': str}} dicts, got {type(item).__name__}")
    return item.strip()


def answers(row: Row) -> list[str]:
    """The annotators' answers: ``answers`` (see the module docstring), else a single ``answer`` string.

    Blank answers are dropped (so that an empty reply never matches); the rest are returned stripped, in order,
    duplicates kept (VQA accuracy counts them).

    Raises:
        DataError: neither field present; a field of the wrong type; no non-blank answer. The message names the
            source, the row and the field.
    """
    field = first_field(row, ("answers", "answer"))
    value = row.data[field]
    if isinstance(value, dict) and isinstance(value.get("answer"), list):  # datasets' dict of lists
        value = value["answer"]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        raise DataError(f"{where(row, field)} must be a list of answers or a string, got {type(value).__name__}")
    out = [a for a in (_answer_text(row, field, item) for item in value) if a]
    if not out:
        raise DataError(f"{where(row, field)} has no answers (empty or blank)")
    return out
