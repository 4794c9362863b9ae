"""Dialogue parsing, prompt extraction, truncation, padding and encoding with SmolLM2's real tokenizer."""

from __future__ import annotations

import pytest
import torch

from perl_lightning.data.formatting import encode_prompt, encode_response, end_token_id, pad, truncate_pair
from perl_lightning.sources import DataError
from perl_lightning.tasks.harmlessness import is_dialogue, parse_dialogue, split_shared_prefix

ASSISTANT_HEADER = "<|im_start|>assistant\n"

HH = (
    "\n\nHuman: How do I boil an egg?"
    "\n\nAssistant: Put it in boiling water for about nine minutes."
    "\n\nHuman: And for a soft yolk?"
    "\n\nAssistant: Six minutes, then cool it in cold water."
)


@pytest.fixture(scope="module")
def tok():
    from perl_lightning.models.backbone import load_tokenizer

    return load_tokenizer("tiny-llama")


# --- parse_dialogue / is_dialogue ---------------------------------------------------------------------------------


def test_parse_dialogue_multi_turn():
    assert parse_dialogue(HH) == [
        {"role": "user", "content": "How do I boil an egg?"},
        {"role": "assistant", "content": "Put it in boiling water for about nine minutes."},
        {"role": "user", "content": "And for a soft yolk?"},
        {"role": "assistant", "content": "Six minutes, then cool it in cold water."},
    ]


def test_parse_dialogue_keeps_paragraphs_and_drops_empty_trailing_turn():
    text = "Human: List two things.\n\nAssistant: One.\n\nTwo.\n\nHuman: Thanks\n\nAssistant:"
    assert parse_dialogue(text) == [
        {"role": "user", "content": "List two things."},
        {"role": "assistant", "content": "One.\n\nTwo."},
        {"role": "user", "content": "Thanks"},
    ]


def test_parse_dialogue_plain_text_is_one_user_message():
    assert parse_dialogue("  What is 2+2?  ") == [{"role": "user", "content": "What is 2+2?"}]


def test_is_dialogue():
    assert is_dialogue(HH)
    assert is_dialogue("Human: hi\n\nAssistant: hello")
    assert not is_dialogue("What is a Human: anyway?")
    assert not is_dialogue("plain question")


# --- split_shared_prefix ------------------------------------------------------------------------------------------


def test_split_shared_prefix_single_turn():
    chosen = "\n\nHuman: What is the capital of France?\n\nAssistant: The capital of France is Paris."
    rejected = "\n\nHuman: What is the capital of France?\n\nAssistant: The capital of France is Lyon."
    prompt, c, r = split_shared_prefix(chosen, rejected)
    assert prompt == "\n\nHuman: What is the capital of France?\n\nAssistant:"
    assert c == "The capital of France is Paris."
    assert r == "The capital of France is Lyon."


def test_split_shared_prefix_multi_turn_diverging_in_last_reply():
    shared = "\n\nHuman: Hi\n\nAssistant: Hello! How can I help?\n\nHuman: Name a fruit.\n\nAssistant:"
    prompt, c, r = split_shared_prefix(shared + " An apple.", shared + " A carrot.")
    assert prompt == shared
    assert c == "An apple."
    assert r == "A carrot."


def test_split_shared_prefix_when_one_reply_extends_the_other():
    shared = "\n\nHuman: Say hi\n\nAssistant:"
    prompt, c, r = split_shared_prefix(shared + " Hi", shared + " Hi there, friend")
    assert (prompt, c, r) == (shared, "Hi", "Hi there, friend")


def test_split_shared_prefix_without_shared_assistant_turn():
    with pytest.raises(DataError, match="share no prefix ending at an assistant turn"):
        split_shared_prefix("\n\nHuman: A?\n\nAssistant: yes", "\n\nHuman: B?\n\nAssistant: yes")
    with pytest.raises(DataError):
        split_shared_prefix("no markers here", "no markers there")


# --- truncate_pair ------------------------------------------------------------------------------------------------


def test_truncate_pair_fits_unchanged():
    p, r = list(range(5)), list(range(100, 105))
    assert truncate_pair(p, r, max_length=16, max_prompt_length=8) == (p, r)


def test_truncate_pair_short_prompt_cuts_only_the_response():
    p, r = list(range(5)), list(range(100, 120))
    assert truncate_pair(p, r, max_length=16, max_prompt_length=8) == (p, list(range(100, 111)))


def test_truncate_pair_long_prompt_cut_from_the_left():
    p, r = list(range(20)), list(range(100, 104))
    new_p, new_r = truncate_pair(p, r, max_length=16, max_prompt_length=8)
    assert new_r == r
    assert new_p == list(range(8, 20))  # exactly 16 - 4 tokens, the end of the prompt kept
    assert len(new_p) + len(new_r) == 16


def test_truncate_pair_both_long():
    p, r = list(range(20)), list(range(100, 120))
    new_p, new_r = truncate_pair(p, r, max_length=16, max_prompt_length=6)
    assert new_p == list(range(14, 20))
    assert new_r == list(range(100, 110))  # max_length - max_prompt_length tokens kept


