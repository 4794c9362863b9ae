"""Vision-language reward models: on their own backbone (the pairings refused, with what differs named; a trained
projector copy read) and on the policy's (a projector copy kept to the reward adapter). That they score with the
image is checked in tests/modules/test_vlm_reward_model.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from perl_lightning.models.adapters import LoRAConfig
from perl_lightning.models.backbone import load_tokenizer
from perl_lightning.models.embedded import MINILM
from perl_lightning.models.topology import PolicyModels
from perl_lightning.models.vlm import load_vlm_processor
from perl_lightning.modules.policy import PolicyModule
from perl_lightning.modules.reward_model import RewardModelModule
from perl_lightning.rewards import RewardSpec, VisionReward, build_rewards
from perl_lightning.rl.types import ImageInputs, Rollout


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


def _reward_model_with_a_projector_copy(tmp_path: Path) -> tuple[RewardModelModule, Path]:
    """A tiny-llava reward model (eval mode) that trained its own projector copy, and its saved adapter: LoRA B, the
    score head and the projector copy set away from their init, as training would."""
    rm = RewardModelModule("tiny-llava", lora=LoRAConfig(r=4, alpha=8, train_projector=True))
    with torch.no_grad():
        for p in rm.model.parameters():
            if p.requires_grad:
                p.normal_(0, 0.05)
    return rm.eval(), rm.save_adapters(tmp_path / "rm")


def test_a_trained_projector_copy_is_read_with_the_adapter(tmp_path):
    """A reward model that trained its own projector copy (``lora.train_projector``) scores with that copy on its own
    backbone: equal to the reward model itself on a batch with images."""
    rm, path = _reward_model_with_a_projector_copy(tmp_path)
    processor = load_vlm_processor("tiny-llava")
    reward = VisionReward(path, processor.tokenizer, processor.image_processor.to_dict())
    rollout = _image_rollout(processor)
    with torch.no_grad():
        expected = rm(rollout.sequences, rollout.attention_mask, rollout.images)
    assert (expected[0] - expected[1]).abs() > 1e-4, "the two images score apart"
    torch.testing.assert_close(reward(rollout), expected, atol=1e-5, rtol=1e-5)
    copies = [n for n, _ in reward.model.named_parameters() if "multi_modal_projector.modules_to_save.reward" in n]
    assert copies, "the projector copy was loaded as the adapter's own"


def _image_rollout(processor) -> Rollout:
    """Two rows, a red and a blue image, one question; the last prompt token is taken for the response."""
    images = [Image.new("RGB", (32, 32), colour) for colour in ("red", "blue")]
    encoded = processor(images=images, text=["<image>What colour?"] * 2, return_tensors="pt", padding=True)
    pixels = {k: v for k, v in encoded.items() if k not in ("input_ids", "attention_mask")}
    ids, mask = encoded["input_ids"], encoded["attention_mask"]
    return Rollout(ids, mask, torch.ones(2, 1), torch.ones(2, dtype=torch.bool), ids.shape[1] - 1, ["q", "q"],
                   ["a", "a"], images=ImageInputs(pixels, torch.arange(2)))  # fmt: skip


@pytest.mark.parametrize("policy_projector", [False, True], ids=["frozen_projector", "policy_projector_copy"])
def test_a_reward_adapter_with_a_projector_copy_keeps_it_to_itself_on_the_shared_backbone(tmp_path, policy_projector):
    """Hydra: a reward adapter that trained its own projector copy scores with that copy (equal to the reward model
    alone), and loading it leaves the projector the policy reads untouched (the policy's log-probs are those of the
    same policy without it). It used to load the copy's weights into the shared projector."""
    rm, path = _reward_model_with_a_projector_copy(tmp_path)
    kwargs = dict(algorithm="grpo", lora=LoRAConfig(r=4, alpha=8, train_projector=policy_projector))
    alone = PolicyModule("tiny-llava", rewards=[RewardSpec("perl_lightning.tasks.vqa:vqa_reward")], **kwargs)
    shared = PolicyModule("tiny-llava", rewards=[RewardSpec(str(path))], **kwargs)
    assert "reward" in shared.models.model.peft_config
    rollout = _image_rollout(shared.processor)
    with torch.no_grad():
        expected = rm(rollout.sequences, rollout.attention_mask, rollout.images)
    torch.testing.assert_close(shared.score(rollout).total, expected, atol=1e-5, rtol=1e-5)
    for role in ("policy", "reference"):
        (mine,) = shared.models.logprobs(rollout, role, 1.0)
        (theirs,) = alone.models.logprobs(rollout, role, 1.0)
        assert torch.equal(mine, theirs), role
