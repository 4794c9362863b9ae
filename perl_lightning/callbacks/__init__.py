"""Callbacks: adapter checkpoints, weight averaging, memory and speed logging, fault handling."""
