"""VQA answer normalisation, VQA accuracy and short-answer extraction, against cases worked out by hand."""

from __future__ import annotations

import random

import pytest

from perl_lightning.tasks.visual.answers import extract_answer, normalize_answer, vqa_accuracy


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("Yes.", "yes"),  # a period not followed by a digit goes
        ("Two", "2"),  # number words -> digits
        ("the two dogs", "2 dogs"),  # articles go
        ("none", "0"),
        ("ten", "10"),
        ("An Apple", "apple"),
        ("3.5", "3.5"),  # a decimal point stays
        ("3.5.", "3.5"),
        ("1,000", "1000"),  # digit-comma-digit: punctuation deleted
        ("red, blue", "red blue"),  # punctuation next to a space: deleted
        ("red,blue", "red blue"),  # otherwise: replaced by a space
        ("t-shirt", "t shirt"),
        ("hi - there", "hi there"),
        ("what?", "what"),
        ("a.m.", "am"),
        ("dont", "don't"),  # the contractions table
        ("Isnt it", "isn't it"),
        ("  A  Red\tCircle\n", "red circle"),  # tabs, newlines, runs of spaces
        ("(left)", "left"),
        ("the", ""),
        ("don't", "don't"),  # an apostrophe is no punctuation to the official script
    ],
)
def test_normalize_answer(raw: str, normal: str) -> None:
    assert normalize_answer(raw) == normal


def test_normalisation_is_idempotent() -> None:
    for raw in ("Yes.", "the two dogs", "1,000", "t-shirt", "Isnt it", "3.5.", "a.m."):
        once = normalize_answer(raw)
        assert normalize_answer(once) == once


@pytest.mark.parametrize(("matches", "expected"), [(0, 0.0), (1, 0.3), (2, 0.6), (3, 0.9), (4, 1.0), (10, 1.0)])
def test_ten_annotators(matches: int, expected: float) -> None:
    """m of 10 match: the m subsets without one match hold m-1, the 10-m others m; each min(./3, 1), averaged.
    m=2: (2 * 1/3 + 8 * 2/3) / 10 = 0.6; m=3: (3 * 2/3 + 7 * 1) / 10 = 0.9."""
    answers = ["yes"] * matches + ["no"] * (10 - matches)
    random.Random(matches).shuffle(answers)
    assert vqa_accuracy("yes", answers) == pytest.approx(expected)


def _official(prediction: str, answers: list[str]) -> float:
    """The official evaluation's loop (every answer normalised): leave one annotator out, min(matches / 3, 1)."""
    pred = normalize_answer(prediction)
    gts = [normalize_answer(a) for a in answers]
    accs = [min(1.0, sum(g == pred for j, g in enumerate(gts) if j != i) / 3) for i in range(len(gts))]
    return sum(accs) / len(accs)


def test_ten_annotators_match_the_official_loop() -> None:
    rng = random.Random(0)
    words = ["2", "two", "Two.", "3", "three", "red", "a red", "none"]
    for _ in range(200):
        answers = [rng.choice(words) for _ in range(10)]
        prediction = rng.choice(words)
        assert vqa_accuracy(prediction, answers) == pytest.approx(_official(prediction, answers))


def test_normalisation_applies_to_both_sides() -> None:
    assert vqa_accuracy("Two.", ["2", "2", "two", "3", "3", "3", "3", "3", "3", "3"]) == pytest.approx(0.9)
    assert vqa_accuracy("the dont", ["don't"] * 10) == 1.0
    assert vqa_accuracy("red", ["RED."] * 10) == 1.0


def test_other_answer_counts() -> None:
    assert vqa_accuracy("Red", ["red"]) == 1.0  # single answer: exact match after normalisation
    assert vqa_accuracy("blue", ["red"]) == 0.0
    assert vqa_accuracy("2", ["2", "2"]) == 1.0  # n=2: threshold 1
    assert vqa_accuracy("2", ["2", "3"]) == pytest.approx(0.5)  # (0 + 1) / 2
    assert vqa_accuracy("2", ["2", "2", "2"]) == 1.0  # n=3: threshold 2; all agree scores 1
    assert vqa_accuracy("2", ["2", "3", "4"]) == pytest.approx(1 / 3)  # (0 + 1/2 + 1/2) / 3
    assert vqa_accuracy("2", ["2", "2", "3", "3", "3"]) == pytest.approx(8 / 15)  # n=5: (2 * 1/3 + 3 * 2/3) / 5
    with pytest.raises(ValueError, match="at least one"):
        vqa_accuracy("2", [])


@pytest.mark.parametrize(
    ("reply", "short"),
    [
        ("The answer is 3.", "3"),
        ("3", "3"),
        ("three circles", "three"),
        ("Answer: red", "red"),
        ("answer:red", "red"),
        ("The final answer is: square.", "square"),
        ("**Answer:** 3", "3"),
        ("Yes, there is a red circle.", "yes"),
        ("No.", "no"),
        ("Noah", "Noah"),  # "no" only as a word
        ("\n\n  blue\nbecause it is blue", "blue"),  # the first non-blank line
        ('"circle"', "circle"),
        ("3.5.", "3.5"),
        ("3:00", "3:00"),
        ("10 feet", "10"),  # documented: a count followed by a word keeps the count
        ("red circle", "red circle"),
        ("", ""),
        ("   \n  ", ""),
    ],
)
def test_extract_answer(reply: str, short: str) -> None:
    assert extract_answer(reply) == short


def test_extracted_answers_score() -> None:
    answers = ["3"] * 8 + ["three", "3."]
    assert vqa_accuracy(extract_answer("Three circles."), answers) == 1.0
    assert vqa_accuracy(extract_answer("The answer is 3."), answers) == 1.0
    assert vqa_accuracy(extract_answer("I count 4."), answers) == 0.0
