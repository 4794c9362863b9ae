"""Sampling and forward passes: end-token masking, stop strings, log-probs that match sampling, heads, row ids."""

from __future__ import annotations

import pytest
import torch

from perl_lightning.data.formatting import encode_prompt, pad
from perl_lightning.models.adapters import LoRAConfig
from perl_lightning.models.backbone import load_backbone, position_ids_from_mask
from perl_lightning.models.forward import in_chunks, response_logprobs
from perl_lightning.models.generation import cut_at_stop_strings, end_token_ids, sample
from perl_lightning.models.heads import ScoreHead, ValueHead
from perl_lightning.models.topology import PolicyModels
from perl_lightning.rl.config import SamplingConfig
from perl_lightning.rl.masking import last_token_index, truncate_after_end

EOS, PAD = 2, 0


@pytest.fixture(scope="module")
def tiny_lm(tiny_tokenizer):
    return load_backbone("tiny-llama", "causal-lm", tokenizer=tiny_tokenizer).eval()


def _prompts(tokenizer, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    return pad([encode_prompt(tokenizer, t, True) for t in texts], tokenizer.pad_token_id, side="left")


def test_truncate_after_first_end_token_keeps_it():
    responses = torch.tensor([[5, 6, EOS, 7, PAD], [EOS, PAD, PAD, PAD, PAD], [5, 6, 7, 8, 9], [PAD, PAD, 3, 4, 5]])
    mask, ended = truncate_after_end(responses, [EOS, PAD])
    assert mask.tolist() == [[1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]]
    assert ended.tolist() == [True, True, False, True]


def test_stop_strings_cut_after_the_completing_token(tiny_tokenizer):
    ids = tiny_tokenizer("Sure. The answer is 4. STOP and more text", add_special_tokens=False)["input_ids"]
    responses = torch.tensor([ids, ids])
    mask, ended = torch.ones_like(responses), torch.tensor([False, False])
    mask, ended = cut_at_stop_strings(tiny_tokenizer, responses, mask, ended, ["STOP"])
    kept = tiny_tokenizer.decode(responses[0][mask[0].bool()])
    assert kept.endswith("STOP") and "more" not in kept and ended.all()
    same_mask, same_ended = cut_at_stop_strings(tiny_tokenizer, responses, mask, ~ended, ["never there"])
    assert torch.equal(same_mask, mask) and not same_ended.any()


def test_sampled_rollout_masks_and_logprobs_match_generate(tiny_lm, tiny_tokenizer):
    """Log-probs recomputed with the sampling temperature equal generate's own (no negative-KL from a mismatch)."""
    ids, mask = _prompts(tiny_tokenizer, ["Hi", "How do I boil an egg quickly?", "Why?"])
    config = SamplingConfig(max_new_tokens=6, temperature=0.7)
    end_ids = end_token_ids(tiny_tokenizer, tiny_lm)
    assert end_ids[0] == tiny_tokenizer.eos_token_id and PAD in end_ids
    torch.manual_seed(0)
    with torch.no_grad():
        out = tiny_lm.generate(input_ids=ids, attention_mask=mask, do_sample=True, temperature=0.7, top_k=0,
                               max_new_tokens=6, eos_token_id=end_ids, pad_token_id=PAD, output_logits=True,
                               return_dict_in_generate=True)  # fmt: skip
    torch.manual_seed(0)
    meta = [{"answer": "a"}, {"answer": "b"}, {}]
    rollout = sample(tiny_lm, tiny_tokenizer, ids, mask, ["a", "b", "c"], config, end_ids, ["r1", "r2", "r3"], meta)
    assert torch.equal(rollout.sequences, out.sequences)  # sample is generate + masking, nothing else
    assert rollout.attention_mask.shape == rollout.sequences.shape and rollout.prompt_length == ids.shape[1]
    assert rollout.row_ids == ["r1", "r2", "r3"] and rollout.metadata == meta and rollout.prompts == ["a", "b", "c"]
    gen_logits = torch.stack(out.logits, dim=1) / 0.7  # (N, R, V) raw logits of each step
    expected = torch.log_softmax(gen_logits, -1).gather(-1, rollout.responses_ids.unsqueeze(-1)).squeeze(-1)
    with torch.no_grad():
        logprobs, entropy = response_logprobs(tiny_lm, rollout.sequences, rollout.attention_mask,
                                              rollout.prompt_length, 0.7, with_entropy=True)  # fmt: skip
    m = rollout.response_mask.bool()
    torch.testing.assert_close(logprobs[m], expected[m], atol=1e-4, rtol=1e-4)
    assert entropy.shape == logprobs.shape and (entropy[m] > 0).all()
    picked = rollout.select([2, 0])
    assert picked.row_ids == ["r3", "r1"] and picked.metadata == [{}, {"answer": "a"}]
    assert torch.equal(picked.sequences, rollout.sequences[[2, 0]])


def test_sampling_refuses_right_padded_prompts(tiny_lm, tiny_tokenizer):
    ids, mask = pad([encode_prompt(tiny_tokenizer, t, True) for t in ["Hi", "How are you?"]], PAD, side="right")
    with pytest.raises(ValueError, match="LEFT-padded"):
        sample(tiny_lm, tiny_tokenizer, ids, mask, ["Hi", "How are you?"], SamplingConfig(max_new_tokens=2), [EOS])


def test_logprobs_do_not_depend_on_padding(tiny_lm, tiny_tokenizer):
    texts = ["Hi", "How do I boil an egg quickly?"]
    ids, mask = _prompts(tiny_tokenizer, texts)
    response = torch.tensor([[11, 12, 13], [21, 22, 23]])
    seq = torch.cat([ids, response], 1)
    am = torch.cat([mask, torch.ones_like(response)], 1)
    with torch.no_grad():
        batched, _ = response_logprobs(tiny_lm, seq, am, ids.shape[1])
        alone = [response_logprobs(tiny_lm, s[m.bool()][None], m[m.bool()][None], int(m.sum()) - 3)[0] for s, m in
                 zip(seq, am, strict=True)]  # fmt: skip
    torch.testing.assert_close(batched, torch.cat(alone), atol=1e-5, rtol=1e-5)


def test_heads_read_last_real_token():
    mask = torch.tensor([[0, 1, 1, 0], [1, 1, 1, 1], [0, 0, 0, 0]])
    assert last_token_index(mask).tolist() == [2, 3, 0]
    hidden = torch.randn(3, 4, 8)
    head = ScoreHead.from_tensors(torch.randn(1, 8))
    expected = hidden[[0, 1, 2], [2, 3, 0]] @ head.score.weight[0]
    torch.testing.assert_close(head(hidden, mask), expected)
    assert not any(p.requires_grad for p in head.parameters())
    assert ValueHead(8)(hidden).abs().sum() == 0  # zero-initialised value head


def test_in_chunks_covers_every_row_once():
    assert in_chunks(5, 2) == [slice(0, 2), slice(2, 4), slice(4, 5)]
    assert in_chunks(5, None) == [slice(0, 5)] and in_chunks(0, 3) == []


def test_grouped_trimmed_logprobs_equal_the_whole_batch(tiny_tokenizer):
    """No-grad log-probs and values in length-grouped chunks of a small token budget (each chunk trimming its
    padding) equal one pass over the whole padded batch, row for row."""
    torch.manual_seed(0)
    models = PolicyModels("tiny-llama", LoRAConfig(r=4, alpha=8, dropout=0.0), value=True)
    texts = ["Hi", "Tell me a very long story about a dragon and a knight in a castle", "Why?", "Name a river."]
    ids, mask = _prompts(tiny_tokenizer, texts)
    rollout = models.generate(ids, mask, texts, SamplingConfig(max_new_tokens=6), k=2)
    whole = models.logprobs(rollout, "policy", 1.0, with_entropy=True)
    grouped = models.logprobs(rollout, "policy", 1.0, with_entropy=True, budget=40)
    valid = rollout.response_mask.bool()
    for a, b in zip(whole, grouped, strict=True):
        torch.testing.assert_close(b[valid], a[valid], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(models.values(rollout, budget=40)[valid], models.values(rollout)[valid], atol=1e-5,
                               rtol=1e-5)  # fmt: skip


def test_chunked_logprobs_equal_one_pass_values_and_gradients(tiny_tokenizer):
    """The LM head taken a row at a time under activation checkpointing gives the log-probs, entropies and LoRA
    gradients of a single pass over all rows, and equals the model's own forward (full logits, log-softmax)."""
    torch.manual_seed(0)
    models = PolicyModels("tiny-llama", LoRAConfig(r=4, alpha=8, dropout=0.0))
    with torch.no_grad():
        for name, p in models.model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.1)
    texts = ["Hi", "Tell me a long story about a dragon", "Why?"]
    ids, mask = _prompts(tiny_tokenizer, texts)
    rollout = models.generate(ids, mask, texts, SamplingConfig(max_new_tokens=5), k=2)
    seq, att, p = rollout.sequences, rollout.attention_mask, rollout.prompt_length
    results = []
    for chunk in (1, 10**9):  # one row's logits at a time vs all at once
        models.model.zero_grad()
        with models.role("policy") as model:
            lp, ent = response_logprobs(model, seq, att, p, 0.7, with_entropy=True, chunk_elements=chunk)
        (lp * rollout.response_mask).sum().backward()
        results.append((lp.detach(), ent.detach(), {n: q.grad.clone() for n, q in models.model.named_parameters()
                                                   if q.grad is not None}))  # fmt: skip
    (lp_a, ent_a, grads_a), (lp_b, ent_b, grads_b) = results
    torch.testing.assert_close(lp_a, lp_b)
    torch.testing.assert_close(ent_a, ent_b)
    assert grads_a.keys() == grads_b.keys() and grads_a
    for name, grad in grads_b.items():
        torch.testing.assert_close(grads_a[name], grad, atol=1e-5, rtol=1e-4)
    with torch.no_grad(), models.role("policy") as model:
        positions = position_ids_from_mask(att)
        logits = model(input_ids=seq, attention_mask=att, position_ids=positions).logits[:, p - 1 : -1].float() / 0.7
    direct = torch.log_softmax(logits, -1).gather(-1, seq[:, p:, None]).squeeze(-1)
    valid = rollout.response_mask.bool()
    torch.testing.assert_close(lp_b[valid], direct[valid], atol=1e-5, rtol=1e-5)
