"""SFTDataModule: labels on response tokens only, truncation, held-out split by prompt, length-grouped batches that
cover each demonstration once per epoch and resume exactly, bad rows named by file, row and field."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch

from perl_lightning.data import SFTBatch, SFTDataModule
from perl_lightning.data.sft import EncodedDemonstration, LengthGroupedSampler, length_grouped_order, sft_batch
from perl_lightning.sources import DataError
from perl_lightning.tasks import Demonstration

X = -100
#: SmolLM2's chat template around the user turn "Hi", ending in the assistant header (hand-checked token strings)
HI_PROMPT = [1, 9690, 198, 2683, 359, 253, 5356, 5646, 11173, 3365, 3511, 308, 34519, 28, 7018, 411, 407, 19712,
             8182, 2, 198, 1, 4093, 198, 26843, 2, 198, 1, 520, 9531, 198]  # fmt: skip
#: "Hello there." + <|im_end|> (id 2), the end token
HELLO_RESPONSE = [19556, 665, 30, 2]


def write_jsonl(path: Path, rows: list) -> Path:
    """Rows are dicts (dumped as JSON) or raw strings (written as they are)."""
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def demo(i: int, words: int = 3) -> dict[str, str]:
    return {"prompt": f"Question {i}: tell me about thing {i}.", "response": " ".join(["word"] * words) + f" {i}."}


def make_dm(tok, path, **kwargs) -> SFTDataModule:
    kwargs.setdefault("val_fraction", 0.0)
    dm = SFTDataModule(path=str(path), **kwargs)
    dm.tokenizer = tok
    return dm


def test_labels_are_the_response_tokens_and_end_token_only(tmp_path, tiny_tokenizer):
    rows = [{"prompt": "Hi", "response": "Hello there."}, demo(1, words=12)]
    dm = make_dm(tiny_tokenizer, write_jsonl(tmp_path / "d.jsonl", rows))
    dm.setup("fit")
    assert dm.examples["train"][0] == Demonstration("Hi", "Hello there.")
    assert dm.encoded["train"][0] == EncodedDemonstration(HI_PROMPT + HELLO_RESPONSE, len(HI_PROMPT))
    batch = dm.collate(dm.encoded["train"])
    assert isinstance(batch, SFTBatch)
    width = len(dm.encoded["train"][1].input_ids)
    assert batch.input_ids.shape == batch.labels.shape == (2, width) and width > len(HI_PROMPT) + 4
    pad = width - len(HI_PROMPT) - len(HELLO_RESPONSE)
    # row 0, token by token: the prompt (chat template + assistant header) -100, "Hello there.<|im_end|>" labelled,
    # right padding -100
    assert batch.input_ids[0].tolist() == HI_PROMPT + HELLO_RESPONSE + [tiny_tokenizer.pad_token_id] * pad
    assert batch.attention_mask[0].tolist() == [1] * (len(HI_PROMPT) + 4) + [0] * pad
    assert batch.labels[0].tolist() == [X] * len(HI_PROMPT) + HELLO_RESPONSE + [X] * pad
    assert tiny_tokenizer.decode(HELLO_RESPONSE) == "Hello there.<|im_end|>"
    # row 1 (no padding): labels are exactly its response ids, ending with the end token
    labelled = batch.labels[1][batch.labels[1] != X].tolist()
    assert labelled == batch.input_ids[1, dm.encoded["train"][1].prompt_length :].tolist()
    assert tiny_tokenizer.decode(labelled) == rows[1]["response"] + "<|im_end|>"
    assert batch.num_tokens.item() == 4 + len(labelled)


def test_sft_batch_masks_padding_even_when_it_equals_a_response_token():
    batch = sft_batch([EncodedDemonstration([5, 6, 7, 0], 2), EncodedDemonstration([5, 6], 1)], pad_id=0)
    assert batch.labels.tolist() == [[X, X, 7, 0], [X, 6, X, X]]  # the real token 0 counts, padding 0 does not
    assert batch.attention_mask.tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]


def test_truncation_keeps_the_response_and_the_assistant_header(tmp_path, tiny_tokenizer):
    rows = [{"prompt": "Tell me a story about " + "a very long road " * 40, "response": "Once upon a time."}]
    dm = make_dm(tiny_tokenizer, write_jsonl(tmp_path / "d.jsonl", rows), max_length=48, max_prompt_length=32)
    dm.setup("fit")
    (encoded,) = dm.encoded["train"]
    response = tiny_tokenizer("Once upon a time.", add_special_tokens=False)["input_ids"] + [2]
    assert len(encoded.input_ids) == 48 and encoded.prompt_length == 48 - len(response)  # the prompt lost its start
    assert encoded.input_ids[encoded.prompt_length :] == response  # the whole response, end token included
    assert encoded.input_ids[encoded.prompt_length - 3 : encoded.prompt_length] == HI_PROMPT[-3:]  # header kept
    labels = dm.collate([encoded]).labels[0]
    assert labels[labels != X].tolist() == response

    long = [{"prompt": "Hi", "response": "word " * 200}]  # a response longer than max_length: loses its end
    dm = make_dm(tiny_tokenizer, write_jsonl(tmp_path / "long.jsonl", long), max_length=48, max_prompt_length=40)
    dm.setup("fit")
    (encoded,) = dm.encoded["train"]
    assert len(encoded.input_ids) == 48 and len(encoded.input_ids) - encoded.prompt_length >= 8


def test_held_out_split_keeps_each_prompts_demonstrations_together(tmp_path, tiny_tokenizer):
    rows = [{"prompt": f"Question {i // 3}?", "response": f"Answer {i}."} for i in range(60)]  # 3 per prompt
    dm = make_dm(tiny_tokenizer, write_jsonl(tmp_path / "d.jsonl", rows), val_fraction=0.25, seed=3)
    dm.setup("fit")
    train = {e.prompt for e in dm.examples["train"]}
    val = {e.prompt for e in dm.examples["val"]}
    assert train.isdisjoint(val) and len(val) == 5 and len(train) == 15
    assert len(dm.examples["val"]) == 15 and len(dm.encoded["val"]) == 15


def test_harmlessness_task_gives_the_preferred_reply_to_the_transcript(tmp_path, tiny_tokenizer):
    shared = "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Name a fruit.\n\nAssistant:"
    rows = [{"chosen": shared + " An apple.", "rejected": shared + " A rock."}]
    dm = SFTDataModule(task="harmlessness", path=str(write_jsonl(tmp_path / "hh.jsonl", rows)), val_fraction=0.0)
    dm.tokenizer = tiny_tokenizer
    dm.setup("fit")
    (example,) = dm.examples["train"]
    assert example.response == "An apple." and [m["role"] for m in example.prompt] == ["user", "assistant", "user"]
    labels = dm.collate(dm.encoded["train"]).labels[0]
    assert tiny_tokenizer.decode(labels[labels != X].tolist()) == "An apple.<|im_end|>"


def test_without_a_task_a_path_is_needed():
    with pytest.raises(ValueError, match="give a path"):
        SFTDataModule()


# --- bad rows -----------------------------------------------------------------------------------------------------


def _bad_file(tmp_path: Path) -> Path:
    unclosed = '{"prompt": "unclosed'
    rows = [demo(1), demo(2), {"prompt": "Where is it?"}, demo(4), unclosed, {"prompt": "Q", "response": 7}]
    return write_jsonl(tmp_path / "d.jsonl", rows)


def test_malformed_rows_are_named_by_file_row_and_field(tmp_path, tiny_tokenizer):
    path = _bad_file(tmp_path)
    with pytest.raises(DataError) as info:
        make_dm(tiny_tokenizer, path).setup("fit")
    assert f"{path}: row 3: missing field 'response'" in str(info.value)

    dm = make_dm(tiny_tokenizer, path, bad_rows="skip")
    dm.setup("fit")
    assert len(dm.skipped) == 3 and len(dm.encoded["train"]) == 3
    assert dm.skipped[0].startswith(f"{path}: row 3: missing field 'response'")
    assert dm.skipped[1].startswith(f"{path}: row 5: unparsable JSON")
    assert dm.skipped[2].startswith(f"{path}: row 6: field 'response' must be a string")


# --- length-grouped batches and exact resume ----------------------------------------------------------------------


@pytest.fixture
def varied(tmp_path, tiny_tokenizer) -> Path:
    """103 demonstrations of very different lengths (1 to 60 words), in random order."""
    rng = random.Random(0)
    return write_jsonl(tmp_path / "varied.jsonl", [demo(i, rng.randint(1, 60)) for i in range(103)])


def _epoch_batches(dm: SFTDataModule, epoch: int) -> list[list[int]]:
    """The training batches of ``epoch`` as lists of example indices (ids identify examples: every one differs)."""
    index = {tuple(e.input_ids): i for i, e in enumerate(dm.encoded["train"])}
    loader = dm.train_dataloader()
    loader.sampler.set_epoch(epoch)  # what Lightning does at the start of each epoch
    out = []
    for batch in loader:
        rows = zip(batch.input_ids, batch.attention_mask, strict=True)
        out.append([index[tuple(ids[mask.bool()].tolist())] for ids, mask in rows])
    return out


def _padding(dm: SFTDataModule, epoch: int) -> float:
    lengths = [len(e.input_ids) for e in dm.encoded["train"]]
    slots = sum(len(b) * max(lengths[i] for i in b) for b in _epoch_batches(dm, epoch))
    return 1 - sum(lengths) / slots


def test_length_grouping_cuts_padding_and_covers_every_example_once_per_epoch(varied, tiny_tokenizer):
    grouped = make_dm(tiny_tokenizer, varied, batch_size=4, seed=5)
    plain = make_dm(tiny_tokenizer, varied, batch_size=4, seed=5, length_grouped=False)
    grouped.setup("fit")
    plain.setup("fit")
    epochs = [_epoch_batches(grouped, e) for e in (0, 1)]
    for batches in epochs:
        assert sorted(i for b in batches for i in b) == list(range(103))  # each demonstration exactly once
        assert [len(b) for b in batches] == [4] * 25 + [3]  # full batches, the short one last
    assert epochs[0] != epochs[1]  # a new order each epoch
    assert epochs[0] == _epoch_batches(grouped, 0)  # and the same order for the same epoch
    for epoch in (0, 1):
        assert _padding(grouped, epoch) < 0.5 * _padding(plain, epoch), (_padding(grouped, epoch), _padding(plain, 0))
    first_lengths = [len(grouped.encoded["train"][b[0]].input_ids) for b in epochs[0][:-1]]
    assert first_lengths != sorted(first_lengths, reverse=True)  # the batches themselves are shuffled


def test_length_grouped_order_sorts_within_windows_only():
    lengths = [5, 1, 9, 3, 7, 2, 8, 4]
    order = length_grouped_order(list(range(8)), lengths, batch_size=2, window=2, rng=random.Random(0))
    batches = {tuple(order[i : i + 2]) for i in range(0, 8, 2)}
    # windows [0..3] and [4..7], each sorted longest first, then cut into pairs
    assert batches == {(2, 0), (3, 1), (6, 4), (7, 5)}


def test_resume_continues_with_the_batches_of_an_uninterrupted_run(varied, tiny_tokenizer):
    full = make_dm(tiny_tokenizer, varied, batch_size=4, seed=5)
    full.setup("fit")
    uninterrupted = _epoch_batches(full, 1)
    resumed = make_dm(tiny_tokenizer, varied, batch_size=4, seed=5)
    resumed.setup("fit")
    resumed.load_state_dict({"epoch": 1, "batches_done": 7})  # a checkpoint after 7 batches of epoch 1
    assert _epoch_batches(resumed, 1) == uninterrupted[7:]
    assert _epoch_batches(resumed, 1) == uninterrupted  # the skip applies to the first iteration only

    closed = make_dm(tiny_tokenizer, varied, batch_size=4, seed=5)
    closed.setup("fit")
    closed.load_state_dict({"epoch": 0, "batches_done": 26})  # the checkpoint closed epoch 0: epoch 1 starts
    loader = closed.train_dataloader()
    assert loader.sampler.epoch == 1 and loader.sampler.skip == 0


def test_ranks_get_disjoint_length_grouped_shares():
    data = list(range(40))
    lengths = [random.Random(i).randint(1, 50) for i in data]
    shares = [
        list(LengthGroupedSampler(data, lengths, 4, window=3, num_replicas=2, rank=r, seed=1, epoch=2)) for r in (0, 1)
    ]
    assert sorted(shares[0] + shares[1]) == data
    skipped = list(LengthGroupedSampler(data, lengths, 4, window=3, num_replicas=2, rank=1, seed=1, epoch=2, skip=8))
    assert skipped == shares[1][8:]
    with pytest.raises(ValueError, match="lengths"):
        LengthGroupedSampler(data, lengths[:-1], 4)


def test_validation_batches_come_in_a_fixed_order(varied, tiny_tokenizer):
    dm = make_dm(tiny_tokenizer, varied, batch_size=4, val_fraction=0.2)
    dm.setup("fit")
    first = [b.input_ids.tolist() for b in dm.val_dataloader()]
    assert first == [b.input_ids.tolist() for b in dm.val_dataloader()]
    widths = [len(b[0]) for b in first]
    assert widths == sorted(widths, reverse=True) and sum(len(b) for b in first) == len(dm.encoded["val"]) == 21
    assert all(isinstance(b, SFTBatch) for b in dm.val_dataloader())
    assert torch.equal(next(iter(dm.test_dataloader())).labels, next(iter(dm.val_dataloader())).labels)


def test_limit_and_val_limit_cap_the_demonstrations_separately():
    dm = SFTDataModule(task="ui_automation", limit=30, val_limit=7)
    examples = dm.load_examples()
    assert len(examples["train"]) == 30 and len(examples["val"]) == 7  # val: the held-out families' split
