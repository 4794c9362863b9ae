"""A reward model on a tiny VLM: pairs share their image, it learns an image-dependent preference, the frozen parts
stay bit-identical, and its adapter scores rollouts on the policy's VLM backbone (hydra) or on its own (separate)
exactly as it did alone."""

from __future__ import annotations

import lightning as L
import pytest
import torch

from perl_lightning.data.preference import PreferenceDataModule
from perl_lightning.data.prompts import PromptDataModule
from perl_lightning.models.adapters import LoRAConfig
from perl_lightning.modules.policy import PolicyModule
from perl_lightning.modules.reward_model import RewardModelModule
from perl_lightning.rewards import RewardSpec, VisionReward
from perl_lightning.sources import Row
from perl_lightning.tasks import VQA, PreferenceExample
from tests.modules.test_vlm_sft import _vqa_folder

pytestmark = pytest.mark.usefixtures("one_thread")


class RedOrBlue(VQA):
    """VQA pairs whose rejected answer is the other colour of the two: only the image tells them apart."""

    def preference(self, row: Row) -> PreferenceExample:
        pair = super().preference(row)
        return pair._replace(rejected="blue" if pair.chosen == "red" else "red")


@pytest.mark.parametrize("model", ["tiny-llava", "tiny-idefics3"])
def test_vlm_reward_model_learns_image_pairs_and_rides_on_the_policy_backbone(tmp_path, model: str) -> None:
    folder = _vqa_folder(tmp_path / "data", n=40)
    L.seed_everything(0)
    rm = RewardModelModule(model, lora=LoRAConfig(r=8, alpha=16), learning_rate=1e-2, save_dir=None)
    assert rm.processor is not None and not rm.share_prefix
    dm = PreferenceDataModule(task=RedOrBlue(), path=str(folder), split="train", val_split="test", batch_size=8,
                              max_length=96)  # fmt: skip
    dm.tokenizer, dm.processor = rm.tokenizer, rm.processor
    dm.setup()
    val = dm.collate(dm.encoded["val"])
    assert val.images is not None and val.images.pixels["pixel_values"].shape[0] == 8, "one image per pair"
    assert val.images.index.tolist() == list(range(8)) * 2
    frozen = {n: p.detach().clone() for n, p in rm.model.named_parameters() if not p.requires_grad}
    trainer = L.Trainer(accelerator="cpu", max_steps=40, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, logger=False, limit_val_batches=0, num_sanity_val_steps=0,
                        default_root_dir=tmp_path)  # fmt: skip
    trainer.fit(rm, dm)
    rm.eval()
    with torch.no_grad():
        chosen, rejected = rm(val.input_ids, val.attention_mask, val.images).split(8)
    assert (chosen > rejected).float().mean() >= 0.75, (chosen, rejected)  # held-out images; chance is 0.5
    # with each pair's image swapped for one of the other colour (rows alternate red, blue), the ranking flips
    with torch.no_grad():
        swapped = val.images.select([i ^ 1 for i in range(8)] * 2)
        chosen_s, rejected_s = rm(val.input_ids, val.attention_mask, swapped).split(8)
    assert (chosen_s > rejected_s).float().mean() <= 0.25, (chosen_s, rejected_s)
    for n, p in rm.model.named_parameters():
        if n in frozen:
            assert torch.equal(p, frozen[n]), n
    path = rm.save_adapters(tmp_path / "rm")
    # the same adapter on the policy's VLM backbone scores a rollout as the reward model itself does
    policy = PolicyModule(model, algorithm="grpo", lora=LoRAConfig(r=8, alpha=16),
                          rewards=[RewardSpec(str(path))])  # fmt: skip
    assert "reward" in policy.model.peft_config
    prompts = PromptDataModule(task="vqa", path=str(folder), split="train", val_split="test", max_prompt_length=96)
    prompts.tokenizer, prompts.processor = policy.tokenizer, policy.processor
    prompts.setup()
    rollout = policy.generate(prompts.collate(prompts.encoded["val"]), policy.eval_sampling)
    with torch.no_grad():
        expected = rm(rollout.sequences, rollout.attention_mask, rollout.images)
    torch.testing.assert_close(policy.score(rollout).total, expected, atol=1e-5, rtol=1e-5)
    # on a backbone of its own (the separate layout) it reads the rollout's images too, and scores alike
    separate = PolicyModule(model, algorithm="grpo", lora=LoRAConfig(r=8, alpha=16), layout="separate",
                            rewards=[RewardSpec(str(path))])  # fmt: skip
    (member,) = separate.rewards.model_sources[0].members
    assert isinstance(member, VisionReward) and "reward" not in separate.model.peft_config
    assert all(not p.requires_grad for p in member.parameters())
    torch.testing.assert_close(separate.score(rollout).total, expected, atol=1e-5, rtol=1e-5)
    with torch.no_grad():
        swapped = member(rollout._replace(images=rollout.images.select([i ^ 1 for i in range(len(rollout.images))])))
    assert (swapped - expected).abs().max() > 1e-3, "the image reaches the reward model"
    with pytest.raises(ValueError, match="carries no images"):
        member(rollout._replace(images=None))


def test_vlm_probe_head_fits_the_images_features(tmp_path) -> None:
    """``head_init: probe`` on a VLM: the head is fitted on the LM's last hidden states (images included) and then
    ranks the training pairs as the probe does."""
    folder = _vqa_folder(tmp_path / "data", n=24)
    rm = RewardModelModule("tiny-llava", lora=LoRAConfig(r=4, alpha=8), head_init="probe")
    dm = PreferenceDataModule(task=RedOrBlue(), path=str(folder), split="train", val_split="test", batch_size=16,
                              max_length=96)  # fmt: skip
    dm.tokenizer, dm.processor = rm.tokenizer, rm.processor
    dm.setup()
    rm.fit_probe_head(dm.train_dataloader())
    rm.eval()
    batch = dm.collate(dm.encoded["train"])
    with torch.no_grad():
        chosen, rejected = rm(batch.input_ids, batch.attention_mask, batch.images).split(batch.num_pairs)
    assert rm.model.base_model.model.score.modules_to_save["default"].weight.abs().sum() > 0, "the head was set"
    assert (chosen > rejected).float().mean() >= 0.75, (chosen, rejected)
