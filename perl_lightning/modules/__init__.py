"""LightningModules: supervised fine-tuning, the reward model and the RL policy."""

from perl_lightning.modules.policy import PolicyModule
from perl_lightning.modules.reward_model import RewardModelModule
from perl_lightning.modules.sft import SFTModule
from perl_lightning.modules.vision_align import VisionAlignModule

__all__ = ["PolicyModule", "RewardModelModule", "SFTModule", "VisionAlignModule"]
