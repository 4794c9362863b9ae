"""Reward sources behind one protocol: reward adapters on the shared backbone, reward models on their own backbone,
Python functions (the rows' columns as keyword arguments), ensembles, and their weighted sum."""

from perl_lightning.rewards.adapter import AdapterReward
from perl_lightning.rewards.base import RewardError, RewardSource
from perl_lightning.rewards.function import FunctionReward
from perl_lightning.rewards.layer import ModelReward, RewardLayer, RewardResult, RewardSpec, build_rewards
from perl_lightning.rewards.text_model import TextReward

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
    "build_rewards",
]