def test_truncate_pair_long_prompt_and_one_token_response():
    new_p, new_r = truncate_pair(list(range(50)), [7], max_length=10, max_prompt_length=9)
    assert new_p == list(range(41, 50)) and new_r == [7]


@pytest.mark.parametrize(("max_length", "max_prompt_length"), [(16, 0), (16, -1), (16, 16), (16, 20)])
def test_truncate_pair_invalid_max_prompt_length(max_length, max_prompt_length):
    with pytest.raises(ValueError, match="need 0 < max_prompt_length"):
        truncate_pair([1, 2], [3], max_length, max_prompt_length)


# --- pad ----------------------------------------------------------------------------------------------------------


def test_pad_right():
    ids, mask = pad([[5, 6, 7], [8], [9, 10]], pad_id=0)
    assert torch.equal(ids, torch.tensor([[5, 6, 7], [8, 0, 0], [9, 10, 0]]))
    assert torch.equal(mask, torch.tensor([[1, 1, 1], [1, 0, 0], [1, 1, 0]]))
    assert ids.dtype == torch.long and mask.dtype == torch.long


def test_pad_left():
    ids, mask = pad([[5, 6, 7], [8], [9, 10]], pad_id=-1, side="left")
    assert torch.equal(ids, torch.tensor([[5, 6, 7], [-1, -1, 8], [-1, 9, 10]]))
    assert torch.equal(mask, torch.tensor([[1, 1, 1], [0, 0, 1], [0, 1, 1]]))


def test_pad_invalid_side():
    with pytest.raises(ValueError, match="padding side"):
        pad([[1]], 0, side="middle")


# --- encoding with SmolLM2's tokenizer ----------------------------------------------------------------------------


def test_encode_prompt_with_chat_template_ends_with_assistant_header(tok):
    header = tok.encode(ASSISTANT_HEADER, add_special_tokens=False)
    ids = encode_prompt(tok, "How do I boil an egg?", chat_template=True)
    assert ids[-len(header) :] == header
    text = tok.decode(ids)
    assert text.startswith("<|im_start|>system\n")
    assert text.endswith("<|im_start|>user\nHow do I boil an egg?<|im_end|>\n" + ASSISTANT_HEADER)


def test_an_empty_conversation_is_the_generation_prompt_alone(tok):
    """Taskmaster has contexts where the agent speaks first: the prompt is just the assistant header."""
    ids = encode_prompt(tok, [], chat_template=True)
    assert tok.decode(ids) == "<|im_start|>assistant\n"
    assert encode_prompt(tok, [{"role": "user", "content": "Hi"}], True)[-len(ids) :] == ids


def test_encode_prompt_hh_transcript_matches_messages(tok):
    prompt = "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Name a fruit.\n\nAssistant:"
    messages = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Name a fruit."},
    ]
    ids = encode_prompt(tok, prompt, chat_template=True)
    assert ids == encode_prompt(tok, messages, chat_template=True)
    assert tok.decode(ids).endswith(
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
        "<|im_start|>user\nName a fruit.<|im_end|>\n" + ASSISTANT_HEADER
    )


def test_encode_response_ends_with_eos(tok):
    assert end_token_id(tok) == tok.eos_token_id == tok.convert_tokens_to_ids("<|im_end|>")
    ids = encode_response(tok, "An apple.", chat_template=True)
    assert ids[-1] == tok.eos_token_id
    assert ids[:-1] == tok.encode("An apple.", add_special_tokens=False)
    assert tok.decode(ids) == "An apple.<|im_end|>"


def test_prompt_and_response_concatenate_like_the_chat_template(tok):
    full = tok.apply_chat_template(
        [{"role": "user", "content": "Name a fruit."}, {"role": "assistant", "content": "An apple."}],
        tokenize=False,
    )
    ids = encode_prompt(tok, "Name a fruit.", True) + encode_response(tok, "An apple.", True)
    assert full.startswith(tok.decode(ids))
    assert full[len(tok.decode(ids)) :] in ("", "\n")


def test_encode_without_chat_template(tok):
    ids = encode_prompt(tok, "How do I boil an egg?", chat_template=False)
    assert tok.decode(ids) == "Human: How do I boil an egg?\n\nAssistant:"
    assert ids[-len(tok.encode("\n\nAssistant:", add_special_tokens=False)) :] == tok.encode(
        "\n\nAssistant:", add_special_tokens=False
    )
    multi = encode_prompt(tok, "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Name a fruit.\n\nAssistant:", False)
    assert tok.decode(multi) == "Human: Hi\n\nAssistant: Hello!\n\nHuman: Name a fruit.\n\nAssistant:"
    response = encode_response(tok, "An apple.", chat_template=False)
    assert response[-1] == tok.eos_token_id
    assert tok.decode(response) == " An apple.<|im_end|>"
