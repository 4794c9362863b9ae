"""The embedded vision-language model ``smollm2-135m-vlm``: SmolLM2-135M-Instruct as the language model of a
LLaVA-style model composed from transformers classes (``LlavaForConditionalGeneration``: a SigLIP vision tower, a
2-layer GELU projector, the language model).

No pretrained vision encoder ships through the package registry, so the tower and projector are trained by the
project: the alignment pre-stage (``perl_lightning.modules.vision_align``, ``conf/vqa/align.yaml``; LLaVA's stage 1,
language model frozen) writes the whole model, processor and chat template into ``cache_dir()/smollm2-135m-vlm``
once; from then on ``smollm2-135m-vlm`` loads like any hub checkpoint, through ``AutoModelForImageTextToText`` and
``AutoProcessor`` (:func:`perl_lightning.models.vlm.load_vlm`). This module builds the untrained composition
(:func:`compose_vlm`) and says where the cache lives; ``models/embedded.py`` resolves the name.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoTokenizer,
    LlavaConfig,
    LlavaForConditionalGeneration,
    LlavaProcessor,
    SiglipImageProcessorPil,
    SiglipVisionConfig,
)

from perl_lightning.models.embedded import SMOLLM2, SMOLLM2_VLM, embedded_path
from perl_lightning.models.vlm import CHAT_TEMPLATE

__all__ = ["IMAGE_TOKEN", "VisionSpec", "compose_vlm", "image_processor"]

IMAGE_TOKEN = "<image>"


@dataclass
class VisionSpec:
    """The vision half of a composed VLM: a SigLIP-style ViT (no CLS token, every patch is one image token) and the
    LLaVA projector into the language model's embedding width.

    Attributes:
        image_size: images are resized to ``image_size`` x ``image_size`` pixels.
        patch_size: side of a patch; an image is ``(image_size / patch_size) ** 2`` image tokens.
        hidden_size: width of the vision tower.
        intermediate_size: width of its MLPs.
        num_layers: transformer layers of the tower.
        num_heads: attention heads of the tower.
        seed: initialisation seed of the tower and projector.
    """

    image_size: int = 64
    patch_size: int = 8
    hidden_size: int = 192
    intermediate_size: int = 768
    num_layers: int = 4
    num_heads: int = 3
    seed: int = 0

    def __post_init__(self) -> None:
        if self.image_size % self.patch_size:
            raise ValueError(f"image_size {self.image_size} is not a multiple of patch_size {self.patch_size}")
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not a multiple of num_heads {self.num_heads}")

    @property
    def image_tokens(self) -> int:
        """Image tokens per image (one per patch)."""
        return (self.image_size // self.patch_size) ** 2

    def to_dict(self) -> dict[str, int]:
        """The fields as a plain dict (for ``alignment.json``)."""
        return asdict(self)


def image_processor(spec: VisionSpec) -> SiglipImageProcessorPil:
    """The image processor of a composed VLM: resize to the spec's square, scale to [0, 1], normalise to [-1, 1]
    (SigLIP's mean and std of 0.5). The PIL backend: torchvision is not a dependency."""
    return SiglipImageProcessorPil(
        size={"height": spec.image_size, "width": spec.image_size},
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    )


def compose_vlm(
    spec: VisionSpec, language_model: str = SMOLLM2
) -> tuple[LlavaForConditionalGeneration, LlavaProcessor]:
    """Build the LLaVA-style VLM: the language model's pretrained weights, a freshly initialised (seeded) vision
    tower and projector, the tokenizer with ``<image>`` added, and a ``LlavaProcessor`` with SmolLM2's chat template.

    Args:
        spec: the vision tower and projector shapes (:class:`VisionSpec`).
        language_model: the embedded name or a local directory of a causal LM (default: SmolLM2-135M-Instruct).

    Returns:
        ``(model, processor)`` in fp32 on CPU. The language model's logits on text are those of the original model
        (the added ``<image>`` row of the embeddings is never read: image features replace it).
    """
    path = embedded_path(language_model) if language_model == SMOLLM2 else Path(language_model)
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.add_special_tokens({"extra_special_tokens": [IMAGE_TOKEN]})
    processor = LlavaProcessor(
        image_processor=image_processor(spec),
        tokenizer=tokenizer,
        patch_size=spec.patch_size,
        vision_feature_select_strategy="full",
        num_additional_image_tokens=0,
        image_token=IMAGE_TOKEN,
        chat_template=CHAT_TEMPLATE,
    )
    text_config = AutoConfig.from_pretrained(path)
    text_config.vocab_size = len(tokenizer)
    config = LlavaConfig(
        vision_config=SiglipVisionConfig(
            image_size=spec.image_size,
            patch_size=spec.patch_size,
            hidden_size=spec.hidden_size,
            intermediate_size=spec.intermediate_size,
            num_hidden_layers=spec.num_layers,
            num_attention_heads=spec.num_heads,
            vision_use_head=False,  # LLaVA reads patch features; a pooling head would be dead weight
        ),
        text_config=text_config,
        image_token_index=processor.image_token_id,
        image_seq_length=spec.image_tokens,
        vision_feature_layer=-1,
        vision_feature_select_strategy="full",
        projector_hidden_act="gelu",
        tie_word_embeddings=getattr(text_config, "tie_word_embeddings", True),
        pad_token_id=tokenizer.pad_token_id,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.seed)
        model = LlavaForConditionalGeneration(config)
    lm = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    lm.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    model.model.language_model.load_state_dict(lm.model.state_dict(), strict=True)  # raises on any mismatch
    if not config.tie_word_embeddings:
        model.lm_head.load_state_dict(lm.lm_head.state_dict())
    model.tie_weights()
    model.config.name_or_path = SMOLLM2_VLM
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model.eval(), processor
