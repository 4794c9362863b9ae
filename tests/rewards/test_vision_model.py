"""A vision-language reward model on its own backbone: the pairings it refuses, with what differs named (it reads the
policy's tokens and pixel tensors as they are; that it scores them with the image is checked in
tests/modules/test_vlm_reward_model.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from perl_lightning.models.adapters import LoRAConfig
from perl_lightning.models.backbone import load_tokenizer
from perl_lightning.models.embedded import MINILM
from perl_lightning.models.topology import PolicyModels
from perl_lightning.models.vlm import load_vlm_processor
from perl_lightning.modules.reward_model import RewardModelModule
from perl_lightning.rewards import RewardSpec, VisionReward, build_rewards


@pytest.fixture(scope="module")
def vlm_reward_dir(tmp_path_factory) -> Path:
    """An (untrained) reward adapter on tiny-llava, as RewardModelModule saves it."""
    rm = RewardModelModule("tiny-llava", lora=LoRAConfig(r=4, alpha=8))
    return rm.save_adapters(tmp_path_factory.mktemp("vlm_rm") / "rm")


def test_loads_for_a_policy_that_reads_alike(vlm_reward_dir):
    processor = load_vlm_processor("tiny-llava")
    reward = VisionReward(vlm_reward_dir, processor.tokenizer, processor.image_processor.to_dict())
    assert "reward" in reward.model.peft_config and not any(p.requires_grad for p in reward.parameters())


def test_another_tokenizer_is_refused(vlm_reward_dir):
    image_processor = load_vlm_processor("tiny-llava").image_processor.to_dict()
    with pytest.raises(ValueError, match="another tokenizer than the policy"):
        VisionReward(vlm_reward_dir, load_tokenizer(MINILM), image_processor)


def test_another_image_processor_is_refused_naming_the_fields(vlm_reward_dir):
    processor = load_vlm_processor("tiny-llava")
    settings = {**processor.image_processor.to_dict(), "crop_size": {"height": 64, "width": 64}}
    with pytest.raises(ValueError, match=r"processes images unlike the policy \(fields \['crop_size'\]\)"):
        VisionReward(vlm_reward_dir, processor.tokenizer, settings)


def test_a_text_policy_with_a_vision_reward_model_is_an_error(vlm_reward_dir):
    models = PolicyModels("tiny-llama", LoRAConfig(r=4, alpha=8))
    with pytest.raises(ValueError, match=r"rewards\[0\]: .* is a vision-language reward model .* a text model"):
        build_rewards([RewardSpec(str(vlm_reward_dir))], models)
