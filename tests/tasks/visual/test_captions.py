"""Slot captions: a fixed layout of 63 single-token words, seven per grid cell in reading order."""

from __future__ import annotations

import random

import pytest

from perl_lightning.models.backbone import load_tokenizer
from perl_lightning.tasks.visual.captions import (
    CAPTION_WORDS,
    FILL_WORD,
    OBJECT_SLOTS,
    VOCABULARY,
    WORDS_PER_CELL,
    caption_text,
    caption_words,
    slot_kinds,
)
from perl_lightning.tasks.visual.generator import ALL_COMBOS
from perl_lightning.tasks.visual.scenes import random_scene

SCENE = {
    "objects": [
        {"shape": "circle", "color": "red", "size": "large", "x": 0.17, "y": 0.17, "column": "left", "row": "top"},
        {"shape": "square", "color": "blue", "size": "small", "x": 0.83, "y": 0.83, "column": "right", "row": "bottom"},
    ]
}


def test_caption_reads_cell_by_cell_in_reading_order():
    text = caption_text(SCENE)
    assert text.startswith(" top left: large red circle. top center: no object here. top right: no object here.")
    assert text.endswith(" bottom center: no object here. bottom right: small blue square.")
    assert len(caption_words(SCENE)) == CAPTION_WORDS == 63


def test_slots_past_the_caption_are_filled_and_too_few_slots_refused():
    words = caption_words(SCENE, 64)
    assert words[:CAPTION_WORDS] == caption_words(SCENE) and words[CAPTION_WORDS:] == [FILL_WORD]
    with pytest.raises(ValueError, match="at least 63 image tokens"):
        caption_words(SCENE, 16)


def test_two_objects_in_one_cell_are_refused():
    twin = {"objects": [SCENE["objects"][0], dict(SCENE["objects"][0], color="green")]}
    with pytest.raises(ValueError, match="two objects in the top left cell"):
        caption_words(twin)


def test_slot_kinds_name_the_image_dependent_words():
    kinds = slot_kinds(64)
    words = caption_words(SCENE, 64)
    assert [words[i] for i in range(64) if kinds[i] == "color"][0] == " red"
    assert [words[i] for i in range(64) if kinds[i] == "shape"][-1] == " square"
    assert kinds.count("size") == kinds.count("color") == kinds.count("shape") == 9
    assert {kinds[cell * WORDS_PER_CELL + offset] for cell in range(9) for offset in OBJECT_SLOTS.values()} == set(
        OBJECT_SLOTS
    )


def test_every_caption_word_is_one_smollm2_token_and_in_the_vocabulary():
    tokenizer = load_tokenizer("smollm2-135m-instruct")
    for word in VOCABULARY:
        assert len(tokenizer.encode(word, add_special_tokens=False)) == 1, word
    rng = random.Random(0)
    for _ in range(50):
        assert set(caption_words(random_scene(rng, ALL_COMBOS), 64)) <= set(VOCABULARY)
