"""Turn prompts (text or chat messages) and responses into token ids: chat templates, truncation, padding.

Truncation policy (``truncate_pair``): a (prompt, response) pair longer than ``max_length`` tokens first loses the
*start* of its prompt (the oldest context; the assistant header at its end is kept), down to ``max_prompt_length``
tokens; if it is still too long the response loses its *end*. The response therefore always keeps at least
``max_length - max_prompt_length`` tokens (or all of it, if shorter): it is never cut away entirely.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers import PreTrainedTokenizerBase

from perl_lightning.models.backbone import end_token_id
from perl_lightning.rl.types import Message, Prompt
from perl_lightning.tasks.harmlessness import ASSISTANT_MARK, is_dialogue, parse_dialogue


def prompt_messages(prompt: Prompt) -> list[Message]:
    """Messages for a prompt given as plain text, HH transcript text, or a list of chat messages."""
    if isinstance(prompt, str):
        return parse_dialogue(prompt) if is_dialogue(prompt) else [{"role": "user", "content": prompt.strip()}]
    return [dict(m) for m in prompt]


def _template(tokenizer: PreTrainedTokenizerBase, messages: list[Message], generation_prompt: bool) -> list[int]:
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=generation_prompt, tokenize=True)
    return list(ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "input_ids") else ids)


def encode_prompt(tokenizer: PreTrainedTokenizerBase, prompt: Prompt, chat_template: bool) -> list[int]:
    """Token ids of a prompt, ready for the response to follow (chat template with generation prompt if any)."""
    messages = prompt_messages(prompt)
    if chat_template and tokenizer.chat_template:
        if not messages:  # the assistant opens the conversation: its generation prompt alone
            one = [{"role": "user", "content": "."}]
            bare, full = _template(tokenizer, one, False), _template(tokenizer, one, True)
            if full[: len(bare)] != bare:
                raise ValueError("this chat template cannot render an empty conversation; give a first message")
            return full[len(bare) :]
        return _template(tokenizer, messages, True)
    labels = {"user": "Human", "assistant": "Assistant"}  # other roles (system, tool) keep their own name
    text = "".join(f"\n\n{labels.get(m['role'], m['role'].capitalize())}: {m['content']}" for m in messages)
    return list(tokenizer(text.lstrip() + ASSISTANT_MARK, add_special_tokens=True)["input_ids"])


def encode_response(tokenizer: PreTrainedTokenizerBase, response: str, chat_template: bool) -> list[int]:
    """Token ids of a response, closed by the end token (EOS / SEP)."""
    text = response if (chat_template and tokenizer.chat_template) else " " + response
    ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
    end = end_token_id(tokenizer)
    return ids + ([end] if end is not None else [])


def truncate_pair(
    prompt_ids: list[int], response_ids: list[int], max_length: int, max_prompt_length: int
) -> tuple[list[int], list[int]]:
    """Apply the module's truncation policy (see the module docstring)."""
    if not 0 < max_prompt_length < max_length:
        raise ValueError(f"need 0 < max_prompt_length ({max_prompt_length}) < max_length ({max_length})")
    response_ids = response_ids[: max_length - min(len(prompt_ids), max_prompt_length)]
    keep = max_length - len(response_ids)
    return prompt_ids[-keep:] if len(prompt_ids) > keep else prompt_ids, response_ids


def pad(sequences: Sequence[Sequence[int]], pad_id: int, side: str = "right") -> tuple[torch.Tensor, torch.Tensor]:
    """Pad to the longest sequence. Returns (input_ids, attention_mask), both (N, T)."""
    if side not in ("left", "right"):
        raise ValueError(f"padding side must be 'left' or 'right', not '{side}'")
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for i, seq in enumerate(sequences):
        row = torch.as_tensor(list(seq), dtype=torch.long)
        sl = slice(0, len(seq)) if side == "right" else slice(width - len(seq), width)
        ids[i, sl] = row
        mask[i, sl] = 1
    return ids, mask


def encode_scored_texts(
    tokenizer: PreTrainedTokenizerBase, prompts: Sequence[Prompt], responses: Sequence[str], max_length: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(prompt, response) texts as a reward model reads them in training: chat-templated prompt, response closed by
    the end token, the prompt truncated from the start to fit ``max_length``; right-padded ids and mask (N, T)."""
    if len(prompts) != len(responses):
        raise ValueError(f"{len(prompts)} prompts but {len(responses)} responses")
    sequences = []
    for prompt, response in zip(prompts, responses, strict=True):
        p, r = truncate_pair(encode_prompt(tokenizer, prompt, True), encode_response(tokenizer, response, True),
                             max_length, max_length // 2)  # fmt: skip
        sequences.append(p + r)
    return pad(sequences, tokenizer.pad_token_id)
