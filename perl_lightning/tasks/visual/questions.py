"""Question templates (with paraphrases) over a scene, with exact answers computed from the scene dict.

Question types (``question_type``) and what they need of the scene (a question that does not apply returns ``None``):

================  ========================================================  =======================================
type              example                                                   answer / needs
================  ========================================================  =======================================
``color``         What color is the triangle?                               a colour; the only object of its shape
``shape``         What shape is the red object?                             a shape; the only object of its colour
``size``          Is the blue circle small or large?                        small / large; a unique colour+shape
``size_color``    What color is the large shape?                            a colour; the only object of its size
``count``         How many red circles / circles / red shapes / shapes?     a digit (``"0"`` when none)
``exists``        Is there a green square?                                  yes / no (half and half)
``position``      What shape is on the left? What color is the top shape?   the only object in that column / row
``relation``      Is the red circle to the left of the blue square?         yes / no; two unique colour+shapes in
                                                                            different columns (rows: above/below)
================  ========================================================  =======================================

"Left" means the left column of the 3 x 3 grid, "top" the top row (see :mod:`perl_lightning.tasks.visual.scenes`).
Each question also names its ``targets``: the colour+shape combinations it is about (the object asked after; both
objects of a relation; a counted combination even when absent; every counted object of a shape, a colour or the
scene), so that a split can be built on which combinations its questions concern.

:func:`annotator_answers` gives ten answers that all normalise (``answers.normalize_answer``) to the canonical one
but vary in surface form ("2", "two", "Two", "2.", "a circle", "Yes", "RED"): the VQA accuracy of the right answer
is exactly 1, and scoring exercises the normalisation.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from perl_lightning.tasks.visual.scenes import COLORS, SHAPES, SIZES, Scene, SceneObject, combo

__all__ = ["QUESTION_TYPES", "annotator_answers", "ask"]

Question = dict[str, Any]
_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _a(phrase: str) -> str:
    """``"a red circle"`` / ``"an orange circle"``."""
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


def _unique(scene: Scene, **match: str) -> SceneObject | None:
    """The one object whose fields equal ``match``, or ``None`` when there are none or several."""
    found = [o for o in scene["objects"] if all(o[k] == v for k, v in match.items())]
    return found[0] if len(found) == 1 else None


def _question(qtype: str, text: str, answer: str, targets: Sequence[SceneObject | str]) -> Question:
    names = sorted({t if isinstance(t, str) else combo(t) for t in targets})
    return {"question": text, "answer": answer, "question_type": qtype, "targets": names}


def _color(scene: Scene, rng: random.Random, pool: Sequence[tuple[str, str]]) -> Question | None:
    obj = _unique(scene, shape=rng.choice(SHAPES))
    if obj is None:
        return None
    templates = ("What color is the {s}?", "What is the color of the {s}?", "Which color does the {s} have?",
                 "What colour is the {s}?")  # fmt: skip
    return _question("color", rng.choice(templates).format(s=obj["shape"]), obj["color"], [obj])


def _shape(scene: Scene, rng: random.Random, pool: Sequence[tuple[str, str]]) -> Question | None:
    obj = _unique(scene, color=rng.choice([o["color"] for o in scene["objects"]]))
    if obj is None:
        return None
    templates = ("What shape is the {c} object?", "What is the shape of the {c} object?",
                 "Which shape is {c}?", "What kind of shape is the {c} one?")  # fmt: skip
    return _question("shape", rng.choice(templates).format(c=obj["color"]), obj["shape"], [obj])


def _size(scene: Scene, rng: random.Random, pool: Sequence[tuple[str, str]]) -> Question | None:
    picked = rng.choice(scene["objects"])
    obj = _unique(scene, color=picked["color"], shape=picked["shape"])
    if obj is None:
        return None
    templates = ("Is the {o} small or large?", "What size is the {o}?", "Is the {o} large or small?",
                 "How big is the {o}, small or large?")  # fmt: skip
    return _question("size", rng.choice(templates).format(o=combo(obj)), obj["size"], [obj])


def _size_color(scene: Scene, rng: random.Random, pool: Sequence[tuple[str, str]]) -> Question | None:
    obj = _unique(scene, size=rng.choice(list(SIZES)))
    if obj is None:
        return None
    templates = ("What color is the {z} shape?", "What is the color of the {z} object?",
                 "Which color is the {z} shape?")  # fmt: skip
    return _question("size_color", rng.choice(templates).format(z=obj["size"]), obj["color"], [obj])


def _count(scene: Scene, rng: random.Random, pool: Sequence[tuple[str, str]]) -> Question | None:
    objects = scene["objects"]
    kind = rng.choice(("combo", "combo", "shape", "color", "all"))
    if kind == "combo":
        present = [(o["color"], o["shape"]) for o in objects]
        color, shape = rng.choice(present if rng.random() < 0.7 or not pool else list(pool))
        counted = [o for o in objects if o["color"] == color and o["shape"] == shape]
        templates = ("How many {c} {s}s are there?", "How many {c} {s}s are in the image?",
                     "Count the {c} {s}s.", "What is the number of {c} {s}s?")  # fmt: skip
        text = rng.choice(templates).format(c=color, s=shape)
        return _question("count", text, str(len(counted)), [*counted, f"{color} {shape}"])
    if kind == "shape":
        shape = rng.choice(SHAPES)
        counted = [o for o in objects if o["shape"] == shape]
        text = rng.choice(("How many {s}s are there?", "How many {s}s can you see?", "Count the {s}s.")).format(s=shape)
    elif kind == "color":
        color = rng.choice(sorted({o["color"] for o in objects} | {c for c, _ in pool}))
        counted = [o for o in objects if o["color"] == color]
        text = rng.choice(("How many {c} shapes are there?", "How many {c} objects are in the picture?",
                           "Count the {c} shapes.")).format(c=color)  # fmt: skip
    else:
        counted = list(objects)
        text = rng.choice(("How many shapes are there?", "How many objects are in the image?",
                           "Count the shapes.", "What is the number of shapes?"))  # fmt: skip
    return _question("count", text, str(len(counted)), counted)


def _exists(scene: Scene, rng: random.Random, pool: Sequence[tuple[str, str]]) -> Question | None:
    present = {(o["color"], o["shape"]) for o in scene["objects"]}
    absent = [c for c in pool if c not in present]
    yes = rng.random() < 0.5 or not absent
    color, shape = rng.choice(sorted(present) if yes else absent)
    templates = ("Is there {o}?", "Does the image contain {o}?", "Can you see {o}?", "Is there {o} in the picture?")
    text = rng.choice(templates).format(o=_a(f"{color} {shape}"))
    return _question("exists", text, "yes" if yes else "no", [f"{color} {shape}"])


_SIDES = {"left": ("column", "on the left"), "right": ("column", "on the right"), "top": ("row", "at the top"),
          "bottom": ("row", "at the bottom")}  # fmt: skip


def _position(scene: Scene, rng: random.Random, pool: Sequence[tuple[str, str]]) -> Question | None:
    side = rng.choice(list(_SIDES))
    axis, where = _SIDES[side]
    obj = _unique(scene, **{axis: side})
    if obj is None:
        return None
    if rng.random() < 0.5:
        templates = ("What shape is {w}?", "Which shape is {w}?", "What is the shape {w}?")
        return _question("position", rng.choice(templates).format(w=where), obj["shape"], [obj])
    templates = ("What color is the shape {w}?", "What is the color of the object {w}?", "Which color is {w}?")
    return _question("position", rng.choice(templates).format(w=where), obj["color"], [obj])


_RELATIONS = {"left": ("column", -1, ("to the left of", "left of")), "right": ("column", 1, ("to the right of",
              "right of")), "above": ("row", -1, ("above",)), "below": ("row", 1, ("below", "under"))}  # fmt: skip
_ORDER = {"column": ("left", "center", "right"), "row": ("top", "middle", "bottom")}


def _relation(scene: Scene, rng: random.Random, pool: Sequence[tuple[str, str]]) -> Question | None:
    unique = [o for o in scene["objects"] if _unique(scene, color=o["color"], shape=o["shape"]) is o]
    if len(unique) < 2:
        return None
    a, b = rng.sample(unique, 2)
    axis, sign, phrases = _RELATIONS[rng.choice(list(_RELATIONS))]
    order = _ORDER[axis]
    delta = order.index(a[axis]) - order.index(b[axis])
    if delta == 0:
        return None
    text = rng.choice(("Is the {a} {r} the {b}?", "Is the {a} placed {r} the {b}?")).format(
        a=combo(a), r=rng.choice(phrases), b=combo(b)
    )
    return _question("relation", text, "yes" if delta * sign > 0 else "no", [a, b])


Asker = Callable[[Scene, random.Random, Sequence[tuple[str, str]]], Question | None]
#: Question type -> its generator ``(scene, rng, pool) -> question | None``; ``pool`` holds the (colour, shape)
#: combinations that count / exists questions may ask about when absent from the scene.
QUESTION_TYPES: dict[str, Asker] = {
    "color": _color,
    "shape": _shape,
    "size": _size,
    "size_color": _size_color,
    "count": _count,
    "exists": _exists,
    "position": _position,
    "relation": _relation,
}


def ask(scene: Scene, rng: random.Random, qtype: str, pool: Sequence[tuple[str, str]]) -> Question | None:
    """One question of type ``qtype`` about ``scene``: ``{"question", "answer", "question_type", "targets"}``.

    Args:
        scene: the scene (see :mod:`perl_lightning.tasks.visual.scenes`).
        rng: the random source (template, object and paraphrase choices).
        qtype: a key of :data:`QUESTION_TYPES`.
        pool: (colour, shape) combinations that count / exists questions may name when absent from the scene.

    Returns:
        The question, or ``None`` when the scene does not allow an unambiguous one of this type.
    """
    if qtype not in QUESTION_TYPES:
        raise ValueError(f"unknown question type {qtype!r} (known: {', '.join(QUESTION_TYPES)})")
    return QUESTION_TYPES[qtype](scene, rng, pool)


def annotator_answers(answer: str, rng: random.Random, n: int = 10) -> list[str]:
    """``n`` annotator answers that all normalise to ``answer``: mostly ``answer`` itself, some in another surface
    form (capitalised, a trailing period, the number word of a count, "a <shape>").

    Args:
        answer: the canonical answer (already in normal form: a colour, shape, size, yes/no or digits).
        rng: the random source.
        n: how many answers.
    """
    variants = [answer.capitalize(), answer + "."]
    if answer.isdigit() and int(answer) < len(_NUMBER_WORDS):
        variants += [_NUMBER_WORDS[int(answer)], _NUMBER_WORDS[int(answer)].capitalize()]
    if answer in SHAPES:
        variants.append(f"a {answer}")
    if answer in COLORS:
        variants.append(f"{answer.upper()}")
    return [answer if rng.random() < 0.7 else rng.choice(variants) for _ in range(n)]
