"""Environment transitions, goal conditions and episode rewards, by hand."""

from __future__ import annotations

import pytest

from perl_lightning.sources import DataError
from perl_lightning.tasks.ui.env import UIEnvironment

APP = {
    "start": "home",
    "screens": {
        "home": {"title": "Home", "height": 200, "elements": [
            {"id": "e1", "type": "tab", "text": "Home", "state": {"checked": True}, "bounds": [0, 0, 90, 40]},
            {"id": "e2", "type": "tab", "text": "Profile", "bounds": [90, 0, 180, 40]},
            {"id": "e3", "type": "list_item", "text": "Settings", "opens": "settings", "bounds": [0, 60, 360, 100]},
            {"id": "e4", "type": "button", "text": "Far away", "bounds": [0, 300, 360, 340]},
        ]},
        "settings": {"title": "Settings", "elements": [
            {"id": "s1", "type": "switch", "text": "Wi-Fi", "state": {"checked": False}},
            {"id": "s2", "type": "text_field", "text": "Name", "state": {"value": ""}},
            {"id": "s3", "type": "dropdown", "text": "Size", "options": ["S", "M"], "state": {"value": "S"}},
            {"id": "s4", "type": "button", "text": "Save", "state": {"enabled": False}},
        ]},
    },
}  # fmt: skip
GOAL = [{"screen": "settings", "id": "s1", "checked": True}, {"screen": "settings", "id": "s2", "value": "Ana"}]


def env(**kwargs) -> UIEnvironment:
    return UIEnvironment(APP, GOAL, **kwargs)


def test_gold_trajectory_transitions_and_success() -> None:
    e = env(shaping=0.5)
    assert e.observe().startswith("screen: Home")
    r = e.step("click(e3)")
    assert r.valid and not r.done and r.observation.startswith("screen: Settings") and r.reward == 0.0
    r = e.step("click(s1)")
    assert (
        r.reward == pytest.approx(0.25)
        and e.screen.find("s1").state["checked"] is True
        and '"Wi-Fi" on' in r.observation
    )
    r = e.step('type(s2, "Ana")')
    assert r.reward == pytest.approx(0.25) and 'value="Ana"' in r.observation
    r = e.step('select(s3, "m")')
    assert r.valid and e.screen.find("s3").state["value"] == "M"
    r = e.step("done()")
    assert r.done and r.observation is None and r.reward == 1.0
    assert e.summary() == {"success": True, "steps": 5, "invalid": 0, "reward": pytest.approx(1.5), "finished": True}
    with pytest.raises(RuntimeError, match="episode is over"):
        e.step("done()")


def test_done_too_early_fails_and_back_returns() -> None:
    e = env()
    e.step("click(e3)")
    assert e.step("back()").observation.startswith("screen: Home")
    r = e.step("done()")
    assert r.done and r.reward == 0.0 and not e.summary()["success"]


def test_toggle_twice_and_tabs_select_one() -> None:
    e = env()
    e.step("click(e2)")
    assert e.screen.find("e2").state["checked"] and "checked" not in e.screen.find("e1").state
    e.step("click(e3)")
    e.step("click(s1)")
    e.step("click(s1)")
    assert e.screen.find("s1").state["checked"] is False


@pytest.mark.parametrize(
    ("actions", "reason"),
    [
        (["click(e4)"], "off-screen (scroll first)"),
        (["click(s1)"], "unknown element id 's1'"),
        (["click(e3)", "click(s4)"], "disabled"),
        (["click(e3)", 'type(s1, "x")'], "cannot type into a switch"),
        (["click(e3)", 'select(s3, "XL")'], "not an option"),
        (["click(e3)", 'select(s2, "S")'], "cannot select"),
        (["back()"], "nothing to go back to"),
        (["press the button"], "not an action"),
    ],
)
def test_invalid_actions_end_the_episode_with_a_penalty(actions: list[str], reason: str) -> None:
    e = env()
    for a in actions[:-1]:
        assert e.step(a).valid
    r = e.step(actions[-1])
    assert not r.valid and reason in r.reason and r.done and r.reward == -0.5
    assert e.summary()["invalid"] == 1 and not e.summary()["success"]


