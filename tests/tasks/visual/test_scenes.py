"""Synthetic scenes: valid, non-overlapping, JSON-serialisable; rendering deterministic and exact in colour."""

from __future__ import annotations

import io
import json
import random

import pytest

from perl_lightning.tasks.visual.scenes import (
    BACKGROUND,
    COLORS,
    COLUMNS,
    ROWS,
    SHAPES,
    box,
    check_scene,
    combo,
    random_scene,
    render,
)

COMBOS = [(c, s) for c in COLORS for s in SHAPES]


@pytest.fixture(scope="module")
def scenes() -> list[dict]:
    rng = random.Random(7)
    return [random_scene(rng, COMBOS) for _ in range(150)]


def test_scenes_are_valid_varied_and_json(scenes: list[dict]) -> None:
    counts = {len(s["objects"]) for s in scenes}
    assert counts == {1, 2, 3, 4, 5}
    for scene in scenes:
        assert json.loads(json.dumps(scene)) == scene
        for obj in scene["objects"]:
            assert set(obj) == {"shape", "color", "size", "x", "y", "column", "row"}
            assert COLUMNS[int(obj["x"] * 3)] == obj["column"] and ROWS[int(obj["y"] * 3)] == obj["row"]
        cells = [(o["column"], o["row"]) for o in scene["objects"]]
        assert len(cells) == len(set(cells))
    seen = {(o["color"], o["shape"], o["size"]) for s in scenes for o in s["objects"]}
    assert len(seen) == len(COMBOS) * 2
    assert combo(scenes[0]["objects"][0]) == f"{scenes[0]['objects'][0]['color']} {scenes[0]['objects'][0]['shape']}"


@pytest.mark.parametrize("size", [16, 32, 64, 100])
def test_pixel_boxes_never_overlap(scenes: list[dict], size: int) -> None:
    for scene in scenes:
        boxes = [box(o, size) for o in scene["objects"]]
        for i, a in enumerate(boxes):
            assert 0 <= a[0] <= a[2] < size and 0 <= a[1] <= a[3] < size
            for b in boxes[:i]:
                disjoint = a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1]
                assert disjoint, (scene, size)


def test_render_is_deterministic(scenes: list[dict]) -> None:
    for scene in scenes[:20]:
        first, second = render(scene), render(json.loads(json.dumps(scene)))
        assert first.mode == "RGB" and first.size == (64, 64)
        assert first.tobytes() == second.tobytes()
        png = [io.BytesIO(), io.BytesIO()]
        first.save(png[0], format="PNG")
        second.save(png[1], format="PNG")
        assert png[0].getvalue() == png[1].getvalue()
    assert render(scenes[0]).tobytes() != render(scenes[1]).tobytes()
    assert render(scenes[0], 48).size == (48, 48)


@pytest.mark.parametrize("size", [32, 64, 96])
def test_every_shape_pixel_has_its_objects_colour(scenes: list[dict], size: int) -> None:
    """The centre of each object is its colour; every non-background pixel lies in exactly the box of an object of
    that colour (so counting shapes by colour in the image gives the scene's counts)."""
    for scene in scenes[:60]:
        image = render(scene, size)
        pixels = image.load()
        boxes = [(box(o, size), COLORS[o["color"]]) for o in scene["objects"]]
        for obj in scene["objects"]:
            x0, y0, x1, y1 = box(obj, size)
            assert pixels[(x0 + x1) // 2, (y0 + y1) // 2] == COLORS[obj["color"]], (obj, size)
        painted = 0
        for y in range(size):
            for x in range(size):
                colour = pixels[x, y]
                if colour == BACKGROUND:
                    continue
                painted += 1
                inside = [c for (x0, y0, x1, y1), c in boxes if x0 <= x <= x1 and y0 <= y <= y1]
                assert inside == [colour], (x, y, colour, scene)
        assert painted > 0


def test_shapes_differ_in_pixels() -> None:
    """A circle, square and triangle at the same place paint different pixels (square > circle > triangle)."""
    areas = {}
    for shape in ("circle", "square", "triangle"):
        obj = {"shape": shape, "color": "red", "size": "large", "x": 0.5, "y": 0.5, "column": "center", "row": "middle"}
        areas[shape] = sum(p == COLORS["red"] for p in render({"objects": [obj]}).getdata())
    assert areas["square"] > areas["circle"] > areas["triangle"] > 0


def test_bad_scenes_are_refused() -> None:
    obj = {"shape": "circle", "color": "red", "size": "large", "x": 0.5, "y": 0.5, "column": "center", "row": "middle"}
    check_scene({"objects": [obj]}, 64)
    near = {**obj, "x": 0.6}
    with pytest.raises(ValueError, match="overlap"):
        check_scene({"objects": [obj, near]})
    with pytest.raises(ValueError, match="unknown color 'pink'"):
        check_scene({"objects": [{**obj, "color": "pink"}]})
    with pytest.raises(ValueError, match="not in cell"):
        check_scene({"objects": [{**obj, "column": "left"}]})
    with pytest.raises(ValueError, match="objects"):
        check_scene({"shapes": []})
    with pytest.raises(ValueError, match="at least 16"):
        render({"objects": [obj]}, 8)
    with pytest.raises(ValueError, match="cannot place"):
        random_scene(random.Random(0), COMBOS, n_objects=10)


def test_random_scene_is_seeded_and_honours_required() -> None:
    a = [random_scene(random.Random(3), COMBOS) for _ in range(3)]
    assert a[0] == a[1] == a[2]
    assert random_scene(random.Random(4), COMBOS) != a[0]
    scene = random_scene(random.Random(5), [("red", "circle")], n_objects=4, required=[("green", "triangle")])
    assert [combo(o) for o in scene["objects"]] == ["green triangle"] + ["red circle"] * 3
