"""Named LoRA adapters on one backbone: switching the active adapter never changes which parameters train."""

from __future__ import annotations

from peft import LoraConfig, get_peft_model

from perl_lightning.models.adapters import use_adapter
from perl_lightning.models.backbone import load_backbone


def test_use_adapter_keeps_trainable_flags(tiny_tokenizer):
    base = load_backbone("tiny-llama", "causal-lm", tokenizer=tiny_tokenizer)
    config = LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj", "v_proj"])
    model = get_peft_model(base, config, adapter_name="policy")
    model.add_adapter("value", LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj", "v_proj"]))
    model.add_adapter("reward", LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj", "v_proj"]))
    trainable = [p for n, p in model.named_parameters() if ".policy." in n or ".value." in n]
    flags = lambda: {n: p.requires_grad for n, p in model.named_parameters() if "lora" in n}  # noqa: E731
    for p in model.parameters():
        p.requires_grad_(any(p is t for t in trainable))
    before = flags()
    for name in ("reward", "value", None, "policy"):
        with use_adapter(model, name, trainable):
            assert flags() == before, f"flags changed inside use_adapter({name})"
            if name is not None:
                assert model.active_adapter == name
        assert flags() == before
