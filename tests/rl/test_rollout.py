"""Rollout machinery: EOS masking, stop strings, log-probs that match sampling, reward shaping, advantages."""

from __future__ import annotations

import math

import pytest
import torch
from peft import LoraConfig, get_peft_model

from perl_lightning.data.formatting import encode_prompt, pad
from perl_lightning.models.backbone import load_backbone
from perl_lightning.models.heads import ScoreHead, ValueHead, last_token_index
from perl_lightning.rl import rollout as R
from perl_lightning.rl.advantages import RunningMeanStd, gae, rloo_advantages
from perl_lightning.rl.types import SamplingConfig

EOS, PAD = 2, 0


@pytest.fixture(scope="module")
def tiny_lm(tiny_tokenizer):
    return load_backbone("tiny-llama", "causal-lm", tokenizer=tiny_tokenizer).eval()


def _prompts(tokenizer, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    return pad([encode_prompt(tokenizer, t, True) for t in texts], tokenizer.pad_token_id, side="left")


def test_truncate_after_first_end_token_keeps_it():
    responses = torch.tensor([[5, 6, EOS, 7, PAD], [EOS, PAD, PAD, PAD, PAD], [5, 6, 7, 8, 9], [PAD, PAD, 3, 4, 5]])
    mask, ended = R.truncate_after_end(responses, [EOS, PAD])
    assert mask.tolist() == [[1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]]
    assert ended.tolist() == [True, True, False, True]


def test_stop_strings_cut_after_the_completing_token(tiny_tokenizer):
    ids = tiny_tokenizer("Sure. The answer is 4. STOP and more text", add_special_tokens=False)["input_ids"]
    responses = torch.tensor([ids, ids])
    mask, ended = torch.ones_like(responses), torch.tensor([False, False])
    mask, ended = R.cut_at_stop_strings(tiny_tokenizer, responses, mask, ended, ["STOP"])
    kept = tiny_tokenizer.decode(responses[0][mask[0].bool()])
    assert kept.endswith("STOP") and "more" not in kept and ended.all()
    same_mask, same_ended = R.cut_at_stop_strings(tiny_tokenizer, responses, mask, ~ended, ["never there"])
    assert torch.equal(same_mask, mask) and not same_ended.any()


def test_sampled_rollout_masks_and_logprobs_match_generate(tiny_lm, tiny_tokenizer):
    """Log-probs recomputed with the sampling temperature equal generate's own (no negative-KL from a mismatch)."""
    ids, mask = _prompts(tiny_tokenizer, ["Hi", "How do I boil an egg quickly?", "Why?"])
    config = SamplingConfig(max_new_tokens=6, temperature=0.7)
    end_ids = R.end_token_ids(tiny_tokenizer, tiny_lm)
    assert end_ids[0] == tiny_tokenizer.eos_token_id and PAD in end_ids
    torch.manual_seed(0)
    with torch.no_grad():
        out = tiny_lm.generate(input_ids=ids, attention_mask=mask, do_sample=True, temperature=0.7, top_k=0,
                               max_new_tokens=6, eos_token_id=end_ids, pad_token_id=PAD, output_logits=True,
                               return_dict_in_generate=True)  # fmt: skip
    torch.manual_seed(0)
    rollout = R.sample(tiny_lm, tiny_tokenizer, ids, mask, ["a", "b", "c"], config, end_ids)
    assert torch.equal(rollout.sequences, out.sequences)  # R.sample is generate + masking, nothing else
    assert rollout.attention_mask.shape == rollout.sequences.shape and rollout.prompt_length == ids.shape[1]
    gen_logits = torch.stack(out.logits, dim=1) / 0.7  # (N, R, V) raw logits of each step
    expected = torch.log_softmax(gen_logits, -1).gather(-1, rollout.responses_ids.unsqueeze(-1)).squeeze(-1)
    with torch.no_grad():
        logprobs, entropy = R.response_logprobs(tiny_lm, rollout.sequences, rollout.attention_mask,
                                                rollout.prompt_length, 0.7, with_entropy=True)  # fmt: skip
    m = rollout.response_mask.bool()
    torch.testing.assert_close(logprobs[m], expected[m], atol=1e-4, rtol=1e-4)
    assert entropy.shape == logprobs.shape and (entropy[m] > 0).all()


def test_logprobs_do_not_depend_on_padding(tiny_lm, tiny_tokenizer):
    texts = ["Hi", "How do I boil an egg quickly?"]
    ids, mask = _prompts(tiny_tokenizer, texts)
    response = torch.tensor([[11, 12, 13], [21, 22, 23]])
    seq = torch.cat([ids, response], 1)
    am = torch.cat([mask, torch.ones_like(response)], 1)
    with torch.no_grad():
        batched, _ = R.response_logprobs(tiny_lm, seq, am, ids.shape[1])
        alone = [R.response_logprobs(tiny_lm, s[m.bool()][None], m[m.bool()][None], int(m.sum()) - 3)[0] for s, m in
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


def test_token_rewards_kl_shaping_by_hand():
    logprobs = torch.tensor([[-1.0, -2.0, -0.5], [-1.0, 0.0, 0.0]])
    ref = torch.tensor([[-1.5, -1.0, -0.5], [-2.0, 0.0, 0.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    out = R.token_rewards(torch.tensor([2.0, -1.0]), logprobs, ref, mask, "k1", kl_coef=0.1)
    k1 = torch.tensor([[0.5, -1.0, 0.0], [1.0, 0.0, 0.0]])
    expected = -0.1 * k1
    expected[0, 2] += 2.0
    expected[1, 0] += -1.0
    torch.testing.assert_close(out.rewards, expected)
    torch.testing.assert_close(out.kl_k1, torch.tensor([-0.5, 1.0]))
    k3 = lambda r: math.exp(-r) - 1 + r  # noqa: E731
    torch.testing.assert_close(out.kl_k3, torch.tensor([k3(0.5) + k3(-1.0), k3(1.0)]))
    in_loss = R.token_rewards(torch.tensor([2.0, -1.0]), logprobs, ref, mask, "k1", 0.1, kl_in_reward=False)
    assert in_loss.rewards[0].tolist() == [0.0, 0.0, 2.0]
    for estimator in ("k2", "k3", "clamped", "jensen_shannon", "none"):
        shaped = R.token_rewards(torch.tensor([0.0, 0.0]), logprobs, ref, mask, estimator, 0.1)
        assert torch.isfinite(shaped.rewards).all() and (shaped.kl >= 0).all()


def test_empty_responses_give_finite_zero_rewards_and_advantages():
    mask = torch.zeros(4, 5)
    lp = torch.full((4, 5), float("nan"))  # whatever sits under the mask must not leak
    out = R.token_rewards(torch.ones(4), lp, lp, mask, "k3", 0.1)
    assert torch.equal(out.rewards, torch.zeros(4, 5)) and torch.equal(out.kl_k1, torch.zeros(4))
    for algorithm in ("ppo", "reinforce", "rloo"):
        adv, ret = R.advantages_and_returns(algorithm, out.rewards, torch.zeros(4, 5), mask, samples_per_prompt=2,
                                            baseline="mean", baseline_stats=RunningMeanStd())  # fmt: skip
        assert torch.isfinite(adv).all() and torch.isfinite(ret).all()


def test_advantages_per_algorithm():
    rewards = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 3.0], [2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [1.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    values = torch.rand(4, 3)
    adv, ret = R.advantages_and_returns("ppo", rewards, values, mask, gamma=0.9, lam=0.8, whiten=False)
    exp_adv, exp_ret = gae(rewards, values, mask, 0.9, 0.8)
    torch.testing.assert_close(adv, exp_adv) and torch.testing.assert_close(ret, exp_ret)
    adv, ret = R.advantages_and_returns("rloo", rewards, values, mask, samples_per_prompt=2, whiten=False)
    seq = torch.tensor([1.0, 3.0, 2.0, 0.0])
    torch.testing.assert_close(adv, rloo_advantages(seq, 2)[:, None] * mask)
    torch.testing.assert_close(ret[:, 0], seq)  # return-to-go at the first token = the sequence return
    stats = RunningMeanStd()
    adv, _ = R.advantages_and_returns("reinforce", rewards, values, mask, baseline="mean", baseline_stats=stats,
                                      whiten=False)  # fmt: skip
    torch.testing.assert_close(adv[:, 0], seq - 1.5)
    adv, ret = R.advantages_and_returns("reinforce", rewards, values, mask, baseline="value", whiten=False)
    torch.testing.assert_close(adv, (ret - values) * mask)
    whitened, _ = R.advantages_and_returns("ppo", rewards, values, mask)
    assert abs(float(whitened[mask.bool()].mean())) < 1e-5


def test_score_shaping_and_ensembles():
    raw = torch.tensor([1.0, -3.0, 5.0])
    lengths, ended = torch.tensor([2, 4, 10]), torch.tensor([True, True, False])
    s = R.shape_scores(raw, raw[None], lengths, ended, clip=2.0, length_penalty=0.1, no_eos_penalty=1.0)
    torch.testing.assert_close(s.shaped, torch.tensor([1.0 - 0.2, -2.0 - 0.4, 2.0 - 1.0 - 1.0]))
    assert torch.equal(s.raw, raw)
    norm = RunningMeanStd()
    s = R.shape_scores(raw, raw[None], lengths, ended, normalizer=norm)
    assert abs(float(s.shaped.mean())) < 1e-5 and norm.count == 3
    members = torch.tensor([[1.0, 2.0], [3.0, 0.0]])
    assert R.reduce_ensemble(members, "mean").tolist() == [2.0, 1.0]
    assert R.reduce_ensemble(members, "min").tolist() == [1.0, 0.0]
    assert R.reduce_ensemble(members, "mean_minus_std", 0.5).tolist() == [1.5, 0.5]
    assert R.reduce_ensemble(members[:1], "mean_minus_std").tolist() == [1.0, 2.0]


def test_function_reward_import_and_checks():
    fn = R.FunctionReward("perl_lightning.rl.rollout:newline_reward")
    assert fn(["p", "q"], ["a\nb\n", "c"]).tolist() == [2.0, 0.0]
    assert R.FunctionReward("perl_lightning.rl.rollout.brevity_reward")(["p"], ["one two"]).tolist() == [
        pytest.approx(-0.2)
    ]
    with pytest.raises(ValueError, match="cannot import"):
        R.FunctionReward("perl_lightning.rl.rollout:nope")
    bad = R.FunctionReward("math:isfinite")
    with pytest.raises((ValueError, TypeError)):
        bad(["p"], ["r"])


def test_use_adapter_keeps_trainable_flags(tiny_tokenizer):
    base = load_backbone("tiny-llama", "causal-lm", tokenizer=tiny_tokenizer)
    config = LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj", "v_proj"])
    model = get_peft_model(base, config, adapter_name="policy")
    model.add_adapter("value", LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj", "v_proj"]))
    model.add_adapter("reward", LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj", "v_proj"]))
    trainable = [p for n, p in model.named_parameters() if ".policy." in n or ".value." in n]
    flags = lambda: {n: p.requires_grad for n, p in model.named_parameters() if "lora" in n}  # noqa: E731
    for p in model.parameters():
        p.requires_grad_(any(p is t for t in trainable))
    before = flags()
    for name in ("reward", "value", None, "policy"):
        with R.use_adapter(model, name, trainable):
            assert flags() == before, f"flags changed inside use_adapter({name})"
            if name is not None:
                assert model.active_adapter == name
        assert flags() == before
