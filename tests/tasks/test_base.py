"""The task contract: the registry, stages, built-in sources, field helpers and pairs from ratings."""

from __future__ import annotations

import pytest

from perl_lightning.data.base import grouped_split
from perl_lightning.sources import DataError, Row
from perl_lightning.tasks import TASKS, RatedExample, Task, get_task, pairs_from_ratings
from perl_lightning.tasks.base import field_value, first_field, json_field, number_field, text_field


def test_registry_and_stages():
    assert set(TASKS) == {"summarization", "harmlessness", "helpfulness", "dialogue", "ui_automation", "vqa", "generic"}
    assert get_task("helpfulness").stages() == ["sft", "preference", "prompts"]
    assert get_task("dialogue").stages() == ["sft", "rated", "prompts"] and get_task("dialogue").feedback == "pointwise"
    task = get_task("summarization")
    assert get_task(task) is task
    with pytest.raises(ValueError, match=r"unknown task 'tldr'; known: \["):
        get_task("tldr")


def test_a_stage_the_task_lacks_says_which_it_has():
    class OnlyPrompts(Task):
        name = "only"

        def prompt(self, row):
            return None

    with pytest.raises(ValueError, match=r"task 'only' has no preference examples \(it has: prompts\)"):
        OnlyPrompts().preference(Row("f", 1, {}))
    with pytest.raises(ValueError, match="task 'only' has no built-in sft data: give a path"):
        OnlyPrompts().source("sft", None)
    assert OnlyPrompts().source("sft", "mine.jsonl") == "mine.jsonl"


@pytest.mark.parametrize("name", ["summarization", "harmlessness", "helpfulness", "dialogue"])
def test_every_task_has_a_built_in_sample_for_each_of_its_stages(name):
    from perl_lightning.sources import resolve_source

    task = get_task(name)
    for stage in task.stages():
        stage = "rated" if stage == "preference" and task.feedback == "pointwise" else stage
        assert resolve_source(task.source(stage, None)).is_file()


def test_field_helpers_name_source_row_and_field():
    row = Row("data.jsonl", 7, {"info": {"post": "x", "n": "3"}, "labels": 1, "ctx": "[1, 2]", "bad": "{", "e": " "})
    assert field_value(row, "info.post") == "x" and json_field(row, "ctx") == [1, 2]
    with pytest.raises(DataError, match=r"data.jsonl: row 7: missing field 'info.title' \(info has: \['n', 'post'\]\)"):
        field_value(row, "info.title")
    with pytest.raises(DataError, match=r"row 7: field 'info.n' must be a number, got str"):
        number_field(row, "info.n")
    with pytest.raises(DataError, match=r"row 7: field 'labels' must be a string, got int"):
        text_field(row, "labels")
    with pytest.raises(DataError, match=r"row 7: field 'e' is empty"):
        text_field(row, "e")
    with pytest.raises(DataError, match=r"row 7: field 'bad' is not valid JSON"):
        json_field(row, "bad")
    with pytest.raises(DataError, match=r"missing field 'post' \(or 'prompt'"):
        first_field(row, ("post", "prompt"))


def test_pairs_from_ratings_pair_every_liked_with_every_disliked_of_a_context():
    rated = [RatedExample("c1", "a", 1.0, "c1"), RatedExample("c1", "b", 0.0, "c1"), RatedExample("c1", "c", 1.0, "c1"),
             RatedExample("c2", "d", 1.0, "c2"), RatedExample("c1", "a", 0.0, "c1")]  # fmt: skip
    pairs = pairs_from_ratings(rated)
    assert [(p.chosen, p.rejected) for p in pairs] == [("a", "b"), ("c", "b"), ("c", "a")]  # a vs a: no pair


def test_grouped_split_holds_out_whole_groups():
    items = [(g, i) for g in "abcdefghij" for i in range(3)]
    train, val = grouped_split(items, lambda x: x[0], 0.2, seed=0, what="t")
    assert len(val) == 6 and len({g for g, _ in val}) == 2 and not {g for g, _ in train} & {g for g, _ in val}
    assert grouped_split(items, lambda x: x[0], 0.2, seed=0, what="t") == (train, val)
