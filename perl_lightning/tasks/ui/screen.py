"""The UI-automation screen schema: a tree of elements, validated from JSON, and its compact text for a language model.

A screen (JSON)::

    {"name": "settings", "title": "Settings", "height": 800,
     "elements": [
        {"id": "e1", "type": "switch", "text": "Wi-Fi", "bounds": [0, 60, 360, 110], "state": {"checked": false}},
        {"id": "e2", "type": "text_field", "text": "Device name", "state": {"value": "Pixel", "focused": true}},
        {"id": "e3", "type": "dropdown", "text": "Font size", "options": ["Small", "Default", "Large"],
         "state": {"value": "Default"}},
        {"id": "e4", "type": "list", "text": "Results", "children": [
            {"id": "e5", "type": "list_item", "text": "Blue mug", "opens": "item_blue_mug"}]},
        {"id": "e6", "type": "button", "text": "Save", "state": {"enabled": false}}]}

``id`` (unique on the screen), ``type`` (one of :data:`ELEMENT_TYPES`) and ``text`` are required; ``bounds``
(``[left, top, right, bottom]`` pixels), ``state`` (``checked``, ``enabled`` (default true), ``focused``, ``value``,
``visible`` (default true)), ``options`` (dropdowns), ``opens`` (the screen a click navigates to) and ``children``
are optional. An element whose top is below ``scroll + height`` (or above ``scroll``) is off-screen: the text marks it
and :func:`perl_lightning.tasks.ui.env.UIEnvironment` refuses to act on it until a ``scroll``.

The text of a screen is one line per element, children indented by one space per level, ids kept::

    screen: Settings
    [e1] switch "Wi-Fi" off
    [e2] text_field "Device name" value="Pixel" focused
    [e3] dropdown "Font size" value="Default" options=Small|Default|Large
    [e4] list "Results"
     [e5] list_item "Blue mug"
    [e6] button "Save" disabled

Invisible elements are marked ``hidden``, off-screen ones ``offscreen``, disabled ones ``disabled``. When the text
exceeds a budget of characters, :func:`render_screen` shortens it in this order, stopping as soon as it fits: (1)
off-screen and hidden elements collapse into one ``(N more elements below/hidden)`` line, (2) element texts are cut to
24 characters, (3) the last elements are dropped, replaced by ``(N more elements)``. The goal is never part of this
text and never cut (the prompt adds it after the screen).

In a conversation that already shows a screen, :func:`render_changes` gives the next observation compactly: when the
action left the same screen at the same scroll, only the lines of the elements whose line changed (a box now ``on``,
a field's new ``value``), under ``screen: <title> (changed)`` or ``screen: <title> (unchanged)``; another screen or
another scroll is rendered whole::

    screen: Settings (changed)
    [e1] switch "Wi-Fi" on
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from perl_lightning.sources import DataError

#: Element types a screen may hold.
ELEMENT_TYPES: tuple[str, ...] = (
    "button", "text_field", "checkbox", "switch", "list_item", "link", "tab", "dialog", "dropdown", "text", "list",
    "image", "container",
)  # fmt: skip
#: Types a click toggles.
TOGGLES: tuple[str, ...] = ("checkbox", "switch")
#: Types a ``type`` action writes into.
TYPABLE: tuple[str, ...] = ("text_field",)
#: Types a ``select`` action picks an option of.
SELECTABLE: tuple[str, ...] = ("dropdown",)
_STATE_KEYS = {"checked": bool, "enabled": bool, "focused": bool, "value": str, "visible": bool}


@dataclass
class Element:
    """One UI element (see the module docstring for the JSON form)."""

    id: str
    type: str
    text: str = ""
    bounds: tuple[int, int, int, int] | None = None
    state: dict[str, Any] = field(default_factory=dict)
    options: list[str] = field(default_factory=list)
    opens: str | None = None
    children: list[Element] = field(default_factory=list)

    @property
    def enabled(self) -> bool:
        return bool(self.state.get("enabled", True))

    @property
    def visible(self) -> bool:
        return bool(self.state.get("visible", True))

    def to_json(self) -> dict[str, Any]:
        """The element as JSON (optional fields only when set)."""
        out: dict[str, Any] = {"id": self.id, "type": self.type, "text": self.text}
        if self.bounds is not None:
            out["bounds"] = list(self.bounds)
        if self.state:
            out["state"] = dict(self.state)
        if self.options:
            out["options"] = list(self.options)
        if self.opens is not None:
            out["opens"] = self.opens
        if self.children:
            out["children"] = [c.to_json() for c in self.children]
        return out


@dataclass
class Screen:
    """A screen: a name (what navigation targets), a title, a viewport height and the element tree."""

    name: str
    title: str
    elements: list[Element]
    height: int = 800

    def walk(self) -> Iterator[tuple[int, Element]]:
        """Every element depth-first in screen order, with its depth."""
        stack = [(0, e) for e in reversed(self.elements)]
        while stack:
            depth, element = stack.pop()
            yield depth, element
            stack.extend((depth + 1, c) for c in reversed(element.children))

    def shown(self) -> dict[str, tuple[bool, bool]]:
        """Per element id: (visible, enabled), inherited: a hidden or disabled element hides or disables its children
        (a closed dialog's buttons, a disabled form's fields)."""
        out: dict[str, tuple[bool, bool]] = {}
        stack = [(e, True, True) for e in reversed(self.elements)]
        while stack:
            element, visible, enabled = stack.pop()
            visible, enabled = visible and element.visible, enabled and element.enabled
            out[element.id] = (visible, enabled)
            stack.extend((c, visible, enabled) for c in reversed(element.children))
        return out

    def siblings(self, element_id: str) -> list[Element]:
        """The elements that share this element's parent (the element included)."""
        stack: list[list[Element]] = [self.elements]
        while stack:
            level = stack.pop()
            if any(e.id == element_id for e in level):
                return level
            stack.extend(e.children for e in level)
        return []

    def find(self, element_id: str) -> Element | None:
        """The element with this id, if the screen has it."""
        return next((e for _, e in self.walk() if e.id == element_id), None)

    def ids(self) -> list[str]:
        return [e.id for _, e in self.walk()]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "height": self.height,
                "elements": [e.to_json() for e in self.elements]}  # fmt: skip


