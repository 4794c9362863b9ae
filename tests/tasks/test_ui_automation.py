"""The UI-automation task: step and episode rows, SFT and preference examples, the programmatic rewards and
metrics, the environment of an episode prompt, the built-in data and its held-out families."""

from __future__ import annotations

import json
import random

import pytest
import torch

from perl_lightning.data.prompts import PromptDataModule
from perl_lightning.data.sft import SFTDataModule
from perl_lightning.rewards.function import FunctionReward
from perl_lightning.rl.types import Rollout
from perl_lightning.sources import DataError, Row, iter_rows
from perl_lightning.tasks import UIAutomation, get_task
from perl_lightning.tasks.ui.actions import score_action
from perl_lightning.tasks.ui.generator import FAMILIES, HELD_OUT_FAMILIES, episode_steps, generate_episodes
from perl_lightning.tasks.ui.screen import parse_screen
from perl_lightning.tasks.ui_automation import INSTRUCTIONS, action_reward, episode_reward, rank_pair

SCREEN = {"name": "login", "title": "Sign in", "elements": [
    {"id": "e1", "type": "text_field", "text": "Email"},
    {"id": "e2", "type": "button", "text": "Log in"},
    {"id": "e3", "type": "button", "text": "Log in with Google"}]}  # fmt: skip
STEP = {"id": "s1", "family": "login_form", "goal": "Sign in as ana@mail.com", "screen": json.dumps(SCREEN),
        "scroll": 0, "history": [{"screen": json.dumps(SCREEN), "scroll": 0, "action": 'type(e1, "ana@mail.com")'}],
        "gold_action": ["click(e2)"]}  # fmt: skip


def row(data: dict, number: int = 4) -> Row:
    return Row("ui.jsonl", number, data)


@pytest.fixture(scope="module")
def builtin() -> UIAutomation:
    return UIAutomation()


def test_a_step_is_a_conversation_of_screens_and_actions() -> None:
    task = UIAutomation()
    demo = task.demonstration(row(STEP))
    assert [m["role"] for m in demo.prompt] == ["user", "assistant", "user"] and demo.response == "click(e2)"
    first, action, current = (m["content"] for m in demo.prompt)
    assert first.startswith("screen: Sign in\n[e1] text_field") and first.endswith(INSTRUCTIONS)
    assert "Goal: Sign in as ana@mail.com" in first and "Goal: Sign in as ana@mail.com" in current
    assert action == 'type(e1, "ana@mail.com")' and INSTRUCTIONS not in current
    example = task.prompt(row(STEP))
    assert example.row_id == "s1" and example.metadata["gold_action"] == ["click(e2)"]
    assert example.metadata["element_ids"] == ["e1", "e2", "e3"]


def test_the_goal_survives_a_tiny_screen_budget() -> None:
    long_goal = "Sign in as ana@mail.com " + "and then do many careful things " * 10
    demo = UIAutomation(max_screen_chars=40).demonstration(row({**STEP, "goal": long_goal, "history": []}))
    content = demo.prompt[0]["content"]
    assert content.endswith(f"Goal: {long_goal}\n{INSTRUCTIONS}") and "more elements" in content


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"gold_action": ["press(e2)"]}, "field 'gold_action': 'press(e2)' is not a valid action (unknown action"),
        ({"gold_action": ["click(e9)"]}, "unknown element id 'e9'"),
        ({"gold_action": []}, "field 'gold_action' must be an action"),
        ({"screen": "{not json"}, "field 'screen' is not valid JSON"),
        ({"screen": json.dumps({"elements": [{"id": "e1", "type": "knob"}]})}, "unknown type 'knob'"),
        ({"goal": ""}, "field 'goal' is empty"),
        ({"history": [{"screen": json.dumps(SCREEN)}]}, "history' turn 0: needs 'screen' and an 'action'"),
    ],
)
def test_bad_step_rows_name_file_row_and_field(change: dict, message: str) -> None:
    with pytest.raises(DataError, match="ui.jsonl: row 4") as err:
        UIAutomation().demonstration(row({**STEP, **change}))
    assert message in str(err.value)


