"""perl_lightning: parameter-efficient RLHF (LoRA reward models and LoRA RL) on PyTorch Lightning."""

__version__ = "0.1.0"
