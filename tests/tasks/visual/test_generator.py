"""The built-in VQA dataset: rows and PNGs, seeded, atomic, written once, with a held-out split of unseen
colour+shape combinations."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PIL import Image

from perl_lightning.tasks.visual import generator
from perl_lightning.tasks.visual.answers import normalize_answer, vqa_accuracy
from perl_lightning.tasks.visual.generator import (
    ALL_COMBOS,
    HELD_OUT_COMBOS,
    SEEN_COMBOS,
    builtin_root,
    generate_rows,
    write_dataset,
)
from perl_lightning.tasks.visual.scenes import COLORS, SHAPES, combo, render

SPLITS = ("train", "validation", "test")
HELD_OUT = {"green triangle", "yellow circle", "blue square"}
FIELDS = {"id", "image", "question", "answer", "answers", "question_type", "targets", "scene"}


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("vqa") / "data", seed=3, train=300, validation=60, test=200)


@pytest.fixture(scope="module")
def rows(dataset: Path) -> dict[str, list[dict]]:
    return {s: _read(dataset / f"{s}.jsonl") for s in SPLITS}


def test_held_out_combinations() -> None:
    assert {f"{c} {s}" for c, s in HELD_OUT_COMBOS} == HELD_OUT
    assert set(SEEN_COMBOS) | set(HELD_OUT_COMBOS) == set(ALL_COMBOS) and len(ALL_COMBOS) == len(COLORS) * 3
    assert not set(SEEN_COMBOS) & set(HELD_OUT_COMBOS)
    assert {c for c, _ in SEEN_COMBOS} == set(COLORS) and {s for _, s in SEEN_COMBOS} == set(SHAPES)


def test_rows_images_and_answers(dataset: Path, rows: dict[str, list[dict]]) -> None:
    assert [len(rows[s]) for s in SPLITS] == [300, 60, 200]
    for split_rows in rows.values():
        assert len({r["id"] for r in split_rows}) == len(split_rows)
        per_image: dict[str, list[dict]] = {}
        for r in split_rows:
            assert set(r) == FIELDS
            assert not Path(r["image"]).is_absolute() and r["image"].startswith("images/")
            assert len(r["answers"]) == 10 and vqa_accuracy(r["answer"], r["answers"]) == 1.0
            assert normalize_answer(r["answer"]) == r["answer"]
            per_image.setdefault(r["image"], []).append(r)
        for image, image_rows in per_image.items():
            assert 1 <= len(image_rows) <= 2
            assert len({r["question_type"] for r in image_rows}) == len(image_rows)  # different questions
            assert all(r["scene"] == image_rows[0]["scene"] for r in image_rows)
            with Image.open(dataset / image) as png:  # the PNG is the rendering of the row's scene
                assert png.mode == "RGB" and png.size == (64, 64)
                assert png.tobytes() == render(image_rows[0]["scene"], 64).tobytes()
    names = {p.name for p in (dataset / "images").iterdir()}
    assert {n[:3] for n in names} == {"tr-", "va-", "ho-"}  # never "train-..." (datasets would read a split)
    assert len({r["question_type"] for r in rows["train"]}) == 8


def test_held_out_combinations_never_reach_train_or_validation(rows: dict[str, list[dict]]) -> None:
    for split in ("train", "validation"):
        for r in rows[split]:
            assert not HELD_OUT & {combo(o) for o in r["scene"]["objects"]}, r["id"]
            assert not HELD_OUT & set(r["targets"]), r["id"]
            assert not any(h in r["question"] for h in HELD_OUT), r["id"]  # not even asked about when absent


def test_every_test_question_concerns_a_held_out_combination(rows: dict[str, list[dict]]) -> None:
    seen_held_out = set()
    for r in rows["test"]:
        in_scene = {combo(o) for o in r["scene"]["objects"]}
        assert HELD_OUT & in_scene, r["id"]  # every test image shows one
        target = HELD_OUT & set(r["targets"])
        assert target, r["id"]
        for name in target:  # named in the question, or the object the question asks after
            colour, shape = name.split()
            asked = name in r["question"] or f"{name}s" in r["question"]
            assert asked or name in in_scene, (r["id"], r["question"], name)
            if shape not in r["question"] and colour not in r["question"]:
                assert r["question_type"] in ("size_color", "position", "count"), r
        seen_held_out |= target
    assert seen_held_out == HELD_OUT
    assert {r["question_type"] for r in rows["test"]} >= {"color", "shape", "count", "exists", "relation"}


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a = _files(write_dataset(tmp_path / "a", seed=5, train=40, validation=10, test=20))
    b = _files(write_dataset(tmp_path / "b", seed=5, train=40, validation=10, test=20))
    c = _files(write_dataset(tmp_path / "c", seed=6, train=40, validation=10, test=20))
    assert a == b
    assert a["train.jsonl"] != c["train.jsonl"] and a["test.jsonl"] != c["test.jsonl"]
    differing = [k for k in a if k.startswith("images/") and a[k] != c.get(k)]
    assert len(differing) > len([k for k in a if k.startswith("images/")]) // 2
    assert generate_rows(12, 9) == generate_rows(12, 9) != generate_rows(12, 10)


def test_write_dataset_is_atomic_and_runs_once(tmp_path: Path, replaced_files: list[tuple[str, str]]) -> None:
    replaced = replaced_files
    root = tmp_path / "vqa"
    assert write_dataset(root, seed=1, train=20, validation=6, test=10) == root
    files = {p for p in root.rglob("*") if p.is_file()}
    assert {Path(d) for _, d in replaced} == files  # every file arrived by os.replace
    assert all(Path(s).parent == Path(d).parent and s != d for s, d in replaced)  # from a temp file next to it
    assert Path(replaced[-1][1]) == root / "DONE"  # the marker last
    assert not [p for p in root.rglob(".*")]  # no temp file left
    assert json.loads((root / "DONE").read_text()) == {"seed": 1, "train": 20, "validation": 6, "test": 10,
                                                       "image_size": 64, "questions_per_image": 2,
                                                       "version": generator.DATA_VERSION}  # fmt: skip
    mtimes = {p: p.stat().st_mtime_ns for p in files}
    replaced.clear()
    write_dataset(root, seed=1, train=20, validation=6, test=10)
    assert replaced == [] and {p: p.stat().st_mtime_ns for p in files} == mtimes
    generator.main([str(root), "--seed", "1", "--train", "8", "--validation", "4", "--test", "4", "--image-size", "32"])
    assert len(_read(root / "train.jsonl")) == 8 and json.loads((root / "DONE").read_text())["image_size"] == 32
    with Image.open(root / _read(root / "train.jsonl")[0]["image"]) as png:
        assert png.size == (32, 32)


def test_a_failed_write_leaves_no_temp_file_and_no_marker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def fail_on_the_third(src: str, dst: str) -> None:
        calls.append(dst)
        if len(calls) == 3:
            raise OSError("disk full")
        os.rename(src, dst)

    monkeypatch.setattr(os, "replace", fail_on_the_third)
    root = tmp_path / "vqa"
    with pytest.raises(OSError, match="disk full"):
        write_dataset(root, seed=0, train=10, validation=4, test=4)
    left = sorted(p.name for p in root.rglob("*") if p.is_file())
    assert len(left) == 2 and not [n for n in left if n.startswith(".") or n.endswith(".tmp")]
    assert not (root / "DONE").exists()


def test_builtin_root_in_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERL_LIGHTNING_CACHE", str(tmp_path / "cache"))
    root = builtin_root(seed=2, train=2000)  # the default sizes
    assert root == tmp_path / "cache" / "vqa" / f"v{generator.DATA_VERSION}-seed2-n2000-64px"
    assert [len(_read(root / f"{s}.jsonl")) for s in SPLITS] == [2000, 200, 400]
    assert builtin_root(seed=2, train=2000) == root and (root / "DONE").is_file()
