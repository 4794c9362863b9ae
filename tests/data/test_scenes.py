"""The alignment pre-stage's data: seeded scenes, their caption token ids and held-out slots, processed pixels."""

from __future__ import annotations

import pytest
import torch

from perl_lightning.data.scenes import SceneCaptionDataModule, SceneCaptions
from perl_lightning.models.embedded_vlm import VisionSpec
from perl_lightning.tasks.visual.captions import caption_words
from perl_lightning.tasks.visual.generator import HELD_OUT_COMBOS


def _module(combos: str = "all") -> SceneCaptionDataModule:
    dm = SceneCaptionDataModule(language_model="smollm2-135m-instruct", vision=VisionSpec(), batch_size=4,
                                combos=combos)  # fmt: skip
    dm.setup()
    return dm


def _combos(scene: dict) -> set[tuple[str, str]]:
    return {(o["color"], o["shape"]) for o in scene["objects"]}


def test_scenes_are_seeded_and_seen_training_holds_no_held_out_combination():
    train = _module("seen").dataset("train")
    assert train.scene(7) == _module("seen").dataset("train").scene(7) != train.scene(8)
    assert not set().union(*(_combos(train.scene(i)) for i in range(300))) & set(HELD_OUT_COMBOS)
    everything = _module("all").dataset("train")
    assert set(HELD_OUT_COMBOS) <= set().union(*(_combos(everything.scene(i)) for i in range(300)))
    with pytest.raises(ValueError, match="combos must be one of"):
        SceneCaptions("train", 1, VisionSpec(), {}, combos="unseen")


def test_validation_alternates_seen_scenes_and_scenes_with_a_held_out_combination():
    dm = _module()
    val = dm.dataset("validation")
    held = [bool(_combos(val.scene(i)) & set(HELD_OUT_COMBOS)) for i in range(20)]
    assert all(held[1::2]) and not any(held[0::2])


def test_batch_carries_pixels_caption_ids_and_held_out_slots():
    dm = _module()
    val = dm.dataset("validation")
    batch = dm.collate([val[i] for i in range(4)])
    assert batch.pixel_values.shape == (4, 3, 64, 64) and batch.pixel_values.min() >= -1
    assert batch.slot_ids.shape == batch.held_out.shape == (4, 64)
    ids = {word: i for word, i in dm.token_ids.items()}
    assert batch.slot_ids[1].tolist() == [ids[w] for w in caption_words(val.scene(1), 64)]
    scene = val.scene(1)
    held = [o for o in scene["objects"] if (o["color"], o["shape"]) in HELD_OUT_COMBOS]
    assert batch.held_out[1].sum() == 7 * len(held) and not batch.held_out[0].any()
    again = dm.collate([val[i] for i in range(4)])
    assert torch.equal(again.pixel_values, batch.pixel_values)
