"""TL;DR summarization: the comparisons schema and the flat layout, SFT rows, the TL;DR prompt, ROUGE, bad rows."""

from __future__ import annotations

import math

import pytest

from perl_lightning.data.preference import PreferenceDataModule
from perl_lightning.sources import DataError
from perl_lightning.tasks import PreferenceExample, Summarization, get_task
from perl_lightning.tasks.summarization import rouge_l_reward, tldr_prompt

POST = "My roommate Dana keeps eating my groceries. I asked twice. What should I do?"
PROMPT = "SUBREDDIT: r/roommates\nTITLE: Roommate eats my food\nPOST: " + POST + "\nTL;DR:"


def comparison(choice=1, **overrides):
    row = {
        "info": {"id": "t3_abc", "post": POST, "title": "Roommate eats my food", "subreddit": "roommates"},
        "summaries": [{"text": " Dana is great.", "policy": "sup2", "note": None},
                      {"text": " Roommate eats my groceries despite two requests; how to stop it?", "policy": "ref",
                       "note": None}],
        "choice": choice,
        "worker": "w1",
        "batch": "batch3",
        "split": "train",
    }  # fmt: skip
    row.update(overrides)
    return row


def test_comparisons_row_uses_choice_to_pick_the_preferred_summary(tmp_path, write_jsonl, parse_all):
    path = write_jsonl(tmp_path / "c.jsonl", [comparison(choice=1), comparison(choice=0)])
    pairs, _ = parse_all(path, Summarization().preference)
    good = "Roommate eats my groceries despite two requests; how to stop it?"
    assert pairs[0] == PreferenceExample(PROMPT, good, "Dana is great.")
    assert pairs[1] == PreferenceExample(PROMPT, "Dana is great.", good)


def test_flat_layout_of_hub_copies_strips_the_tldr_prefix(tmp_path, write_jsonl, parse_all):
    row = {"prompt": PROMPT, "chosen": "TL;DR: roommate eats food", "rejected": "TL;DR: nothing"}
    pairs, _ = parse_all(write_jsonl(tmp_path / "f.jsonl", [row]), Summarization().preference)
    assert pairs == [PreferenceExample(PROMPT, "roommate eats food", "nothing")]


def test_sft_rows_post_or_prompt_and_summary_or_label(tmp_path, write_jsonl, parse_all):
    rows = [
        {"id": "t3_1", "subreddit": "roommates", "title": "Roommate eats my food", "post": POST, "summary": "Food."},
        {"prompt": PROMPT, "label": "TL;DR: Food again."},
        {"post": "Just a post.", "summary": "Post."},
    ]
    demos, _ = parse_all(write_jsonl(tmp_path / "s.jsonl", rows), Summarization().demonstration)
    assert [d.prompt for d in demos] == [PROMPT, PROMPT, "POST: Just a post.\nTL;DR:"]
    assert [d.response for d in demos] == ["Food.", "Food again.", "Post."]


def test_prompts_carry_the_reference_summary_for_rouge(tmp_path, write_jsonl, parse_all):
    rows = [{"id": "t3_1", "post": POST, "summary": "Food."}, comparison()]
    prompts, _ = parse_all(write_jsonl(tmp_path / "p.jsonl", rows), Summarization().prompt)
    assert prompts[0].row_id == "t3_1" and prompts[0].metadata == {"reference": "Food."}
    assert prompts[1].row_id == "t3_abc" and prompts[1].metadata == {}


def test_long_posts_keep_subreddit_and_title():
    task = Summarization(max_post_words=3)
    assert tldr_prompt("a b c", "T", "r/x") == "SUBREDDIT: r/x\nTITLE: T\nPOST: a b c\nTL;DR:"
    from perl_lightning.sources import Row

    row = Row("f", 1, {"post": "one two three four five", "title": "T", "subreddit": "x", "summary": "s"})
    assert task.demonstration(row).prompt == "SUBREDDIT: r/x\nTITLE: T\nPOST: one two three\nTL;DR:"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (comparison(choice=2), r"row 1: field 'choice' must be 0 or 1"),
        (comparison(choice=True), r"row 1: field 'choice' must be 0 or 1"),
        (comparison(summaries=[{"text": "one"}]), r"row 1: field 'summaries' must be a list of two"),
        (comparison(summaries=[{"text": "one"}, {"text": " "}]), r"row 1: field 'summaries\[1\].text' is missing"),
        ({**comparison(), "info": {"title": "t"}}, r"row 1: missing field 'info.post' \(info has: \['title'\]\)"),
        ({"prompt": PROMPT, "chosen": "TL;DR:", "rejected": "x"}, r"row 1: field 'chosen' is empty after"),
        ({"prompt": PROMPT, "chosen": "same", "rejected": "same"}, r"fields 'chosen' and 'rejected' are identical"),
    ],
)
def test_malformed_comparison_rows_are_named(tmp_path, write_jsonl, parse_all, row, message):
    path = write_jsonl(tmp_path / "bad.jsonl", [row])
    with pytest.raises(DataError, match=message):
        parse_all(path, Summarization().preference)


def test_malformed_rows_are_skipped_and_counted_in_file_order(tmp_path, write_jsonl, parse_all):
    rows = [comparison(), comparison(choice=5), "{broken", comparison(choice=0)]
    pairs, skipped = parse_all(write_jsonl(tmp_path / "m.jsonl", rows), Summarization().preference, "skip")
    assert len(pairs) == 2
    assert ["row 2: field 'choice'" in skipped[0], "row 3: unparsable JSON" in skipped[1]] == [True, True]


def test_rouge_metrics_and_reward_by_hand():
    task = get_task("summarization")
    metrics = task.evaluate(
        ["the cat sat", "anything", "dog"], [{"reference": "the cat sat"}, {}, {"reference": "a b"}]
    )
    assert metrics["rouge1"][0] == pytest.approx(1.0) and metrics["rougeL"][0] == pytest.approx(1.0)
    assert math.isnan(metrics["rouge2"][1]) and metrics["rouge1"][2] == 0.0
    # "the cat sat on the mat" vs "the cat sat": precision 1, recall 3/6 -> F1 = 2/3 (unigrams and LCS)
    assert rouge_l_reward(["the cat sat"], reference=["the cat sat on the mat"])[0] == pytest.approx(2 / 3)
    assert rouge_l_reward(["x", ""], reference=[None, "ref"]) == [None, 0.0]
    assert metrics["summary_words"].tolist() == [3.0, 1.0, 1.0]


def test_held_out_split_keeps_every_comparison_of_a_post_together(tmp_path, write_jsonl):
    rows = []
    for post in range(12):
        for k in range(3):
            info = {"id": f"t3_{post}", "post": f"post number {post}", "title": "t", "subreddit": "s"}
            rows.append(comparison(info=info, summaries=[{"text": f"good {post} {k}"}, {"text": f"bad {post} {k}"}]))
    dm = PreferenceDataModule(task="summarization", path=str(write_jsonl(tmp_path / "c.jsonl", rows)),
                              val_fraction=0.25, seed=3)  # fmt: skip
    examples = dm.load_examples()
    train_posts = {e.prompt for e in examples["train"]}
    val_posts = {e.prompt for e in examples["val"]}
    assert len(val_posts) == 3 and not train_posts & val_posts
    assert len(examples["val"]) == 9 and len(examples["train"]) == 27
