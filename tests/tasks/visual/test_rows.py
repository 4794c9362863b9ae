"""Reading VQA rows: images from paths, bytes, datasets dicts and PIL images; questions and answers in VQAv2's
shapes; errors naming file, row and field; decoded files cached."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from perl_lightning.sources import BadRowLog, DataError, Row, iter_rows, validated
from perl_lightning.tasks.visual import rows as vqa_rows
from perl_lightning.tasks.visual.rows import answers, clear_image_cache, load_image, question, source_dir


def _png(colour: tuple[int, int, int], mode: str = "RGB", size: int = 8) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (size, size), colour if mode == "RGB" else colour[0]).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def folder(tmp_path: Path, write_jsonl) -> Path:
    """``data/rows.jsonl`` with rows pointing at ``data/images/red.png`` (relative) and a missing file."""
    (tmp_path / "data" / "images").mkdir(parents=True)
    (tmp_path / "data" / "images" / "red.png").write_bytes(_png((255, 0, 0)))
    (tmp_path / "data" / "images" / "junk.png").write_bytes(b"not a png at all")
    write_jsonl(tmp_path / "data" / "rows.jsonl", [
        {"image": "images/red.png", "question": "What color?", "answers": ["red"] * 10},
        {"image": "images/missing.png", "question": "What color?", "answers": ["red"]},
        {"image": "images/junk.png", "question": "  ", "answers": []},
    ])  # fmt: skip
    return tmp_path / "data"


def _rows(path: Path) -> list[Row]:
    return [r for r in iter_rows(str(path)) if isinstance(r, Row)]


def test_relative_paths_resolve_against_the_source_file(folder: Path) -> None:
    row = _rows(folder / "rows.jsonl")[0]
    assert source_dir(row) == folder
    image = load_image(row)
    assert image.mode == "RGB" and image.size == (8, 8) and image.getpixel((0, 0)) == (255, 0, 0)
    other = Row("elsewhere/x.jsonl", 1, {"image": "red.png"})  # base_dir wins
    assert load_image(other, base_dir=folder / "images").getpixel((3, 3)) == (255, 0, 0)
    absolute = Row("hub-id[train]", 4, {"picture": str(folder / "images" / "red.png")})
    assert source_dir(absolute) is None and load_image(absolute, "picture").getpixel((1, 1)) == (255, 0, 0)
    split_source = Row(f"{folder}[test]", 1, {"image": "images/red.png"})  # iter_rows on a dataset directory
    assert source_dir(split_source) == folder and load_image(split_source).getpixel((0, 0)) == (255, 0, 0)


def test_bytes_dicts_and_pil_images() -> None:
    green = _png((0, 255, 0))
    assert load_image(Row("f", 1, {"image": green})).getpixel((0, 0)) == (0, 255, 0)
    assert load_image(Row("f", 1, {"image": bytearray(green)})).getpixel((0, 0)) == (0, 255, 0)
    assert load_image(Row("f", 1, {"image": {"bytes": green, "path": None}})).getpixel((0, 0)) == (0, 255, 0)
    grey = load_image(Row("f", 1, {"image": _png((90, 0, 0), mode="L")}))
    assert grey.mode == "RGB" and grey.getpixel((0, 0)) == (90, 90, 90)
    rgba = Image.new("RGBA", (4, 4), (1, 2, 3, 255))
    assert load_image(Row("f", 1, {"img": {"pixels": rgba}}), "img.pixels").getpixel((0, 0)) == (1, 2, 3)


def test_datasets_dict_with_a_path(folder: Path) -> None:
    row = Row(str(folder / "rows.jsonl"), 1, {"image": {"bytes": None, "path": "images/red.png"}})
    assert load_image(row).getpixel((0, 0)) == (255, 0, 0)


def _error(row: Row, call=load_image, *args) -> str:
    with pytest.raises(DataError) as info:
        call(row, *args)
    return str(info.value)


def test_image_errors_name_file_row_field_and_cause(folder: Path) -> None:
    source = str(folder / "rows.jsonl")
    _, missing, junk = _rows(folder / "rows.jsonl")
    message = _error(missing)
    assert message.startswith(f"{source}: row 2: field 'image'") and "not found" in message
    assert str(folder / "images" / "missing.png") in message
    message = _error(junk)
    assert message.startswith(f"{source}: row 3: field 'image'") and "unreadable image file" in message
    message = _error(Row(source, 7, {"image": b"\x89PNG\r\n\x1a\n garbage"}))
    assert message.startswith(f"{source}: row 7: field 'image'") and "unreadable image bytes" in message
    truncated = _png((1, 2, 3), size=64)[:60]
    assert "unreadable image bytes" in _error(Row(source, 8, {"image": {"bytes": truncated, "path": None}}))
    assert "bytes are empty" in _error(Row(source, 9, {"image": b""}))
    message = _error(Row(source, 5, {"question": "q"}))
    assert message.startswith(f"{source}: row 5: missing field 'image'")
    assert "must be an image path" in _error(Row(source, 6, {"image": 3}))
    assert "needs 'bytes' or 'path'" in _error(Row(source, 6, {"image": {"bytes": None, "path": None}}))
    assert f"{source}: row 6: field 'image' is empty" == _error(Row(source, 6, {"image": " "}))
    assert "is not a file" in _error(Row(source, 6, {"image": str(folder)}))


def test_question(folder: Path) -> None:
    source = str(folder / "rows.jsonl")
    assert question(Row(source, 1, {"question": "  What color is it? "})) == "What color is it?"
    assert _error(_rows(folder / "rows.jsonl")[2], question) == f"{source}: row 3: field 'question' is empty"
    assert _error(Row(source, 4, {}), question).startswith(f"{source}: row 4: missing field 'question'")
    assert "must be a string" in _error(Row(source, 4, {"question": ["q"]}), question)


def test_answers_in_every_shape(folder: Path) -> None:
    vqav2 = [{"answer": "2", "answer_confidence": "yes", "answer_id": i} for i in range(1, 10)]
    vqav2.append({"answer": "two", "answer_confidence": "maybe", "answer_id": 10})
    assert answers(Row("f", 1, {"answers": vqav2})) == ["2"] * 9 + ["two"]
    columns = {"answer": ["red", "red "], "answer_confidence": ["yes", "yes"], "answer_id": [1, 2]}  # datasets
    assert answers(Row("f", 1, {"answers": columns})) == ["red", "red"]
    assert answers(Row("f", 1, {"answers": ["yes", "", " no "]})) == ["yes", "no"]  # blank ones dropped
    assert answers(Row("f", 1, {"answer": "blue"})) == ["blue"]  # a single-answer row
    assert answers(Row("f", 1, {"answers": None, "answer": "blue"})) == ["blue"]


def test_answer_errors_name_file_row_and_field(folder: Path) -> None:
    source = str(folder / "rows.jsonl")
    message = _error(_rows(folder / "rows.jsonl")[2], answers)
    assert message == f"{source}: row 3: field 'answers' has no answers (empty or blank)"
    message = _error(Row(source, 4, {"question": "q"}), answers)
    assert message.startswith(f"{source}: row 4: missing field 'answers' (or 'answer'")
    assert "field 'answer' has no answers" in _error(Row(source, 4, {"answer": "  "}), answers)
    assert "field 'answers' must hold strings" in _error(Row(source, 4, {"answers": [{"text": "x"}]}), answers)
    assert "must be a list of answers" in _error(Row(source, 4, {"answers": 3}), answers)


def test_bad_rows_through_the_row_pipeline(folder: Path) -> None:
    """With ``bad_rows: skip`` the missing file and the junk row are counted, the good row kept."""

    def parse(row: Row) -> tuple:
        return load_image(row).size, question(row), answers(row)

    bad = BadRowLog("skip")
    parsed = validated(iter_rows(str(folder / "rows.jsonl")), parse, bad, "vqa")
    assert parsed == [((8, 8), "What color?", ["red"] * 10)]
    assert len(bad.skipped) == 2 and "row 2: field 'image'" in bad.skipped[0] and "row 3:" in bad.skipped[1]
    with pytest.raises(DataError, match="row 2: field 'image'"):
        validated(iter_rows(str(folder / "rows.jsonl")), parse, BadRowLog("error"), "vqa")


def test_a_file_is_decoded_once_until_it_changes(folder: Path) -> None:
    clear_image_cache()
    row = _rows(folder / "rows.jsonl")[0]
    first = load_image(row)
    first.putpixel((0, 0), (0, 0, 0))  # callers get a copy: the cache stays intact
    second = load_image(row)
    info = vqa_rows._decode_file.cache_info()
    assert (info.hits, info.misses) == (1, 1) and second.getpixel((0, 0)) == (255, 0, 0)
    path = folder / "images" / "red.png"
    stat = path.stat()
    path.write_bytes(_png((0, 0, 255)))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert load_image(row).getpixel((0, 0)) == (0, 0, 255)  # rewritten: decoded again
    assert vqa_rows._decode_file.cache_info().misses == 2
    clear_image_cache()
    assert vqa_rows._decode_file.cache_info().currsize == 0
