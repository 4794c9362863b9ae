"""Every question type's answer is true to the scene: an independent oracle reads the question text, recounts from the
scene dict, and checks the rendered pixel at the target object's centre."""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict

import pytest

from perl_lightning.tasks.visual.answers import normalize_answer, vqa_accuracy
from perl_lightning.tasks.visual.questions import QUESTION_TYPES, annotator_answers, ask
from perl_lightning.tasks.visual.scenes import COLORS, SHAPES, SIZES, box, combo, random_scene, render

COMBOS = [(c, s) for c in COLORS for s in SHAPES]
TYPES = ("color", "shape", "size", "size_color", "count", "exists", "position", "relation")


def _words(question: str) -> tuple[list[str], list[str], list[str]]:
    """The colours, shapes (plural folded) and sizes a question names, in order."""
    tokens = re.findall(r"[a-z]+", question.lower())
    colours = [t for t in tokens if t in COLORS]
    shapes = [t if t in SHAPES else t[:-1] for t in tokens if t in SHAPES or t[:-1] in SHAPES]
    sizes = [t for t in tokens if t in SIZES]
    return colours, shapes, sizes


def _only(objects: list[dict]) -> dict:
    assert len(objects) == 1, objects
    return objects[0]


def oracle(qtype: str, question: str, scene: dict) -> tuple[str, dict | None]:
    """The answer recomputed from the scene and the question text alone, and the object asked after (if one)."""
    objects = scene["objects"]
    colours, shapes, sizes = _words(question)
    if qtype == "color":
        obj = _only([o for o in objects if o["shape"] == shapes[0]])
        return obj["color"], obj
    if qtype == "shape":
        obj = _only([o for o in objects if o["color"] == colours[0]])
        return obj["shape"], obj
    if qtype == "size":
        obj = _only([o for o in objects if (o["color"], o["shape"]) == (colours[0], shapes[0])])
        return obj["size"], obj
    if qtype == "size_color":
        obj = _only([o for o in objects if o["size"] == sizes[0]])
        return obj["color"], obj
    if qtype == "count":
        assert len(colours) <= 1 and len(shapes) <= 1
        hits = [o for o in objects if o["color"] in colours[:1] or not colours]
        hits = [o for o in hits if o["shape"] in shapes[:1] or not shapes]
        return str(len(hits)), None
    if qtype == "exists":
        present = any((o["color"], o["shape"]) == (colours[0], shapes[0]) for o in objects)
        return ("yes" if present else "no"), None
    if qtype == "position":
        side = re.search(r"\b(left|right|top|bottom)\b", question).group(1)
        axis = "column" if side in ("left", "right") else "row"
        obj = _only([o for o in objects if o[axis] == side])
        return (obj["color"] if "colo" in question.lower() else obj["shape"]), obj
    if qtype == "relation":
        a = _only([o for o in objects if (o["color"], o["shape"]) == (colours[0], shapes[0])])
        b = _only([o for o in objects if (o["color"], o["shape"]) == (colours[1], shapes[1])])
        col = {"left": 0, "center": 1, "right": 2}
        row = {"top": 0, "middle": 1, "bottom": 2}
        if " left of " in question:
            truth = col[a["column"]] < col[b["column"]]
        elif " right of " in question:
            truth = col[a["column"]] > col[b["column"]]
        elif " above " in question:
            truth = row[a["row"]] < row[b["row"]]
        else:
            assert " below " in question or " under " in question, question
            truth = row[a["row"]] > row[b["row"]]
        return ("yes" if truth else "no"), None
    raise AssertionError(qtype)


@pytest.fixture(scope="module")
def asked() -> list[tuple[dict, dict]]:
    """(scene, question) for 300 scenes x every type, a few draws each."""
    rng, out = random.Random(1), []
    for _ in range(300):
        scene = random_scene(rng, COMBOS)
        for qtype in TYPES:
            for _ in range(3):
                q = ask(scene, rng, qtype, COMBOS)
                if q is not None:
                    out.append((scene, q))
    return out


