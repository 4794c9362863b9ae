"""RatedDataModule: generic rated rows and Taskmaster's schema, bad rows named, the grouped held-out split,
truncation, collation, exact resume and prediction rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from perl_lightning.data import RatedBatch, RatedDataModule
from perl_lightning.data.formatting import encode_prompt, encode_response
from perl_lightning.sources import DataError
from perl_lightning.tasks import Dialogue, RatedExample
from perl_lightning.tasks.base import split_key

TASKMASTER = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "taskmaster-coffee"


@pytest.fixture(scope="module")
def tok():
    from perl_lightning.models.backbone import load_tokenizer

    return load_tokenizer("tiny-llama")


def write_jsonl(path: Path, rows: list) -> Path:
    """Rows are dicts (dumped as JSON) or raw strings (written as they are)."""
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def rating(i: int, label: float = 1.0, prompt: str | None = None) -> dict:
    return {"prompt": prompt or f"Question {i}: how do I do thing {i}?", "response": f"Answer {i}.", "label": label}


def make_dm(tok, path, **kwargs) -> RatedDataModule:
    kwargs.setdefault("val_fraction", 0.0)
    dm = RatedDataModule(path=str(path), tokenizer="tiny-llama", **kwargs)
    dm.tokenizer = tok  # the already loaded tokenizer: keeps the tests fast
    return dm


# --- generic rows ---------------------------------------------------------------------------------------------------


def test_generic_rated_rows(tmp_path, tok):
    rows = [rating(0, 1.0), rating(1, 0.0), rating(2, 0.75)]
    dm = make_dm(tok, write_jsonl(tmp_path / "r.jsonl", rows))
    dm.setup("fit")
    assert dm.examples["train"] == [RatedExample(r["prompt"], r["response"], r["label"], r["prompt"]) for r in rows]
    assert dm.examples["val"] == [] and dm.skipped == []
    ids, label = dm.encoded["train"][1]
    assert ids == encode_prompt(tok, rows[1]["prompt"], True) + encode_response(tok, rows[1]["response"], True)
    assert label == 0.0 and ids[-1] == tok.eos_token_id
    assert dm.label_counts() == (2, 1)  # 0.75 counts as liked


def test_custom_columns(tmp_path, tok):
    rows = [{"q": "Is it raining?", "a": "Yes.", "thumbs": 1}, {"q": "Is it raining?", "a": "Bananas.", "thumbs": 0}]
    dm = make_dm(tok, write_jsonl(tmp_path / "r.jsonl", rows), prompt_key="q", response_key="a", label_key="thumbs")
    assert [(e.response, e.label) for e in dm.load_examples()["train"]] == [("Yes.", 1.0), ("Bananas.", 0.0)]


BAD_ROWS = {
    # kind: (raw row, text of the error, the field it names or None)
    "missing label": ({"prompt": "q?", "response": "yes"}, "missing field 'label'", "label"),
    "label above 1": ({**rating(9), "label": 2}, "must be in [0, 1], got 2.0", "label"),
    "label not a number": ({**rating(9), "label": "up"}, "must be a number", "label"),
    "label a bool": ({**rating(9), "label": True}, "must be a number", "label"),
    "empty response": ({**rating(9), "response": " "}, "is empty", "response"),
    "missing prompt": ({"response": "yes", "label": 1}, "missing field 'prompt'", "prompt"),
    "unparsable": ('{"prompt": "q?", "response": ', "unparsable JSON", None),
}


@pytest.mark.parametrize("kind", list(BAD_ROWS))
def test_bad_rows_are_named_by_file_row_and_field(tmp_path, tok, kind):
    bad, text, field = BAD_ROWS[kind]
    path = write_jsonl(tmp_path / "r.jsonl", [rating(1), rating(2, 0.0), bad, rating(4), bad, rating(6)])
    with pytest.raises(DataError) as info:
        make_dm(tok, path).setup("fit")
    message = str(info.value)
    assert f"{path}: row 3:" in message and text in message
    assert field is None or f"'{field}'" in message
    dm = make_dm(tok, path, bad_rows="skip")
    dm.setup("fit")
    assert len(dm.skipped) == 2 and "row 3:" in dm.skipped[0] and "row 5:" in dm.skipped[1]
    assert [e.response for e in dm.examples["train"]] == [f"Answer {i}." for i in (1, 2, 4, 6)]


def test_a_task_without_ratings_points_to_the_preference_datamodule():
    with pytest.raises(ValueError, match="no rated responses.*PreferenceDataModule"):
        RatedDataModule(task="harmlessness")
    with pytest.raises(ValueError, match="give a path"):
        RatedDataModule()  # the generic task has no built-in ratings


# --- held-out split -------------------------------------------------------------------------------------------------


def test_held_out_split_keeps_every_rating_of_a_context_together(tmp_path, tok):
    # 20 contexts with 1-4 ratings each, liked and disliked mixed
    rows = [rating(i * 10 + k, float(k % 2 == 0), prompt=f"Context {i}") for i in range(20) for k in range(1 + i % 4)]
    path = write_jsonl(tmp_path / "r.jsonl", rows)
    dm = make_dm(tok, path, val_fraction=0.25, seed=3)
    dm.setup("fit")
    train = {e.group for e in dm.examples["train"]}
    val = {e.group for e in dm.examples["val"]}
    assert len(val) == 5 and len(train) == 15 and not train & val  # a quarter of the contexts, whole
    assert len(dm.examples["train"]) + len(dm.examples["val"]) == len(rows)
    assert len(dm.encoded["val"]) == len(dm.examples["val"])
    again = make_dm(tok, path, val_fraction=0.25, seed=3)
    assert again.load_examples()["val"] == dm.examples["val"]  # seeded
    assert {e.group for e in make_dm(tok, path, val_fraction=0.25, seed=4).load_examples()["val"]} != val


def test_limit_and_invalid_fraction(tmp_path, tok):
    path = write_jsonl(tmp_path / "r.jsonl", [rating(i) for i in range(10)])
    assert len(make_dm(tok, path, limit=4).load_examples()["train"]) == 4
    with pytest.raises(ValueError, match="val_fraction"):
        RatedDataModule(path=str(path), val_fraction=1.0)


# --- tokens and batches ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("side", ["right", "left"])
def test_truncation_and_collation(tmp_path, tok, side):
    rows = [rating(0, 1.0, prompt="long context " * 60), rating(1, 0.0), {**rating(2, 1.0), "response": "word " * 80}]
    dm = make_dm(tok, write_jsonl(tmp_path / "r.jsonl", rows), max_length=48, max_prompt_length=32, padding_side=side)
    dm.setup("fit")
    lengths = [len(ids) for ids, _ in dm.encoded["train"]]
    assert max(lengths) == 48 and lengths[1] < 48
    assert dm.encoded["train"][0][0][-1] == tok.eos_token_id  # a long prompt loses its start, the response stays
    batch = dm.collate(dm.encoded["train"])
    assert isinstance(batch, RatedBatch) and batch.num_rated == 3
    assert batch.input_ids.shape == batch.attention_mask.shape == (3, 48)
    assert batch.labels.dtype == torch.float32 and batch.labels.tolist() == [1.0, 0.0, 1.0]
    assert batch.attention_mask.sum(-1).tolist() == lengths
    real, padded = (0, -1) if side == "right" else (-1, 0)  # the short row's ends
    assert batch.attention_mask[1, real] == 1 and batch.attention_mask[1, padded] == 0


def test_training_loader_resumes_at_the_next_batch(tmp_path, tok):
    path = write_jsonl(tmp_path / "r.jsonl", [rating(i, float(i % 3 > 0)) for i in range(12)])
    dm = make_dm(tok, path, batch_size=3)
    dm.setup("fit")
    order = [b.labels.tolist() + b.input_ids[:, :8].sum(-1).tolist() for b in dm.train_dataloader()]
    assert len(order) == 4
    resumed = make_dm(tok, path, batch_size=3)
    resumed.setup("fit")
    resumed.load_state_dict({"epoch": 0, "batches_done": 2})
    assert [b.labels.tolist() + b.input_ids[:, :8].sum(-1).tolist() for b in resumed.train_dataloader()] == order[2:]


def test_predict_rows_and_validation_by_default(tmp_path, tok):
    path = write_jsonl(tmp_path / "r.jsonl", [rating(i, float(i % 2)) for i in range(8)])
    dm = make_dm(tok, path, val_fraction=0.25, eval_batch_size=16)
    dm.setup("fit")
    (batch,) = list(dm.predict_dataloader())
    assert batch.num_rated == 2
    other = write_jsonl(tmp_path / "p.jsonl", [rating(20, 1.0), rating(21, 0.0), rating(22, 1.0)])
    dm = make_dm(tok, path, predict_path=str(other))
    dm.setup("fit")
    (batch,) = list(dm.predict_dataloader())
    assert batch.labels.tolist() == [1.0, 0.0, 1.0]


# --- Taskmaster's schema (the dialogue task) ------------------------------------------------------------------------

OPENING = {"role": "agent", "text": "Welcome to the Coffee Bar. What can I get for you?"}


def taskmaster_row(request: str, generation: dict, reward: float, turns: int = 2) -> dict:
    context = [OPENING, {"role": "user", "text": request}]
    if turns > 2:
        context += [{"role": "agent", "api": {"get_menu_items": {"query": request.split()[-1]}}},
                    {"role": "api", "response": {"get_menu_items": {"items": [request.split()[-1]]}}}]  # fmt: skip
    return {"conversation_id": f"dlg-{request}-{turns}", "context": json.dumps(context),
            "generation": json.dumps(generation), "reward": reward}  # fmt: skip


def taskmaster_file(path: Path, n: int = 12) -> Path:
    rows = []
    for i in range(n):
        request = f"can i get a latte number {i}"
        rows.append(taskmaster_row(request, {"role": "agent", "api": {"get_menu_items": {"query": "latte"}}}, 1.0))
        rows.append(taskmaster_row(request, {"role": "agent", "text": "We are closed forever."}, 0.0))
        rows.append(taskmaster_row(request, {"role": "agent", "text": "One latte, coming up."}, 1.0, turns=4))
    path.write_text(json.dumps(rows), encoding="utf-8")  # a JSON list, as the released files
    return path


def test_taskmaster_rows_through_the_dialogue_task(tmp_path, tok):
    path = taskmaster_file(tmp_path / "reward_00.json")
    dm = RatedDataModule(task="dialogue", path=str(path), val_fraction=0.25, max_length=96, seed=0)
    dm.tokenizer = tok
    dm.setup("fit")
    train, val = dm.examples["train"], dm.examples["val"]
    assert len(train) + len(val) == 36 and len(val) == 9  # 3 of 12 conversations, with all their prefixes
    assert {split_key(e) for e in train}.isdisjoint(split_key(e) for e in val)
    assert {e.group for e in train}.isdisjoint(e.group for e in val)  # hence no context on both sides either
    first = train[0]  # file order: the first row of the first conversation kept for training
    assert first.prompt[0] == {"role": "assistant", "content": OPENING["text"]}
    assert first.prompt[-1]["role"] == "user" and first.prompt[-1]["content"].startswith("can i get a latte number")
    assert first.response == 'API call: {"get_menu_items": {"query": "latte"}}' and first.label == 1.0
    assert dm.label_counts("val") == (6, 3)
    batch = dm.collate(dm.encoded["val"])
    assert batch.labels.tolist() == [1.0, 0.0, 1.0] * 3
    assert tok.decode(dm.encoded["train"][1][0]).endswith("We are closed forever.<|im_end|>")
    assert dm.encoded["train"][1][1] == 0.0


def test_taskmaster_builtin_ratings_load():
    dm = RatedDataModule(task=Dialogue(), val_fraction=0.1)
    examples = dm.load_examples()
    assert dm.path == "builtin:dialogue/reward_00" and len(examples["train"]) > len(examples["val"]) > 0
    liked, disliked = dm.label_counts()
    assert liked > disliked > 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"context": '[{"role": "user", "text": '}, "field 'context' is not valid JSON"),
        ({"context": json.dumps([{"role": "barista", "text": "hi"}])}, "field 'context' turn 0: unknown role"),
        ({"generation": json.dumps({"role": "user", "text": "hi"})}, "field 'generation': the generation must be"),
        ({"reward": 0.5 + 1}, "field 'reward' must be 1 (thumbs up) or 0"),
    ],
)
def test_malformed_taskmaster_rows_are_named(tmp_path, tok, change, message):
    path = taskmaster_file(tmp_path / "reward_00.json", n=2)
    rows = json.loads(path.read_text())
    rows[4].update(change)  # the fifth row of the JSON list
    path.write_text(json.dumps(rows), encoding="utf-8")
    with pytest.raises(DataError) as info:
        RatedDataModule(task="dialogue", path=str(path)).load_examples()
    assert f"{path}: row 5: " in str(info.value) and message in str(info.value)
    dm = RatedDataModule(task="dialogue", path=str(path), bad_rows="skip", val_fraction=0.0)
    assert len(dm.load_examples()["train"]) == 5 and len(dm.skipped) == 1


def test_real_taskmaster_slice_split_by_conversation():
    if not TASKMASTER.is_dir():
        pytest.skip(f"real data slice absent: {TASKMASTER}")
    dm = RatedDataModule(task="dialogue", path=str(TASKMASTER), val_fraction=0.15, seed=0)
    examples = dm.load_examples()
    assert len(examples["train"]) + len(examples["val"]) == 3228
    assert {split_key(e) for e in examples["train"]}.isdisjoint(split_key(e) for e in examples["val"])
    liked, disliked = dm.label_counts("val")
    assert 300 < liked + disliked < 500 and disliked > 30


def test_balance_trains_on_rounds_of_every_rare_rating_and_fresh_common_ones(tmp_path, tok):
    rows = [rating(i, float(i % 5 != 0)) for i in range(40)]  # 32 liked, 8 disliked
    dm = make_dm(tok, write_jsonl(tmp_path / "r.jsonl", rows), val_fraction=0.25, balance=True, seed=3, batch_size=4)
    dm.setup()
    n_liked, n_disliked = dm.label_counts("train")
    batches = list(dm.train_dataloader())
    order = [tuple(s[m.bool()].tolist()) for b in batches for s, m in zip(b.input_ids, b.attention_mask, strict=True)]
    label = {tuple(s): y for s, y in dm.encoded["train"]}
    assert len(order) == len(dm.encoded["train"]) == 2 * n_disliked * -(-n_liked // n_disliked)
    for k in range(0, len(order), 2 * n_disliked):  # each round: every disliked rating once, as many liked ones
        one = order[k : k + 2 * n_disliked]
        disliked = [s for s in one if label[s] < 0.5]
        assert len(set(disliked)) == len(disliked) == n_disliked
    liked_seen = {s for s in order if label[s] >= 0.5}
    assert len(liked_seen) == n_liked  # the rounds cover every liked rating
    assert len(dm.encoded["val"]) == len(dm.examples["val"])  # validation untouched
    plain = make_dm(tok, write_jsonl(tmp_path / "r.jsonl", rows), val_fraction=0.25, seed=3)
    plain.setup()
    assert len(plain.encoded["train"]) == len(dm.examples["train"])
