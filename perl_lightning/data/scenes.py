"""Rendered synthetic scenes and their slot captions: the data of the embedded VLM's alignment pre-stage.

Scene ``i`` of a split is drawn from its own seeded random source (``"<seed>-<split>-<i>"``), so the data is the same
on every machine and any item can be rebuilt alone. Every other validation scene holds at least one of the VQA
task's held-out colour-shape combinations (:data:`~perl_lightning.tasks.visual.generator.HELD_OUT_COMBOS`), whose
slots are scored apart. Training scenes draw from every combination by default (``combos="all"``: the tower is a
perception model pretrained on all the shapes it will see, as a CLIP tower is; the VQA task's held-out split still
holds questions about combinations that SFT and RL never answer), or from the VQA training split's only
(``combos="seen"``: then the held-out slots measure the tower's own compositional generalisation).
"""

from __future__ import annotations

import random
from typing import Literal, NamedTuple

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset
from transformers import PreTrainedTokenizerBase, SiglipImageProcessorPil

from perl_lightning.data.base import own_generator
from perl_lightning.models.backbone import load_tokenizer
from perl_lightning.models.embedded import SMOLLM2
from perl_lightning.models.embedded_vlm import VisionSpec, image_processor
from perl_lightning.tasks.visual.captions import CAPTION_WORDS, VOCABULARY, WORDS_PER_CELL, caption_words
from perl_lightning.tasks.visual.generator import ALL_COMBOS, HELD_OUT_COMBOS, SEEN_COMBOS
from perl_lightning.tasks.visual.scenes import COLUMNS, ROWS, Scene, random_scene, render

__all__ = ["COMBOS", "CaptionBatch", "SceneCaptionDataModule", "SceneCaptions", "caption_token_ids"]

#: Colour-shape combinations the training scenes may draw from.
COMBOS: dict[str, tuple[tuple[str, str], ...]] = {"all": ALL_COMBOS, "seen": SEEN_COMBOS}


class CaptionBatch(NamedTuple):
    """A batch of rendered scenes and their slot captions.

    Attributes:
        pixel_values: (B, 3, H, W) the image processor's output.
        slot_ids: (B, T) the caption's token id per image token (T = image tokens per image).
        held_out: (B, T) whether the slot describes an object of a held-out colour-shape combination.
    """

    pixel_values: torch.Tensor
    slot_ids: torch.Tensor
    held_out: torch.Tensor


def caption_token_ids(tokenizer: PreTrainedTokenizerBase) -> dict[str, int]:
    """Each caption word's single token id.

    Raises:
        ValueError: the tokenizer splits a caption word into several tokens (slot captions need one token a word).
    """
    ids = {}
    for word in VOCABULARY:
        tokens = tokenizer.encode(word, add_special_tokens=False)
        if len(tokens) != 1:
            raise ValueError(
                f"caption word {word!r} is {len(tokens)} tokens for this tokenizer; slot captions need one"
            )
        ids[word] = tokens[0]
    return ids