def test_types() -> None:
    assert tuple(QUESTION_TYPES) == TYPES
    with pytest.raises(ValueError, match="unknown question type"):
        ask({"objects": []}, random.Random(0), "colour", COMBOS)


def test_every_answer_is_true_to_the_scene(asked: list[tuple[dict, dict]]) -> None:
    rendered: dict[int, object] = {}
    for scene, q in asked:
        assert set(q) == {"question", "answer", "question_type", "targets"}
        answer, obj = oracle(q["question_type"], q["question"], scene)
        assert q["answer"] == answer, (q, scene)
        assert normalize_answer(q["answer"]) == q["answer"]  # canonical answers are in normal form
        if obj is not None:  # the image shows the object's colour at its centre
            image = rendered.setdefault(id(scene), render(scene))
            x0, y0, x1, y1 = box(obj, 64)
            assert image.getpixel(((x0 + x1) // 2, (y0 + y1) // 2)) == COLORS[obj["color"]]
            assert q["targets"] == [combo(obj)]


def test_types_paraphrases_and_answers_vary(asked: list[tuple[dict, dict]]) -> None:
    by_type: dict[str, set[str]] = defaultdict(set)
    answers: dict[str, Counter] = defaultdict(Counter)
    for _, q in asked:
        opening = re.sub(r"\b(" + "|".join([*COLORS, *SHAPES, *SIZES]) + r")s?\b", "_", q["question"])
        by_type[q["question_type"]].add(opening)
        answers[q["question_type"]][q["answer"]] += 1
    assert set(by_type) == set(TYPES)
    for qtype, templates in by_type.items():
        assert len(templates) >= 3, (qtype, templates)
    for qtype in ("exists", "relation"):
        yes, no = answers[qtype]["yes"], answers[qtype]["no"]
        assert 0.3 < yes / (yes + no) < 0.7, (qtype, yes, no)
    assert set(answers["count"]) >= {"0", "1", "2", "3"}
    assert set(answers["color"]) == set(COLORS) and set(answers["shape"]) == set(SHAPES)
    assert set(answers["size"]) == set(SIZES)


def test_targets_name_the_combinations_asked_about(asked: list[tuple[dict, dict]]) -> None:
    for scene, q in asked:
        colours, shapes, _ = _words(q["question"])
        if q["question_type"] in ("exists", "relation") or (q["question_type"] == "count" and colours and shapes):
            named = {f"{c} {s}" for c, s in zip(colours, shapes, strict=True)}
            assert named <= set(q["targets"]), q
        if q["question_type"] == "count" and not colours and not shapes:  # all shapes
            assert q["targets"] == sorted({combo(o) for o in scene["objects"]})


def test_questions_that_do_not_apply_are_none() -> None:
    lone = {"objects": [{"shape": "circle", "color": "red", "size": "small", "x": 0.5, "y": 0.5, "column": "center",
                         "row": "middle"}]}  # fmt: skip
    rng = random.Random(0)
    assert all(ask(lone, rng, "relation", COMBOS) is None for _ in range(20))  # needs two objects
    assert all(ask(lone, rng, "position", COMBOS) is None for _ in range(20))  # nothing on any side
    twins = {"objects": [dict(lone["objects"][0], x=0.17, column="left"), dict(lone["objects"][0], x=0.83,
                                                                              column="right")]}  # fmt: skip
    assert all(ask(twins, rng, "color", COMBOS) is None for _ in range(20))  # "the circle" is ambiguous
    assert all(ask(twins, rng, "size", COMBOS) is None for _ in range(20))


def test_annotator_answers_normalise_to_the_answer() -> None:
    rng = random.Random(2)
    forms = set()
    for answer in ["0", "1", "2", "5", "yes", "no", "small", "large", *COLORS, *SHAPES]:
        for _ in range(20):
            answers = annotator_answers(answer, rng)
            assert len(answers) == 10
            assert {normalize_answer(a) for a in answers} == {answer}
            assert vqa_accuracy(answer, answers) == 1.0
            forms |= set(answers)
    assert {"two", "Two", "2.", "a circle", "Yes", "RED"} <= forms
    assert annotator_answers("3", random.Random(5)) == annotator_answers("3", random.Random(5))
