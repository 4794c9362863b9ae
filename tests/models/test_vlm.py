"""Tiny VLMs of two real architectures: offline loading, image tokens, generation, LoRA on the language model only."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from peft import LoraConfig, TaskType, get_peft_model
from PIL import Image

from perl_lightning.models.vlm import (
    TINY_VLMS,
    language_model_lora_targets,
    load_vlm,
    vision_modules_to_save,
    vision_parts,
)

pytestmark = pytest.mark.usefixtures("one_thread")

#: <image> tokens per image: Llava 16 patches (CLS dropped); Idefics3 2x2 tiles + a global view, 4 tokens each.
IMAGE_TOKENS = {"tiny-llava": 16, "tiny-idefics3": 20}
QUESTIONS = ("What is this?", "Which colour is the square on the left?")


def _images(seed: int = 0) -> list[Image.Image]:
    rs = np.random.RandomState(seed)
    return [Image.fromarray((rs.rand(h, w, 3) * 255).astype("uint8")) for h, w in ((48, 64), (40, 40))]


def _inputs(processor, images: list[Image.Image]) -> dict[str, torch.Tensor]:
    processor.tokenizer.padding_side = "left"
    texts = [
        processor.apply_chat_template(
            [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": q}]}], add_generation_prompt=True
        )
        for q in QUESTIONS
    ]
    return dict(processor(text=texts, images=images, return_tensors="pt", padding=True))


def _lm_loss(model, inputs: dict[str, torch.Tensor], image_token_id: int) -> torch.Tensor:
    ids = inputs["input_ids"]
    labels = ids.masked_fill((inputs["attention_mask"] == 0) | (ids == image_token_id), -100)
    return model(**inputs, labels=labels).loss


@pytest.mark.parametrize("name", sorted(TINY_VLMS))
def test_tiny_vlm_forward_and_generate_with_images(name):
    model, processor = load_vlm(name, dtype="fp32")
    model.eval()
    inputs = _inputs(processor, _images())
    image_token_id = model.config.image_token_id
    assert (inputs["input_ids"] == image_token_id).sum(-1).tolist() == [IMAGE_TOKENS[name]] * 2
    with torch.no_grad():
        logits = model(**inputs).logits
        assert logits.shape == (*inputs["input_ids"].shape, model.config.get_text_config().vocab_size)
        assert torch.isfinite(logits).all()
        other = model(**_inputs(processor, _images(seed=1))).logits
        assert not torch.allclose(other[:, -1], logits[:, -1]), "the image does not reach the language model"
        out = model.generate(**inputs, max_new_tokens=3, do_sample=False)
        assert out.shape == (2, inputs["input_ids"].shape[1] + 3)
        torch.manual_seed(0)
        k = model.generate(**inputs, max_new_tokens=3, do_sample=True, num_return_sequences=2)
        assert k.shape == (4, inputs["input_ids"].shape[1] + 3)


@pytest.mark.parametrize("name", sorted(TINY_VLMS))
def test_one_image_encoding_serves_k_samples(name):
    """Features from ``get_image_features`` passed as ``mm_encoder_outputs`` (what ``generate`` does before prefill)
    give the same logits as re-encoding the image for each of the ``k`` rows that repeat a prompt."""
    model, processor = load_vlm(name, dtype="fp32")
    inputs, k = _inputs(processor, _images()), 3
    pixels = {key: value for key, value in inputs.items() if key.startswith("pixel")}
    text = {key: inputs[key].repeat_interleave(k, 0) for key in ("input_ids", "attention_mask")}
    with torch.no_grad():
        repeated = model.eval()(**text, **{key: value.repeat_interleave(k, 0) for key, value in pixels.items()})
        features = model.base_model.get_image_features(**pixels, return_dict=True)
        features.pooler_output = [f for f in features.pooler_output for _ in range(k)]  # one encoding per image
        shared = model(**text, mm_encoder_outputs={"image": features})
    assert torch.allclose(shared.logits, repeated.logits, atol=1e-5)


@pytest.mark.parametrize("name", sorted(TINY_VLMS))
def test_tiny_vlm_reloads_through_the_auto_classes(name, tmp_path):
    model, processor = load_vlm(name, dtype="fp32")
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    again, processor_again = load_vlm(str(tmp_path), dtype="fp32")
    assert type(again) is type(model) and type(processor_again) is type(processor)
    assert processor_again.chat_template == processor.chat_template
    inputs, inputs_again = _inputs(processor, _images()), _inputs(processor_again, _images())
    assert inputs.keys() == inputs_again.keys() and all(torch.equal(inputs[k], inputs_again[k]) for k in inputs)
    with torch.no_grad():
        assert torch.equal(model.eval()(**inputs).logits, again.eval()(**inputs_again).logits)


@pytest.mark.parametrize("name", sorted(TINY_VLMS))
def test_lora_targets_match_the_language_model_only(name):
    model, _ = load_vlm(name, dtype="fp32")
    parts = vision_parts(model)
    assert parts.vision_tower and parts.projector and parts.language_model
    names = [n for n, _ in model.named_modules()]
    for suffixes in (None, "all-linear"):
        pattern = language_model_lora_targets(model, suffixes)
        matched = [n for n in names if re.fullmatch(pattern, n)]
        assert matched and all(n.startswith(parts.language_model + ".") for n in matched)
        assert not [n for n in matched if n.startswith((parts.vision_tower, parts.projector))]
        assert not [n for n in matched if "lm_head" in n]
    layers = model.get_submodule(parts.language_model).config.num_hidden_layers
    assert len([n for n in names if re.fullmatch(language_model_lora_targets(model), n)]) == 4 * layers
    # the pitfall the regex avoids: the vision tower's attention has identically named projections
    assert any(n.startswith(parts.vision_tower + ".") and n.endswith(".q_proj") for n in names)


@pytest.mark.parametrize("name", sorted(TINY_VLMS))
def test_lora_step_leaves_vision_tower_and_projector_bit_identical(name):
    model, processor = load_vlm(name, dtype="fp32")
    parts = vision_parts(model)
    config = LoraConfig(
        r=2, lora_alpha=4, target_modules=language_model_lora_targets(model), task_type=TaskType.CAUSAL_LM
    )
    peft_model = get_peft_model(model, config)
    frozen = {n: p.detach().clone() for n, p in peft_model.named_parameters() if "lora_" not in n}
    vision = [n for n in frozen if f".{parts.vision_tower}." in n or f".{parts.projector}." in n]
    assert vision and not any(peft_model.get_parameter(n).requires_grad for n in vision)
    assert not any("lora_" in n and (parts.vision_tower in n or parts.projector in n) for n, _ in model.named_modules())
    lora_b = {n: p.detach().clone() for n, p in peft_model.named_parameters() if "lora_B" in n}
    trainable = [p for p in peft_model.parameters() if p.requires_grad]
    assert lora_b and all("lora_" in n for n, p in peft_model.named_parameters() if p.requires_grad)
    optimizer = torch.optim.AdamW(trainable, lr=1e-2)
    inputs = _inputs(processor, _images())
    _lm_loss(peft_model, inputs, model.config.image_token_id).backward()
    optimizer.step()
    assert all(not torch.equal(p, lora_b[n]) for n, p in peft_model.named_parameters() if n in lora_b)
    assert all(torch.equal(peft_model.get_parameter(n), before) for n, before in frozen.items())
    with torch.no_grad():
        out = peft_model.generate(**inputs, max_new_tokens=2, do_sample=False)
    assert out.shape == (2, inputs["input_ids"].shape[1] + 2)


@pytest.mark.parametrize("name", sorted(TINY_VLMS))
def test_projector_trains_per_adapter_through_modules_to_save(name):
    model, processor = load_vlm(name, dtype="fp32")
    parts = vision_parts(model)
    inputs = _inputs(processor, _images())
    with torch.no_grad():
        reference = model.eval()(**inputs).logits
    assert vision_modules_to_save(model) == [parts.projector]
    assert vision_modules_to_save(model, projector=True, vision_tower=True) == [parts.projector, parts.vision_tower]
    config = LoraConfig(
        r=2,
        lora_alpha=4,
        target_modules=language_model_lora_targets(model),
        modules_to_save=vision_modules_to_save(model),
        task_type=TaskType.CAUSAL_LM,
    )
    peft_model = get_peft_model(model, config)
    before = {n: p.detach().clone() for n, p in peft_model.named_parameters()}
    optimizer = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad], lr=1e-2)
    _lm_loss(peft_model.train(), inputs, model.config.image_token_id).backward()
    optimizer.step()
    changed = {n for n, p in peft_model.named_parameters() if not torch.equal(p, before[n])}
    copy = {n for n in before if f".{parts.projector}.modules_to_save." in n}
    assert copy and copy <= changed, "the adapter's projector copy did not train"
    assert all("lora_" in n or n in copy for n in changed), "a frozen parameter changed"
    with torch.no_grad(), peft_model.disable_adapter():
        assert torch.equal(peft_model.eval()(**inputs).logits, reference), "the reference pass moved"