def test_preference_pairs_are_ordered_by_the_scorer() -> None:
    task, screen_ids = UIAutomation(), ["e1", "e2", "e3"]
    kinds = set()
    for i in range(40):
        pair = task.preference(row({**STEP, "id": f"s{i}"}, number=i + 1))
        better = score_action(pair.chosen, ["click(e2)"], screen_ids).reward
        worse = score_action(pair.rejected, ["click(e2)"], screen_ids).reward
        assert better > worse
        kinds.add((pair.chosen == "click(e2)", score_action(pair.rejected, ["click(e2)"], screen_ids).invalid))
    assert len(kinds) >= 3  # gold vs valid, gold vs invalid, near miss vs worse
    assert task.preference(row(STEP)) == task.preference(row(STEP))  # seeded by the row id


def test_rank_pair_on_typed_text_offers_the_right_element_with_the_wrong_text() -> None:
    screen = parse_screen(SCREEN, "x")
    pairs = {rank_pair(['type(e1, "ana")'], screen, random.Random(s)) for s in range(60)}
    assert any(r.startswith("type(e1,") and c == 'type(e1, "ana")' for c, r in pairs)


def test_rewards_and_metrics_share_the_scorer() -> None:
    metas = [{"gold_action": ["click(e2)"], "element_ids": ["e1", "e2"]}] * 4
    outs = ["click(e2)", "click(e1)", "click(e7)", 'type(e2, "x")']
    assert action_reward(outs, [m["gold_action"] for m in metas], [m["element_ids"] for m in metas]) == [
        1.0, 0.1, -1.0, 0.0]  # fmt: skip
    assert action_reward(outs, [["click(e2)"]] * 4, credit={"kind": 0.3, "invalid": -2.0}) == [1.0, 0.3, 0.3, 0.0]
    metrics = UIAutomation().evaluate(outs, metas)
    assert metrics["exact_action"].tolist() == [1, 0, 0, 0] and metrics["invalid_action"].tolist() == [0, 0, 1, 0]
    assert metrics["element_accuracy"].tolist() == [1, 0, 0, 1] and "success" not in metrics
    episodes = [{"episode": {"success": True, "steps": 3, "invalid": 0, "reward": 1.0}},
                {"episode": {"success": False, "steps": 2, "invalid": 1, "reward": -0.5}}]  # fmt: skip
    metrics = UIAutomation().evaluate(["a", "b"], episodes)
    assert metrics["success"].tolist() == [1, 0] and metrics["episode_invalid"].tolist() == [0, 0.5]
    assert episode_reward(["a", "b"], [e["episode"] for e in episodes]) == [1.0, -0.5]
    assert action_reward(["a"], None) == [None] and episode_reward(["a"], None) == [None]


def test_reward_functions_receive_the_rows_through_the_reward_layer(builtin: UIAutomation) -> None:
    fn = FunctionReward("perl_lightning.tasks.ui_automation:action_reward", args={"credit": {"invalid": -3.0}})
    rows = list(iter_rows(builtin.source("prompts", None), split="test"))[:3]
    examples = [builtin.prompt(r) for r in rows]
    gold = [e.metadata["gold_action"][0] for e in examples]
    rollout = Rollout(torch.zeros(3, 2, dtype=torch.long), torch.ones(3, 2), torch.ones(3, 1), torch.ones(3).bool(), 1,
                      [e.prompt for e in examples], [gold[0], "nonsense", gold[2]], [e.row_id for e in examples],
                      [e.metadata for e in examples])  # fmt: skip
    assert fn(rollout).tolist() == [1.0, -3.0, 1.0]


def test_an_episode_prompt_plays_its_gold_trajectory_to_success(builtin: UIAutomation) -> None:
    episode = generate_episodes(1, seed=5, families=["settings_toggles"])[0]
    task = UIAutomation(prompts="episodes", shaping=0.2)
    example = task.prompt(row(episode))
    assert example.prompt[0]["content"].endswith(INSTRUCTIONS) and example.metadata["gold_steps"] == len(
        episode["gold_actions"])  # fmt: skip
    env = task.environment(example.metadata)
    for action in episode["gold_actions"][:-1]:
        result = env.step(action)
        assert not result.done and result.observation.splitlines()[-1] == f"Goal: {episode['goal']}"
    assert env.step("done()").done and env.summary()["success"] and env.summary()["reward"] == pytest.approx(1.2)
    with pytest.raises(ValueError, match="episode rows"):
        task.environment({"gold_action": ["click(e1)"]})
    with pytest.raises(DataError, match="an episode row"):
        task.demonstration(row(episode))


