"""The lean decode loop samples exactly what ``generate`` samples; weight-major linears and the merged adapter change
speed, not results, and leave every weight as it was."""

from __future__ import annotations

import copy

import pytest
import torch
from peft import PeftModel, get_peft_model

from perl_lightning.data.formatting import encode_prompt, pad
from perl_lightning.models.adapters import LoRAConfig, merged_adapter, to_peft_config, use_adapter
from perl_lightning.models.backbone import load_backbone
from perl_lightning.models.decoding import decode, distinct_rows, weight_major_linears
from perl_lightning.models.forward import response_logprobs
from perl_lightning.models.generation import generation_config, sample
from perl_lightning.rl.config import SamplingConfig

TEXTS = ["Tell me a joke.", "How do I boil an egg without cracking the shell?", "Hi", "Name three rivers in Europe."]


@pytest.fixture(scope="module")
def tiny_lm(tiny_tokenizer):
    return load_backbone("tiny-llama", "causal-lm", tokenizer=tiny_tokenizer).eval()


@pytest.fixture(scope="module")
def prompts(tiny_tokenizer) -> tuple[torch.Tensor, torch.Tensor]:
    ids, mask = pad([encode_prompt(tiny_tokenizer, t, True) for t in TEXTS], tiny_tokenizer.pad_token_id, side="left")
    return ids.repeat_interleave(2, 0), mask.repeat_interleave(2, 0)  # k = 2 samples per prompt, contiguous


@pytest.fixture
def lora_lm(tiny_tokenizer) -> PeftModel:
    torch.manual_seed(0)
    base = load_backbone("tiny-llama", "causal-lm", tokenizer=tiny_tokenizer)
    model = get_peft_model(base, to_peft_config(LoRAConfig(r=4, alpha=8, dropout=0.0), base), adapter_name="policy")
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.1)  # a non-zero adapter, so that merging it matters
    return model.eval()


CONFIGS = {
    "sample": SamplingConfig(max_new_tokens=12),
    "min_new_tokens": SamplingConfig(max_new_tokens=12, min_new_tokens=12),
    "warped": SamplingConfig(max_new_tokens=12, temperature=0.7, top_k=20, top_p=0.9, min_new_tokens=3),
    "greedy": SamplingConfig(max_new_tokens=12, do_sample=False),
}


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("k", [1, 2])
def test_decode_samples_what_generate_samples(tiny_lm, tiny_tokenizer, prompts, name, k):
    """Fixed seed: the same tokens as ``generate`` for sampling, warpers, min-new-tokens and greedy decoding, with
    the prompt run once per k rows (k=2) or per row (k=1). The end tokens include the token row 0 samples 5th, so
    that rows end at different steps (finished rows fed the pad token) or the loop stops early."""
    ids, mask = prompts
    config, pad_id, p = CONFIGS[name], tiny_tokenizer.pad_token_id, prompts[0].shape[1]
    torch.manual_seed(1)
    free = tiny_lm.generate(input_ids=ids, attention_mask=mask,
                            generation_config=generation_config(config, [2], pad_id))  # fmt: skip
    end_ids = [2, int(free[0, p + 4])]
    torch.manual_seed(1)
    expected = tiny_lm.generate(input_ids=ids, attention_mask=mask,
                                generation_config=generation_config(config, end_ids, pad_id))  # fmt: skip
    torch.manual_seed(1)
    got = decode(tiny_lm, ids, mask, config, end_ids, pad_id, k=k).sequences
    assert got.shape == expected.shape and torch.equal(got, expected)
    if name in ("sample", "warped"):  # greedy on a random model repeats tokens: it may end everywhere at once
        assert got[0, p + 4] == end_ids[1] and (got[0, p + 5 :] == pad_id).all()  # row 0 ended at its 5th token
        assert (got[:, p + 5 :] != pad_id).any() or got.shape[1] == p + 5  # others went on, or the loop stopped


def test_sample_engines_agree_on_the_rollout(tiny_lm, tiny_tokenizer, prompts):
    ids, mask = prompts
    rollouts = []
    for engine in ("lean", "generate"):
        torch.manual_seed(3)
        config = SamplingConfig(max_new_tokens=8, engine=engine)
        rollouts.append(sample(tiny_lm, tiny_tokenizer, ids, mask, ["p"] * len(ids), config, [2], k=2))
    lean, gen = rollouts
    assert torch.equal(lean.sequences, gen.sequences) and torch.equal(lean.response_mask, gen.response_mask)
    assert lean.responses == gen.responses


@pytest.mark.parametrize("name", ["warped", "greedy"])
def test_sampler_logprobs_equal_a_separate_forward(tiny_lm, tiny_tokenizer, prompts, name):
    """The log-probs and entropies the loop records (temperature-scaled, before top-k / top-p) equal those of a
    separate forward over the sampled sequences, on every response token up to the end."""
    ids, mask = prompts
    config = CONFIGS[name]
    torch.manual_seed(0)
    rollout = sample(tiny_lm, tiny_tokenizer, ids, mask, ["p"] * len(ids), config, [2], k=2)
    logprobs, entropy = response_logprobs(tiny_lm, rollout.sequences, rollout.attention_mask, rollout.prompt_length,
                                          config.temperature, with_entropy=True)  # fmt: skip
    valid = rollout.response_mask.bool()
    assert rollout.logprobs.shape == logprobs.shape and valid.sum() > 10
    torch.testing.assert_close(rollout.logprobs[valid], logprobs[valid], atol=2e-5, rtol=1e-5)
    torch.testing.assert_close(rollout.entropy[valid], entropy[valid], atol=2e-5, rtol=1e-5)
    assert (rollout.logprobs[valid] < 0).all() and not torch.allclose(rollout.logprobs[valid], torch.zeros(1))