def _element(value: Any, at: str, seen: set[str]) -> Element:
    if not isinstance(value, dict):
        raise DataError(f"{at}: an element must be a JSON object, got {type(value).__name__}")
    for key in ("id", "type"):
        if not isinstance(value.get(key), str) or not value[key]:
            raise DataError(f"{at}: element field '{key}' must be a non-empty string")
    at = f"{at} (element '{value['id']}')"
    if value["id"] in seen:
        raise DataError(f"{at}: duplicate id '{value['id']}'")
    seen.add(value["id"])
    if value["type"] not in ELEMENT_TYPES:
        raise DataError(f"{at}: unknown type {value['type']!r} (known: {', '.join(ELEMENT_TYPES)})")
    text = value.get("text", "")
    if not isinstance(text, str):
        raise DataError(f"{at}: field 'text' must be a string")
    bounds = value.get("bounds")
    if bounds is not None and not (
        isinstance(bounds, list | tuple)
        and len(bounds) == 4
        and all(isinstance(b, int | float) and not isinstance(b, bool) for b in bounds)
    ):
        raise DataError(f"{at}: field 'bounds' must be [left, top, right, bottom] numbers")  # fmt: skip
    state = value.get("state") or {}
    if not isinstance(state, dict):
        raise DataError(f"{at}: field 'state' must be an object")
    for key, v in state.items():
        if key not in _STATE_KEYS:
            raise DataError(f"{at}: unknown state '{key}' (known: {', '.join(_STATE_KEYS)})")
        if not isinstance(v, _STATE_KEYS[key]):
            raise DataError(f"{at}: state '{key}' must be a {_STATE_KEYS[key].__name__}, got {v!r}")
    options = value.get("options") or []
    if not (isinstance(options, list) and all(isinstance(o, str) for o in options)):
        raise DataError(f"{at}: field 'options' must be a list of strings")
    opens = value.get("opens")
    if opens is not None and not isinstance(opens, str):
        raise DataError(f"{at}: field 'opens' must be a screen name")
    children = value.get("children") or []
    if not isinstance(children, list):
        raise DataError(f"{at}: field 'children' must be a list")
    kids = [_element(c, f"{at} child {i}", seen) for i, c in enumerate(children)]
    box = tuple(int(b) for b in bounds) if bounds is not None else None
    return Element(value["id"], value["type"], text, box, dict(state), list(options), opens, kids)  # type: ignore[arg-type]


