"""PromptDataModule: schemas, left padding, prompt truncation, held-out split, bad rows, tokenizer discovery."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from perl_lightning.data.formatting import encode_prompt
from perl_lightning.data.prompts import PromptBatch, PromptDataModule, dialogue_prompt
from perl_lightning.sources import DataError


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
    ids, example = dm.encoded["train"][0]
    full = encode_prompt(tiny_tokenizer, long, True)
    assert len(ids) == 32 and ids == full[-32:]  # the generation prompt (assistant header) survives
    assert example.prompt == long and example.row_id == "p.jsonl:1"


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
    assert not {e.row_id for e in a["val"]} & {e.row_id for e in a["train"]}
    assert not {e.prompt for e in a["val"]} & {e.prompt for e in a["train"]}
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
    with pytest.raises(DataError, match=r"row 2: field 'prompt' is empty"):  # bad rows are reported in file order
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


# ---- row ids and metadata ------------------------------------------------------------------------------------------
def test_batches_carry_row_ids_and_metadata(tiny_tokenizer, tmp_path):
    rows = [{"id": "task-a", "prompt": "What is 2 + 2?", "answer": "4", "level": 1},
            {"prompt": "What is 3 + 3?", "answer": "6", "level": 2},
            {"id": "", "prompt": "What is 4 + 4?", "answer": "8", "level": 3}]  # fmt: skip
    path = _write(tmp_path / "math.jsonl", rows)
    batch = next(iter(_dm(tiny_tokenizer, path=str(path), val_fraction=0.0, batch_size=3).train_dataloader()))
    order = [batch.prompts.index(r["prompt"]) for r in rows]  # the loader shuffles
    # the id column when the row has one, else <file name>:<row number> (1-based)
    assert [batch.row_ids[i] for i in order] == ["task-a", "math.jsonl:2", "math.jsonl:3"]
    assert batch.metadata[order[0]] == {"id": "task-a", "answer": "4", "level": 1}, "every field but the prompt"
    assert batch.metadata[order[1]] == {"answer": "6", "level": 2}
    picked = batch.select([order[1], order[0]])
    assert picked.row_ids == ["math.jsonl:2", "task-a"] and picked.metadata[1]["answer"] == "4"
    assert torch.equal(picked.input_ids, batch.input_ids[[order[1], order[0]]])
    # metadata_keys: only those fields
    dm = _dm(tiny_tokenizer, path=str(path), val_fraction=0.0, metadata_keys=["answer"], id_key="level")
    assert [(e.row_id, e.metadata) for e in dm.examples["train"]] == [("1", {"answer": "4"}), ("2", {"answer": "6"}),
                                                                    ("3", {"answer": "8"})]  # fmt: skip
    # a listed field a row lacks is an error naming file, row and field
    with pytest.raises(DataError, match=r"math.jsonl: row 1: missing field 'gold' \(listed in metadata_keys\)"):
        PromptDataModule(path=str(path), val_fraction=0.0, metadata_keys=["answer", "gold"]).load_examples()


def test_builtin_prompts_have_unique_row_ids(tiny_tokenizer):
    examples = PromptDataModule().load_examples()
    ids = [e.row_id for split in ("train", "val") for e in examples[split]]
    assert len(set(ids)) == len(ids) == 198 and all(ids)


def test_deduplication_keeps_the_first_rows_id_and_fields(tmp_path):
    rows = [{"prompt": "other"}, {"id": "first", "prompt": "same", "answer": "1"},
            {"id": "second", "prompt": "same", "answer": "2"}, {"prompt": "same", "answer": "3"}]  # fmt: skip
    path = str(_write(tmp_path / "dup.jsonl", rows))
    kept = PromptDataModule(path=path, val_fraction=0.0).load_examples()["train"]
    assert [(e.prompt, e.row_id, e.metadata.get("answer")) for e in kept] == [("other", "dup.jsonl:1", None),
                                                                              ("same", "first", "1")]  # fmt: skip
    every = PromptDataModule(path=path, val_fraction=0.0, deduplicate=False).load_examples()["train"]
    assert [e.row_id for e in every] == ["dup.jsonl:1", "first", "second", "dup.jsonl:4"]


def test_evaluation_caches_the_initial_answers_by_row_id(tiny_tokenizer, tmp_path):
    """Two held-out rows with the same prompt but different ids and metadata are both kept and evaluated."""
    import lightning as L

    from perl_lightning.models.adapters import LoRAConfig
    from perl_lightning.modules.policy import PolicyModule
    from perl_lightning.rewards import RewardSpec
    from perl_lightning.rl.config import SamplingConfig

    # (the splits of a directory share their columns: the `datasets` loader reads them as one dataset)
    train = [{"id": f"t{i}", "prompt": f"Train prompt {i}", "level": "easy"} for i in range(4)]
    _write(tmp_path / "train.jsonl", train)
    _write(tmp_path / "test.jsonl", [{"id": "easy", "prompt": "Same question?", "level": "easy"},
                                     {"id": "hard", "prompt": "Same question?", "level": "hard"},
                                     {"id": "other", "prompt": "Another question?", "level": "easy"}])  # fmt: skip
    dm = PromptDataModule(path=str(tmp_path), val_split="test", deduplicate=False, batch_size=3, max_prompt_length=32)
    module = PolicyModule("tiny-llama", algorithm="grpo", lora=LoRAConfig(r=4, alpha=8),
                          sampling=SamplingConfig(max_new_tokens=4),
                          rewards=[RewardSpec("perl_lightning.rewards.toy:newline_reward")])  # fmt: skip
    trainer = L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False,
                        default_root_dir=tmp_path)  # fmt: skip
    trainer.validate(module, dm, verbose=False)
    assert set(module._initial) == {"easy", "hard", "other"}
    assert [row["row_id"] for row in module.eval_samples] == ["easy", "hard", "other"]
    assert [row["prompt"] for row in module.eval_samples][:2] == ["Same question?", "Same question?"]
    cached = dict(module._initial)
    trainer.validate(module, dm, verbose=False)
    assert module._initial == cached, "the initial policy answers each held-out row once per run"
