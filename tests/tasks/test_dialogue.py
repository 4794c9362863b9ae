"""Taskmaster dialogue: rated generations in the released schema, turns as chat messages, pairs from ratings, the
held-out split by conversation, the well-formed-turn reward, bad rows, and the real Coffee slice."""

from __future__ import annotations

import json

import pytest

from perl_lightning.data.preference import PreferenceDataModule
from perl_lightning.sources import DataError, Row
from perl_lightning.tasks import Dialogue, get_task, pairs_from_ratings
from perl_lightning.tasks.dialogue import parse_api_call, well_formed_turn

CONTEXT = [
    {"role": "agent", "text": "Welcome to the Bakery. What can I get you?"},
    {"role": "user", "text": "A rye loaf, please."},
    {"role": "agent", "api": {"find_menu_items": {"query": "rye"}}},
    {"role": "api", "response": {"find_menu_items": {"items": [{"item_id": "rye-01", "name": "Rye Loaf"}]}}},
]
GOOD = {"role": "agent", "api": {"add_to_order": {"item_id": "rye-01", "quantity": 1}}}
BAD = {"role": "agent", "api": {"add_to_order": {"item_id": "wheat-99", "quantity": 1}}}


def rated(generation=GOOD, reward=1.0, context=CONTEXT, cid="dlg-1"):
    return {"conversation_id": cid, "context": json.dumps(context), "generation": json.dumps(generation),
            "reward": reward}  # fmt: skip


def test_turns_become_chat_messages_and_api_calls_parse_back():
    example = Dialogue().rated(Row("f", 1, rated()))
    assert example.prompt == [
        {"role": "assistant", "content": "Welcome to the Bakery. What can I get you?"},
        {"role": "user", "content": "A rye loaf, please."},
        {"role": "assistant", "content": 'API call: {"find_menu_items": {"query": "rye"}}'},
        {"role": "tool", "content": 'API response: {"find_menu_items": {"items": [{"item_id": "rye-01", '
                                    '"name": "Rye Loaf"}]}}'},
    ]  # fmt: skip
    assert example.response == 'API call: {"add_to_order": {"item_id": "rye-01", "quantity": 1}}'
    assert parse_api_call(example.response) == GOOD["api"]
    assert example.label == 1.0 and example.split_group == "A rye loaf, please."
    assert Dialogue(api_response_role="user", max_turns=2).rated(Row("f", 1, rated())).prompt[-1]["role"] == "user"
    assert len(Dialogue(max_turns=2).rated(Row("f", 1, rated())).prompt) == 2


def test_context_keeps_the_last_api_response_and_the_greeting_as_configured():
    second = [{"role": "user", "text": "And a scone."},
              {"role": "agent", "api": {"find_menu_items": {"query": "scone"}}},
              {"role": "api", "response": {"find_menu_items": {"items": [{"item_id": "scone-02"}]}}}]  # fmt: skip
    row = Row("f", 1, rated(context=CONTEXT + second))

    def contents(task):
        return [m["content"][:20] for m in task.rated(row).prompt]

    calls = ['API call: {"find_men'] * 2
    assert contents(Dialogue()) == [
        "Welcome to the Baker", "A rye loaf, please.", calls[0], "And a scone.", calls[1], "API response: {\"find"
    ]  # fmt: skip
    assert "scone-02" in Dialogue().rated(row).prompt[-1]["content"]  # the latest response, not the rye one
    assert len(Dialogue(api_responses="all").rated(row).prompt) == 7
    assert contents(Dialogue(api_responses="none", agent_greeting=False)) == [
        "A rye loaf, please.", calls[0], "And a scone.", calls[1]
    ]  # fmt: skip
    with pytest.raises(ValueError, match="api_responses"):
        Dialogue(api_responses="first")


def test_pairs_form_only_within_one_context(tmp_path, write_jsonl, parse_all):
    other = CONTEXT[:2]
    rows = [rated(GOOD, 1.0), rated(BAD, 0.0), rated({"role": "agent", "text": "Sure!"}, 1.0, other),
            rated(BAD, 1.0, other)]  # fmt: skip
    examples, _ = parse_all(write_jsonl(tmp_path / "r.jsonl", rows), Dialogue().rated)
    pairs = pairs_from_ratings(examples)
    assert len(pairs) == 1 and pairs[0].chosen.endswith('"rye-01", "quantity": 1}}')
    assert pairs[0].rejected.endswith('"wheat-99", "quantity": 1}}')


