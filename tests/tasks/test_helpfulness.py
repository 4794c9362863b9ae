"""Stanford SHP helpfulness: ``labels`` decides the chosen comment, the score-ratio filter, bad rows."""

from __future__ import annotations

import pytest

from perl_lightning.data.preference import PreferenceDataModule
from perl_lightning.sources import DataError
from perl_lightning.tasks import Helpfulness, PreferenceExample


def shp(labels=1, score_a=30, score_b=5, **overrides):
    row = {
        "post_id": "p1", "domain": "askculinary_train", "upvote_ratio": 0.97,
        "history": "Why does my bread come out dense?",
        "c_root_id_A": "ca", "c_root_id_B": "cb", "created_at_utc_A": 1, "created_at_utc_B": 2,
        "score_A": score_a, "score_B": score_b,
        "human_ref_A": "Your dough is under-proofed; let it rise until doubled.",
        "human_ref_B": "Buy bread instead lol.",
        "labels": labels, "seconds_difference": 1.0, "score_ratio": max(score_a, score_b) / min(score_a, score_b),
    }  # fmt: skip
    row.update(overrides)
    return row


def test_labels_decide_which_comment_is_chosen(tmp_path, write_jsonl, parse_all):
    rows = [shp(labels=1), shp(labels=0, score_a=2, score_b=9)]
    pairs, _ = parse_all(write_jsonl(tmp_path / "s.jsonl", rows), Helpfulness().preference)
    a, b = rows[0]["human_ref_A"], rows[0]["human_ref_B"]
    assert pairs == [PreferenceExample(rows[0]["history"], a, b), PreferenceExample(rows[0]["history"], b, a)]


def test_minimum_score_ratio_filter_drops_weak_preferences_without_error(tmp_path, write_jsonl, parse_all):
    rows = [shp(score_a=30, score_b=5), shp(score_a=6, score_b=4), {**shp(score_a=8, score_b=2), "score_ratio": None}]
    path = write_jsonl(tmp_path / "s.jsonl", rows)
    kept, skipped = parse_all(path, Helpfulness(min_score_ratio=2.0).preference)
    assert len(kept) == 2 and skipped == []  # ratio 6 and 8/2 = 4 kept (computed when score_ratio is null); 1.5 not
    assert len(parse_all(path, Helpfulness().preference)[0]) == 3
    with pytest.raises(ValueError, match="min_score_ratio"):
        Helpfulness(min_score_ratio=0.5)


def test_demonstrations_and_prompts(tmp_path, write_jsonl, parse_all):
    path = write_jsonl(tmp_path / "s.jsonl", [shp(labels=0, score_a=1, score_b=4)])
    demos, _ = parse_all(path, Helpfulness().demonstration)
    assert demos[0].response == "Buy bread instead lol."
    prompts, _ = parse_all(path, Helpfulness().prompt)
    assert prompts[0].prompt == "Why does my bread come out dense?" and prompts[0].row_id == "p1"
    assert prompts[0].metadata == {"domain": "askculinary_train"}


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (shp(labels=2), r"row 1: field 'labels' must be 1 \(A preferred\) or 0"),
        (shp(labels="1"), r"row 1: field 'labels' must be 1"),
        ({k: v for k, v in shp().items() if k != "human_ref_B"}, r"row 1: missing field 'human_ref_B'"),
        (shp(history=""), r"row 1: field 'history' is empty"),
        (shp(human_ref_B="Your dough is under-proofed; let it rise until doubled."), r"are identical"),
    ],
)
def test_malformed_rows_are_named(tmp_path, write_jsonl, parse_all, row, message):
    with pytest.raises(DataError, match=message):
        parse_all(write_jsonl(tmp_path / "bad.jsonl", [row]), Helpfulness().preference)


def test_ratio_filter_needs_positive_scores(tmp_path, write_jsonl, parse_all):
    row = {**shp(), "score_A": 0, "score_B": 3, "score_ratio": None}
    with pytest.raises(DataError, match=r"row 1: field 'score_A'/'score_B' must be positive"):
        parse_all(write_jsonl(tmp_path / "z.jsonl", [row]), Helpfulness(min_score_ratio=2).preference)


def test_task_instance_with_options_in_the_datamodule(tmp_path, write_jsonl):
    rows = [shp(post_id=f"p{i}", history=f"question {i}?", score_b=5 if i % 2 else 25) for i in range(10)]
    dm = PreferenceDataModule(task=Helpfulness(min_score_ratio=2.0), path=str(write_jsonl(tmp_path / "s.jsonl", rows)),
                              val_fraction=0.2)  # fmt: skip
    examples = dm.load_examples()
    assert len(examples["train"]) + len(examples["val"]) == 5  # 30/25 = 1.2 filtered out
    assert dm.hparams.task == "Helpfulness"