class SceneCaptions(Dataset):
    """``size`` seeded scenes of one split, rendered and captioned on demand.

    Args:
        split: ``train`` or ``validation`` (every other scene has a held-out combination).
        size: number of scenes.
        spec: the vision spec (image size, image tokens per image).
        token_ids: caption word -> token id (:func:`caption_token_ids`).
        seed: the data seed.
        combos: the combinations of training scenes: ``all`` or ``seen`` (the VQA training split's).
    """

    def __init__(
        self, split: str, size: int, spec: VisionSpec, token_ids: dict[str, int], seed: int = 0, combos: str = "all"
    ) -> None:
        if split not in ("train", "validation"):
            raise ValueError(f"split must be train or validation, got {split!r}")
        if combos not in COMBOS:
            raise ValueError(f"combos must be one of {sorted(COMBOS)}, got {combos!r}")
        self.split, self.size, self.spec, self.token_ids, self.seed = split, size, spec, token_ids, seed
        self.combos = COMBOS[combos]

    def __len__(self) -> int:
        return self.size

    def scene(self, index: int) -> Scene:
        """Scene ``index`` of this split (the same on every call)."""
        rng = random.Random(f"{self.seed}-{self.split}-{index}")
        if self.split == "validation":
            required = [rng.choice(HELD_OUT_COMBOS)] if index % 2 else []
            return random_scene(rng, ALL_COMBOS if index % 2 else SEEN_COMBOS, required=required)
        return random_scene(rng, self.combos)

    def __getitem__(self, index: int) -> tuple[object, list[int], list[bool]]:
        scene = self.scene(index)
        words = caption_words(scene, self.spec.image_tokens)
        held = {(o["row"], o["column"]) for o in scene["objects"] if (o["color"], o["shape"]) in HELD_OUT_COMBOS}
        cells = [(row, column) for row in ROWS for column in COLUMNS]  # caption order
        held_out = [i < CAPTION_WORDS and cells[i // WORDS_PER_CELL] in held for i in range(len(words))]
        return render(scene, self.spec.image_size), [self.token_ids[w] for w in words], held_out


class SceneCaptionDataModule(L.LightningDataModule):
    """Rendered scenes with slot captions for ``VisionAlignModule`` (the embedded VLM's alignment pre-stage).

    Args:
        language_model: the language model whose tokenizer gives the caption token ids; default: the attached
            module's (``VisionAlignModule.base_name``), else SmolLM2.
        vision: the vision spec (image size, image tokens per image); default: the attached module's.
        batch_size: scenes per training step.
        train_scenes: distinct training scenes (drawn on demand; an epoch is ``train_scenes / batch_size`` steps).
        val_scenes: validation scenes (half of them with a held-out combination).
        seed: the data seed.
        num_workers: DataLoader workers (rendering is cheap; 0 keeps one process).
        combos: the training scenes' colour-shape combinations: ``all``, or ``seen`` (only the VQA training split's;
            see the module docstring).
    """

    def __init__(
        self,
        language_model: str | None = None,
        vision: VisionSpec | None = None,
        batch_size: int = 32,
        train_scenes: int = 100_000,
        val_scenes: int = 256,
        seed: int = 0,
        num_workers: int = 0,
        combos: Literal["all", "seen"] = "all",
    ) -> None:
        super().__init__()
        self.combos = combos
        self.vision, self.language_model = vision, language_model
        self.batch_size, self.seed, self.num_workers = batch_size, seed, num_workers
        self.train_scenes, self.val_scenes = train_scenes, val_scenes
        self.image_processor: SiglipImageProcessorPil | None = None
        self.token_ids: dict[str, int] | None = None

    def setup(self, stage: str | None = None) -> None:
        """Take the vision spec and language model from the attached module unless given; build the tokens ids."""
        module = self.trainer.lightning_module if self.trainer is not None else None
        if self.vision is None:
            self.vision = getattr(module, "vision", None) or VisionSpec()
        if self.language_model is None:
            self.language_model = getattr(module, "base_name", None) or SMOLLM2
        if self.token_ids is None:
            self.token_ids = caption_token_ids(load_tokenizer(self.language_model))
            self.image_processor = image_processor(self.vision)

    def dataset(self, split: str) -> SceneCaptions:
        """The split's scenes (``train`` or ``validation``)."""
        self.setup()
        assert self.token_ids is not None and self.vision is not None
        size = self.train_scenes if split == "train" else self.val_scenes
        return SceneCaptions(split, size, self.vision, self.token_ids, self.seed, self.combos)

    def collate(self, items: list[tuple[object, list[int], list[bool]]]) -> CaptionBatch:
        """Process the images in one call; stack captions and held-out masks."""
        images, ids, held = zip(*items, strict=True)
        assert self.image_processor is not None
        pixels = self.image_processor(images=list(images), return_tensors="pt")["pixel_values"]
        return CaptionBatch(pixels, torch.tensor(ids), torch.tensor(held))

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.dataset("train"), batch_size=self.batch_size, shuffle=True, collate_fn=self.collate,
                          num_workers=self.num_workers, generator=own_generator(self.seed))  # fmt: skip

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.dataset("validation"), batch_size=self.batch_size, collate_fn=self.collate,
                          num_workers=self.num_workers)  # fmt: skip
