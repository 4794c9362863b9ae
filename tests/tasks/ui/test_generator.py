"""The synthetic UI app generator: valid, solvable, varied, deterministic episodes and their step rows."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from perl_lightning.tasks.ui import generator
from perl_lightning.tasks.ui.actions import Action, parse_action
from perl_lightning.tasks.ui.env import UIEnvironment, check_goal_state, parse_app
from perl_lightning.tasks.ui.generator import (
    FAMILIES,
    HELD_OUT_FAMILIES,
    TRAIN_FAMILIES,
    episode_steps,
    generate_episodes,
    write_dataset,
)
from perl_lightning.tasks.ui.screen import offscreen, parse_screen

NAMES = ("login_form", "signup_form", "settings_toggles", "search_results", "dialog_confirm", "shopping_cart",
         "navigation_bar", "profile_edit", "email_inbox")  # fmt: skip


@pytest.fixture(scope="module")
def episodes() -> list[dict]:
    """40 episodes of every family."""
    return generate_episodes(40 * len(FAMILIES), seed=11, families=list(FAMILIES))


def _replay(episode: dict, actions: list[str]) -> UIEnvironment:
    env = UIEnvironment(json.loads(episode["app"]), json.loads(episode["goal_state"]), max_steps=20)
    for action in actions:
        if env.finished:
            break
        env.step(action)
    return env


def test_families_and_split() -> None:
    assert set(NAMES) <= set(FAMILIES)
    assert HELD_OUT_FAMILIES == ("signup_form", "shopping_cart")
    assert set(TRAIN_FAMILIES) == set(FAMILIES) - set(HELD_OUT_FAMILIES) and len(TRAIN_FAMILIES) == 7


def test_every_episode_parses_and_its_gold_trajectory_succeeds(episodes: list[dict]) -> None:
    assert Counter(e["family"] for e in episodes) == dict.fromkeys(FAMILIES, 40)
    for e in episodes:
        assert set(e) == {"id", "family", "goal", "app", "goal_state", "gold_actions"}
        json.dumps(e)
        app = json.loads(e["app"])
        start, screens = parse_app(app, e["id"])
        check_goal_state(json.loads(e["goal_state"]), screens, e["id"])
        ids = [i for s in screens.values() for i in s.ids()]
        assert len(ids) == len(set(ids)), e["id"]  # unique across the app
        assert all(el.bounds is not None for s in screens.values() for _, el in s.walk())
        gold = e["gold_actions"]
        assert gold[-1] == "done()" and "done()" not in gold[:-1] and 1 <= len(gold) - 1 <= 4
        assert all(str(parse_action(a)) == a for a in gold)  # canonical
        env = _replay(e, gold)
        assert env.summary()["success"] and env.invalid == 0, (e["id"], e["goal"], gold)


def test_wrong_trajectories_fail(episodes: list[dict]) -> None:
    for e in episodes:
        assert not _replay(e, ["done()"]).summary()["success"], e["id"]
        gold = e["gold_actions"]
        assert not _replay(e, [*gold[:-2], "done()"]).summary()["success"], (e["id"], gold)  # last step left out


def test_goal_mentions_what_the_gold_actions_need(episodes: list[dict]) -> None:
    for e in episodes:
        _, screens = parse_app(json.loads(e["app"]), e["id"])
        texts = {el.id: el for s in screens.values() for _, el in s.walk()}
        for a in map(parse_action, e["gold_actions"]):
            assert isinstance(a, Action)
            if a.kind in ("type", "select"):
                assert a.text in e["goal"], (e["goal"], a)
            elif a.kind == "click" and texts[a.target].type in ("switch", "tab", "list_item"):
                assert texts[a.target].text in e["goal"], (e["goal"], a)


def test_same_seed_same_rows_other_seed_other_rows() -> None:
    families = list(FAMILIES)
    first = generate_episodes(24, 5, families)
    assert first == generate_episodes(24, 5, families)
    other = generate_episodes(24, 6, families)
    assert [e["id"] for e in first] != [e["id"] for e in other]
    assert [(e["goal"], e["app"]) for e in first] != [(e["goal"], e["app"]) for e in other]
    assert first[0]["id"] == f"{families[0]}-5-0"
    assert FAMILIES["login_form"](random.Random(3)) == FAMILIES["login_form"](random.Random(3))
    with pytest.raises(ValueError, match="unknown"):
        generate_episodes(2, 0, ["no_such_family"])


def test_action_counts_cover_one_to_four(episodes: list[dict]) -> None:
    counts = Counter(len(e["gold_actions"]) - 1 for e in episodes)
    assert set(counts) == {1, 2, 3, 4}
    assert min(counts.values()) >= 10


def test_goal_texts_vary_within_each_family() -> None:
    for family, build in FAMILIES.items():
        rng = random.Random(family)
        goals = [build(random.Random(rng.getrandbits(32)))["goal"] for _ in range(50)]
        openings = {g.split()[0].lower().strip(",") for g in goals}
        assert len(openings) >= 3, (family, openings)  # at least three paraphrase templates in use
        assert len(set(goals)) >= 40, family


def test_some_search_results_need_scrolling() -> None:
    episodes = generate_episodes(60, 2, ["search_results"])
    scrolled = [e for e in episodes if "scroll(down)" in e["gold_actions"]]
    assert 5 <= len(scrolled) < len(episodes)
    for e in scrolled:
        start, screens = parse_app(json.loads(e["app"]), e["id"])
        target = next(a.target for a in map(parse_action, e["gold_actions"]) if a.kind == "click")
        screen = screens[start]
        assert offscreen(screen.find(target), 0, screen.height)  # the target starts below the fold
        rows = episode_steps(e)
        click = next(r for r in rows if r["gold_action"][0].startswith("click"))
        assert click["scroll"] > 0 and not offscreen(screen.find(target), click["scroll"], screen.height)


def test_step_rows(episodes: list[dict]) -> None:
    for e in episodes[::4]:
        rows = episode_steps(e)
        n = len(e["gold_actions"])
        assert len(rows) == n
        assert [len(r["history"]) for r in rows] == list(range(n))
        assert [r["step"] for r in rows] == list(range(n)) and {r["steps"] for r in rows} == {n}
        assert [r["gold_action"][0] for r in rows] == e["gold_actions"]  # the canonical action first
        for t, r in enumerate(rows):  # then later gold actions that are also right now (never done())
            assert set(r["gold_action"][1:]) <= set(e["gold_actions"][t + 1 : -1])
        assert [r["id"] for r in rows] == [f"{e['id']}/{t}" for t in range(n)]
        json.dumps(rows)
        for t, r in enumerate(rows):
            assert r["family"] == e["family"] and r["goal"] == e["goal"]
            screen = parse_screen(json.loads(r["screen"]), r["id"])
            action = parse_action(r["gold_action"][0], screen.ids())
            assert isinstance(action, Action), (r["id"], action)  # a target id the row's screen has
            if action.target:
                assert screen.find(action.target) is not None
            assert [h["action"] for h in r["history"]] == e["gold_actions"][:t]
            if t:
                assert r["history"][-1]["screen"] == rows[t - 1]["screen"]
                assert r["history"][-1]["scroll"] == rows[t - 1]["scroll"]


def test_every_acceptable_action_leads_to_the_goal(episodes: list[dict]) -> None:
    """Each acceptable action at step t, done first, still lets the rest of the gold trajectory reach the goal; the
    later gold actions left out cannot be done yet (playing them first fails)."""
    seen_alternatives = Counter()
    for e in episodes[::4]:  # every family (they alternate, and 4 is coprime to their number)
        gold = e["gold_actions"]
        for t, row in enumerate(episode_steps(e)):
            for j in range(t + 1, len(gold) - 1):
                rest = gold[:t] + [gold[j]] + gold[t:j] + gold[j + 1 :]
                env = _replay(e, rest)
                reached = env.summary()["success"] and env.summary()["invalid"] == 0
                assert reached == (gold[j] in row["gold_action"]) or gold[j] == gold[t], (row["id"], gold[j])
            seen_alternatives[e["family"]] += len(row["gold_action"]) > 1
    assert seen_alternatives["shopping_cart"] > 0 and seen_alternatives["signup_form"] > 0  # independent sub-goals
    assert seen_alternatives["dialog_confirm"] == 0  # one action: nothing to reorder


def test_acceptable_actions_act_on_the_current_screen(episodes: list[dict]) -> None:
    """An action on a screen not open yet (a sub-screen's switch) is never acceptable at step t."""
    for e in episodes[1::4]:
        for row in episode_steps(e):
            screen = parse_screen(json.loads(row["screen"]), row["id"])
            for action in row["gold_action"]:
                parsed = parse_action(action, screen.ids())
                assert isinstance(parsed, Action), (row["id"], action)


def test_step_rows_carry_the_current_state() -> None:
    e = next(x for x in generate_episodes(30, 4, ["login_form"]) if x["gold_actions"][0].startswith("type"))
    rows = episode_steps(e)
    typed = parse_action(e["gold_actions"][0])
    later = parse_screen(json.loads(rows[1]["screen"]), "row 1")
    assert later.find(typed.target).state["value"] == typed.text


def test_episode_steps_rejects_a_failing_gold_trajectory(episodes: list[dict]) -> None:
    bad = {**episodes[0], "gold_actions": ["done()"]}
    with pytest.raises(ValueError, match=episodes[0]["id"]):
        episode_steps(bad)
    invalid = {**episodes[1], "gold_actions": ["click(e999)", "done()"]}
    with pytest.raises(ValueError, match=episodes[1]["id"]):
        episode_steps(invalid)


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_write_dataset_splits_atomically_and_only_once(tmp_path: Path, replaced_files: list[tuple[str, str]]) -> None:
    replaced = replaced_files
    root = tmp_path / "ui"
    assert write_dataset(root, seed=1, train=18, validation=12, test=10) == root
    files = [root / k / f"{s}.jsonl" for k in ("episodes", "steps", "start") for s in ("train", "validation", "test")]
    assert {Path(d) for _, d in replaced} == {*files, root / "DONE"}
    assert all(Path(s).parent == Path(d).parent and s != d for s, d in replaced)  # a temp file next to the target
    assert sorted(p.name for p in root.rglob("*") if p.is_file()) == sorted(["DONE", *(f.name for f in files)])
    episodes = {s: _read(root / "episodes" / f"{s}.jsonl") for s in ("train", "validation", "test")}
    assert [len(episodes[s]) for s in episodes] == [18, 12, 10]
    for split in ("train", "validation"):
        assert {e["family"] for e in episodes[split]} == set(TRAIN_FAMILIES)
    assert {e["family"] for e in episodes["test"]} == set(HELD_OUT_FAMILIES)
    assert {e["goal"] for e in episodes["train"]}.isdisjoint(e["goal"] for e in episodes["validation"])
    for split, rows in episodes.items():
        steps = _read(root / "steps" / f"{split}.jsonl")
        assert len(steps) == sum(len(e["gold_actions"]) for e in rows)
        assert {r["id"].split("/")[0] for r in steps} == {e["id"] for e in rows}
        assert _read(root / "start" / f"{split}.jsonl") == [r for r in steps if r["step"] == 0]  # one per episode
    assert json.loads((root / "DONE").read_text())["seed"] == 1

    mtimes = {p: p.stat().st_mtime_ns for p in [*files, root / "DONE"]}
    replaced.clear()
    write_dataset(root, seed=1, train=18, validation=12, test=10)
    assert replaced == [] and {p: p.stat().st_mtime_ns for p in mtimes} == mtimes
    generator.main([str(root), "--seed", "1", "--train", "6", "--validation", "6", "--test", "4"])  # new parameters
    assert len(_read(root / "episodes" / "train.jsonl")) == 6 and json.loads((root / "DONE").read_text())["train"] == 6
