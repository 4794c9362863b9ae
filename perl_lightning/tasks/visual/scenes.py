"""Seeded synthetic scenes of coloured shapes, and their deterministic PIL rendering.

A scene is a plain JSON-serialisable dict ``{"objects": [obj, ...]}``; each object is::

    {"shape": "circle" | "square" | "triangle", "color": "red" | ..., "size": "small" | "large",
     "x": 0.52, "y": 0.16,                 # centre, as a fraction of the image width / height
     "column": "left" | "center" | "right", "row": "top" | "middle" | "bottom"}

Objects sit one per cell of a 3 x 3 grid (``column``, ``row`` name the cell), their centres jittered a little inside
it. A large shape's box is 0.28 of the image side and the jitter at most 0.02, so a box never leaves its cell (a
third of the side): shapes never overlap (:func:`check_scene` verifies the boxes anyway) and counts are exact, and
"on the left" means "in the left column", never a matter of degree. Colours are far apart in RGB and the renderer
draws without anti-aliasing, so the pixel at a shape's centre is exactly its colour.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from PIL import Image, ImageDraw

__all__ = [
    "BACKGROUND",
    "COLORS",
    "COLUMNS",
    "ROWS",
    "SHAPES",
    "SIZES",
    "box",
    "check_scene",
    "combo",
    "random_scene",
    "render",
]

Scene = dict[str, Any]
SceneObject = dict[str, Any]

#: Shape names.
SHAPES: tuple[str, ...] = ("circle", "square", "triangle")
#: Colour name -> RGB, far apart from each other and from the background.
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 20, 20),
    "green": (20, 170, 40),
    "blue": (30, 60, 230),
    "yellow": (245, 215, 0),
    "purple": (140, 30, 170),
    "orange": (250, 130, 0),
}
#: Size name -> side of the shape's square box, as a fraction of the image side.
SIZES: dict[str, float] = {"small": 0.16, "large": 0.28}
#: Column names, left to right, and row names, top to bottom (the 3 x 3 grid cells).
COLUMNS: tuple[str, ...] = ("left", "center", "right")
ROWS: tuple[str, ...] = ("top", "middle", "bottom")
#: The background colour (light grey).
BACKGROUND: tuple[int, int, int] = (235, 235, 235)
#: Largest offset of a centre from its cell's centre (fraction of the side); see the module docstring.
JITTER = 0.02


def combo(obj: SceneObject) -> str:
    """``"<color> <shape>"`` of an object, e.g. ``"green triangle"``."""
    return f"{obj['color']} {obj['shape']}"


def random_scene(
    rng: random.Random,
    combos: Sequence[tuple[str, str]],
    n_objects: int | None = None,
    required: Sequence[tuple[str, str]] = (),
) -> Scene:
    """A random scene: 1-5 objects in distinct grid cells, each a (colour, shape) drawn from ``combos``.

    Args:
        rng: the random source (the same state gives the same scene).
        combos: the (colour, shape) pairs objects may have (``required`` ones come on top).
        n_objects: how many objects (default: uniform in 1..5).
        required: (colour, shape) pairs that the scene must contain, one object each, placed first.

    Raises:
        ValueError: more objects than cells, or fewer objects than ``required`` pairs.
    """
    n = rng.randint(1, 5) if n_objects is None else n_objects
    if not len(required) <= n <= len(COLUMNS) * len(ROWS) or (n > len(required) and not combos):
        raise ValueError(f"cannot place {n} objects ({len(required)} required) on a 3 x 3 grid")
    cells = rng.sample([(c, r) for r in range(len(ROWS)) for c in range(len(COLUMNS))], n)
    objects = []
    for i, (col, row) in enumerate(cells):
        color, shape = required[i] if i < len(required) else rng.choice(list(combos))
        x = (col + 0.5) / len(COLUMNS) + rng.uniform(-JITTER, JITTER)
        y = (row + 0.5) / len(ROWS) + rng.uniform(-JITTER, JITTER)
        objects.append({"shape": shape, "color": color, "size": rng.choice(list(SIZES)), "x": round(x, 4),
                        "y": round(y, 4), "column": COLUMNS[col], "row": ROWS[row]})  # fmt: skip
    scene = {"objects": objects}
    check_scene(scene)
    return scene


def box(obj: SceneObject, size: int) -> tuple[int, int, int, int]:
    """The object's pixel box ``(x0, y0, x1, y1)`` in a ``size`` x ``size`` image, both ends inclusive."""
    half = SIZES[obj["size"]] * size / 2
    cx, cy = obj["x"] * size, obj["y"] * size
    return round(cx - half), round(cy - half), round(cx + half) - 1, round(cy + half) - 1


