"""Slot captions of a scene: the fixed-layout description that the embedded VLM's vision encoder learns to emit.

A scene is described cell by cell in reading order (top left, top center, ..., bottom right), seven words a cell::

     top left: large red circle. top center: no object here. top right: small blue square. ...

Every word is one token of SmolLM2's vocabulary (with its leading space), so the caption is a fixed-length sequence
of :data:`CAPTION_WORDS` = 63 token slots whose meaning depends only on the position: slot ``7 * cell + 3`` is the
size of the object in ``cell``, ``+ 4`` its colour, ``+ 5`` its shape. The alignment pre-stage of the embedded VLM
(``perl_lightning.modules.vision_align``) trains the vision tower and projector so that image token ``i`` lands on
the language model's input embedding of slot word ``i``: the frozen language model then reads an image as it would
read this caption. Slots past the 63rd (a tower with more patches) are filled with :data:`FILL_WORD`.
"""

from __future__ import annotations

from perl_lightning.tasks.visual.scenes import COLORS, COLUMNS, ROWS, SHAPES, SIZES, Scene

__all__ = [
    "CAPTION_WORDS",
    "EMPTY_WORDS",
    "FILL_WORD",
    "OBJECT_SLOTS",
    "VOCABULARY",
    "WORDS_PER_CELL",
    "caption_text",
    "caption_words",
    "slot_kinds",
]

#: Words per grid cell: row, column, ":", then size, colour, shape (or "no object here"), then ".".
WORDS_PER_CELL = 7
#: Length of a scene's caption in words (= token slots).
CAPTION_WORDS = WORDS_PER_CELL * len(ROWS) * len(COLUMNS)
#: The three words of an empty cell, in the size / colour / shape slots.
EMPTY_WORDS: tuple[str, str, str] = (" no", " object", " here")
#: The word in slots past the caption's end.
FILL_WORD = "\n"
#: Offsets, within a cell's seven slots, of the words that depend on the image: size, colour, shape.
OBJECT_SLOTS: dict[str, int] = {"size": 3, "color": 4, "shape": 5}


def caption_words(scene: Scene, slots: int = CAPTION_WORDS) -> list[str]:
    """The scene's caption as ``slots`` words (each one SmolLM2 token), cell by cell in reading order.

    Args:
        scene: a scene dict (``tasks.visual.scenes``).
        slots: the number of words wanted (the VLM's image tokens per image); at least :data:`CAPTION_WORDS`, the
            rest is :data:`FILL_WORD`.

    Raises:
        ValueError: ``slots`` below :data:`CAPTION_WORDS`, or two objects in one cell.
    """
    if slots < CAPTION_WORDS:
        raise ValueError(f"a slot caption needs at least {CAPTION_WORDS} image tokens, the model has {slots}")
    cells: dict[tuple[str, str], dict] = {}
    for obj in scene["objects"]:
        key = (obj["row"], obj["column"])
        if key in cells:
            raise ValueError(f"two objects in the {key[0]} {key[1]} cell")
        cells[key] = obj
    words: list[str] = []
    for row in ROWS:
        for column in COLUMNS:
            obj = cells.get((row, column))
            what = EMPTY_WORDS if obj is None else (f" {obj['size']}", f" {obj['color']}", f" {obj['shape']}")
            words += [f" {row}", f" {column}", ":", *what, "."]
    return words + [FILL_WORD] * (slots - CAPTION_WORDS)


def caption_text(scene: Scene) -> str:
    """The caption as one string (``" top left: large red circle. top center: no object here. ..."``)."""
    return "".join(caption_words(scene))


def slot_kinds(slots: int = CAPTION_WORDS) -> list[str]:
    """Per slot, what it holds: ``size``, ``color``, ``shape`` (the image-dependent words) or ``layout`` (row,
    column, punctuation and fill, the same for every image)."""
    by_offset = {offset: kind for kind, offset in OBJECT_SLOTS.items()}
    return [by_offset.get(i % WORDS_PER_CELL, "layout") if i < CAPTION_WORDS else "layout" for i in range(slots)]


#: Every word a caption can hold (each must be a single token of the language model's vocabulary).
VOCABULARY: tuple[str, ...] = tuple(
    sorted({f" {w}" for w in (*ROWS, *COLUMNS, *SIZES, *COLORS, *SHAPES)} | {":", ".", FILL_WORD, *EMPTY_WORDS})
)
