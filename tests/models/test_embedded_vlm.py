"""The embedded VLM's composition: SmolLM2 unchanged inside a LLaVA model; the name loads once the cache is built."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM

from perl_lightning.models.embedded import SMOLLM2, SMOLLM2_VLM, embedded_path
from perl_lightning.models.embedded_vlm import VisionSpec, compose_vlm
from perl_lightning.models.vlm import is_vlm, load_vlm, vision_parts
from perl_lightning.tasks.visual.scenes import render

SPEC = VisionSpec(hidden_size=32, intermediate_size=64, num_layers=1, num_heads=2)
SCENE = {"objects": [{"shape": "circle", "color": "red", "size": "large", "x": 0.5, "y": 0.5, "column": "center",
                      "row": "middle"}]}  # fmt: skip


@pytest.fixture(scope="module")
def composed():
    return compose_vlm(SPEC)


def _inputs(processor, image=True):
    content = [{"type": "image"}, {"type": "text", "text": "What shape is it?"}] if image else "What shape is it?"
    text = processor.apply_chat_template([{"role": "user", "content": content}], add_generation_prompt=True)
    return processor(images=[render(SCENE)] if image else None, text=[text], return_tensors="pt")


def test_language_model_is_smollm2_unchanged(composed):
    model, processor = composed
    assert vision_parts(model).language_model == "model.language_model"
    assert processor.image_token_id == len(processor.tokenizer) - 1 == model.config.image_token_index
    assert model.lm_head.weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()  # tied, as in SmolLM2
    text = _inputs(processor, image=False)
    lm = AutoModelForCausalLM.from_pretrained(embedded_path(SMOLLM2), dtype=torch.float32).eval()
    with torch.no_grad():
        expected = lm(**text).logits
        got = model(**text).logits[..., : expected.shape[-1]]
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)


def test_an_image_becomes_one_token_per_patch_and_changes_the_logits(composed):
    model, processor = composed
    inputs = _inputs(processor)
    assert (inputs["input_ids"] == processor.image_token_id).sum() == SPEC.image_tokens == 64
    with torch.no_grad():
        logits = model(**inputs).logits
        other = model(**{**inputs, "pixel_values": -inputs["pixel_values"]}).logits
    assert not torch.allclose(logits[0, -1], other[0, -1])


def test_the_name_says_how_to_build_it_until_the_cache_exists(tmp_path, monkeypatch, composed):
    monkeypatch.setenv("PERL_LIGHTNING_CACHE", str(tmp_path))
    assert is_vlm(SMOLLM2_VLM)
    with pytest.raises(FileNotFoundError, match="perl fit --config conf/vqa/align.yaml"):
        embedded_path(SMOLLM2_VLM)
    model, processor = composed
    model.save_pretrained(tmp_path / SMOLLM2_VLM)
    processor.save_pretrained(tmp_path / SMOLLM2_VLM)
    loaded, loaded_processor = load_vlm(SMOLLM2_VLM)
    inputs = _inputs(loaded_processor)
    assert torch.equal(inputs["input_ids"], _inputs(processor)["input_ids"])
    with torch.no_grad():
        torch.testing.assert_close(loaded(**inputs).logits, model(**inputs).logits, rtol=0, atol=0)