def check_scene(scene: Scene, size: int | None = None) -> None:
    """Check a scene: known shapes, colours and sizes, column/row true to the centre, no two boxes overlapping.

    Args:
        scene: the scene dict.
        size: also check the pixel boxes of a ``size`` x ``size`` rendering (none overlap, all inside the image).

    Raises:
        ValueError: what is wrong, naming the object.
    """
    objects = scene.get("objects")
    if not isinstance(objects, list):
        raise ValueError(f"a scene needs an 'objects' list, got {type(objects).__name__}")
    for i, obj in enumerate(objects):
        for key, known in (("shape", SHAPES), ("color", COLORS), ("size", SIZES)):
            if obj.get(key) not in known:
                raise ValueError(f"object {i}: unknown {key} {obj.get(key)!r} (known: {', '.join(known)})")
        if COLUMNS[min(int(obj["x"] * 3), 2)] != obj["column"] or ROWS[min(int(obj["y"] * 3), 2)] != obj["row"]:
            raise ValueError(f"object {i}: centre ({obj['x']}, {obj['y']}) is not in cell {obj['column']}/{obj['row']}")
    for i, a in enumerate(objects):
        for j in range(i):
            if _overlap(_unit_box(a), _unit_box(objects[j])):
                raise ValueError(f"objects {j} and {i} overlap")
    if size is not None:
        boxes = [box(o, size) for o in objects]
        for i, b in enumerate(boxes):
            if b[0] < 0 or b[1] < 0 or b[2] >= size or b[3] >= size:
                raise ValueError(f"object {i}: box {b} leaves the {size} x {size} image")
            for j in range(i):
                if _overlap(b, boxes[j], inclusive=True):
                    raise ValueError(f"objects {j} and {i} overlap at {size} px")


def _unit_box(obj: SceneObject) -> tuple[float, float, float, float]:
    half = SIZES[obj["size"]] / 2
    return obj["x"] - half, obj["y"] - half, obj["x"] + half, obj["y"] + half


def _overlap(a: Sequence[float], b: Sequence[float], inclusive: bool = False) -> bool:
    """Whether two boxes ``(x0, y0, x1, y1)`` intersect (pixel boxes: ends inclusive)."""
    if inclusive:
        return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def render(scene: Scene, size: int = 64) -> Image.Image:
    """Draw a scene: a ``size`` x ``size`` RGB image, deterministic (the same scene gives identical pixels).

    Circles fill their box, squares are the box, triangles point up with their base on the box's bottom edge (the
    box centre lies inside each shape). No anti-aliasing, so shape pixels are exactly the colour in :data:`COLORS`.

    Args:
        scene: a scene dict (see the module docstring); checked with :func:`check_scene` at this size.
        size: the image side in pixels (at least 16).

    Raises:
        ValueError: a bad scene, or a size so small that boxes would touch.
    """
    if size < 16:
        raise ValueError(f"image size must be at least 16 px, got {size}")
    check_scene(scene, size)
    image = Image.new("RGB", (size, size), BACKGROUND)
    draw = ImageDraw.Draw(image)
    for obj in scene["objects"]:
        x0, y0, x1, y1 = box(obj, size)
        fill = COLORS[obj["color"]]
        if obj["shape"] == "circle":
            draw.ellipse((x0, y0, x1, y1), fill=fill)
        elif obj["shape"] == "square":
            draw.rectangle((x0, y0, x1, y1), fill=fill)
        else:
            draw.polygon([((x0 + x1) / 2, y0), (x1, y1), (x0, y1)], fill=fill)
    return image
