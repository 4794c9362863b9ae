"""LightningModules: the reward model and the RL policy."""

from perl_lightning.modules.policy import PolicyModule
from perl_lightning.modules.reward_model import RewardModelModule

__all__ = ["PolicyModule", "RewardModelModule"]
