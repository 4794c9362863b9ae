"""Shared building blocks of the synthetic UI app families: the app builder, layout constants and small helpers."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from typing import Any

from perl_lightning.tasks.ui.actions import Action
from perl_lightning.tasks.ui.phrases import DOMAINS, FIRST, LAST, SAY, WORDS

ROW, WIDTH, TOP = 48, 360, 56
Spec = tuple[str, str, str, dict[str, Any]]  # key, type, text, extra fields (state, options, opens)
Built = tuple[list[str], list[dict[str, Any]], list[Action]]  # goal clauses, goal conditions, gold actions


class App:
    """An app under construction: top-down rows of ``ROW`` px per screen, ids ``e1, e2, ...`` across the app."""

    def __init__(self) -> None:
        self.screens: dict[str, dict[str, Any]] = {}
        self.bottom: dict[str, int] = {}
        self.count = 0
        self.start = ""

    def screen(self, name: str, title: str, height: int = 800) -> str:
        self.screens[name] = {"title": title, "height": height, "elements": []}
        self.bottom[name], self.start = TOP, self.start or name
        return name

    def add(self, screen: str, kind: str, text: str, extra: dict[str, Any] | None = None,
            parent: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
        """Append an element as the next row of ``screen`` (inside ``parent`` when given); the element's JSON."""
        self.count += 1
        y = self.bottom[screen]
        element = {"id": f"e{self.count}", "type": kind, "text": text, "bounds": [0, y, WIDTH, y + ROW]}
        element.update(extra or {})
        (parent.setdefault("children", []) if parent else self.screens[screen]["elements"]).append(element)
        self.bottom[screen] = y + ROW
        return element

    def place(self, rng: random.Random, screen: str, core: list[Spec], extras: Sequence[Spec] = (), most: int = 0,
              ) -> dict[str, dict[str, Any]]:  # fmt: skip
        """Add ``core`` in order with up to ``most`` of ``extras`` (distractors) at random places; elements by key."""
        rows = list(core)
        for spec in rng.sample(list(extras), rng.randint(0, min(most, len(extras)))):
            rows.insert(rng.randint(0, len(rows)), spec)
        return {key: self.add(screen, kind, text, dict(extra)) for key, kind, text, extra in rows}


def say(rng: random.Random, kind: str, **values: str) -> str:
    return rng.choice(SAY[kind]).format(**values)


def sentence(rng: random.Random, clauses: list[str]) -> str:
    text = clauses[-1]
    if len(clauses) > 1:
        text = ", ".join(clauses[:-1]) + rng.choice((" and ", ", then ")) + text
    return text[0].upper() + text[1:] + rng.choice((".", "", "."))


def person(rng: random.Random) -> tuple[str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return f"{first.title()} {last.title()}", f"{first}{rng.choice(('', '.', '_'))}{last}@{rng.choice(DOMAINS)}"


def password(rng: random.Random) -> str:
    return f"{rng.choice(WORDS)}{rng.randint(10, 99)}"


def on(screen: str, element: dict[str, Any], **condition: Any) -> dict[str, Any]:
    return {"screen": screen, "id": element["id"], **condition}


def click(element: dict[str, Any]) -> Action:
    return Action("click", element["id"])


def family(name: str, build: Callable[[random.Random, App], Built]) -> Callable[[random.Random], dict[str, Any]]:
    """Wrap a builder ``(rng, app) -> (goal clauses, conditions, actions)`` as the episode maker of family ``name``."""

    def episode(rng: random.Random) -> dict[str, Any]:
        app = App()
        clauses, conditions, actions = build(rng, app)
        if not 1 <= len(actions) <= 4:
            raise RuntimeError(f"{name}: a gold trajectory of {len(actions)} actions")
        return {"id": f"{name}-{rng.getrandbits(32):08x}", "family": name, "goal": sentence(rng, clauses),
                "app": json.dumps({"start": app.start, "screens": app.screens}, sort_keys=True),
                "goal_state": json.dumps(conditions, sort_keys=True),
                "gold_actions": [str(a) for a in (*actions, Action("done"))]}  # fmt: skip

    return episode