def test_demonstrations_are_the_liked_generations(tmp_path, write_jsonl, parse_all):
    path = write_jsonl(tmp_path / "r.jsonl", [rated(GOOD, 1.0), rated(BAD, 0.0)])
    demos, skipped = parse_all(path, Dialogue().demonstration)
    assert len(demos) == 1 and "rye-01" in demos[0].response and skipped == []


def test_prompts_carry_the_functions_the_conversation_used(tmp_path, write_jsonl, parse_all):
    prompts, _ = parse_all(write_jsonl(tmp_path / "r.jsonl", [rated()]), Dialogue().prompt)
    assert prompts[0].metadata == {"conversation_id": "dlg-1", "functions": ["find_menu_items"]}


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({**rated(), "context": "[{not json"}, r"row 1: field 'context' is not valid JSON"),
        ({**rated(), "context": json.dumps({"role": "user"})}, r"row 1: field 'context' must be a JSON list"),
        (rated(context=[{"role": "user", "text": ""}]), r"row 1: field 'context' turn 0: a user turn needs"),
        (rated(context=[{"role": "robot", "text": "hi"}]), r"row 1: field 'context' turn 0: unknown role 'robot'"),
        (rated(context=[{"role": "api"}]), r"field 'context' turn 0: an api turn needs a 'response'"),
        (rated(generation={"role": "user", "text": "hi"}), r"field 'generation': the generation must be an agent"),
        (rated(reward=2), r"row 1: field 'reward' must be 1 \(thumbs up\) or 0"),
        (rated(reward="1"), r"row 1: field 'reward' must be a number"),
        ({k: v for k, v in rated().items() if k != "generation"}, r"row 1: missing field 'generation'"),
    ],
)
def test_malformed_rows_are_named(tmp_path, write_jsonl, parse_all, row, message):
    with pytest.raises(DataError, match=message):
        parse_all(write_jsonl(tmp_path / "bad.jsonl", [row]), Dialogue().rated)


def test_well_formed_turn_reward_and_metrics():
    texts = ['API call: {"add_to_order": {"item_id": "x"}}', 'API call: {"unknown_fn": {}}', "Sure, one rye loaf.",
             "API call: {oops", "   ", 'API call: {"a": {}} trailing']  # fmt: skip
    functions = [["add_to_order"]] * len(texts)
    assert well_formed_turn(texts, functions=functions) == [1.0, 0.5, 1.0, -1.0, -1.0, -1.0]
    assert well_formed_turn(texts[:2]) == [1.0, 1.0]  # no known functions: any parsable call
    metrics = get_task("dialogue").evaluate(texts, [{}] * len(texts))
    assert metrics["well_formed"].tolist() == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    assert metrics["api_call"].tolist() == [1.0, 1.0, 0.0, 1.0, 0.0, 1.0]


def test_real_taskmaster_coffee_slice_reads_unchanged(taskmaster, parse_all):
    task = Dialogue()
    examples = [e for f in sorted(taskmaster.glob("reward_*.json")) for e in parse_all(f, task.rated)[0]]
    assert len(examples) == 3228 and sum(e.label for e in examples) == 2775  # the README's counts
    assert len({e.group for e in examples}) == 2254
    assert len(pairs_from_ratings(examples)) > 300
    prompts, _ = parse_all(taskmaster / "reward_00.json", task.prompt)
    assert len(prompts) == 500


def test_real_slice_split_keeps_a_conversation_on_one_side(taskmaster):
    dm = PreferenceDataModule(task="dialogue", path=str(taskmaster / "reward_01.json"), val_fraction=0.2, seed=1)
    examples = dm.load_examples()
    train = {json.dumps(e.prompt[:3]) for e in examples["train"]}
    val = {json.dumps(e.prompt[:3]) for e in examples["val"]}
    assert examples["train"] and examples["val"] and not train & val
