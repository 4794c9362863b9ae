"""Prompts with images for vision-language models: the processor's token ids and pixel tensors of one prompt, and
the pixel tensors of a batch (one entry per row, padded to a common shape)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image
from transformers import ProcessorMixin

from perl_lightning.rl.types import ImageInputs, Prompt

#: Processor outputs that are image inputs of the model (the rest, ``input_ids`` / ``attention_mask``, are text).
TEXT_KEYS = ("input_ids", "attention_mask", "token_type_ids", "mm_token_type_ids")


def encode_image_prompt(
    processor: ProcessorMixin, prompt: Prompt, images: Sequence[Any]
) -> tuple[list[int], dict[str, torch.Tensor]]:
    """Token ids of a chat prompt with its images (the processor expands each ``{"type": "image"}`` part into the
    model's image tokens), ready for the response to follow, and its pixel tensors with a leading dimension of 1.

    Raises:
        ValueError: the prompt is not chat messages, its image parts and ``images`` differ in number, or the
            processor stacks several images of one prompt along the batch dimension (LLaVA-style processors; one
            image per prompt is supported there).
    """
    if isinstance(prompt, str):
        raise ValueError("a prompt with images must be chat messages with {'type': 'image'} content parts")
    contents = [m["content"] for m in prompt if not isinstance(m["content"], str)]
    parts = sum(1 for content in contents for part in content if part.get("type") == "image")
    if parts != len(images):
        raise ValueError(f"the prompt has {parts} image parts but {len(images)} images came with it")
    text = processor.apply_chat_template(list(prompt), add_generation_prompt=True, tokenize=False)
    out = processor(text=[text], images=[list(images)], return_tensors="pt")
    pixels = {k: v for k, v in out.items() if k not in TEXT_KEYS and isinstance(v, torch.Tensor)}
    for name, value in pixels.items():
        if value.shape[0] != 1:
            raise ValueError(f"{type(processor).__name__} returns {name} with {value.shape[0]} entries for one prompt "
                             f"of {len(images)} images: use one image per prompt with this architecture")  # fmt: skip
    return out["input_ids"][0].tolist(), pixels


def checked_image_prompt(
    processor: ProcessorMixin | None, prompt: Prompt, images: Sequence[Any], limit: int, what: str
) -> tuple[list[int], dict[str, torch.Tensor]]:
    """:func:`encode_image_prompt` for a DataModule: ``what`` (e.g. ``prompt 'q17'``) names the example in the errors.

    Raises:
        ValueError: no processor (the model is a text model), or the prompt with its image tokens is not under
            ``limit`` tokens (prompts with images are never cut: they would lose image tokens).
    """
    if processor is None:
        raise ValueError(f"{what} has images but the model is a text model (no processor): use a vision-language "
                         "model")  # fmt: skip
    ids, pixels = encode_image_prompt(processor, prompt, images)
    if len(ids) >= limit:
        raise ValueError(f"{what} is {len(ids)} tokens with its image tokens, not under {limit}: prompts with images "
                         "are not truncated")  # fmt: skip
    return ids, pixels


def batch_images(pixels: Sequence[dict[str, torch.Tensor] | None], index: torch.Tensor) -> ImageInputs | None:
    """A batch's :class:`ImageInputs` from its items' pixel tensors (``None`` for text items), ``index`` mapping rows
    to items; ``None`` when no item has images.

    Raises:
        ValueError: the batch mixes items with and without images.
    """
    if all(p is None for p in pixels):
        return None
    if any(p is None for p in pixels):
        raise ValueError("a batch mixes examples with and without images")
    return ImageInputs(stack_pixels(pixels), index)  # type: ignore[arg-type]


def stack_pixels(rows: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The pixel tensors of a batch: each row's (1, ...) tensors zero-padded to the largest shape and concatenated.
    Zero padding is what the processors themselves use (Idefics3 treats an all-zero tile as padding, and its
    ``pixel_attention_mask`` marks the padded pixels)."""
    names = set(rows[0]) if rows else set()
    if any(set(r) != names for r in rows):
        raise ValueError("the rows of a batch carry different image tensors")
    out = {}
    for name in sorted(names):
        tensors = [r[name] for r in rows]
        shape = [max(t.shape[d] for t in tensors) for d in range(tensors[0].dim())]
        padded = []
        for t in tensors:
            pad = [x for d in reversed(range(1, t.dim())) for x in (0, shape[d] - t.shape[d])]
            padded.append(F.pad(t, pad) if any(pad) else t)
        out[name] = torch.cat(padded)
    return out


def pixels_to_image(pixel_values: torch.Tensor, processor: ProcessorMixin) -> Image.Image:
    """What the model saw of one row's image, as a PIL image: its ``pixel_values`` (``(C, H, W)``, or Idefics3's
    ``(tiles, C, H, W)``, whose last tile is the whole image) with the processor's normalisation undone."""
    x = pixel_values.detach().float().cpu()
    while x.dim() > 3:  # tiles: the last one is the global view
        x = x[-1]
    proc = getattr(processor, "image_processor", processor)
    mean = torch.tensor(getattr(proc, "image_mean", None) or [0.0, 0.0, 0.0]).view(-1, 1, 1)
    std = torch.tensor(getattr(proc, "image_std", None) or [1.0, 1.0, 1.0]).view(-1, 1, 1)
    x = (x * std + mean).clamp(0, 1)
    return Image.fromarray((x.permute(1, 2, 0).numpy() * 255).round().astype("uint8"))
