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
    "ImageInputs",
    "Message",
    "Prompt",
    "Rollout",
    "SamplingConfig",
    "Scores",
    "TokenRewards",
    "concat_images",
    "concat_rollouts",
    "content_text",
    "prompt_text",
]

#: One chat turn, ``{"role": "user" | "assistant" | "system" | "tool", "content": str}``; for a vision-language
#: model the content may be a list of parts, ``{"type": "image"}`` / ``{"type": "text", "text": str}``.
Message = dict[str, Any]
#: A prompt: plain text (or an HH-style ``Human:``/``Assistant:`` transcript), or chat messages (TRL's
#: "conversational" format), which tokenizers render through their chat template.
Prompt = str | list[Message]


def prompt_text(prompt: Prompt) -> str:
    """A prompt as one readable string: text as it is, chat messages as ``role: content`` paragraphs."""
    if isinstance(prompt, str):
        return prompt
    return "\n\n".join(f"{m['role']}: {content_text(m['content'])}" for m in prompt)


def content_text(content: str | list[dict[str, Any]]) -> str:
    """A message's content as text: image parts as ``<image>``, text parts as they are."""
    if isinstance(content, str):
        return content
    return "".join("<image>" if part.get("type") == "image" else str(part.get("text", "")) for part in content)


class ImageInputs(NamedTuple):
    """The images of a batch of rows, stored once per distinct image and indexed by row.

    ``pixels`` holds the processor's image tensors (``pixel_values`` and whatever the architecture also needs:
    ``pixel_attention_mask`` for Idefics3 / SmolVLM, ``image_sizes`` for LLaVA-NeXT, ...), each with one leading
    entry per distinct prompt image; ``index`` maps each of the ``N`` rows to its entry. The ``k`` samples of a prompt
    share one entry, so an image is neither copied nor encoded ``k`` times where the forward pass runs shared prompts
    once (:func:`perl_lightning.models.forward.response_hidden_states`, the decoder's prefill).
    """

    pixels: dict[str, torch.Tensor]  # name -> (U, ...) one entry per distinct image
    index: torch.Tensor  # (N,) long: row -> entry

    def __len__(self) -> int:
        return int(self.index.shape[0])

    def rows(self, rows: torch.Tensor | Sequence[int] | None = None) -> dict[str, torch.Tensor]:
        """The model's keyword arguments for the given rows (every row when ``None``), one entry per row."""
        entries = self.index if rows is None else self.index[torch.as_tensor(rows, device=self.index.device)]
        return {name: value.index_select(0, entries.to(value.device)) for name, value in self.pixels.items()}

    def select(self, rows: torch.Tensor | Sequence[int]) -> ImageInputs:
        """The images of the given rows only (in that order), still stored once."""
        return ImageInputs(self.pixels, self.index[torch.as_tensor(rows, device=self.index.device)])

    def repeat(self, k: int) -> ImageInputs:
        """Each row ``k`` times in a row (the samples of a prompt), sharing the entries."""
        return ImageInputs(self.pixels, self.index.repeat_interleave(k))

    def to(self, device: torch.device | str) -> ImageInputs:
        return ImageInputs({n: v.to(device) for n, v in self.pixels.items()}, self.index.to(device))


def concat_images(parts: Sequence[ImageInputs | None]) -> ImageInputs | None:
    """The images of several row batches, one after the other (``None`` when no part has images).

    Raises:
        ValueError: some parts have images and others not, or their pixel tensors differ in names or shapes.
    """
    if all(p is None for p in parts):
        return None
    if any(p is None for p in parts):
        raise ValueError("concat_images: some row batches have images and others not")
    names = {tuple(sorted(p.pixels)) for p in parts}  # type: ignore[union-attr]
    if len(names) != 1:
        raise ValueError(f"concat_images: the parts carry different image tensors {sorted(names)}")
    pixels, index, offset = {n: [] for n in next(iter(names))}, [], 0
    for p in parts:
        for n, v in p.pixels.items():  # type: ignore[union-attr]
            pixels[n].append(v)
        index.append(p.index + offset)  # type: ignore[union-attr]
        offset += next(iter(p.pixels.values())).shape[0]  # type: ignore[union-attr]
    try:
        merged = {n: torch.cat(v) for n, v in pixels.items()}
    except RuntimeError as err:
        raise ValueError(f"concat_images: image tensors of different shapes ({err})") from None
    return ImageInputs(merged, torch.cat(index))


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
    images: ImageInputs | None = None  # the rows' images (vision-language models), stored once per prompt image

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
            None if self.images is None else self.images.select(pick),
        )  # fmt: skip


def concat_rollouts(parts: Sequence[Rollout], pad_id: int = 0) -> Rollout:
    """Rows of several rollouts: prompts left-padded to the widest, responses right-padded to the longest (padding
    masked), so response token ``t`` of every row sits at column ``P + t``. Parts may differ in prompt width (a
    multi-turn rollout pads its prompts to the widest of its own rows, so a redraw of some groups can be narrower)."""
    p_width = max(p.prompt_length for p in parts)
    r_width = max(p.sequences.shape[1] - p.prompt_length for p in parts)

    def both_sides(p: Rollout, t: torch.Tensor, value: int) -> torch.Tensor:  # (n, P_i + R_i) -> (n, P + R)
        return F.pad(t, (p_width - p.prompt_length, r_width - (t.shape[1] - p.prompt_length)), value=value)

    def rows(name: str) -> torch.Tensor | None:  # per-token sampler figures, when every part has them
        tensors = [getattr(p, name) for p in parts]
        if any(t is None for t in tensors):
            return None
        return torch.cat([F.pad(t, (0, r_width - t.shape[1])) for t in tensors])

    return Rollout(
        torch.cat([both_sides(p, p.sequences, pad_id) for p in parts]),
        torch.cat([both_sides(p, p.attention_mask, 0) for p in parts]),
        torch.cat([F.pad(p.response_mask, (0, r_width - p.response_mask.shape[1])) for p in parts]),
        torch.cat([p.ended for p in parts]),
        p_width,
        [t for p in parts for t in p.prompts],
        [t for p in parts for t in p.responses],
        [t for p in parts for t in p.row_ids],
        [t for p in parts for t in p.metadata],
        rows("logprobs"),
        rows("entropy"),
        concat_images([p.images for p in parts]),
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
    images: ImageInputs | None = None  # the rows' images (vision-language models)

    def select(self, rows: torch.Tensor) -> Experience:
        """The experience of the given rows only (a micro-batch)."""
        tensors = (t[rows] for t in self[:-1])
        return Experience(*tensors, None if self.images is None else self.images.select(rows))


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
