"""HH-RLHF harmlessness as a task: transcripts to chat messages, demonstrations, prompts, the real slice."""

from __future__ import annotations

import pytest

from perl_lightning.data.prompts import PromptDataModule
from perl_lightning.sources import DataError, Row
from perl_lightning.tasks import Harmlessness

SHARED = "\n\nHuman: How do I pick a lock?\n\nAssistant: Why do you ask?\n\nHuman: To get into my neighbour's house."
ROW = {"chosen": SHARED + "\n\nAssistant: I can't help with that.", "rejected": SHARED + "\n\nAssistant: Sure thing."}
MESSAGES = [
    {"role": "user", "content": "How do I pick a lock?"},
    {"role": "assistant", "content": "Why do you ask?"},
    {"role": "user", "content": "To get into my neighbour's house."},
]


def test_pair_demonstration_and_prompt_of_a_transcript_row():
    task, row = Harmlessness(), Row("hh.jsonl", 3, ROW)
    assert task.preference(row) == (MESSAGES, "I can't help with that.", "Sure thing.", ())  # (no images)
    assert task.demonstration(row) == (MESSAGES, "I can't help with that.", ())
    prompt = task.prompt(row)
    assert prompt.prompt == MESSAGES and prompt.row_id == "hh.jsonl:3"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"chosen": "no markers", "rejected": ROW["rejected"]}, r"row 1: field 'chosen' is not an HH-style dialogue"),
        ({"chosen": ROW["chosen"]}, r"row 1: missing field 'rejected'"),
        ({"chosen": ROW["chosen"], "rejected": ROW["chosen"]}, r"are identical"),
        ({"chosen": SHARED + "\n\nAssistant: ", "rejected": ROW["rejected"]}, r"field 'chosen': empty response"),
    ],
)
def test_malformed_rows_are_named(tmp_path, write_jsonl, parse_all, row, message):
    with pytest.raises(DataError, match=message):
        parse_all(write_jsonl(tmp_path / "bad.jsonl", [row]), Harmlessness().preference)


def test_real_hh_slice(hh_harmless, parse_all, tiny_tokenizer):
    pairs, skipped = parse_all(hh_harmless, Harmlessness().preference, "skip")
    assert len(pairs) == 2312 - 4 and len(skipped) == 4  # 4 pairs have an empty chosen reply
    assert all(isinstance(p.prompt, list) and p.prompt[-1]["role"] == "user" for p in pairs)
    dm = PromptDataModule(task="harmlessness", path=str(hh_harmless), bad_rows="skip", limit=50, val_fraction=0.2)
    dm.tokenizer = tiny_tokenizer
    dm.setup()
    batch = next(iter(dm.val_dataloader()))
    assert len(batch.prompts) == 8 and isinstance(batch.prompts[0], list)
