"""Reading raw rows: local files of every kind, built-in data, row numbering and bad-row reporting."""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import datasets
import huggingface_hub.constants
import pandas as pd
import pytest

from perl_lightning.sources import (
    BadRowLog,
    DataError,
    Row,
    iter_rows,
    load_rows,
    require_str,
    resolve_source,
    validated,
)

ROWS = [
    {"prompt": "p1", "chosen": "a1", "rejected": "b1"},
    {"prompt": "p2", "chosen": "a2", "rejected": "b2"},
    {"prompt": "p3", "chosen": "a3", "rejected": "b3"},
]


def _jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_jsonl_rows_numbered_by_line_from_one(tmp_path):
    path = _jsonl(tmp_path / "d.jsonl", [json.dumps(ROWS[0]), "", "   ", json.dumps(ROWS[1])])
    rows = load_rows(str(path))
    assert [r.number for r in rows] == [1, 4]  # blank lines are skipped but still counted
    assert [r.data for r in rows] == [ROWS[0], ROWS[1]]
    assert all(r.source == str(path) for r in rows)


def test_jsonl_gz(tmp_path):
    path = tmp_path / "d.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("".join(json.dumps(r) + "\n" for r in ROWS))
    rows = load_rows(str(path))
    assert [r.number for r in rows] == [1, 2, 3]
    assert [r.data for r in rows] == ROWS


def test_json_array_file(tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps(ROWS, indent=2), encoding="utf-8")
    rows = load_rows(str(path))
    assert [r.number for r in rows] == [1, 2, 3]
    assert [r.data for r in rows] == ROWS


def test_json_file_holding_json_lines_is_read_line_by_line(tmp_path):
    path = _jsonl(tmp_path / "d.json", [json.dumps(ROWS[0]), "{broken", json.dumps(ROWS[2])])
    bad = BadRowLog("skip")
    rows = load_rows(str(path), bad=bad)
    assert [r.number for r in rows] == [1, 3]
    assert len(bad.skipped) == 1 and "row 2" in bad.skipped[0]


def test_csv_file(tmp_path):
    path = tmp_path / "d.csv"
    pd.DataFrame(ROWS).to_csv(path, index=False)
    rows = load_rows(str(path))
    assert [r.number for r in rows] == [1, 2, 3]
    assert [r.data for r in rows] == ROWS
    assert rows[0].source == str(path)


def test_parquet_file(tmp_path):
    path = tmp_path / "d.parquet"
    pd.DataFrame(ROWS).to_parquet(path)
    rows = load_rows(str(path))
    assert [r.number for r in rows] == [1, 2, 3]
    assert [r.data for r in rows] == ROWS


def test_unsupported_file_type(tmp_path):
    path = tmp_path / "d.txt"
    path.write_text("hello\n")
    with pytest.raises(DataError, match=r"unsupported file type '\.txt'"):
        load_rows(str(path))


def test_directory_splits(tmp_path):
    _jsonl(tmp_path / "train.jsonl", [json.dumps(r) for r in ROWS])
    _jsonl(tmp_path / "test.jsonl", [json.dumps(ROWS[1])])
    train = load_rows(str(tmp_path))
    test = load_rows(str(tmp_path), split="test")
    assert [r.data for r in train] == ROWS
    assert [r.data for r in test] == [ROWS[1]]
    assert [r.number for r in train] == [1, 2, 3]
    assert test[0].source == f"{tmp_path}[test]"


def test_single_file_has_no_other_split(tmp_path):
    path = _jsonl(tmp_path / "d.jsonl", [json.dumps(r) for r in ROWS])
    assert len(load_rows(str(path), split="train")) == 3
    with pytest.raises(DataError, match="no split 'validation'") as info:
        load_rows(str(path), split="validation")
    assert str(path) in str(info.value)


@pytest.mark.parametrize("name", ["builtin", "builtin:preferences"])
def test_builtin_preferences(name):
    rows = load_rows(name)
    assert len(rows) > 100
    assert [r.number for r in rows[:3]] == [1, 2, 3]
    for row in rows:
        assert set(row.data) == {"prompt", "chosen", "rejected"}
        assert all(isinstance(v, str) and v.strip() for v in row.data.values())


