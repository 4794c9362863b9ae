"""The action grammar's strict parser and the scorer (the task's reward and metrics), worked out by hand."""

from __future__ import annotations

import pytest

from perl_lightning.tasks.ui.actions import Action, Credit, Invalid, parse_action, score_action

IDS = ["e1", "e2", "e3"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("click(e1)", Action("click", "e1")),
        ("  click( e2 )\n", Action("click", "e2")),
        ('type(e3, "ana@mail.com")', Action("type", "e3", "ana@mail.com")),
        ('type(e3,"say \\"hi\\" \\\\ bye")', Action("type", "e3", 'say "hi" \\ bye')),
        ('type(e3, "")', Action("type", "e3", "")),
        ('select(e2, "Large")', Action("select", "e2", "Large")),
        ("scroll(down)", Action("scroll", "", "down")),
        ("scroll(UP)", Action("scroll", "", "up")),
        ("back()", Action("back")),
        ("done( )", Action("done")),
    ],
)
def test_every_action_form_parses(text: str, expected: Action) -> None:
    assert parse_action(text, IDS) == expected


@pytest.mark.parametrize(
    "action",
    [
        Action("click", "e1"),
        Action("type", "e3", 'a "quoted" \\ text'),
        Action("select", "e2", "S"),
        Action("scroll", "", "up"),
        Action("done"),
    ],
)
def test_str_round_trips(action: Action) -> None:
    assert parse_action(str(action), IDS) == action


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty output"),
        ("   \n", "empty output"),
        ("I would click the login button", "not an action"),
        ("tap(e1)", "unknown action 'tap'"),
        ('type(e3, "unbalanced)', "unbalanced quotes"),
        ('type(e3, "a" "b")', "malformed type"),
        ("click(e1", "missing ')'"),
        ("click(e1) and then done()", "text after the action"),
        ("click(e1)\nclick(e2)", "text after the action"),
        ("click(e9)", "unknown element id 'e9'"),
        ("click()", "malformed click"),
        ("type(e3)", "malformed type"),
        ('click(e1, "x")', "malformed click"),
        ("scroll(sideways)", "scroll direction"),
        ("done(e1)", "malformed done"),
        ("click(e1 e2)", "malformed click"),
    ],
)
def test_malformed_outputs_are_invalid_with_a_reason(text: str, reason: str) -> None:
    parsed = parse_action(text, IDS)
    assert isinstance(parsed, Invalid)
    assert reason in parsed.reason


@pytest.mark.parametrize("text", ["(", ")", '"', "\\", "click(((", 'type(e1, "\\")', "\x00", "🙂(e1)", "click(e1))"])
def test_parser_never_raises(text: str) -> None:
    assert isinstance(parse_action(text, IDS), Action | Invalid)


def test_unknown_ids_are_only_checked_when_ids_are_given() -> None:
    assert parse_action("click(e42)") == Action("click", "e42")


def test_scores_by_hand() -> None:
    gold = ['type(e3, "ana@mail.com")']
    exact = score_action('type(e3,  "ana@mail.com" )', gold, IDS)
    assert exact.reward == 1.0 and exact.exact and exact.element and not exact.invalid
    wrong_text = score_action('type(e3, "bob@mail.com")', gold, IDS)
    assert wrong_text.reward == 0.5 and not wrong_text.exact and wrong_text.element
    wrong_element = score_action('type(e2, "ana@mail.com")', gold, IDS)
    assert wrong_element.reward == 0.1 and not wrong_element.element
    other = score_action("click(e1)", gold, IDS)
    assert other.reward == 0.0 and not other.invalid
    invalid = score_action("click(e7)", gold, IDS)
    assert invalid.reward == -1.0 and invalid.invalid and invalid.reason == "unknown element id 'e7'"


def test_credit_is_configurable_and_the_best_gold_counts() -> None:
    credit = Credit(exact=2.0, element=0.3, kind=0.05, wrong=-0.1, invalid=-2.0)
    assert score_action("click(e2)", ["click(e1)", "click(e2)"], IDS, credit).reward == 2.0
    assert score_action("select(e2, 'x')", ['select(e2, "S")'], IDS, credit).reward == -2.0  # single quotes: invalid
    assert score_action('select(e2, "M")', ['select(e2, "S")'], IDS, credit).reward == 0.3
    assert score_action("back()", ["click(e1)"], IDS, credit).reward == -0.1


def test_actions_without_an_element() -> None:
    assert score_action("scroll(down)", ["scroll(down)"]).exact
    up = score_action("scroll(up)", ["scroll(down)"])
    assert up.reward == 0.1 and not up.element  # the other way is the right action, not the right target
    assert score_action("done()", ["done()"]).reward == 1.0


def test_a_bad_gold_action_is_an_error() -> None:
    with pytest.raises(ValueError, match="gold action"):
        score_action("click(e1)", ["press(e1)"])
