"""Backbone loading: embedded names, tiny models, pad tokens, clear errors, position ids."""

from __future__ import annotations

import logging
import warnings

import pytest
import torch
from peft import TaskType
from safetensors.torch import load_file, save_file

from perl_lightning.models import embedded
from perl_lightning.models.adapters import LoRAConfig, apply_lora, count_parameters, default_target_modules
from perl_lightning.models.backbone import (
    load_backbone,
    load_tokenizer,
    position_ids_from_mask,
    resolve_dtype,
)
from perl_lightning.models.embedded import MINILM, SMOLLM2, embedded_path


def test_tiny_model_is_deterministic_and_uses_real_tokenizer(tiny_tokenizer):
    a = load_backbone("tiny-llama", "causal-lm", tokenizer=tiny_tokenizer)
    b = load_backbone("tiny-llama", "causal-lm", tokenizer=tiny_tokenizer)
    for (name, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        assert torch.equal(pa, pb), name
    assert a.config.vocab_size == len(tiny_tokenizer)
    assert tiny_tokenizer.pad_token == "<|endoftext|>"
    assert tiny_tokenizer.pad_token_id != tiny_tokenizer.eos_token_id
    assert a.config.pad_token_id == tiny_tokenizer.pad_token_id


def test_sequence_classification_role_has_scalar_head(tiny_tokenizer):
    model = load_backbone("tiny-llama", "sequence-classification", tokenizer=tiny_tokenizer)
    ids = torch.tensor([[5, 6, 7]])
    assert model(input_ids=ids).logits.shape == (1, 1)


def test_unknown_model_error_names_what_was_tried(tmp_path):
    with pytest.raises(OSError) as err:
        load_backbone(str(tmp_path / "no-such-model"), "causal-lm")
    message = str(err.value)
    assert "no-such-model" in message and "smollm2-135m-instruct" in message and "tiny-llama" in message


def test_unknown_role_and_dtype():
    with pytest.raises(ValueError, match="role"):
        load_backbone("tiny-llama", "vision")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dtype"):
        resolve_dtype("fp8")
    assert resolve_dtype("bf16") == torch.bfloat16
    assert resolve_dtype("auto") == (torch.bfloat16 if torch.cuda.is_available() else torch.float32)


def test_position_ids_ignore_left_padding():
    mask = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    expected = torch.tensor([[0, 0, 0, 1, 2], [0, 1, 2, 3, 4], [0, 1, 2, 2, 2]])
    assert torch.equal(position_ids_from_mask(mask), expected)


def test_lora_targets_attention_and_freezes_base(tiny_tokenizer):
    model = load_backbone("tiny-llama", "sequence-classification", tokenizer=tiny_tokenizer)
    assert default_target_modules(model) == ["q_proj", "k_proj", "v_proj", "o_proj"]
    _, total = count_parameters(model)
    peft_model = apply_lora(model, LoRAConfig(r=4, alpha=8), TaskType.SEQ_CLS)
    trainable_names = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    assert trainable_names and all("lora_" in n or "score" in n for n in trainable_names)
    assert any("score" in n for n in trainable_names)
    assert {n.split(".")[-4] for n in trainable_names if "lora_A" in n} == {"q_proj", "k_proj", "v_proj", "o_proj"}
    trainable, total_after = count_parameters(peft_model)
    # 2 layers x (q: 64->64, k: 64->32, v: 64->32, o: 64->64) at r=4, A (in x r) + B (r x out), plus the 64-weight head
    lora = 2 * 4 * ((64 + 64) + (64 + 32) + (64 + 32) + (64 + 64))
    assert trainable == lora + 64
    assert total_after == total + lora + 64  # modules_to_save keeps a trainable copy of the head


def test_full_finetuning_switch(tiny_tokenizer):
    model = load_backbone("tiny-llama", "sequence-classification", tokenizer=tiny_tokenizer)
    model = apply_lora(model, None)
    trainable, total = count_parameters(model)
    assert trainable == total


@pytest.mark.slow
def test_embedded_smollm2_cache_loads_fast_and_matches_gguf_config():
    path = embedded_path(SMOLLM2)
    assert (path / "model.safetensors").is_file()
    tokenizer = load_tokenizer(SMOLLM2)
    assert tokenizer.chat_template and tokenizer.pad_token_id != tokenizer.eos_token_id
    model = load_backbone(SMOLLM2, "causal-lm", tokenizer=tokenizer)
    assert model.config.num_hidden_layers == 30 and model.config.hidden_size == 576
    assert getattr(model.config, "quantization_config", None) is None
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    out = model.generate(**prompt, max_new_tokens=8, do_sample=False)
    assert "Paris" in tokenizer.decode(out[0, prompt["input_ids"].shape[1] :])


def test_gguf_conversion_leaves_the_callers_rng_alone(tmp_path, monkeypatch):
    """The first use of the embedded name converts the GGUF, whose ``from_config`` draws a random initialisation
    (then overwritten): whatever the conversion draws, a seeded run's RNG state is as if it had not happened."""
    drawn = []

    def dequantize(src_dir, gguf_file, out):  # stands in for the real conversion (a random init, then weights)
        drawn.append(torch.randn(4))

    monkeypatch.setattr(embedded, "_dequantize", dequantize)
    torch.manual_seed(0)
    before = torch.get_rng_state()
    embedded._convert_gguf(tmp_path, "model.gguf", tmp_path / "out")
    assert drawn and torch.equal(torch.get_rng_state(), before)


def test_embedded_minilm_is_local():
    path = embedded_path(MINILM)
    assert (path / "model.safetensors").is_file()


def test_reward_head_on_a_language_model_checkpoint_loads_without_a_load_report(tiny_tokenizer, tmp_path, caplog):
    """The scalar head is new by design: no transformers LOAD REPORT naming it MISSING, no warning; a body weight
    missing from the checkpoint is still named."""
    causal = load_backbone("tiny-llama", "causal-lm", tokenizer=tiny_tokenizer)
    causal.save_pretrained(tmp_path / "lm")
    tiny_tokenizer.save_pretrained(tmp_path / "lm")
    with warnings.catch_warnings(record=True) as seen, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        model = load_backbone(str(tmp_path / "lm"), "sequence-classification")
    assert "LOAD REPORT" not in caplog.text and "MISSING" not in caplog.text
    assert not [w for w in seen if "initialised at random" in str(w.message)]
    body = {k: v for k, v in model.state_dict().items() if not k.startswith("score.")}
    weights = load_file(tmp_path / "lm" / "model.safetensors")
    assert set(body) <= set(weights)
    assert all(torch.equal(body[k], weights[k]) for k in body)  # the body came from the checkpoint
    dropped = next(k for k in weights if "layers.1.mlp.up_proj" in k)
    save_file({k: v for k, v in weights.items() if k != dropped}, tmp_path / "lm" / "model.safetensors",
              metadata={"format": "pt"})  # fmt: skip
    with pytest.warns(UserWarning, match=r"initialised at random.*layers\.1\.mlp\.up_proj"):
        load_backbone(str(tmp_path / "lm"), "sequence-classification")
