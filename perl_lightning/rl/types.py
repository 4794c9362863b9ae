"""Typed containers passed between the RL phases: sampled rollouts and the experience the update trains on.

Shapes: ``N`` sequences (prompts x samples per prompt, the samples of a prompt contiguous), ``P`` prompt tokens
(left-padded), ``R`` response tokens (right-padded). ``sequences`` is the prompt and the response side by side,
``(N, P + R)``; token ``t`` of the response sits at column ``P + t`` and its log-probability is read from the
logits at column ``P + t - 1``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import torch


@dataclass
class SamplingConfig:
    """How responses are sampled.

    Attributes:
        max_new_tokens: most tokens per response.
        min_new_tokens: EOS is forbidden before this many tokens.
        temperature: softmax temperature; log-probs are recomputed with the same temperature.
        top_p: nucleus sampling threshold (1.0 disables).
        top_k: top-k sampling (0 disables).
        do_sample: sample (``True``) or decode greedily.
        stop_strings: extra strings that end a response (the response is cut after the first one).
    """

    max_new_tokens: int = 64
    min_new_tokens: int = 0
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    do_sample: bool = True
    stop_strings: list[str] = field(default_factory=list)


class Rollout(NamedTuple):
    """Sampled responses with their masks (the output of sampling, before any scoring)."""

    sequences: torch.Tensor  # (N, P + R) prompt (left-padded) then response (right-padded)
    attention_mask: torch.Tensor  # (N, P + R) prompt mask then response mask
    response_mask: torch.Tensor  # (N, R) 1 up to and including the first end token, 0 after
    ended: torch.Tensor  # (N,) bool: the response produced an end token (EOS / stop string) in time
    prompt_length: int  # P
    prompts: list[str]  # N prompt texts (repeated for the samples of a prompt)
    responses: list[str]  # N decoded responses (special tokens removed)

    @property
    def responses_ids(self) -> torch.Tensor:
        """Response token ids (N, R)."""
        return self.sequences[:, self.prompt_length :]

    @property
    def lengths(self) -> torch.Tensor:
        """Response lengths in tokens (N,)."""
        return self.response_mask.sum(-1)


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

    raw: torch.Tensor  # (N,) reward model / function output (ensemble-reduced), before penalties
    shaped: torch.Tensor  # (N,) after normalisation, clipping, length and no-EOS penalties
    members: torch.Tensor  # (M, N) each reward source's raw score (M = 1 without an ensemble)


class TokenRewards(NamedTuple):
    """Per-token rewards and the KL terms they were built from."""

    rewards: torch.Tensor  # (N, R) -kl_coef * kl + shaped score at the last response token
    kl: torch.Tensor  # (N, R) per-token penalty of the chosen estimator (masked)
    kl_k1: torch.Tensor  # (N,) k1 KL summed over each response
    kl_k3: torch.Tensor  # (N,) k3 KL summed over each response
