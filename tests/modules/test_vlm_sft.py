"""SFT of a tiny VLM on VQA demonstrations: the image reaches the loss, LoRA on the language model trains while the
vision tower, projector and base weights stay bit-identical, and the saved adapter starts RL with the same outputs."""

from __future__ import annotations

import json
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from PIL import Image
from transformers import AutoModelForImageTextToText, AutoProcessor

from perl_lightning.data.prompts import PromptDataModule
from perl_lightning.data.sft import SFTDataModule
from perl_lightning.export import export
from perl_lightning.models.adapters import LoRAConfig
from perl_lightning.models.forward import response_logprobs
from perl_lightning.modules.policy import PolicyModule
from perl_lightning.modules.sft import SFTModule
from perl_lightning.rewards import RewardSpec

pytestmark = pytest.mark.usefixtures("one_thread")


def _vqa_folder(root: Path, n: int = 24) -> Path:
    """Red or blue noisy squares asked "What colour is it?", answered by ten annotators."""
    (root / "images").mkdir(parents=True)
    rows = {"train": [], "test": []}
    for i in range(n):
        colour = ("red", "blue")[i % 2]
        rs = np.random.RandomState(i)
        pixels = np.zeros((32, 32, 3), dtype="uint8")
        pixels[..., 0 if colour == "red" else 2] = 180 + rs.randint(0, 60, (32, 32))
        Image.fromarray(pixels).save(root / "images" / f"{i}.png")
        split = "test" if i >= n - 8 else "train"
        rows[split].append({"id": f"q{i}", "image": f"images/{i}.png", "question": "What colour is it?",
                            "answers": [colour] * 10})  # fmt: skip
    for split, items in rows.items():
        (root / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in items), encoding="utf-8")
    return root


@pytest.mark.parametrize("model", ["tiny-llava", "tiny-idefics3"])
def test_vlm_sft_trains_the_language_model_lora_only_and_starts_rl(tmp_path: Path, model: str) -> None:
    folder = _vqa_folder(tmp_path / "data")
    L.seed_everything(0)
    sft = SFTModule(model, lora=LoRAConfig(r=8, alpha=16, train_projector=True), learning_rate=5e-3,
                    save_dir=str(tmp_path / "sft"))  # fmt: skip
    assert sft.processor is not None
    dm = SFTDataModule(task="vqa", path=str(folder), split="train", val_split="test", batch_size=4, max_length=96)
    dm.tokenizer, dm.processor = sft.tokenizer, sft.processor
    dm.setup()
    batch = dm.collate(dm.encoded["train"][:4])
    assert batch.images is not None and batch.images.pixels["pixel_values"].shape[0] == 4
    answer = sft.tokenizer("red", add_special_tokens=False)["input_ids"][0]
    assert (batch.labels == answer).any(), "the answer tokens are labelled"
    before = {n: p.detach().clone() for n, p in sft.model.named_parameters()}
    with torch.no_grad():
        loss_before = float(sft.nll(dm.collate(dm.encoded["val"])).total)
        other = dm.collate(dm.encoded["val"])
        other = other._replace(images=other.images.select(list(range(1, 8)) + [0]))
        assert float(sft.nll(other).total) != pytest.approx(loss_before), "the image reaches the loss"
    trainer = L.Trainer(accelerator="cpu", max_steps=12, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, logger=False, limit_val_batches=0, num_sanity_val_steps=0,
                        default_root_dir=tmp_path)  # fmt: skip
    trainer.fit(sft, dm)
    with torch.no_grad():
        assert float(sft.nll(dm.collate(dm.encoded["val"])).total) < loss_before
    changed = {n for n, p in sft.model.named_parameters() if not torch.equal(p, before[n])}
    assert changed and all("lora_" in n or "modules_to_save.default" in n for n in changed), sorted(changed)[:5]
    projector, language = {"tiny-llava": ("multi_modal_projector", "language_model"),
                           "tiny-idefics3": ("connector", "text_model")}[model]  # fmt: skip
    assert any(f"{projector}.modules_to_save" in n for n in changed), "the projector copy trains"
    assert any(language in n and "lora_B" in n for n in changed)
    # the adapter (LoRA + the projector copy) starts RL: the policy's log-probs equal the SFT model's
    policy = PolicyModule(model, algorithm="grpo", lora=LoRAConfig(r=8, alpha=16, train_projector=True),
                          init_policy_adapter=str(tmp_path / "sft"),
                          rewards=[RewardSpec("perl_lightning.tasks.vqa:vqa_reward")])  # fmt: skip
    prompts = PromptDataModule(task="vqa", path=str(folder), split="train", val_split="test", max_prompt_length=96)
    prompts.tokenizer, prompts.processor = policy.tokenizer, policy.processor
    prompts.setup()
    rollout = policy.generate(prompts.collate(prompts.encoded["val"]), policy.eval_sampling)
    with torch.no_grad():
        mine = response_logprobs(sft.model.eval(), rollout.sequences, rollout.attention_mask, rollout.prompt_length,
                                 images=rollout.images)[0]  # fmt: skip
        (theirs,) = policy.logprobs(rollout, "policy")
        (reference,) = policy.logprobs(rollout, "reference")
    mask = rollout.response_mask.bool()
    torch.testing.assert_close(theirs[mask], mine[mask], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(reference[mask], mine[mask], atol=1e-5, rtol=1e-5)
    # the merged export is a plain transformers VLM with its processor: same log-probs without peft
    out = export(tmp_path / "sft", tmp_path / "merged", mode="merged")
    merged = AutoModelForImageTextToText.from_pretrained(out).eval()
    processor = AutoProcessor.from_pretrained(out)
    assert processor.tokenizer.chat_template and "<image>" in processor.tokenizer.get_vocab()
    with torch.no_grad():
        plain = response_logprobs(merged, rollout.sequences, rollout.attention_mask, rollout.prompt_length,
                                  images=rollout.images)[0]  # fmt: skip
    torch.testing.assert_close(plain[mask], mine[mask], atol=1e-4, rtol=1e-4)