@pytest.mark.parametrize("observations", ["screens", "changes"])
def test_step_rows_are_the_conversations_an_episode_plays(observations: str) -> None:
    """SFT's step rows and RL's episodes show the policy the same turns: playing an episode's gold actions in the
    environment gives, before each action, exactly the conversation of that step's row (in both observation modes)."""
    task = UIAutomation(prompts="episodes", observations=observations)  # type: ignore[arg-type]
    for episode in generate_episodes(2 * len(FAMILIES), seed=11, families=list(FAMILIES)):
        example = task.prompt(row(episode))
        env, played = task.environment(example.metadata), list(example.prompt)
        for step in episode_steps(episode):
            assert task.step_messages(row(step))[0] == played, (episode["id"], step["step"])
            action = episode["gold_actions"][step["step"]]
            result = env.step(action)
            assert result.valid
            if result.observation is not None:
                played += [{"role": "assistant", "content": action}, {"role": "user", "content": result.observation}]
        assert env.summary()["success"]


def test_changes_mode_is_shorter_and_says_why_an_action_was_invalid() -> None:
    """With ``changes``, the conversations of the last steps (the longest) are shorter than with whole screens; an
    invalid action (when it does not end the episode) says why and shows the screen unchanged."""
    last = [row(episode_steps(e)[-1]) for e in generate_episodes(2 * len(FAMILIES), seed=11, families=list(FAMILIES))]

    def chars(task: UIAutomation) -> int:
        return sum(len(m["content"]) for r in last for m in task.step_messages(r)[0])

    assert chars(UIAutomation(observations="changes")) < 0.8 * chars(UIAutomation())
    lenient = UIAutomation(prompts="episodes", observations="changes", stop_on_invalid=False)
    env = lenient.environment(lenient.prompt(row(generate_episodes(1, 3, ["login_form"])[0])).metadata)
    lines = env.step("click(e99)").observation.splitlines()
    assert lines[0] == "Invalid action: unknown element id 'e99'." and lines[1].endswith("(unchanged)")
    with pytest.raises(ValueError, match="'screens' or 'changes'"):
        UIAutomation(observations="diff")  # type: ignore[arg-type]


def test_builtin_data_holds_out_whole_families(builtin: UIAutomation) -> None:
    source = builtin.source("sft", None)
    train = {r.data["family"] for r in iter_rows(source, split="train")}
    test = {r.data["family"] for r in iter_rows(source, split="test")}
    assert test == set(HELD_OUT_FAMILIES) and not train & test
    dm = SFTDataModule(task="ui_automation", limit=20)
    examples = dm.load_examples()
    assert dm.hparams.val_split == "test" and len(examples["val"]) == 20
    prompts = PromptDataModule(task=UIAutomation(prompts="episodes"), val_limit=5)
    val = prompts.load_examples()["val"]
    assert len(val) == 5 and all(e.metadata["family"] in HELD_OUT_FAMILIES and "app" in e.metadata for e in val)
    assert get_task("ui_automation").describe().startswith("ui_automation (pairwise feedback; stages: sft, preference")


def test_start_screens_mode_reads_only_first_steps_for_every_stage(builtin: UIAutomation) -> None:
    """``prompts='start'``: every stage reads the episodes' start screens (no history), the same rows as the step-0
    rows of the full step data, in the same order, with the held-out families still held out."""
    start = UIAutomation(prompts="start")
    for stage in ("sft", "preference", "prompts"):
        assert start.source(stage, None).endswith("start")
    for split in ("train", "test"):
        rows = [r.data for r in iter_rows(start.source("sft", None), split=split)]
        full = [r.data for r in iter_rows(builtin.source("sft", None), split=split) if r.data["step"] == 0]
        assert rows == full and all(not r["history"] for r in rows)
    prompts = PromptDataModule(task=start, val_limit=4).load_examples()
    assert all(e.metadata["family"] in HELD_OUT_FAMILIES for e in prompts["val"])
    assert not {e.metadata["family"] for e in prompts["train"]} & set(HELD_OUT_FAMILIES)
    assert all(len(e.prompt) == 1 for e in prompts["train"][:50])  # one observation turn: a fresh screen
    with pytest.raises(ValueError, match="'steps', 'start' or 'episodes'"):
        UIAutomation(prompts="first")  # type: ignore[arg-type]