def test_builtin_prompts():
    rows = load_rows("builtin:prompts")
    assert len(rows) > 100
    assert all(set(r.data) == {"prompt"} and r.data["prompt"].strip() for r in rows)


def test_unknown_builtin_name():
    with pytest.raises(DataError, match=r"unknown built-in source 'builtin:nope'.*builtin:prompts"):
        load_rows("builtin:nope")


def test_unparsable_line_raises_naming_file_and_row(tmp_path):
    path = _jsonl(tmp_path / "d.jsonl", [json.dumps(ROWS[0]), '{"prompt": "p2", "chosen": ', json.dumps(ROWS[2])])
    with pytest.raises(DataError) as info:
        load_rows(str(path))
    message = str(info.value)
    assert f"{path}: row 2: unparsable JSON" in message
    assert "bad_rows: skip" in message


def test_unparsable_line_skipped_and_counted(tmp_path, caplog):
    lines = [json.dumps(ROWS[0]), "{not json", json.dumps(ROWS[1]), "also not json", json.dumps(ROWS[2])]
    path = _jsonl(tmp_path / "d.jsonl", lines)
    bad = BadRowLog("skip")
    with caplog.at_level(logging.WARNING, logger="perl_lightning.sources"):
        rows = load_rows(str(path), bad=bad)
    assert [r.number for r in rows] == [1, 3, 5]
    assert [r.data for r in rows] == ROWS
    assert len(bad.skipped) == 2
    assert f"{path}: row 2" in bad.skipped[0] and f"{path}: row 4" in bad.skipped[1]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(str(path) in w and "row 2" in w for w in warnings)
    assert any(str(path) in w and "row 4" in w for w in warnings)


@pytest.mark.parametrize(("line", "kind"), [("[1, 2]", "list"), ('"just text"', "str"), ("42", "int")])
def test_non_object_json_line(tmp_path, line, kind):
    path = _jsonl(tmp_path / "d.jsonl", [json.dumps(ROWS[0]), line])
    with pytest.raises(DataError, match=rf"row 2: expected a JSON object, got {kind}") as info:
        load_rows(str(path))
    assert str(path) in str(info.value)
    bad = BadRowLog("skip")
    rows = load_rows(str(path), bad=bad)
    assert [r.number for r in rows] == [1]
    assert len(bad.skipped) == 1