def parse_screen(value: Any, at: str) -> Screen:
    """A :class:`Screen` from its JSON (decoded) value; ``DataError`` prefixed by ``at`` (file, row, field) when it
    does not fit the schema."""
    if not isinstance(value, dict):
        raise DataError(f"{at}: a screen must be a JSON object, got {type(value).__name__}")
    elements = value.get("elements")
    if not isinstance(elements, list) or not elements:
        raise DataError(f"{at}: a screen needs a non-empty 'elements' list")
    name = value.get("name", "screen")
    title = value.get("title", name)
    height = value.get("height", 800)
    if not isinstance(name, str) or not isinstance(title, str):
        raise DataError(f"{at}: screen 'name' and 'title' must be strings")
    if not isinstance(height, int) or isinstance(height, bool) or height <= 0:
        raise DataError(f"{at}: screen 'height' must be a positive integer")
    seen: set[str] = set()
    return Screen(name, title, [_element(e, f"{at} element {i}", seen) for i, e in enumerate(elements)], height)


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def offscreen(element: Element, scroll: int, height: int) -> bool:
    """Whether the element lies outside the viewport ``[scroll, scroll + height)`` (elements without bounds never)."""
    if element.bounds is None:
        return False
    top = element.bounds[1]
    return top >= scroll + height or element.bounds[3] <= scroll


def element_line(
    element: Element, depth: int, scroll: int, height: int, text_limit: int | None = None,
    shown: tuple[bool, bool] | None = None,
) -> str:  # fmt: skip
    """One element's line: ``[id] type "text"`` and its state markers (``shown``: its inherited visibility and
    enabled state, see :meth:`Screen.shown`)."""
    visible, enabled = shown if shown is not None else (element.visible, element.enabled)
    text = element.text if text_limit is None or len(element.text) <= text_limit else element.text[:text_limit] + "…"
    parts = [" " * depth + f"[{element.id}] {element.type}"]
    if text:
        parts.append(_quote(text))
    s = element.state
    if element.type in TOGGLES:
        parts.append("on" if s.get("checked") else "off")
    elif s.get("checked"):
        parts.append("selected")
    if "value" in s:
        parts.append(f"value={_quote(s['value'])}")
    if element.options:
        parts.append("options=" + "|".join(element.options))
    if s.get("focused"):
        parts.append("focused")
    if not enabled:
        parts.append("disabled")
    if not visible:
        parts.append("hidden")
    elif offscreen(element, scroll, height):
        parts.append("offscreen")
    return " ".join(parts)


def render_screen(screen: Screen, scroll: int = 0, max_chars: int | None = None) -> str:
    """The screen as compact text (see the module docstring), within ``max_chars`` when given."""
    items = list(screen.walk())
    shown = screen.shown()
    header = f"screen: {screen.title}" + (f" (scrolled {scroll}px)" if scroll else "")

    def lines(keep: list[tuple[int, Element]], limit: int | None) -> list[str]:
        return [element_line(e, d, scroll, screen.height, limit, shown[e.id]) for d, e in keep]

    out = [header, *lines(items, None)]
    if max_chars is None or len("\n".join(out)) <= max_chars:
        return "\n".join(out)
    kept = [(d, e) for d, e in items if shown[e.id][0] and not offscreen(e, scroll, screen.height)]
    below = len(items) - len(kept)
    tail = [f"({below} more elements offscreen or hidden; scroll to see them)"] if below else []
    for limit in (None, 24):
        out = [header, *lines(kept, limit), *tail]
        if len("\n".join(out)) <= max_chars:
            return "\n".join(out)
    body = lines(kept, 24)
    while body:
        body.pop()
        dropped = len(kept) - len(body) + below
        out = [header, *body, f"({dropped} more elements)"]
        if len("\n".join(out)) <= max_chars:
            return "\n".join(out)
    return "\n".join([header, f"({len(items)} elements)"])


Snapshot = tuple[str, int, dict[str, str]]


def snapshot(screen: Screen, scroll: int = 0) -> Snapshot:
    """What :func:`render_changes` compares: the screen's name, its scroll and each element's line (screens change in
    place in an environment, so the lines are taken before the next action)."""
    shown = screen.shown()
    lines = {e.id: element_line(e, 0, scroll, screen.height, None, shown[e.id]) for _, e in screen.walk()}
    return screen.name, scroll, lines


def render_changes(screen: Screen, scroll: int, before: Snapshot, max_chars: int | None = None) -> str:
    """The screen as text for a conversation whose last observation was ``before``: only the changed elements' lines
    when it is the same screen at the same scroll, else the whole screen (:func:`render_screen`, within ``max_chars``);
    see the module docstring. The changed lines fall back to the whole screen when they would exceed the budget."""
    name, old_scroll, old = before
    if screen.name != name or scroll != old_scroll:
        return render_screen(screen, scroll, max_chars)
    changed = [line for key, line in snapshot(screen, scroll)[2].items() if old.get(key) != line]
    text = "\n".join([f"screen: {screen.title} ({'changed' if changed else 'unchanged'})", *changed])
    return text if max_chars is None or len(text) <= max_chars else render_screen(screen, scroll, max_chars)
