"""Vision-language backbones: load by hub id / local path / tiny test name, and say which parts LoRA adapts.

A VLM here is any transformers ``AutoModelForImageTextToText`` model with its ``AutoProcessor`` (image processor,
tokenizer with image tokens, chat template). Three parts matter for parameter-efficient RLHF:

* the **language model** (``get_decoder()``): LoRA adapts its linear layers, by default only these;
* the **projector** (image features -> LM embeddings): frozen by default, trainable per adapter through peft's
  ``modules_to_save`` (each adapter gets its own copy, so the reference pass with adapters off still sees the frozen
  original);
* the **vision tower** (``get_encoder(modality="image")``): frozen, optionally a ``modules_to_save`` copy too.

The vision tower's attention layers are also named ``q_proj``/``k_proj``/``v_proj``, so plain suffix targets such as
``["q_proj", "v_proj"]`` would adapt it as well; :func:`language_model_lora_targets` returns a regex anchored at the
language model instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
from peft import LoraConfig, TaskType
from torch import nn
from transformers import (
    MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING,
    AutoConfig,
    AutoModelForImageTextToText,
    AutoProcessor,
    CLIPImageProcessorPil,
    CLIPVisionConfig,
    Idefics3Config,
    Idefics3ImageProcessorPil,
    Idefics3Processor,
    Idefics3VisionConfig,
    LlamaConfig,
    LlavaConfig,
    LlavaProcessor,
    PreTrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    ProcessorMixin,
)

from perl_lightning.models.adapters import LoRAConfig, default_target_modules, head_names, peft_lora_config
from perl_lightning.models.backbone import TINY_MODELS, load_tokenizer, resolve_dtype, resolve_model_path
from perl_lightning.models.embedded import SMOLLM2_VLM
from perl_lightning.models.forward import transformers_model

#: SmolLM2's ChatML template, with a message's content either a string or a list of ``{"type": "image"}`` /
#: ``{"type": "text", "text": ...}`` parts; each image part becomes one ``<image>`` placeholder, which the processor
#: expands to the model's number of image tokens.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\n' }}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}{{ '<image>' }}"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "{{ '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

#: The tiny vision encoders: 32x32 images in 8x8 patches (16 patches), 2 layers of width 32.
_TINY_VISION = dict(
    hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, image_size=32, patch_size=8
)
#: Module names that transformers VLMs give their image-to-LM projector (Llava, PaliGemma, Gemma 3, Mllama:
#: ``multi_modal_projector``; Idefics3 / SmolVLM: ``connector``; Qwen2-VL: ``visual.merger``; others).
PROJECTOR_NAMES: tuple[str, ...] = ("multi_modal_projector", "connector", "mm_projector", "merger", "projector")


def _text_config(tokenizer: PreTrainedTokenizerBase) -> LlamaConfig:
    """tiny-llama's text network with the vocabulary of ``tokenizer`` (SmolLM2's plus the added image tokens)."""
    return LlamaConfig(
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        **TINY_MODELS["tiny-llama"],
    )


def _tiny_llava() -> tuple[PreTrainedConfig, ProcessorMixin]:
    """LLaVA-1.5's layout: CLIP vision tower (with a CLS token), 2-layer GELU MLP projector, Llama LM.

    ``vision_feature_select_strategy="default"`` drops the CLS token, so an image is (32 / 8)^2 = 16 ``<image>``
    tokens; the processor counts the CLS through ``num_additional_image_tokens=1`` and removes it again.
    """
    tokenizer = load_tokenizer("tiny-llama")
    tokenizer.add_special_tokens({"extra_special_tokens": ["<image>"]})
    image_processor = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=_TINY_VISION["patch_size"],
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        image_token="<image>",
        chat_template=CHAT_TEMPLATE,
    )
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(**_TINY_VISION),
        text_config=_text_config(tokenizer),
        image_token_index=processor.image_token_id,
        image_seq_length=(_TINY_VISION["image_size"] // _TINY_VISION["patch_size"]) ** 2,
        vision_feature_layer=-1,
        vision_feature_select_strategy="default",
        tie_word_embeddings=True,
    )
    return config, processor


def _tiny_idefics3() -> tuple[PreTrainedConfig, ProcessorMixin]:
    """Idefics3 / SmolVLM's layout: SigLIP-style vision tower, pixel-shuffle connector, Llama LM.

    The connector folds 2x2 patches into one token (``scale_factor=2``): a 32x32 tile is 16 / 4 = 4 ``<image>``
    tokens (``image_seq_len``). Images are resized to longest edge 64 and split into 32x32 tiles plus a 32x32
    global view; each tile is wrapped in ``<fake_token_around_image><row_i_col_j>`` as in SmolVLM's tokenizer.
    """
    tokenizer = load_tokenizer("tiny-llama")
    tiles = [f"<row_{i + 1}_col_{j + 1}>" for i in range(6) for j in range(6)]
    extra = ["<fake_token_around_image>", "<image>", "<end_of_utterance>", "<global-img>", *tiles]
    tokenizer.add_special_tokens({"extra_special_tokens": extra})
    scale = 2
    image_seq_len = (_TINY_VISION["image_size"] // _TINY_VISION["patch_size"]) ** 2 // scale**2
    image_processor = Idefics3ImageProcessorPil(
        size={"longest_edge": 2 * _TINY_VISION["image_size"]},
        max_image_size={"longest_edge": _TINY_VISION["image_size"]},
        do_image_splitting=True,
    )
    processor = Idefics3Processor(
        image_processor=image_processor, tokenizer=tokenizer, image_seq_len=image_seq_len, chat_template=CHAT_TEMPLATE
    )
    config = Idefics3Config(
        vision_config=Idefics3VisionConfig(**_TINY_VISION),
        text_config=_text_config(processor.tokenizer),
        image_token_id=processor.image_token_id,
        scale_factor=scale,
        tie_word_embeddings=True,
        pad_token_id=processor.tokenizer.pad_token_id,
    )
    return config, processor


#: Tiny randomly initialised VLMs of real architectures for unit tests: SmolLM2's tokenizer with the image tokens
#: added, a tiny seeded network, an image processor with 32-pixel tiles. Each entry builds (config, processor).
TINY_VLMS: dict[str, Callable[[], tuple[PreTrainedConfig, ProcessorMixin]]] = {
    "tiny-llava": _tiny_llava,
    "tiny-idefics3": _tiny_idefics3,
}


def load_vlm_processor(name_or_path: str, trust_remote_code: bool = False) -> ProcessorMixin:
    """A vision-language model's processor alone (a tiny test name's, or ``AutoProcessor`` on a directory / hub id),
    with a pad token."""
    if name_or_path in TINY_VLMS:
        processor = TINY_VLMS[name_or_path]()[1]
    else:
        processor = AutoProcessor.from_pretrained(resolve_model_path(name_or_path), trust_remote_code=trust_remote_code)
    if processor.tokenizer.pad_token_id is None:
        processor.tokenizer.pad_token = processor.tokenizer.eos_token
    return processor


def load_vlm(
    name_or_path: str,
    dtype: str | torch.dtype = "auto",
    device: str | torch.device | None = None,
    trust_remote_code: bool = False,
) -> tuple[PreTrainedModel, ProcessorMixin]:
    """Load a vision-language model and its processor.

    Args:
        name_or_path: hub id or local directory (``AutoModelForImageTextToText`` + ``AutoProcessor``, the real
            loading path), or a tiny test name from :data:`TINY_VLMS` (built from its config, seeded).
        dtype: ``"auto"`` (bf16 with CUDA, else fp32), ``"fp32"``, ``"bf16"`` or ``"fp16"``.
        device: where to put the model; ``None`` leaves it on CPU.
        trust_remote_code: passed to transformers; off unless the user sets it.

    Returns:
        ``(model, processor)``; the tokenizer (``processor.tokenizer``) has a pad token, also set on the model's
        generation config.
    """
    if name_or_path in TINY_VLMS:
        config, processor = TINY_VLMS[name_or_path]()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)  # the same tiny network every time: tests compare loads
            model = AutoModelForImageTextToText.from_config(config, dtype=torch.float32)
        model = model.to(resolve_dtype(dtype))
        model.config.name_or_path = name_or_path
    else:
        kwargs: dict = dict(trust_remote_code=trust_remote_code)
        path = resolve_model_path(name_or_path)  # the embedded VLM's cache directory; anything else unchanged
        try:
            model = AutoModelForImageTextToText.from_pretrained(path, dtype=resolve_dtype(dtype), **kwargs)
            processor = AutoProcessor.from_pretrained(path, **kwargs)
        except (OSError, ValueError) as err:
            raise OSError(
                f"could not load vision-language model '{name_or_path}' (a local directory, a hub id in the cache "
                f"or online, or one of the tiny test names {sorted(TINY_VLMS)}): {err}"
            ) from err
    tokenizer = processor.tokenizer
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    if getattr(model, "generation_config", None) is not None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    if device is not None:
        model = model.to(device)
    return model, processor


class VisionParts(NamedTuple):
    """Qualified module names (as peft and ``named_modules`` see them on the transformers model) of a VLM's parts.

    ``vision_tower`` and ``projector`` are ``None`` when the model has none; the projector may lie inside the vision
    tower (Qwen2-VL's ``visual.merger``).
    """

    language_model: str
    vision_tower: str | None
    projector: str | None


def _name_of(root: nn.Module, module: nn.Module) -> str | None:
    return next((name for name, m in root.named_modules() if m is module), None)


def vision_parts(model: nn.Module) -> VisionParts:
    """Find the language model, vision tower and projector of ``model`` (a VLM, or a ``PeftModel`` around one).

    Uses transformers' own lookups (``PreTrainedModel.get_decoder`` / ``get_encoder(modality="image")``) and, for
    the projector, the first module named one of :data:`PROJECTOR_NAMES` outside the language model.
    """
    base = transformers_model(model)
    language = _name_of(base, base.get_decoder())
    if not language:
        raise ValueError(f"{type(base).__name__} has no separate language model (get_decoder() returned the model)")
    encoder = base.get_encoder(modality="image") if hasattr(base, "get_encoder") else base
    vision = _name_of(base, encoder) or None  # "" is the model itself: no vision tower
    projector = next(
        (
            name
            for name, _ in base.named_modules()
            if name.rsplit(".", 1)[-1] in PROJECTOR_NAMES and not name.startswith(language + ".")
        ),
        None,
    )
    return VisionParts(language_model=language, vision_tower=vision, projector=projector)


def language_model_lora_targets(model: nn.Module, suffixes: Sequence[str] | str | None = None) -> str:
    """A peft ``target_modules`` regex matching linear layers of the language model only.

    peft full-matches a string ``target_modules`` against every module name, so the pattern
    ``model\\.language_model\\.(?:.*\\.)?(?:q_proj|v_proj)`` adapts the LM's projections and none of the vision
    tower's identically named ones, nor the projector, nor ``lm_head`` (which lies outside the LM).

    Args:
        model: the VLM (or a ``PeftModel`` around one).
        suffixes: module name suffixes to adapt inside the language model; ``None`` picks the attention
            projections of the text architecture (as :func:`~perl_lightning.models.adapters.default_target_modules`),
            ``"all-linear"`` every ``nn.Linear`` in the language model.

    Returns:
        The regex, for ``LoraConfig(target_modules=...)``.
    """
    base = transformers_model(model)
    prefix = vision_parts(base).language_model
    decoder = base.get_submodule(prefix)
    if suffixes is None:
        suffixes = default_target_modules(decoder)
    elif suffixes == "all-linear":
        suffixes = sorted({n.rsplit(".", 1)[-1] for n, m in decoder.named_modules() if isinstance(m, nn.Linear)})
    elif isinstance(suffixes, str):
        suffixes = [suffixes]
    alternatives = "|".join(re.escape(s) for s in suffixes)
    return rf"{re.escape(prefix)}\.(?:.*\.)?(?:{alternatives})"


def vision_modules_to_save(model: nn.Module, projector: bool = True, vision_tower: bool = False) -> list[str]:
    """Names for peft's ``modules_to_save``: the parts of the vision path that an adapter trains in full.

    Each adapter then holds its own copy of these modules; the originals stay frozen, so the reference pass (adapters
    disabled) and the other adapters keep seeing the untouched projector and vision tower.
    """
    parts = vision_parts(model)
    names = [parts.projector] if projector and parts.projector else []
    if vision_tower and parts.vision_tower:
        names = [n for n in names if not n.startswith(parts.vision_tower + ".")] + [parts.vision_tower]
    return names


def is_vlm(name_or_path: str, trust_remote_code: bool = False) -> bool:
    """Whether a model name / path is a vision-language (image-text-to-text) model: a :data:`TINY_VLMS` name, or a
    config that ``AutoModelForImageTextToText`` maps (read from the local directory or the hub cache; a name whose
    config cannot be read is taken for a text model, whose own loader then reports the problem)."""
    if name_or_path in TINY_VLMS or name_or_path == SMOLLM2_VLM:
        return True
    if name_or_path in TINY_MODELS:
        return False
    try:
        config = AutoConfig.from_pretrained(resolve_model_path(name_or_path), trust_remote_code=trust_remote_code)
    except (OSError, ValueError):
        return False
    return type(config) in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING


def vlm_peft_config(lora: LoRAConfig, model: nn.Module, task_type: TaskType | None = None) -> LoraConfig:
    """peft's ``LoraConfig`` for a VLM: LoRA on the language model's linear layers only (``lora.target_modules`` as
    suffixes inside it, the attention projections by default), and the projector / vision tower as per-adapter
    ``modules_to_save`` copies when ``lora.train_projector`` / ``lora.train_vision_tower`` ask for them."""
    targets = language_model_lora_targets(model, lora.target_modules)
    save = vision_modules_to_save(model, projector=lora.train_projector, vision_tower=lora.train_vision_tower)
    heads = lora.modules_to_save if lora.modules_to_save is not None else head_names(transformers_model(model))
    return peft_lora_config(lora, targets, [*save, *heads], task_type)


def add_score_head(model: PreTrainedModel) -> PreTrainedModel:
    """Give a VLM a reward model's ``score`` head: a zero ``Linear(hidden, 1)`` that reads the language model's last
    hidden state at each sequence's last real token (transformers has no sequence-classification VLMs). peft then
    trains and saves it like a ``*ForSequenceClassification`` model's ``score`` (``modules_to_save``), so the saved
    reward adapter rides on a policy's VLM backbone like a text one."""
    hidden = model.config.get_text_config(decoder=True).hidden_size
    dtype = next(model.parameters()).dtype
    model.score = nn.Linear(hidden, 1, bias=False, dtype=dtype)
    nn.init.zeros_(model.score.weight)
    return model