def test_missing_hub_dataset_offline(monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(DataError) as info:
        load_rows("perl-lightning-tests/no-such-dataset", split="validation")
    message = str(info.value)
    assert "could not load dataset 'perl-lightning-tests/no-such-dataset'" in message
    assert "split=validation" in message
    assert "not a local file" in message


def test_bad_row_log_policies():
    with pytest.raises(DataError, match="row 7: broken"):
        BadRowLog("error").report("f.jsonl: row 7: broken")
    with pytest.raises(ValueError, match="bad_rows must be 'error' or 'skip'"):
        BadRowLog("warn").report("f.jsonl: row 7: broken")  # type: ignore[arg-type]


def test_require_str_messages():
    row = Row("f.jsonl", 9, {"a": "x", "n": None, "i": 3, "e": "  "})
    assert require_str(row, "a") == "x"
    assert require_str(row, "e", allow_empty=True) == "  "
    with pytest.raises(DataError, match=r"f\.jsonl: row 9: missing field 'b'"):
        require_str(row, "b")
    with pytest.raises(DataError, match=r"f\.jsonl: row 9: missing field 'n'"):
        require_str(row, "n")
    with pytest.raises(DataError, match=r"f\.jsonl: row 9: field 'i' must be a string, got int"):
        require_str(row, "i")
    with pytest.raises(DataError, match=r"f\.jsonl: row 9: field 'e' is empty"):
        require_str(row, "e")


def test_validated_routes_failures_through_the_log():
    rows = [Row("f", i, {"v": v}) for i, v in enumerate(["a", 1, "c"], start=1)]
    bad = BadRowLog("skip")
    assert validated(rows, lambda r: require_str(r, "v"), bad, "test") == ["a", "c"]
    assert bad.skipped == ["f: row 2: field 'v' must be a string, got int"]
    with pytest.raises(DataError, match="row 2"):
        validated(rows, lambda r: require_str(r, "v"), BadRowLog("error"), "test")
    with pytest.raises(DataError, match="test: no usable rows"):
        validated(rows[1:2], lambda r: require_str(r, "v"), BadRowLog("skip"), "test")


def test_non_utf8_line_names_file_and_row_in_both_modes(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_bytes(json.dumps(ROWS[0]).encode() + b"\n" + b'{"prompt": "caf\xe9"}\n' + json.dumps(ROWS[2]).encode())
    with pytest.raises(DataError) as info:
        load_rows(str(path))
    assert f"{path}: row 2: not UTF-8 text (byte 0xe9 at byte 16 of the line)" in str(info.value)
    bad = BadRowLog("skip")
    rows = load_rows(str(path), bad=bad)
    assert [r.data for r in rows] == [ROWS[0], ROWS[2]]
    assert len(bad.skipped) == 1 and "row 2: not UTF-8" in bad.skipped[0]


def test_non_utf8_line_in_gzip_and_json_named_files(tmp_path):
    body = json.dumps(ROWS[0]).encode() + b"\n\xff\xfe\n" + json.dumps(ROWS[1]).encode() + b"\n"
    gz = tmp_path / "d.jsonl.gz"
    gz.write_bytes(gzip.compress(body))
    named_json = tmp_path / "d.json"
    named_json.write_bytes(body)
    for path in (gz, named_json):
        bad = BadRowLog("skip")
        assert [r.number for r in load_rows(str(path), bad=bad)] == [1, 3]
        assert f"{path}: row 2: not UTF-8" in bad.skipped[0]


def test_unparsable_json_message_says_column_once(tmp_path):
    path = _jsonl(tmp_path / "d.jsonl", ['{"prompt": "unterminated'])
    with pytest.raises(DataError) as info:
        load_rows(str(path))
    message = str(info.value)
    assert "row 1: unparsable JSON: Unterminated string starting at column 12" in message
    assert "at at" not in message
    path = _jsonl(tmp_path / "e.jsonl", ['{"prompt" "x"}'])
    with pytest.raises(DataError, match=r"row 1: unparsable JSON: Expecting ':' delimiter at column 11"):
        load_rows(str(path))


def test_bad_rows_are_reported_in_file_order(tmp_path):
    def parse(row: Row) -> str:
        return require_str(row, "prompt")

    lines = [json.dumps({"prompt": "ok"}), json.dumps({"text": "no prompt"}), "{broken", json.dumps({"prompt": "ok2"})]
    path = _jsonl(tmp_path / "d.jsonl", lines)
    with pytest.raises(DataError, match=r"row 2: missing field 'prompt'"):  # row 2's field error before row 3's JSON
        validated(iter_rows(str(path)), parse, BadRowLog(), "d")
    bad = BadRowLog("skip")
    assert validated(iter_rows(str(path)), parse, bad, "d") == ["ok", "ok2"]
    assert ["row 2" in bad.skipped[0], "row 3" in bad.skipped[1]] == [True, True]


def test_validated_counts_rows_a_task_filters_out_without_error(tmp_path):
    path = _jsonl(tmp_path / "d.jsonl", [json.dumps({"prompt": "keep"}), json.dumps({"prompt": "drop"})])
    bad = BadRowLog()
    kept = validated(iter_rows(str(path)), lambda r: None if r.data["prompt"] == "drop" else r.data["prompt"], bad, "d")
    assert kept == ["keep"] and bad.skipped == []


def test_builtin_task_files_resolve_by_folder_and_stem():
    assert resolve_source("builtin:prompts").name == "prompts.jsonl"
    with pytest.raises(DataError, match=r"unknown built-in source 'builtin:nope/none'"):
        resolve_source("builtin:nope/none")
