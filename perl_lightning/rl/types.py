"""Typed containers passed between the RL phases: sampled rollouts and the experience the update trains on.

Shapes: ``N`` sequences (prompts x samples per prompt, the samples of a prompt contiguous), ``P`` prompt tokens
(left-padded), ``R`` response tokens (right-padded). ``sequences`` is the prompt and the response side by side,
``(N, P + R)``; token ``t`` of the response sits at column ``P + t`` and its log-probability is read from the
logits at column ``P + t - 1``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F

from perl_lightning.rl.config import SamplingConfig

__all__ = [
    "Experience",
    "Message",
    "Prompt",
    "Rollout",
    "SamplingConfig",
    "Scores",
    "TokenRewards",
    "concat_rollouts",
    "prompt_text",
]

#: One chat turn, ``{"role": "user" | "assistant" | "system" | "tool", "content": str}``.
Message = dict[str, str]
#: A prompt: plain text (or an HH-style ``Human:``/``Assistant:`` transcript), or chat messages (TRL's
#: "conversational" format), which tokenizers render through their chat template.
Prompt = str | list[Message]


def prompt_text(prompt: Prompt) -> str:
    """A prompt as one readable string: text as it is, chat messages as ``role: content`` paragraphs."""
    if isinstance(prompt, str):
        return prompt
    return "\n\n".join(f"{m['role']}: {m['content']}" for m in prompt)


class Rollout(NamedTuple):
    """Sampled responses with their masks (the output of sampling, before any scoring)."""

    sequences: torch.Tensor  # (N, P + R) prompt (left-padded) then response (right-padded)
    attention_mask: torch.Tensor  # (N, P + R) prompt mask then response mask
    response_mask: torch.Tensor  # (N, R) 1 up to and including the first end token, 0 after
    ended: torch.Tensor  # (N,) bool: the response produced an end token (EOS / stop string) in time
    prompt_length: int  # P
    prompts: list[Prompt]  # N prompts, text or chat messages (repeated for the samples of a prompt)
    responses: list[str]  # N decoded responses (special tokens removed)
    row_ids: Sequence[str] = ()  # N ids of the data rows the prompts came from (repeated like the prompts)
    metadata: Sequence[dict[str, Any]] = ()  # N rows' extra fields (gold answers, ...), for rewards and evaluation
    logprobs: torch.Tensor | None = None  # (N, R) the sampler's log-probs of its tokens (logits / temperature)
    entropy: torch.Tensor | None = None  # (N, R) the sampler's per-token entropy (same distribution)

    @property
    def responses_ids(self) -> torch.Tensor:
        """Response token ids (N, R)."""
        return self.sequences[:, self.prompt_length :]

    @property
    def lengths(self) -> torch.Tensor:
        """Response lengths in tokens (N,)."""
        return self.response_mask.sum(-1)

    def select(self, rows: Sequence[int]) -> Rollout:
        """The rollout of the given rows only (in that order)."""
        idx = torch.as_tensor(list(rows), dtype=torch.long, device=self.sequences.device)
        pick = list(rows)
        return Rollout(
            self.sequences[idx], self.attention_mask[idx], self.response_mask[idx], self.ended[idx],
            self.prompt_length, [self.prompts[i] for i in pick], [self.responses[i] for i in pick],
            [self.row_ids[i] for i in pick] if self.row_ids else (),
            [self.metadata[i] for i in pick] if self.metadata else (),
            None if self.logprobs is None else self.logprobs[idx], None if self.entropy is None else self.entropy[idx],
        )  # fmt: skip


def concat_rollouts(parts: Sequence[Rollout], pad_id: int = 0) -> Rollout:
    """Rows of several rollouts of the same prompt width, responses right-padded to the longest (masked)."""
    if len({p.prompt_length for p in parts}) != 1:
        raise ValueError("concat_rollouts needs rollouts of one prompt width")
    width = max(p.sequences.shape[1] for p in parts)

    def right_pad(t: torch.Tensor, value: int) -> torch.Tensor:
        return F.pad(t, (0, width - t.shape[1]), value=value)

    resp_width = width - parts[0].prompt_length

    def rows(name: str) -> torch.Tensor | None:  # per-token sampler figures, when every part has them
        tensors = [getattr(p, name) for p in parts]
        if any(t is None for t in tensors):
            return None
        return torch.cat([F.pad(t, (0, resp_width - t.shape[1])) for t in tensors])

    return Rollout(
        torch.cat([right_pad(p.sequences, pad_id) for p in parts]),
        torch.cat([right_pad(p.attention_mask, 0) for p in parts]),
        torch.cat([F.pad(p.response_mask, (0, resp_width - p.response_mask.shape[1])) for p in parts]),
        torch.cat([p.ended for p in parts]),
        parts[0].prompt_length,
        [t for p in parts for t in p.prompts],
        [t for p in parts for t in p.responses],
        [t for p in parts for t in p.row_ids],
        [t for p in parts for t in p.metadata],
        rows("logprobs"),
        rows("entropy"),
    )


class Experience(NamedTuple):
    """A scored rollout with everything the policy / value update needs (all detached)."""

    sequences: torch.Tensor  # (N, P + R)
    attention_mask: torch.Tensor  # (N, P + R)
    response_mask: torch.Tensor  # (N, R) float
    old_logprobs: torch.Tensor  # (N, R) policy log-probs at sampling time
    ref_logprobs: torch.Tensor  # (N, R) reference log-probs
    old_values: torch.Tensor  # (N, R) value estimates at sampling time (zeros without a value model)
    advantages: torch.Tensor  # (N, R) per-token advantages
    returns: torch.Tensor  # (N, R) value targets


class Scores(NamedTuple):
    """Sequence-level rewards of a rollout."""

    raw: torch.Tensor  # (N,) weighted sum of the reward sources, before shaping
    shaped: torch.Tensor  # (N,) after normalisation, clipping, length and no-EOS penalties


class TokenRewards(NamedTuple):
    """Per-token rewards and the KL terms they were built from."""

    rewards: torch.Tensor  # (N, R) -kl_coef * kl + shaped score at the last response token
    kl: torch.Tensor  # (N, R) per-token penalty of the chosen estimator (masked)
    kl_k1: torch.Tensor  # (N,) k1 KL summed over each response
    kl_k3: torch.Tensor  # (N,) k3 KL summed over each response
