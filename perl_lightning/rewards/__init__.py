"""Reward sources behind one protocol: reward adapters on the shared backbone, reward models on their own backbone
(text or vision-language), Python functions (the rows' columns as keyword arguments), ensembles, and their weighted
sum."""

from perl_lightning.rewards.adapter import AdapterReward
from perl_lightning.rewards.base import RewardError, RewardSource
from perl_lightning.rewards.function import FunctionReward
from perl_lightning.rewards.layer import ModelReward, RewardLayer, RewardResult, RewardSpec, build_rewards
from perl_lightning.rewards.text_model import TextReward
from perl_lightning.rewards.vision_model import VisionReward

__all__ = [
    "AdapterReward",
    "FunctionReward",
    "ModelReward",
    "RewardError",
    "RewardLayer",
    "RewardResult",
    "RewardSource",
    "RewardSpec",
    "TextReward",
    "VisionReward",
    "build_rewards",
]
