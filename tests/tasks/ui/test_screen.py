"""The screen schema: validation errors that name the row and field, the compact text, and its length budget."""

from __future__ import annotations

import pytest

from perl_lightning.sources import DataError
from perl_lightning.tasks.ui.screen import parse_screen, render_changes, render_screen, snapshot

SCREEN = {
    "name": "settings", "title": "Settings", "height": 200,
    "elements": [
        {"id": "e1", "type": "switch", "text": "Wi-Fi", "bounds": [0, 0, 360, 48], "state": {"checked": True}},
        {"id": "e2", "type": "text_field", "text": "Device name", "bounds": [0, 48, 360, 96],
         "state": {"value": "Pixel \"7\"", "focused": True}},
        {"id": "e3", "type": "dropdown", "text": "Font size", "options": ["Small", "Large"],
         "bounds": [0, 96, 360, 144], "state": {"value": "Small"}},
        {"id": "e4", "type": "list", "text": "More", "bounds": [0, 144, 360, 400], "children": [
            {"id": "e5", "type": "list_item", "text": "Display", "opens": "display", "bounds": [0, 150, 360, 190]},
            {"id": "e6", "type": "list_item", "text": "Battery", "bounds": [0, 250, 360, 290]}]},
        {"id": "e7", "type": "button", "text": "Save", "bounds": [0, 300, 360, 340], "state": {"enabled": False}},
        {"id": "e8", "type": "button", "text": "Secret", "state": {"visible": False}},
    ],
}  # fmt: skip


def test_text_is_compact_deterministic_and_keeps_ids_and_state() -> None:
    screen = parse_screen(SCREEN, "f.jsonl: row 3: field 'screen'")
    text = render_screen(screen)
    assert text.splitlines() == [
        "screen: Settings",
        '[e1] switch "Wi-Fi" on',
        '[e2] text_field "Device name" value="Pixel \\"7\\"" focused',
        '[e3] dropdown "Font size" value="Small" options=Small|Large',
        '[e4] list "More"',
        ' [e5] list_item "Display"',
        ' [e6] list_item "Battery" offscreen',
        '[e7] button "Save" disabled offscreen',
        '[e8] button "Secret" hidden',
    ]
    assert render_screen(parse_screen(SCREEN, "x")) == text
    scrolled = render_screen(screen, scroll=160)
    assert (
        "scrolled 160px" in scrolled
        and '[e6] list_item "Battery"\n' in scrolled
        and '[e1] switch "Wi-Fi" on offscreen' in scrolled
    )


def test_budget_policy_drops_offscreen_then_cuts_texts_then_drops_the_last() -> None:
    screen = parse_screen(SCREEN, "x")
    full = render_screen(screen)
    step1 = render_screen(screen, max_chars=len(full) - 1)
    assert "e6" not in step1 and "e8" not in step1 and "(3 more elements offscreen or hidden" in step1
    assert len(step1) <= len(full) - 1
    long = {**SCREEN, "elements": [{**SCREEN["elements"][0], "text": "Wi-Fi " + "very " * 20}] + SCREEN["elements"][1:]}
    cut = render_screen(parse_screen(long, "x"), max_chars=300)
    assert "…" in cut and len(cut) <= 300 and "[e5]" in cut and "very very very very very" not in cut
    tiny = render_screen(screen, max_chars=60)
    assert len(tiny) <= 60 and tiny.startswith("screen: Settings") and "more elements)" in tiny


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["elements"].append({"id": "e1", "type": "button"}), "duplicate id 'e1'"),
        (lambda s: s["elements"].append({"id": "e9", "type": "slider"}), "unknown type 'slider'"),
        (lambda s: s["elements"].append({"type": "button"}), "element field 'id'"),
        (lambda s: s["elements"][0].update(state={"checked": "yes"}), "state 'checked' must be a bool"),
        (lambda s: s["elements"][0].update(state={"pressed": True}), "unknown state 'pressed'"),
        (lambda s: s["elements"][0].update(bounds=[0, 1]), "'bounds' must be"),
        (lambda s: s.update(elements=[]), "non-empty 'elements'"),
        (lambda s: s["elements"][3]["children"][0].update(options="a"), "'options' must be a list"),
    ],
)
def test_bad_screens_name_the_row_field_and_element(change, message: str) -> None:
    import copy

    bad = copy.deepcopy(SCREEN)
    change(bad)
    with pytest.raises(DataError, match="f.jsonl: row 3: field 'screen'") as err:
        parse_screen(bad, "f.jsonl: row 3: field 'screen'")
    assert message in str(err.value)


def test_changes_show_only_the_changed_elements_of_the_same_screen() -> None:
    screen = parse_screen(SCREEN, "s")
    before = snapshot(screen)
    assert render_changes(screen, 0, before) == "screen: Settings (unchanged)"
    screen.find("e1").state["checked"] = False
    screen.find("e3").state["value"] = "Large"
    assert render_changes(screen, 0, before).splitlines() == [
        "screen: Settings (changed)",
        '[e1] switch "Wi-Fi" off',
        '[e3] dropdown "Font size" value="Large" options=Small|Large',
    ]
    # another scroll or another screen is shown whole, within the budget; so are changes that exceed it
    assert render_changes(screen, 100, before) == render_screen(screen, 100)
    display = parse_screen({"name": "display", "title": "Display", "elements": [{"id": "e1", "type": "button"}]}, "d")
    assert render_changes(display, 0, before) == render_screen(display)
    assert render_changes(screen, 0, before, max_chars=30) == render_screen(screen, 0, 30)
