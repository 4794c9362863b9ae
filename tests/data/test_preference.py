"""PreferenceDataModule: schemas, bad rows in both modes, splits, truncation, collation and prediction rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perl_lightning.data import PreferenceBatch, PreferenceDataModule
from perl_lightning.data.formatting import encode_prompt, encode_response
from perl_lightning.data.preference import PreferenceExample, ResponseBatch
from perl_lightning.sources import DataError

ASSISTANT_HEADER = "<|im_start|>assistant\n"


@pytest.fixture(scope="module")
def tok():
    from perl_lightning.models.backbone import load_tokenizer

    return load_tokenizer("tiny-llama")


@pytest.fixture(scope="module")
def header(tok) -> list[int]:
    return tok.encode(ASSISTANT_HEADER, add_special_tokens=False)


def write_jsonl(path: Path, rows: list) -> Path:
    """Rows are dicts (dumped as JSON) or raw strings (written as they are)."""
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def pair(i: int) -> dict[str, str]:
    return {"prompt": f"Question {i}: how do I do thing {i}?", "chosen": f"Do thing {i} carefully.", "rejected": "No."}


def make_dm(tok, path, **kwargs) -> PreferenceDataModule:
    """A DataModule built with tokenizer='tiny-llama', reusing the already loaded tokenizer to keep tests fast."""
    kwargs.setdefault("val_fraction", 0.0)
    dm = PreferenceDataModule(path=str(path), tokenizer="tiny-llama", **kwargs)
    dm.tokenizer = tok
    return dm


def find_last(seq: list[int], sub: list[int]) -> int:
    for i in range(len(seq) - len(sub), -1, -1):
        if seq[i : i + len(sub)] == sub:
            return i
    return -1


# --- schemas ------------------------------------------------------------------------------------------------------


def test_explicit_schema(tmp_path, tok):
    rows = [pair(i) for i in range(3)]
    dm = make_dm(tok, write_jsonl(tmp_path / "d.jsonl", rows), schema="explicit")
    dm.setup("fit")
    assert dm.examples["train"] == [PreferenceExample(r["prompt"], r["chosen"], r["rejected"]) for r in rows]
    assert dm.examples["val"] == [] and dm.skipped == []
    chosen, rejected = dm.encoded["train"][0]
    prompt = encode_prompt(tok, rows[0]["prompt"], True)
    assert chosen == prompt + encode_response(tok, rows[0]["chosen"], True)
    assert rejected == prompt + encode_response(tok, rows[0]["rejected"], True)


def test_tokenizer_loaded_by_name(tmp_path, tok):
    dm = PreferenceDataModule(path=str(write_jsonl(tmp_path / "d.jsonl", [pair(0)])), tokenizer="tiny-llama")
    dm.setup("fit")
    assert dm.tokenizer.get_vocab() == tok.get_vocab()
    assert dm.tokenizer.pad_token_id == tok.pad_token_id


def test_hh_dialogue_schema_auto_detected(tmp_path, tok):
    shared = "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Name a fruit.\n\nAssistant:"
    rows = [
        {"chosen": shared + " An apple.", "rejected": shared + " A carrot."},
        {"chosen": "\n\nHuman: 2+2?\n\nAssistant: 4", "rejected": "\n\nHuman: 2+2?\n\nAssistant: 5"},
    ]
    dm = make_dm(tok, write_jsonl(tmp_path / "hh.jsonl", rows))
    dm.setup("fit")
    assert dm.examples["train"] == [
        PreferenceExample(shared, "An apple.", "A carrot."),
        PreferenceExample("\n\nHuman: 2+2?\n\nAssistant:", "4", "5"),
    ]
    chosen, rejected = dm.encoded["train"][0]
    assert tok.decode(chosen).endswith(
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
        "<|im_start|>user\nName a fruit.<|im_end|>\n<|im_start|>assistant\nAn apple.<|im_end|>"
    )
    assert tok.decode(rejected).endswith("<|im_start|>assistant\nA carrot.<|im_end|>")


def test_hh_dialogue_without_chat_template(tmp_path, tok):
    rows = [{"chosen": "\n\nHuman: 2+2?\n\nAssistant: 4", "rejected": "\n\nHuman: 2+2?\n\nAssistant: 5"}]
    dm = make_dm(tok, write_jsonl(tmp_path / "hh.jsonl", rows), chat_template=False)
    dm.setup("fit")
    chosen, rejected = dm.encoded["train"][0]
    assert tok.decode(chosen) == "Human: 2+2?\n\nAssistant: 4<|im_end|>"
    assert tok.decode(rejected) == "Human: 2+2?\n\nAssistant: 5<|im_end|>"


def test_custom_column_mapping(tmp_path, tok):
    rows = [{"question": f"q{i}?", "good": f"good {i}", "bad": f"bad {i}", "extra": i} for i in range(3)]
    dm = make_dm(
        tok, write_jsonl(tmp_path / "d.jsonl", rows), prompt_key="question", chosen_key="good", rejected_key="bad"
    )
    dm.setup("fit")
    assert dm.examples["train"] == [PreferenceExample(f"q{i}?", f"good {i}", f"bad {i}") for i in range(3)]


def test_custom_column_missing_is_named(tmp_path, tok):
    rows = [{"question": "q?", "good": "yes", "bad": "no"}, {"question": "q2?", "good": "yes"}]
    dm = make_dm(
        tok, write_jsonl(tmp_path / "d.jsonl", rows), prompt_key="question", chosen_key="good", rejected_key="bad"
    )
    with pytest.raises(DataError, match=r"row 2: missing field 'bad'"):
        dm.setup("fit")


# --- bad rows, both modes -----------------------------------------------------------------------------------------

HH_EMPTY = {"chosen": "\n\nHuman: q?\n\nAssistant:", "rejected": "\n\nHuman: q?\n\nAssistant: an answer"}

BAD_ROWS = {
    # kind: (raw row, schema, expected text in the error, the field the error names or None)
    "missing field": ({"prompt": "q?", "chosen": "yes"}, "auto", "missing field 'rejected'", "rejected"),
    "missing prompt": ({"chosen": "yes", "rejected": "no"}, "explicit", "missing field 'prompt'", "prompt"),
    "null value": ({"prompt": "q?", "chosen": None, "rejected": "no"}, "auto", "missing field 'chosen'", "chosen"),
    "empty response": ({"prompt": "q?", "chosen": "yes", "rejected": "  "}, "auto", "is empty", "rejected"),
    "empty dialogue reply": (HH_EMPTY, "dialogue", "empty response", "chosen"),
    "identical": ({"prompt": "q?", "chosen": "same", "rejected": " same "}, "auto", "are identical", "chosen"),
    "non-string": ({"prompt": "q?", "chosen": "yes", "rejected": ["no"]}, "auto", "must be a string", "rejected"),
    "non-string prompt": ({"prompt": 3, "chosen": "yes", "rejected": "no"}, "auto", "must be a string", "prompt"),
    "unparsable": ('{"prompt": "q?", "chosen": "yes", ', "auto", "unparsable JSON", None),
    "not an object": ('["q?", "yes", "no"]', "auto", "expected a JSON object", None),
}


def _good(i: int, schema: str) -> dict[str, str]:
    if schema == "dialogue":
        return {"chosen": f"\n\nHuman: q{i}?\n\nAssistant: yes {i}", "rejected": f"\n\nHuman: q{i}?\n\nAssistant: no"}
    return pair(i)


def _file_with_bad_rows(tmp_path: Path, kind: str) -> tuple[Path, str]:
    bad, schema = BAD_ROWS[kind][:2]
    rows = [_good(1, schema), _good(2, schema), bad, _good(4, schema), _good(5, schema), bad, _good(7, schema)]
    return write_jsonl(tmp_path / "d.jsonl", rows), schema


@pytest.mark.parametrize("kind", list(BAD_ROWS))
def test_bad_row_error_mode_names_file_row_and_field(tmp_path, tok, kind):
    path, schema = _file_with_bad_rows(tmp_path, kind)
    dm = make_dm(tok, path, schema=schema, bad_rows="error")
    with pytest.raises(DataError) as info:
        dm.setup("fit")
    message = str(info.value)
    assert f"{path}: row 3:" in message
    assert BAD_ROWS[kind][2] in message
    field = BAD_ROWS[kind][3]
    if field is not None:
        assert f"'{field}'" in message


@pytest.mark.parametrize("kind", list(BAD_ROWS))
def test_bad_row_skip_mode_skips_exactly_the_bad_rows(tmp_path, tok, kind, caplog):
    path, schema = _file_with_bad_rows(tmp_path, kind)
    dm = make_dm(tok, path, schema=schema, bad_rows="skip")
    with caplog.at_level("WARNING"):
        dm.setup("fit")
    assert len(dm.skipped) == 2
    assert f"{path}: row 3:" in dm.skipped[0] and f"{path}: row 6:" in dm.skipped[1]
    assert all(BAD_ROWS[kind][2] in s for s in dm.skipped)
    expected = [_good(i, schema) for i in (1, 2, 4, 5, 7)]
    if schema == "dialogue":
        assert [e.chosen for e in dm.examples["train"]] == [f"yes {i}" for i in (1, 2, 4, 5, 7)]
    else:
        assert [e.prompt for e in dm.examples["train"]] == [r["prompt"] for r in expected]
    assert len(dm.encoded["train"]) == 5
    assert any(str(path) in r.getMessage() and "row 3" in r.getMessage() for r in caplog.records)


def test_all_rows_bad_is_an_error_even_when_skipping(tmp_path, tok):
    path = write_jsonl(tmp_path / "d.jsonl", [{"prompt": "q", "chosen": "x", "rejected": "x"}])
    with pytest.raises(DataError, match="no usable rows"):
        make_dm(tok, path, bad_rows="skip").setup("fit")


# --- splits and limit ---------------------------------------------------------------------------------------------


def _split_prompts(tok, path, seed: int) -> tuple[list[str], list[str]]:
    dm = make_dm(tok, path, val_fraction=0.25, seed=seed)
    dm.setup("fit")
    assert len(dm.encoded["train"]) == len(dm.examples["train"])
    assert len(dm.encoded["val"]) == len(dm.examples["val"])
    return [e.prompt for e in dm.examples["train"]], [e.prompt for e in dm.examples["val"]]


def test_seeded_train_val_split(tmp_path, tok):
    rows = [pair(i) for i in range(40)]
    path = write_jsonl(tmp_path / "d.jsonl", rows)
    train, val = _split_prompts(tok, path, seed=1)
    assert len(val) == 10 and len(train) == 30
    assert set(train).isdisjoint(val)
    assert sorted(train + val) == sorted(r["prompt"] for r in rows)
    order = {r["prompt"]: i for i, r in enumerate(rows)}
    assert [order[p] for p in train] == sorted(order[p] for p in train)  # file order kept within each split
    assert _split_prompts(tok, path, seed=1) == (train, val)
    assert _split_prompts(tok, path, seed=2)[1] != val


def test_val_split_of_a_dataset_directory(tmp_path, tok):
    write_jsonl(tmp_path / "train.jsonl", [pair(i) for i in range(6)])
    write_jsonl(tmp_path / "validation.jsonl", [pair(i) for i in range(100, 103)])
    dm = make_dm(tok, tmp_path, val_split="validation", val_fraction=0.5)
    dm.setup("fit")
    assert [e.prompt for e in dm.examples["train"]] == [pair(i)["prompt"] for i in range(6)]
    assert [e.prompt for e in dm.examples["val"]] == [pair(i)["prompt"] for i in range(100, 103)]

    limited = make_dm(tok, tmp_path, val_split="validation", limit=2)
    limited.setup("fit")
    assert [e.prompt for e in limited.examples["train"]] == [pair(i)["prompt"] for i in range(2)]
    assert [e.prompt for e in limited.examples["val"]] == [pair(i)["prompt"] for i in range(100, 102)]


def test_val_split_of_a_single_file_is_an_error(tmp_path, tok):
    path = write_jsonl(tmp_path / "d.jsonl", [pair(i) for i in range(4)])
    with pytest.raises(DataError, match="no split 'validation'"):
        make_dm(tok, path, val_split="validation").setup("fit")


def test_limit_takes_the_first_usable_rows_before_the_split(tmp_path, tok):
    rows = [pair(i) for i in range(30)]
    rows[2] = {"prompt": "bad", "chosen": "same", "rejected": "same"}
    dm = make_dm(tok, write_jsonl(tmp_path / "d.jsonl", rows), limit=10, val_fraction=0.2, bad_rows="skip")
    dm.setup("fit")
    prompts = [e.prompt for e in dm.examples["train"] + dm.examples["val"]]
    assert len(dm.examples["train"]) == 8 and len(dm.examples["val"]) == 2
    assert sorted(prompts) == sorted(pair(i)["prompt"] for i in [0, 1, *range(3, 11)])


def test_invalid_val_fraction():
    with pytest.raises(ValueError, match="val_fraction"):
        PreferenceDataModule(val_fraction=1.0)


# --- truncation ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("max_length", "max_prompt_length"), [(40, None), (24, 16)])
def test_max_length_respected_and_responses_kept(tok, header, max_length, max_prompt_length):
    dm = make_dm(tok, "builtin", limit=60, max_length=max_length, max_prompt_length=max_prompt_length)
    dm.setup("fit")
    assert len(dm.encoded["train"]) == 60
    cut_prompts = cut_responses = 0
    for example, encoded in zip(dm.examples["train"], dm.encoded["train"], strict=True):
        full_prompt = encode_prompt(tok, example.prompt, True)
        for response, seq in zip((example.chosen, example.rejected), encoded, strict=True):
            assert len(seq) <= max_length
            at = find_last(seq, header)
            assert at >= 0, "the assistant header must survive truncation"
            prompt, kept = seq[: at + len(header)], seq[at + len(header) :]
            assert len(kept) >= 1
            assert prompt == full_prompt[-len(prompt) :]  # the prompt loses its start, never its end
            full_response = encode_response(tok, response, True)
            assert kept == full_response[: len(kept)]  # the response loses its end, never its start
            assert len(kept) >= min(len(full_response), max_length - dm.max_prompt_length)
            cut_prompts += len(prompt) < len(full_prompt)
            cut_responses += len(kept) < len(full_response)
    assert cut_prompts > 0 and cut_responses > 0  # the limits really were exercised


# --- collation ----------------------------------------------------------------------------------------------------


def _pairs_dm(tok, tmp_path, **kwargs) -> PreferenceDataModule:
    rows = [
        {"prompt": "Hi?", "chosen": "Hello there, nice to meet you.", "rejected": "No."},
        {"prompt": "A much longer question about cooking pasta well?", "chosen": "Salt the water.", "rejected": "?"},
    ]
    dm = make_dm(tok, write_jsonl(tmp_path / "d.jsonl", rows), batch_size=2, **kwargs)
    dm.setup("fit")
    return dm


@pytest.mark.parametrize("side", ["right", "left"])
def test_collate_stacks_chosen_then_rejected(tmp_path, tok, side):
    dm = _pairs_dm(tok, tmp_path, padding_side=side)
    pairs = dm.encoded["train"]
    batch = dm.collate(pairs)
    assert isinstance(batch, PreferenceBatch) and batch.num_pairs == 2
    sequences = [pairs[0][0], pairs[1][0], pairs[0][1], pairs[1][1]]
    width = max(len(s) for s in sequences)
    assert batch.input_ids.shape == batch.attention_mask.shape == (4, width)
    for i, seq in enumerate(sequences):
        n = len(seq)
        real = slice(0, n) if side == "right" else slice(width - n, width)
        padding = slice(n, width) if side == "right" else slice(0, width - n)
        assert batch.input_ids[i, real].tolist() == seq
        assert (batch.input_ids[i, padding] == tok.pad_token_id).all()
        assert batch.attention_mask[i, real].tolist() == [1] * n
        assert batch.attention_mask[i, padding].sum() == 0
    assert batch.attention_mask.sum(dim=1).tolist() == [len(s) for s in sequences]
    assert tok.pad_token_id != tok.eos_token_id


def test_train_dataloader_yields_preference_batches(tmp_path, tok):
    dm = _pairs_dm(tok, tmp_path)
    batches = list(dm.train_dataloader())
    assert len(batches) == 1
    batch = batches[0]
    assert isinstance(batch, PreferenceBatch) and batch.input_ids.shape[0] == 4
    chosen = {tuple(c) for c, _ in dm.encoded["train"]}
    rejected = {tuple(r) for _, r in dm.encoded["train"]}
    rows = [tuple(ids[mask.bool()].tolist()) for ids, mask in zip(batch.input_ids, batch.attention_mask, strict=True)]
    assert set(rows[:2]) == chosen and set(rows[2:]) == rejected


# --- predict rows -------------------------------------------------------------------------------------------------


def test_predict_path_gives_response_batches(tmp_path, tok):
    rows = [{"prompt": "Hi?", "response": "Hello."}, {"prompt": "2+2?", "response": "It is 4, of course."}]
    predict = write_jsonl(tmp_path / "predict.jsonl", rows)
    dm = make_dm(tok, write_jsonl(tmp_path / "d.jsonl", [pair(0)]), predict_path=str(predict), padding_side="left")
    dm.setup("predict")
    batches = list(dm.predict_dataloader())
    assert len(batches) == 1
    batch = batches[0]
    assert isinstance(batch, ResponseBatch)
    expected = [encode_prompt(tok, r["prompt"], True) + encode_response(tok, r["response"], True) for r in rows]
    width = max(len(s) for s in expected)
    assert batch.input_ids.shape == batch.attention_mask.shape == (2, width)
    for i, seq in enumerate(expected):
        assert batch.input_ids[i, width - len(seq) :].tolist() == seq
        assert batch.attention_mask[i].tolist() == [0] * (width - len(seq)) + [1] * len(seq)


def test_predict_path_bad_row(tmp_path, tok):
    predict = write_jsonl(tmp_path / "predict.jsonl", [{"prompt": "Hi?", "response": "Hello."}, {"prompt": "x"}])
    dm = make_dm(tok, write_jsonl(tmp_path / "d.jsonl", [pair(0)]), predict_path=str(predict))
    with pytest.raises(DataError, match=r"predict\.jsonl: row 2: missing field 'response'"):
        dm.predict_dataloader()
    skipping = make_dm(tok, write_jsonl(tmp_path / "d.jsonl", [pair(0)]), predict_path=str(predict), bad_rows="skip")
    assert list(skipping.predict_dataloader())[0].input_ids.shape[0] == 1


# --- real data ----------------------------------------------------------------------------------------------------


def test_hh_harmless_base_slice(tok, header, hh_harmless):
    dm = PreferenceDataModule(path=str(hh_harmless), tokenizer="tiny-llama", bad_rows="skip", limit=200)
    dm.setup("fit")
    examples = dm.examples["train"] + dm.examples["val"]
    assert len(examples) == 200
    assert len(dm.encoded["train"]) + len(dm.encoded["val"]) == 200
    assert len(dm.examples["val"]) == 20
    assert all(str(hh_harmless) in s for s in dm.skipped)
    for example in examples:
        assert example.prompt.strip() and example.prompt.endswith("\n\nAssistant:")
        assert example.chosen.strip() and example.rejected.strip() and example.chosen != example.rejected
        prompt = encode_prompt(tok, example.prompt, True)
        assert len(prompt) > len(header) and prompt[-len(header) :] == header
    for chosen, rejected in dm.encoded["train"] + dm.encoded["val"]:
        assert len(chosen) <= 256 and len(rejected) <= 256
        assert find_last(chosen, header) >= 0 and find_last(rejected, header) >= 0