def test_scroll_reveals_offscreen_elements_and_invalid_can_continue() -> None:
    e = env(stop_on_invalid=False)
    r = e.step("click(e4)")
    assert not r.done and r.observation.startswith("Invalid action: element 'e4' is off-screen")
    r = e.step("scroll(down)")
    assert "scrolled 140px" in r.observation and '"Far away" offscreen' not in r.observation
    assert e.step("click(e4)").valid
    assert ("home", "e4") in e.clicked


def test_step_limit_ends_the_episode() -> None:
    e = env(max_steps=2)
    assert not e.step("click(e2)").done
    r = e.step("click(e1)")
    assert r.done and not e.summary()["success"]


def test_clicked_and_current_conditions() -> None:
    e = UIEnvironment(APP, [{"current": "settings"}])
    e.step("click(e3)")
    assert e.step("done()").reward == 1.0
    e = UIEnvironment(APP, [{"screen": "home", "id": "e2", "clicked": True}])
    e.step("click(e2)")
    assert e.step("done()").reward == 1.0


@pytest.mark.parametrize(
    ("app", "goal", "message"),
    [
        ({**APP, "start": "nowhere"}, GOAL, "'start' must name one of the screens"),
        (
            {"start": "a", "screens": {"a": {"elements": [{"id": "x", "type": "button", "opens": "b"}]}}},
            GOAL,
            "opens unknown screen 'b'",
        ),
        (APP, [], "non-empty list of conditions"),
        (APP, [{"screen": "settings", "id": "zz", "checked": True}], "has no element 'zz'"),
        (APP, [{"screen": "settings", "id": "s1"}], "exactly one of"),
        (APP, [{"current": "moon"}], "names no screen"),
    ],
)
def test_bad_apps_and_goals_are_data_errors(app, goal, message: str) -> None:
    with pytest.raises(DataError, match="ep.jsonl: row 2") as err:
        UIEnvironment(app, goal, at="ep.jsonl: row 2: field 'app'")
    assert message in str(err.value)


def test_hidden_or_disabled_parents_cover_their_children_and_tabs_select_among_siblings() -> None:
    app = {"start": "a", "screens": {"a": {"elements": [
        {"id": "d1", "type": "dialog", "text": "Delete?", "state": {"visible": False},
         "children": [{"id": "b1", "type": "button", "text": "Delete"}]},
        {"id": "f1", "type": "container", "text": "Form", "state": {"enabled": False},
         "children": [{"id": "t1", "type": "text_field", "text": "Name"}]},
        {"id": "g1", "type": "container", "children": [{"id": "x1", "type": "tab", "text": "One"},
                                                       {"id": "x2", "type": "tab", "text": "Two"}]},
        {"id": "g2", "type": "container", "children": [{"id": "y1", "type": "tab", "text": "Day",
                                                        "state": {"checked": True}}]},
    ]}}}  # fmt: skip
    e = UIEnvironment(app, [{"screen": "a", "id": "b1", "clicked": False}], stop_on_invalid=False)
    text = e.observe()
    assert '[b1] button "Delete" hidden' in text and '[t1] text_field "Name" disabled' in text
    assert "hidden" in e.step("click(b1)").reason and "disabled" in e.step('type(t1, "x")').reason
    e.step("click(x1)")
    e.step("click(x2)")
    assert "checked" not in e.screen.find("x1").state and e.screen.find("y1").state["checked"]  # other group kept
    assert e.step("done()").reward == pytest.approx(1.0) and e.summary()["success"]  # b1 was never clicked
    assert UIEnvironment(app, [{"current": "a"}]).step(None).reason == "not an action: expected one of " + (  # type: ignore[arg-type]
        'click(<id>), type(<id>, "<text>"), select(<id>, "<option>"), scroll(up|down), back(), done()'
    )
