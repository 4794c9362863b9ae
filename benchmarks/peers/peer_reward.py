"""The Python reward both sides of the peer benchmark use (TRL's and ours import this one function)."""

from __future__ import annotations

from typing import Any

#: The completion length (characters) the reward prefers.
REWARD_TARGET_CHARS = 100


def length_reward(prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float]:
    """Cheap deterministic reward: ``-|len(completion) - 100| / 100``.

    Args:
        prompts: the prompts (unused).
        completions: decoded completion texts (both sides decode with ``skip_special_tokens=True``).
        **kwargs: extra row columns (unused).

    Returns:
        One score per completion.
    """
    return [-abs(len(c) - REWARD_TARGET_CHARS) / float(REWARD_TARGET_CHARS) for c in completions]
