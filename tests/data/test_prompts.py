"""PromptDataModule: schemas, left padding, prompt truncation, held-out split, bad rows, tokenizer discovery."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from perl_lightning.data.formatting import encode_prompt
from perl_lightning.data.prompts import PromptBatch, PromptDataModule, dialogue_prompt
from perl_lightning.data.sources import DataError


def _write(path: Path, rows: list) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def _dm(tokenizer, **kwargs) -> PromptDataModule:
    dm = PromptDataModule(**kwargs)
    dm.tokenizer = tokenizer
    dm.setup()
    return dm


def test_builtin_prompts_left_padded_with_texts(tiny_tokenizer):
    dm = _dm(tiny_tokenizer, batch_size=4, max_prompt_length=512)
    assert len(dm.examples["train"]) + len(dm.examples["val"]) == 198  # every built-in prompt, none lost
    batch = next(iter(dm.val_dataloader()))
    assert isinstance(batch, PromptBatch) and len(batch.prompts) == batch.input_ids.shape[0] == 4
    assert batch.input_ids.shape == batch.attention_mask.shape
    assert bool(batch.attention_mask[:, -1].all()), "left padding: the last column is real for every row"
    pad_id = tiny_tokenizer.pad_token_id
    assert bool((batch.input_ids[batch.attention_mask == 0] == pad_id).all())
    for row, mask, text in zip(batch.input_ids, batch.attention_mask, batch.prompts, strict=True):
        assert row[mask.bool()].tolist() == encode_prompt(tiny_tokenizer, text, True)  # chat template applied


def test_long_prompt_keeps_its_end(tiny_tokenizer, tmp_path):
    long = "word " * 300 + "final question?"
    dm = _dm(tiny_tokenizer, path=str(_write(tmp_path / "p.jsonl", [{"prompt": long}] * 3)), val_fraction=0.0,
             max_prompt_length=32, deduplicate=False)  # fmt: skip
    ids, text = dm.encoded["train"][0]
    full = encode_prompt(tiny_tokenizer, long, True)
    assert len(ids) == 32 and ids == full[-32:]  # the generation prompt (assistant header) survives
    assert text == long


def test_hh_dialogues_cut_at_last_assistant_turn(tiny_tokenizer, tmp_path):
    chosen = "\n\nHuman: Hi there\n\nAssistant: Hello!\n\nHuman: How do I boil an egg?\n\nAssistant: Boil it 8 min."
    rejected = "\n\nHuman: Hi there\n\nAssistant: Hello!\n\nHuman: How do I boil an egg?\n\nAssistant: No."
    path = _write(tmp_path / "hh.jsonl", [{"chosen": chosen}, {"chosen": chosen, "rejected": rejected}])
    dm = _dm(tiny_tokenizer, path=str(path), val_fraction=0.0, deduplicate=False, chat_template=False)
    expected = "\n\nHuman: Hi there\n\nAssistant: Hello!\n\nHuman: How do I boil an egg?\n\nAssistant:"
    assert [e.prompt for e in dm.examples["train"]] == [expected, expected]
    assert dialogue_prompt(chosen) == expected
    # without a chat template the HH format is kept and ends at the assistant marker
    assert tiny_tokenizer.decode(dm.encoded["train"][0][0]).endswith("Assistant:")
    # a dialogue column under another name
    other = _write(tmp_path / "d.jsonl", [{"dialogue": chosen}])
    dm = _dm(tiny_tokenizer, path=str(other), dialogue_key="dialogue", val_fraction=0.0)
    assert dm.examples["train"][0].prompt == expected


def test_held_out_split_is_seeded_and_disjoint(tiny_tokenizer, tmp_path):
    rows = [{"prompt": f"Question number {i}?"} for i in range(40)]
    path = str(_write(tmp_path / "p.jsonl", rows))
    a = PromptDataModule(path=path, val_fraction=0.25, seed=1).load_examples()
    b = PromptDataModule(path=path, val_fraction=0.25, seed=1).load_examples()
    c = PromptDataModule(path=path, val_fraction=0.25, seed=2).load_examples()
    assert len(a["val"]) == 10 and len(a["train"]) == 30
    assert a == b and a["val"] != c["val"]
    assert not set(a["val"]) & set(a["train"])
    dm = _dm(tiny_tokenizer, path=path, val_fraction=0.25, batch_size=8, seed=1)
    first = [next(iter(dm.train_dataloader())).prompts for _ in range(2)]
    assert first[0] == first[1], "seeded shuffling: the same order each time the loader is built"
    assert first[0] != [e.prompt for e in dm.examples["train"][:8]], "training prompts are shuffled"


def test_named_validation_split(tiny_tokenizer, tmp_path):
    for split, n in (("train", 6), ("test", 3)):
        _write(tmp_path / f"{split}.jsonl", [{"prompt": f"{split} prompt {i}"} for i in range(n)])
    dm = _dm(tiny_tokenizer, path=str(tmp_path), val_split="test")
    assert len(dm.examples["train"]) == 6 and [e.prompt for e in dm.examples["val"]][0] == "test prompt 0"


def test_bad_rows_error_by_default_and_skip_with_count(tiny_tokenizer, tmp_path):
    rows = [{"prompt": "good one"}, {"prompt": ""}, "{not json", {"text": "no prompt"}, {"prompt": "good two"}]
    path = str(_write(tmp_path / "bad.jsonl", rows))
    with pytest.raises(DataError, match=r"row 3: unparsable JSON"):
        PromptDataModule(path=path).load_examples()
    empty = str(_write(tmp_path / "empty.jsonl", [{"prompt": "fine"}, {"prompt": " "}]))
    with pytest.raises(DataError, match=r"row 2: field 'prompt' is empty"):
        PromptDataModule(path=empty).load_examples()
    dm = PromptDataModule(path=path, bad_rows="skip", val_fraction=0.0)
    assert [e.prompt for e in dm.load_examples()["train"]] == ["good one", "good two"]
    assert len(dm.skipped) == 3


def test_tokenizer_from_attached_module(tiny_tokenizer):
    class Holder:
        lightning_module = type("M", (), {"tokenizer": tiny_tokenizer})()

    dm = PromptDataModule()
    with pytest.raises(RuntimeError, match="tokenizer"):
        _ = dm.tokenizer
    dm.trainer = Holder()  # what Trainer.fit does
    assert dm.tokenizer is tiny_tokenizer
    named = PromptDataModule(tokenizer="tiny-llama")
    assert named.tokenizer.pad_token_id == tiny_tokenizer.pad_token_id


def test_deduplicates_prompts_and_limits(tiny_tokenizer, tmp_path):
    rows = [{"prompt": "same"}] * 3 + [{"prompt": f"other {i}"} for i in range(10)]
    path = str(_write(tmp_path / "dup.jsonl", rows))
    dm = PromptDataModule(path=path, val_fraction=0.0, limit=5)
    assert [e.prompt for e in dm.load_examples()["train"]] == ["same"] + [f"other {i}" for i in range(4)]
    batch = _dm(tiny_tokenizer, path=path, val_fraction=0.2, val_limit=1).val_dataloader()
    assert sum(len(b.prompts) for b in batch) == 1
    assert isinstance(next(iter(batch)).input_ids, torch.Tensor)
