"""The VQA task: its rows become SFT demonstrations, preference pairs and RL prompts with the image; VQA accuracy is
both its metric and its reward; bad rows name file, row and field; prompts reach a VLM's processor."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch
from PIL import Image

from perl_lightning.data.prompts import PromptDataModule
from perl_lightning.models.vlm import load_vlm, load_vlm_processor
from perl_lightning.rewards import FunctionReward, RewardError, RewardLayer
from perl_lightning.rl.types import Rollout
from perl_lightning.sources import BadRowLog, DataError, Row, iter_rows, validated
from perl_lightning.tasks import VQA, get_task
from perl_lightning.tasks.visual.answers import normalize_answer
from perl_lightning.tasks.vqa import answer_kind, majority_answer, vqa_reward, wrong_answer


@pytest.fixture
def folder(tmp_path: Path, write_jsonl) -> Path:
    """``data/{train,test}.jsonl`` with ``data/images/``, and ``single/rows.jsonl`` (one gold answer per row)."""
    (tmp_path / "single").mkdir()
    tmp_path = tmp_path / "data"
    (tmp_path / "images").mkdir(parents=True)
    Image.new("RGB", (16, 16), (255, 0, 0)).save(tmp_path / "images" / "red.png")
    Image.new("RGB", (16, 16), (0, 0, 255)).save(tmp_path / "images" / "blue.png")
    write_jsonl(tmp_path / "train.jsonl", [
        {"id": "a", "image": "images/red.png", "question": "What colour is it?", "answers": ["red"] * 7 + ["Red."] * 3},
        {"id": "b", "image": "images/blue.png", "question": "What colour is it?", "answers": ["blue"] * 10},
        {"id": "c", "image": "images/red.png", "question": "How many squares?",
         "answers": [{"answer": "1"}, {"answer": "one"}, {"answer": "2"}]},
    ])  # fmt: skip
    write_jsonl(tmp_path / "test.jsonl", [{"id": "d", "image": "images/blue.png", "question": "Is it blue?",
                                           "answers": ["yes"] * 3}])  # fmt: skip
    write_jsonl(tmp_path.parent / "single" / "rows.jsonl", [{"image": "../data/images/blue.png",
                                                             "question": "Is it blue?", "answer": "yes"}])  # fmt: skip
    return tmp_path


def _row(folder: Path, number: int = 1, split: str = "train") -> Row:
    return [r for r in iter_rows(str(folder / f"{split}.jsonl"))][number - 1]


def test_stages_carry_the_image_and_the_answers(folder: Path) -> None:
    task = get_task("vqa")
    assert isinstance(task, VQA) and task.stages() == ["sft", "preference", "prompts"]
    row = _row(folder)
    demo = task.demonstration(row)
    assert demo.response == "red" and len(demo.images) == 1 and demo.images[0].getpixel((0, 0)) == (255, 0, 0)
    content = demo.prompt[0]["content"]
    assert content[0] == {"type": "image"} and content[1]["text"].startswith("What colour is it?\nAnswer")
    pair = task.preference(row)
    assert pair.chosen == "red" and answer_kind(pair.rejected) == "color" and normalize_answer(pair.rejected) != "red"
    assert task.preference(row) == pair, "the wrong answer is seeded by the row"
    prompt = task.prompt(_row(folder, 3))
    assert prompt.row_id == "c" and prompt.metadata["answers"] == ["1", "one", "2"] and len(prompt.images) == 1
    single = task.prompt(_row(folder, 1, "../single/rows"))  # one gold answer: exact match
    assert single.metadata["answers"] == ["yes"] and single.row_id == "rows.jsonl:1"


def test_accuracy_metric_and_reward_agree(folder: Path) -> None:
    task = VQA()
    answers = ["1", "one", "2"]  # 3 annotators, leave-one-out over min(matches / 2, 1): "1" 2/3, "2" 1/3
    responses = ["The answer is 1.", "2", "three", ""]
    metrics = task.evaluate(responses, [{"answers": answers}] * 3 + [{}])
    accuracy = metrics["vqa_accuracy"]
    assert accuracy[:3].tolist() == pytest.approx([2 / 3, 1 / 3, 0.0]) and torch.isnan(accuracy[3])
    assert metrics["exact_match"][:3].tolist() == [1.0, 0.0, 0.0]
    assert vqa_reward(responses[:3], answers=[answers] * 3) == pytest.approx(accuracy[:3].tolist())
    assert majority_answer(["Two", "2", "two", "3"]) == "Two"
    rng = random.Random(0)
    assert all(wrong_answer(["yes"] * 10, rng) == "no" for _ in range(5))
    assert {answer_kind(wrong_answer(["3"], rng)) for _ in range(10)} == {"number"}


def test_bad_rows_name_file_row_and_field(tmp_path: Path, write_jsonl) -> None:
    Image.new("RGB", (8, 8)).save(tmp_path / "ok.png")
    (tmp_path / "junk.png").write_bytes(b"not an image")
    write_jsonl(tmp_path / "bad.jsonl", [
        {"image": "missing.png", "question": "What?", "answers": ["x"]},
        {"image": "junk.png", "question": "What?", "answers": ["x"]},
        {"image": "ok.png", "question": " ", "answers": ["x"]},
        {"image": "ok.png", "question": "What?", "answers": []},
        {"image": "ok.png", "question": "What?", "answers": ["", "  "]},
        {"question": "What?", "answers": ["x"]},
        {"image": "ok.png", "question": "What?", "answers": ["x"]},
    ])  # fmt: skip
    rows = list(iter_rows(str(tmp_path / "bad.jsonl")))
    task = VQA()
    expected = ["row 1: field 'image'", "row 2: field 'image'", "row 3: field 'question'", "row 4: field 'answers'",
                "row 5: field 'answers'", "row 6: missing field 'image'"]  # fmt: skip
    for row, where in zip(rows, expected, strict=False):
        with pytest.raises(DataError, match=where) as err:
            task.prompt(row)
        assert "bad.jsonl" in str(err.value)
    bad = BadRowLog("skip")  # or counted and skipped
    kept = validated(iter(rows), task.prompt, bad, what="bad.jsonl")
    assert len(kept) == 1 and len(bad.skipped) == 6 and all("bad.jsonl: row" in m for m in bad.skipped)


def test_prompts_reach_the_vlm_processor_with_their_images(folder: Path) -> None:
    """A batch of VQA prompts for tiny Llava: image tokens in the ids, one pixel entry per row; the same question
    about two images stays two prompts."""
    model, processor = load_vlm("tiny-llava")
    dm = PromptDataModule(task="vqa", path=str(folder), split="train", val_split="test", max_prompt_length=256)
    dm.tokenizer, dm.processor = processor.tokenizer, processor
    dm.setup()
    assert [e.row_id for e in dm.examples["train"]] == ["a", "b", "c"], "same question, other image: not a duplicate"
    batch = dm.collate(dm.encoded["train"])
    assert batch.images is not None and batch.images.pixels["pixel_values"].shape[0] == 3
    assert ((batch.input_ids == model.config.image_token_id).sum(-1) == 16).all()
    assert batch.select([2, 0]).images.index.tolist() == [2, 0]
    small = PromptDataModule(task="vqa", path=str(folder), split="train", val_split="test", max_prompt_length=20)
    small.tokenizer, small.processor = processor.tokenizer, processor
    with pytest.raises(ValueError, match="max_prompt_length=20"):
        small.setup()
    text_only = PromptDataModule(task="vqa", path=str(folder), split="train", val_split="test")
    text_only.tokenizer = processor.tokenizer
    with pytest.raises(ValueError, match="text model"):
        text_only.setup()


def test_the_reward_layer_scores_prompt_batches_by_their_annotators_answers(folder: Path) -> None:
    """``vqa_reward`` as the RL stage calls it: through the reward layer, on a prompt batch's own metadata (the rows'
    ``answers`` as the data module carries them), the total is each row's VQA accuracy."""
    processor = load_vlm_processor("tiny-llava")
    dm = PromptDataModule(task="vqa", path=str(folder), split="train", val_split="test", max_prompt_length=256)
    dm.tokenizer, dm.processor = processor.tokenizer, processor
    dm.setup()
    batch = dm.collate(dm.encoded["train"])
    gold = [majority_answer(m["answers"]) for m in batch.metadata]
    responses = [f"{gold[0]}.", "I think it is not", gold[2].upper()]
    n = len(responses)
    rollout = Rollout(torch.zeros(n, 2, dtype=torch.long), torch.ones(n, 2, dtype=torch.long),
                      torch.ones(n, 1, dtype=torch.long), torch.ones(n, dtype=torch.bool), 1, list(batch.prompts),
                      responses, list(batch.row_ids), list(batch.metadata))  # fmt: skip
    layer = RewardLayer([FunctionReward("perl_lightning.tasks.vqa:vqa_reward")], [2.0])
    result = layer(rollout)
    expected = VQA().evaluate(responses, list(batch.metadata))["vqa_accuracy"]
    assert expected.tolist() == pytest.approx([1.0, 0.0, 2 / 3])  # c: "1" is 2 of 3 annotators, "2" the third
    torch.testing.assert_close(result.total, 2.0 * expected)
    with pytest.raises(RewardError, match="no reward source applies to row b "):
        layer(rollout._replace(metadata=[batch.metadata[0], {}, batch.metadata[2]]))
