"""The UI action grammar, its strict parser, and the scorer that is both the programmatic reward and the metrics.

Grammar (one action, nothing before or after it but whitespace)::

    click(<id>)                 type(<id>, "<text>")        select(<id>, "<option>")
    scroll(up|down)             back()                      done()

``<id>`` is an element id (letters, digits, ``_``, ``-``); ``"<text>"`` is a double-quoted string in which ``\\"``
and ``\\\\`` escape a quote and a backslash. :func:`parse_action` returns an :class:`Action` or an :class:`Invalid`
with the reason; it never raises, whatever the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

#: Action names and whether each takes an element id and a quoted text.
ACTIONS: dict[str, tuple[bool, bool]] = {
    "click": (True, False), "type": (True, True), "select": (True, True), "scroll": (False, False),
    "back": (False, False), "done": (False, False),
}  # fmt: skip
SCROLL_DIRECTIONS: tuple[str, ...] = ("up", "down")
_ID = r"[A-Za-z0-9_\-]+"
_NAME = re.compile(r"\s*([A-Za-z_]\w*)\s*\(")
_STRING = r'"((?:[^"\\]|\\.)*)"'
_FORMS = {
    "click": re.compile(rf"\(\s*({_ID})\s*\)"),
    "type": re.compile(rf"\(\s*({_ID})\s*,\s*{_STRING}\s*\)"),
    "select": re.compile(rf"\(\s*({_ID})\s*,\s*{_STRING}\s*\)"),
    "scroll": re.compile(r"\(\s*([A-Za-z]+)\s*\)"),
    "back": re.compile(r"\(\s*\)"),
    "done": re.compile(r"\(\s*\)"),
}
_USAGE = {
    "click": "click(<id>)", "type": 'type(<id>, "<text>")', "select": 'select(<id>, "<option>")',
    "scroll": "scroll(up|down)", "back": "back()", "done": "done()",
}  # fmt: skip


class Action(NamedTuple):
    """A well-formed action: its name, the element id (``""`` when it takes none), the text or option (``""``), or
    the scroll direction in ``text``."""

    kind: str
    target: str = ""
    text: str = ""

    def __str__(self) -> str:
        if self.kind == "scroll":
            return f"scroll({self.text})"
        if self.kind in ("type", "select"):
            escaped = self.text.replace("\\", "\\\\").replace('"', '\\"')
            return f'{self.kind}({self.target}, "{escaped}")'
        return f"{self.kind}({self.target})"


class Invalid(NamedTuple):
    """Output that is not one action of the grammar, and why."""

    reason: str


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def parse_action(text: str, ids: Iterable[str] | None = None) -> Action | Invalid:
    """One action from a model's output; :class:`Invalid` with the reason for anything else (never raises).

    Args:
        text: the output, e.g. ``type(e3, "bob@example.com")``.
        ids: the element ids of the screen: an id not among them makes the action invalid (``None``: not checked).
    """
    if not isinstance(text, str) or not text.strip():
        return Invalid("empty output")
    head = _NAME.match(text)
    if head is None:
        return Invalid(f"not an action: expected one of {', '.join(_USAGE.values())}")
    name = head.group(1)
    if name not in ACTIONS:
        return Invalid(f"unknown action '{name}' (known: {', '.join(ACTIONS)})")
    rest = text[head.end() - 1 :]
    form = _FORMS[name].match(rest)
    if form is None:
        if len(re.findall(r'(?<!\\)"', rest)) % 2:
            return Invalid(f"unbalanced quotes in {name}(...)")
        if ")" not in rest:
            return Invalid(f"missing ')' after {name}(")
        return Invalid(f"malformed {name}: expected {_USAGE[name]}")
    extra = rest[form.end() :]
    if extra.strip():
        return Invalid(f"text after the action: {extra.strip()[:40]!r}")
    groups = form.groups()
    if name == "scroll":
        direction = groups[0].lower()
        if direction not in SCROLL_DIRECTIONS:
            return Invalid(f"scroll direction must be up or down, got {groups[0]!r}")
        return Action("scroll", "", direction)
    target = groups[0] if ACTIONS[name][0] else ""
    if target and ids is not None and target not in set(ids):
        return Invalid(f"unknown element id '{target}'")
    return Action(name, target, _unescape(groups[1]) if ACTIONS[name][1] else "")


@dataclass(frozen=True)
class Credit:
    """Reward of an action against the gold action(s) of its screen.

    Attributes:
        exact: the gold action (same name, element and text).
        element: the right element and action, the wrong text or option (partial credit).
        kind: the right action on another element (partial credit).
        wrong: any other well-formed action.
        invalid: output outside the grammar, or an unknown element id (a penalty).
    """

    exact: float = 1.0
    element: float = 0.5
    kind: float = 0.1
    wrong: float = 0.0
    invalid: float = -1.0


class ActionScore(NamedTuple):
    """How one output compares with the gold action(s)."""

    reward: float
    exact: bool
    element: bool  # the right element, whatever the action (for actions without one: the exact action)
    invalid: bool
    reason: str = ""  # why the output is invalid


def _norm(text: str) -> str:
    return " ".join(text.split())


def score_action(
    output: str, gold: Sequence[str], ids: Iterable[str] | None = None, credit: Credit = Credit()
) -> ActionScore:  # noqa: B008 - a frozen dataclass default
    """Score an output against the acceptable gold actions (the best match counts).

    Typed texts and options compare after collapsing whitespace; everything else exactly.
    """
    parsed = parse_action(output, ids)
    if isinstance(parsed, Invalid):
        return ActionScore(credit.invalid, False, False, True, parsed.reason)
    best = ActionScore(credit.wrong, False, False, False)
    for g in gold:
        want = parse_action(g)
        if isinstance(want, Invalid):
            raise ValueError(f"gold action {g!r} is not an action: {want.reason}")
        if want.kind != parsed.kind:
            continue
        if want.target == parsed.target and _norm(want.text) == _norm(parsed.text):
            return ActionScore(credit.exact, True, True, False)
        if want.target and want.target == parsed.target:  # the right element, the wrong text or option
            if not best.element or credit.element > best.reward:
                best = ActionScore(credit.element, False, True, False)
        elif not best.element and credit.kind > best.reward:  # the right action elsewhere (or scrolling the other way)
            best = ActionScore(credit.kind, False, False, False)
    wanted = {a.target for a in map(parse_action, gold) if isinstance(a, Action) and a.target}
    return best._replace(element=bool(parsed.target) and parsed.target in wanted)