def test_distinct_rows_only_when_rows_repeat(prompts):
    ids, mask = prompts
    assert distinct_rows(ids, mask, 2)
    assert not distinct_rows(ids, mask, 4)  # runs of 4 rows hold two different prompts
    assert not distinct_rows(ids[1:], mask[1:], 2)


def test_weight_major_linears_same_outputs_modules_restored(tiny_lm, prompts):
    ids, mask = prompts
    before = {n: p.clone() for n, p in tiny_lm.named_parameters()}
    with torch.no_grad():
        plain = tiny_lm(input_ids=ids[:, :1], attention_mask=mask[:, :1]).logits
        with weight_major_linears(tiny_lm):
            assert any("forward" in vars(m) for m in tiny_lm.modules())
            fast = tiny_lm(input_ids=ids[:, :1], attention_mask=mask[:, :1]).logits
    assert not any("forward" in vars(m) for m in tiny_lm.modules())  # the class forward again
    torch.testing.assert_close(fast, plain, atol=1e-5, rtol=1e-5)
    assert all(torch.equal(p, before[n]) for n, p in tiny_lm.named_parameters())


def test_merged_adapter_restores_weights_bit_identically(lora_lm, prompts):
    ids, mask = prompts
    trainable = [p for n, p in lora_lm.named_parameters() if "lora_" in n]
    for p in lora_lm.parameters():
        p.requires_grad_(any(p is t for t in trainable))
    state = {n: p.detach().clone() for n, p in lora_lm.named_parameters()}
    with torch.no_grad(), use_adapter(lora_lm, "policy", trainable):
        adapted = lora_lm(input_ids=ids, attention_mask=mask).logits
        with use_adapter(lora_lm, None, trainable):
            base = lora_lm(input_ids=ids, attention_mask=mask).logits
        with merged_adapter(lora_lm, trainable) as merged:
            folded = merged(input_ids=ids, attention_mask=mask).logits
    assert not torch.allclose(adapted, base, atol=1e-3)  # the adapter matters ...
    torch.testing.assert_close(folded, adapted, atol=1e-5, rtol=1e-4)  # ... and merging keeps its effect
    for name, p in lora_lm.named_parameters():  # every weight bit-identical, flags intact, adapter back on
        assert torch.equal(p, state[name]), name
        assert p.requires_grad == any(p is t for t in trainable), name
    with torch.no_grad():
        torch.testing.assert_close(lora_lm(input_ids=ids, attention_mask=mask).logits, adapted, atol=0, rtol=0)


def test_merged_adapter_bf16_drift_is_bounded(lora_lm, prompts):
    """In bf16 the merged weight is rounded once: logits stay within bf16 rounding of the unmerged forward."""
    ids, mask = prompts
    model = copy.deepcopy(lora_lm).to(torch.bfloat16)
    trainable = [p for n, p in model.named_parameters() if "lora_" in n]
    with torch.no_grad():
        unmerged = model(input_ids=ids, attention_mask=mask).logits.float()
        with merged_adapter(model, trainable) as merged:
            folded = merged(input_ids=ids, attention_mask=mask).logits.float()
    scale = unmerged.abs().max()
    assert (folded - unmerged).abs().max() <= 0.05 * scale  # a few bf16 ulps at the logits' scale
    assert (folded.argmax(-1) == unmerged.argmax(-1)).float().mean() > 0.9


def test_merged_adapter_is_a_no_op_without_an_active_adapter(lora_lm, prompts):
    ids, mask = prompts
    trainable = [p for n, p in lora_lm.named_parameters() if "lora_" in n]
    with torch.no_grad(), use_adapter(lora_lm, None, trainable) as plain:
        base = plain(input_ids=ids, attention_mask=mask).logits
        with merged_adapter(plain, trainable) as same:
            assert same is plain
            torch.testing.assert_close(same(input_ids=ids, attention_mask=mask).logits, base, atol=0, rtol=0)


@pytest.mark.parametrize("extra", [dict(modules_to_save=["lm_head"]), dict(target_modules=["q_proj", "embed_tokens"])])
def test_merged_adapter_leaves_unfoldable_adapters_unmerged(tiny_tokenizer, prompts, extra):
    """An adapter that folding would not capture whole (a trained copy of the LM head, LoRA on the embeddings) is
    sampled from unmerged: the same logits as the adapted forward."""
    torch.manual_seed(0)
    base = load_backbone("tiny-llama", "causal-lm", tokenizer=tiny_tokenizer)
    config = to_peft_config(LoRAConfig(r=4, alpha=8, dropout=0.0), base)
    for key, value in extra.items():
        setattr(config, key, value)
    model = get_peft_model(base, config, adapter_name="policy").eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name or "lora_embedding_B" in name or "modules_to_save" in name:
                p.add_(torch.randn_like(p) * 0.1)
    ids, mask = prompts
    trainable = [p for p in model.parameters() if p.requires_grad]
    with torch.no_grad():
        adapted = model(input_ids=ids, attention_mask=mask).logits
        with merged_adapter(model, trainable) as same:
            assert same is model
            torch.testing.assert_close(same(input_ids=ids, attention_mask=mask).logits, adapted, atol=0, rtol=0)
