"""A UI environment with transitions: an app of screens, a goal state, and what each action does to them.

An app (JSON) is ``{"start": "<screen name>", "screens": {"<name>": <screen>, ...}}`` (screens as in
:mod:`perl_lightning.tasks.ui.screen`). Transitions:

- ``click(id)`` on a ``switch`` / ``checkbox`` flips ``checked``; on an element with ``opens`` navigates to that
  screen (the current one goes on the back stack, the new one starts unscrolled); on a ``tab`` / ``list_item``
  without ``opens`` selects it (and unselects its siblings of that type); on a ``text_field`` focuses it. Every click
  is recorded (a goal may ask for one, e.g. "Place order"; or forbid one: ``"clicked": false``). Elements never
  disappear: a "Remove" button is a click a goal checks.
- A hidden or disabled element hides or disables its children (a closed dialog's buttons).
- ``type(id, "text")`` sets a ``text_field``'s value; ``select(id, "option")`` sets a ``dropdown``'s value to one
  of its options.
- ``scroll(down|up)`` moves the viewport by 80% of the screen height, within the content.
- ``back()`` returns to the previous screen; ``done()`` ends the episode.

An action on an element that is not on the current screen, hidden, off-screen (scroll first) or disabled, of the
wrong kind (typing into a button), or outside the grammar is invalid: by default it ends the episode as a failure.

A goal state is a list of conditions, all of which must hold when ``done()`` is called::

    {"screen": "settings", "id": "e4", "checked": true}     an element's state (checked / value)
    {"screen": "login", "id": "e2", "value": "ana@x.org"}
    {"screen": "cart", "id": "e9", "clicked": true}          the element was clicked
    {"current": "home"}                                      the episode ends on this screen

The reward is ``success_reward`` for a successful ``done()``, 0 otherwise, ``invalid_penalty`` (negative) per
invalid action, plus with ``shaping > 0`` per step ``shaping x`` the change in the fraction of conditions that hold.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from perl_lightning.sources import DataError
from perl_lightning.tasks.ui.actions import Action, Invalid, parse_action
from perl_lightning.tasks.ui.screen import (
    SELECTABLE,
    TOGGLES,
    TYPABLE,
    Screen,
    Snapshot,
    offscreen,
    parse_screen,
    render_changes,
    render_screen,
    snapshot,
)

_CONDITION_KEYS = ("checked", "value", "clicked")


def parse_app(value: Any, at: str) -> tuple[str, dict[str, Screen]]:
    """The start screen's name and every screen of an app; ``DataError`` prefixed by ``at`` when malformed
    (including an ``opens`` naming no screen)."""
    if not isinstance(value, dict) or not isinstance(value.get("screens"), dict) or not value["screens"]:
        raise DataError(f"{at}: an app is {{'start': name, 'screens': {{name: screen}}}} with at least one screen")
    screens = {}
    for name, screen in value["screens"].items():
        if isinstance(screen, dict):
            screen = {**screen, "name": name}
        screens[name] = parse_screen(screen, f"{at} screen '{name}'")
    start = value.get("start")
    if start not in screens:
        raise DataError(f"{at}: 'start' must name one of the screens {sorted(screens)}, got {start!r}")
    for name, screen in screens.items():
        for _, element in screen.walk():
            if element.opens is not None and element.opens not in screens:
                raise DataError(f"{at} screen '{name}' element '{element.id}': opens unknown screen '{element.opens}'")
    return start, screens


def check_goal_state(conditions: Any, screens: dict[str, Screen], at: str) -> list[dict[str, Any]]:
    """Validated goal conditions (see the module docstring)."""
    if not isinstance(conditions, list) or not conditions:
        raise DataError(f"{at}: the goal state must be a non-empty list of conditions")
    for i, c in enumerate(conditions):
        where = f"{at} condition {i}"
        if not isinstance(c, dict):
            raise DataError(f"{where}: a condition must be an object")
        if "current" in c:
            if c["current"] not in screens:
                raise DataError(f"{where}: 'current' names no screen of the app: {c['current']!r}")
            continue
        screen = screens.get(c.get("screen"))  # type: ignore[arg-type]
        if screen is None:
            raise DataError(f"{where}: 'screen' must name a screen of the app, got {c.get('screen')!r}")
        if screen.find(str(c.get("id"))) is None:
            raise DataError(f"{where}: screen '{c['screen']}' has no element {c.get('id')!r}")
        if sum(k in c for k in _CONDITION_KEYS) != 1:
            raise DataError(f"{where}: give exactly one of {', '.join(_CONDITION_KEYS)}")
    return conditions


@dataclass
class StepResult:
    """What one action did."""

    observation: str | None  # the next screen as text (``None`` once the episode is over)
    reward: float
    done: bool
    valid: bool
    reason: str = ""  # why the action was invalid
    info: dict[str, Any] = field(default_factory=dict)


class UIEnvironment:
    """One episode on an app (see the module docstring).

    Args:
        app: the app as JSON (decoded).
        goal_state: the conditions of success.
        max_steps: actions allowed before the episode ends as a failure.
        success_reward: reward of a successful ``done()``.
        invalid_penalty: reward added per invalid action (<= 0).
        shaping: weight of the per-step progress reward (0: reward at the end only).
        stop_on_invalid: an invalid action ends the episode (else the observation says why, and it goes on).
        max_chars: character budget of each screen's text (see ``render_screen``).
        changes: after the first observation, show only what the last action changed on the screen (see
            ``render_changes``; another screen or a new scroll position is shown whole).
        at: where the app comes from, for errors (``file: row n``).
    """

    def __init__(
        self, app: Any, goal_state: Any, max_steps: int = 6, success_reward: float = 1.0,
        invalid_penalty: float = -0.5, shaping: float = 0.0, stop_on_invalid: bool = True,
        max_chars: int | None = None, changes: bool = False, at: str = "app",
    ) -> None:  # fmt: skip
        start, screens = parse_app(app, at)
        self.conditions = check_goal_state(goal_state, screens, f"{at} goal_state")
        self.screens = copy.deepcopy(screens)
        self.current, self.stack, self.scroll = start, [], dict.fromkeys(screens, 0)
        self.clicked: set[tuple[str, str]] = set()
        self.max_steps, self.success_reward, self.invalid_penalty = max_steps, success_reward, invalid_penalty
        self.shaping, self.stop_on_invalid, self.max_chars = shaping, stop_on_invalid, max_chars
        self.steps = self.invalid = 0
        self.total = 0.0
        self.finished = self.success = False
        self.progress = self._progress()
        self.actions: list[str] = []
        self.last: Snapshot | None = snapshot(self.screen, self.scroll[self.current]) if changes else None

    @property
    def screen(self) -> Screen:
        return self.screens[self.current]

    def observe(self) -> str:
        """The current screen as text."""
        return render_screen(self.screen, self.scroll[self.current], self.max_chars)

    def _observe_next(self) -> str:
        """The observation after an action: the whole screen, or with ``changes`` what changed since the last."""
        if self.last is None:
            return self.observe()
        scroll, last = self.scroll[self.current], self.last
        self.last = snapshot(self.screen, scroll)
        return render_changes(self.screen, scroll, last, self.max_chars)

    def holds(self, condition: dict[str, Any]) -> bool:
        """Whether one goal condition holds now."""
        if "current" in condition:
            return self.current == condition["current"]
        if "clicked" in condition:
            return ((condition["screen"], condition["id"]) in self.clicked) == bool(condition["clicked"])
        element = self.screens[condition["screen"]].find(condition["id"])
        assert element is not None
        if "checked" in condition:
            return bool(element.state.get("checked", False)) == bool(condition["checked"])
        return " ".join(str(element.state.get("value", "")).split()) == " ".join(str(condition["value"]).split())

    def _progress(self) -> float:
        return sum(self.holds(c) for c in self.conditions) / len(self.conditions)

    def _apply(self, action: Action) -> str:
        """Apply a parsed action; the reason it is invalid (``""`` when it was applied)."""
        if action.kind == "done":
            return ""
        if action.kind == "back":
            if not self.stack:
                return "nothing to go back to"
            self.current = self.stack.pop()
            return ""
        screen = self.screen
        if action.kind == "scroll":
            bottom = max((e.bounds[3] for _, e in screen.walk() if e.bounds is not None), default=0)
            step = int(0.8 * screen.height) * (1 if action.text == "down" else -1)
            self.scroll[self.current] = max(0, min(self.scroll[self.current] + step, max(0, bottom - screen.height)))
            return ""
        element = screen.find(action.target)
        if element is None:
            return f"no element '{action.target}' on this screen"
        visible, enabled = screen.shown()[element.id]
        if not visible:
            return f"element '{action.target}' is hidden"
        if offscreen(element, self.scroll[self.current], screen.height):
            return f"element '{action.target}' is off-screen (scroll first)"
        if not enabled:
            return f"element '{action.target}' is disabled"
        if action.kind == "type":
            if element.type not in TYPABLE:
                return f"cannot type into a {element.type}"
            element.state["value"] = action.text
            return ""
        if action.kind == "select":
            if element.type not in SELECTABLE:
                return f"cannot select an option of a {element.type}"
            match = [o for o in element.options if o.strip().lower() == action.text.strip().lower()]
            if not match:
                return f"'{action.text}' is not an option of '{action.target}'"
            element.state["value"] = match[0]
            return ""
        self.clicked.add((self.current, element.id))  # click
        if element.type in TOGGLES:
            element.state["checked"] = not element.state.get("checked", False)
        elif element.type in TYPABLE:
            element.state["focused"] = True
        elif element.type in ("tab", "list_item") and element.opens is None:
            for other in screen.siblings(element.id):
                if other.type == element.type:
                    other.state.pop("checked", None)
            element.state["checked"] = True
        if element.opens is not None:
            self.stack.append(self.current)
            self.current = element.opens
            self.scroll[self.current] = 0
        return ""

    def step(self, output: str) -> StepResult:
        """Apply the model's output (one action) and return the next observation and reward."""
        if self.finished:
            raise RuntimeError("the episode is over; make a new environment")
        output = output if isinstance(output, str) else str(output)
        self.steps += 1
        self.actions.append(output.strip())
        parsed = parse_action(output, self.screen.ids())
        reason = parsed.reason if isinstance(parsed, Invalid) else self._apply(parsed)
        reward = 0.0
        if reason:
            self.invalid += 1
            reward += self.invalid_penalty
        progress = self._progress()
        reward += self.shaping * (progress - self.progress)
        self.progress = progress
        if not reason and isinstance(parsed, Action) and parsed.kind == "done":
            self.finished, self.success = True, progress == 1.0
            reward += self.success_reward if self.success else 0.0
        elif (reason and self.stop_on_invalid) or self.steps >= self.max_steps:
            self.finished = True
        self.total += reward
        observation = None if self.finished else self._observe_next()
        if observation is not None and reason:
            observation = f"Invalid action: {reason}.\n{observation}"
        return StepResult(observation, reward, self.finished, not reason, reason, self.summary())

    def summary(self) -> dict[str, Any]:
        """Episode figures: ``success``, ``steps``, ``invalid`` (count), ``reward`` (total), ``finished``."""
        return {"success": self.success, "steps": self.steps, "invalid": self.invalid, "reward": self.total,
                "finished": self.finished}  # fmt: skip
