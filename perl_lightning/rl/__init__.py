"""Pure tensor math for RLHF: losses, advantages and KL penalties (no Lightning dependency)."""
