"""Alignment pre-stage of the embedded VLM (LLaVA's stage 1, language model frozen).

Algorithm (one step)::

    images, slot captions  <- a batch of rendered scenes (data/scenes.py; train split: seen combinations only)
    z = projector(vision_tower(images))                  # (B, T, d_lm): one vector per image token
    e = E[slot_ids]                                      # the frozen LM's input embeddings of the caption words
    loss = |z - e|^2 / |e|^2 (mean)                      # image token i lands on the embedding of slot word i
    AdamW step on the vision tower and projector only

LLaVA aligns its projector by the caption loss through the frozen LM. On a CPU the LM's backward pass costs ~15 s a
step of 32 images, so this stage regresses the image tokens onto the LM's own embeddings of a fixed-layout caption
instead (``tasks/visual/captions.py``): the cost is the ~2.5 M-parameter tower's alone, and the LM then reads an image
as it reads the caption, a sequence of its own word embeddings. Validation decodes each image token to its nearest
vocabulary embedding and reports the accuracy of the image-dependent slots (size, colour, shape), separately for
objects of held-out colour-shape combinations.

At the end of fit the whole VLM (model, processor, chat template) and ``alignment.json`` (spec, steps, final
metrics) are written atomically to ``save_dir``, by default the cache directory that the name ``smollm2-135m-vlm``
loads from.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.utilities import rank_zero_info
from transformers import PretrainedConfig

from perl_lightning.data.scenes import CaptionBatch
from perl_lightning.models.embedded import SMOLLM2, embedded_vlm_dir
from perl_lightning.models.embedded_vlm import VisionSpec, compose_vlm
from perl_lightning.models.vlm import vision_parts
from perl_lightning.modules.base import FineTuneModule
from perl_lightning.modules.optim import Schedule
from perl_lightning.tasks.visual.captions import CAPTION_WORDS, OBJECT_SLOTS, WORDS_PER_CELL, slot_kinds

__all__ = ["VisionAlignModule"]


class VisionAlignModule(FineTuneModule):
    """Train the vision tower and projector of the embedded VLM so that its image tokens are the frozen language
    model's embeddings of the scene's slot caption (the alignment pre-stage; see the module docstring).

    Args:
        language_model: the causal LM that becomes the VLM's language model (embedded name or local directory).
        vision: the vision tower and projector shapes.
        learning_rate: AdamW learning rate of the tower and projector.
        weight_decay: AdamW weight decay.
        schedule: learning-rate schedule after warmup (``cosine``, ``linear`` or ``constant``).
        warmup_ratio: fraction of the steps spent warming up.
        save_dir: where the aligned VLM is written at the end of fit; default: the cache directory of
            ``smollm2-135m-vlm`` (so that the name loads it afterwards).
    """

    stage_label = "vision alignment"
    adapter_dir_name = "vlm"

    def __init__(
        self,
        language_model: str = SMOLLM2,
        vision: VisionSpec | None = None,
        learning_rate: float = 1e-3,
        weight_decay: float = 0.01,
        schedule: Schedule = "cosine",
        warmup_ratio: float = 0.05,
        save_dir: str | None = None,
    ) -> None:
        super().__init__()
        self.vision = vision or VisionSpec()
        self.store_hparams(vision=self.vision)
        self.base_name, self.lora, self.learning_rate = language_model, None, learning_rate
        self.save_dir = save_dir if save_dir is not None else str(embedded_vlm_dir())
        self.model, self.processor = compose_vlm(self.vision, language_model)
        self.parts = vision_parts(self.model)
        self.model.requires_grad_(False)
        self.tower.requires_grad_(True)
        for name, module in self.tower.named_modules():
            if name.endswith("post_layernorm"):  # after the last layer, whose hidden states LLaVA reads: never used
                module.requires_grad_(False)
        self.projector.requires_grad_(True)
        embeddings = self.model.get_input_embeddings().weight.detach()
        self.register_buffer("embeddings", embeddings, persistent=False)  # shares storage with the frozen LM
        kinds = slot_kinds(self.vision.image_tokens)
        self.register_buffer("object_slot", torch.tensor([k != "layout" for k in kinds]), persistent=False)
        self.last_metrics: dict[str, float] = {}
        self.trained_steps = 0  # optimizer steps of the last fit (a later validate-only trainer has its own count)

    @property
    def tower(self) -> torch.nn.Module:
        """The vision tower (a submodule of ``model``; not registered twice, so the state dict names it once)."""
        return self.model.get_submodule(self.parts.vision_tower)

    @property
    def projector(self) -> torch.nn.Module:
        """The image-to-LM projector (a submodule of ``model``)."""
        return self.model.get_submodule(self.parts.projector)

    # ---- what FineTuneModule needs -------------------------------------------------------------------------------
    def trainable_parameters(self) -> list[torch.nn.Parameter]:
        return [p for p in self.model.parameters() if p.requires_grad]

    def base_config(self) -> PretrainedConfig:
        return self.model.config.text_config

    def identity_extras(self) -> dict[str, Any]:
        return {"vision": self.vision.to_dict()}

    def write_adapters(self, path: Path) -> None:
        """The whole VLM, processor (with chat template) and ``alignment.json`` into ``path``."""
        self.model.save_pretrained(path, safe_serialization=True)
        self.processor.save_pretrained(path)
        (path / "alignment.json").write_text(self.alignment_record())

    def alignment_record(self) -> str:
        """``alignment.json``: the language model, vision spec, steps and the latest validation metrics."""
        record = {
            "language_model": self.base_name,
            "vision": self.vision.to_dict(),
            "steps": self.trained_steps,
            "objective": "image tokens regressed onto the frozen LM's embeddings of the slot caption",
            "metrics": self.last_metrics,
        }
        return json.dumps(record, indent=2) + "\n"

    def on_train_end(self) -> None:
        self.trained_steps = self.trainer.global_step
        super().on_train_end()

    def on_train_start(self) -> None:
        self.model.eval()  # the frozen language model: no dropout
        self.tower.train()
        self.projector.train()

    # ---- the stage -------------------------------------------------------------------------------------------------
    def image_tokens(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """(B, T, d_lm) the projector's output: what replaces the ``<image>`` tokens in the LM's input."""
        out = self.model.model.get_image_features(
            pixel_values=pixel_values, vision_feature_layer=-1, vision_feature_select_strategy="full"
        )
        return torch.stack(list(out.pooler_output))

    def loss(self, batch: CaptionBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """The relative squared error to the caption embeddings, and the image tokens."""
        tokens = self.image_tokens(batch.pixel_values)
        target = self.embeddings[batch.slot_ids]
        return (tokens - target).pow(2).sum(-1).mean() / target.pow(2).sum(-1).mean(), tokens

    def training_step(self, batch: CaptionBatch, batch_idx: int) -> torch.Tensor:
        loss, _ = self.loss(batch)
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch.slot_ids))
        return loss

    def decode(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, T) the vocabulary id whose input embedding is nearest (L2) to each image token."""
        distance = self.embeddings.pow(2).sum(-1) - 2 * tokens @ self.embeddings.T
        return distance.argmin(-1)

    def validation_step(self, batch: CaptionBatch, batch_idx: int) -> None:
        loss, tokens = self.loss(batch)
        right = self.decode(tokens) == batch.slot_ids
        n = len(batch.slot_ids)
        self.log("val/loss", loss, batch_size=n)
        objects = self.object_slot.expand_as(right)
        for name, mask in (("seen", objects & ~batch.held_out), ("held_out", objects & batch.held_out)):
            if mask.any():
                self.log(f"val/slot_accuracy_{name}", right[mask].float().mean(), batch_size=int(mask.sum()))
        self.log("val/layout_accuracy", right[~objects].float().mean(), batch_size=int((~objects).sum()))
        for kind, offset in OBJECT_SLOTS.items():
            slots = right[:, offset:CAPTION_WORDS:WORDS_PER_CELL]  # this word of every cell
            self.log(f"val/{kind}_accuracy", slots.float().mean(), batch_size=n)

    def on_validation_epoch_end(self) -> None:
        metrics = self.trainer.callback_metrics
        self.last_metrics = {k: round(float(v), 4) for k, v in metrics.items() if k.startswith("val/")}
        if self.last_metrics:
            rank_zero_info(f"vision alignment step {self.global_step}: {self.last_metrics}")
