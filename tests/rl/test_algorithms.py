"""The algorithm table (``perl_lightning.rl.algorithms``) against numbers worked out by hand.

Every expected value below is written out (the arithmetic in the comments), never computed with the package's own
advantage math. The k samples of a prompt are contiguous rows.
"""

from __future__ import annotations

import math
import typing

import pytest
import torch
from torch.testing import assert_close

from perl_lightning.data.prompts import PromptDataModule
from perl_lightning.models.adapters import LoRAConfig
from perl_lightning.modules.policy import PolicyModule
from perl_lightning.rewards import RewardSpec
from perl_lightning.rl.advantages import RunningMeanStd
from perl_lightning.rl.algorithms import ALGORITHMS, AdvantageInputs, AlgorithmName, get_algorithm
from perl_lightning.rl.config import KLConfig, SamplingConfig, UpdateConfig
from perl_lightning.rl.types import Experience

# Four responses of up to three tokens, reward on the last token (gamma = 1):
#   row 0: [0, 1, -]  -> return-to-go [1, 1, 0], sequence return 1
#   row 1: [0, 0, 3]  -> return-to-go [3, 3, 3], sequence return 3
#   row 2: [2, -, -]  -> return-to-go [2, 0, 0], sequence return 2
#   row 3: [0.5, -0.5, 1] -> return-to-go [1, 0.5, 1], sequence return 1
REWARDS = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 3.0], [2.0, 0.0, 0.0], [0.5, -0.5, 1.0]])
MASK = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [1.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
RETURN_TO_GO = torch.tensor([[1.0, 1.0, 0.0], [3.0, 3.0, 3.0], [2.0, 0.0, 0.0], [1.0, 0.5, 1.0]])


def advantages(name: str, rewards=REWARDS, mask=MASK, values=None, scores=None, k=1, stats=None, **config):
    algo = get_algorithm(name)
    cfg = algo.resolve(UpdateConfig(samples_per_prompt=k, **config))
    values = torch.zeros_like(rewards) if values is None else values
    scores = torch.zeros(rewards.shape[0]) if scores is None else scores
    return algo.advantages(AdvantageInputs(rewards, scores, values, mask, k, cfg, stats or RunningMeanStd()))


# ---- ppo -----------------------------------------------------------------------------------------------------------
def test_ppo_gae_advantages_and_returns():
    # row 0 (3 tokens), gamma 0.9, lambda 0.8, V = [0.5, 0.2, 0.4], V after the last token = 0:
    #   t=2: delta = 1 - 0.4 = 0.6                    A = 0.6
    #   t=1: delta = 0 + 0.9 * 0.4 - 0.2 = 0.16       A = 0.16 + 0.72 * 0.6 = 0.592
    #   t=0: delta = 0 + 0.9 * 0.2 - 0.5 = -0.32      A = -0.32 + 0.72 * 0.592 = 0.10624
    #   returns = A + V = [0.60624, 0.792, 1.0]
    # row 1 (1 valid token, garbage values under the mask): delta = 2 - 0.5 = 1.5, A = 1.5, return 2.0
    rewards = torch.tensor([[0.0, 0.0, 1.0], [2.0, 5.0, 5.0]])
    values = torch.tensor([[0.5, 0.2, 0.4], [0.5, 9.0, 9.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    adv, ret = advantages("ppo", rewards, mask, values, gamma=0.9, lam=0.8, whiten_advantages=False)
    assert_close(adv, torch.tensor([[0.10624, 0.592, 0.6], [1.5, 0.0, 0.0]]))
    assert_close(ret, torch.tensor([[0.60624, 0.792, 1.0], [2.0, 0.0, 0.0]]))


def test_ppo_whitens_by_default():
    adv, ret = advantages("ppo", values=torch.full_like(REWARDS, 0.5), gamma=1.0, lam=1.0)
    valid = adv[MASK.bool()]  # 9 valid tokens
    assert_close(valid.mean(), torch.tensor(0.0), atol=1e-6, rtol=0)
    assert_close(valid.std(), torch.tensor(1.0), atol=1e-5, rtol=0)
    assert torch.all(adv[~MASK.bool()] == 0)
    assert_close(ret, RETURN_TO_GO * MASK)  # lambda = 1: the returns are the return-to-go


# ---- reinforce -----------------------------------------------------------------------------------------------------
def test_reinforce_without_baseline_is_the_return_to_go():
    adv, ret = advantages("reinforce", baseline="none", whiten_advantages=False)
    assert_close(adv, RETURN_TO_GO)
    assert_close(ret, RETURN_TO_GO)
    # gamma 0.5 on row 1 ([0, 0, 3]): [0.25 * 3, 0.5 * 3, 3] = [0.75, 1.5, 3]
    adv, ret = advantages("reinforce", baseline="none", whiten_advantages=False, gamma=0.5)
    assert_close(ret[1], torch.tensor([0.75, 1.5, 3.0]))
    assert_close(adv[1], torch.tensor([0.75, 1.5, 3.0]))


def test_reinforce_value_baseline():
    # V = 0.5 everywhere (also under the mask): A = (return-to-go - 0.5) on valid tokens, 0 elsewhere
    adv, ret = advantages("reinforce", values=torch.full_like(REWARDS, 0.5), baseline="value", whiten_advantages=False)
    assert_close(adv, torch.tensor([[0.5, 0.5, 0.0], [2.5, 2.5, 2.5], [1.5, 0.0, 0.0], [0.5, 0.0, 0.5]]))
    assert_close(ret, RETURN_TO_GO)


def test_reinforce_mean_baseline_is_a_running_mean():
    stats = RunningMeanStd()
    # first batch: sequence returns [1, 3, 2, 1], running mean 7 / 4 = 1.75
    adv, _ = advantages("reinforce", baseline="mean", whiten_advantages=False, stats=stats)
    assert_close(adv, torch.tensor([[-0.75, -0.75, 0.0], [1.25, 1.25, 1.25], [0.25, 0.0, 0.0], [-0.75, -1.25, -0.75]]))
    assert stats.count == 4 and stats.mean == pytest.approx(1.75)
    # second batch, rewards doubled: sequence returns [2, 6, 4, 2] (mean 3.5); running mean (4 * 1.75 + 4 * 3.5) / 8
    # = 2.625, so row 1 gets 6 - 2.625 = 3.375 and row 0 gets [2 - 2.625, 2 - 2.625, -] = [-0.625, -0.625, 0]
    adv, ret = advantages("reinforce", rewards=2 * REWARDS, baseline="mean", whiten_advantages=False, stats=stats)
    assert stats.count == 8 and stats.mean == pytest.approx(2.625)
    assert_close(adv[0], torch.tensor([-0.625, -0.625, 0.0]))
    assert_close(adv[1], torch.tensor([3.375, 3.375, 3.375]))
    assert_close(ret, 2 * RETURN_TO_GO)


# ---- rloo ----------------------------------------------------------------------------------------------------------
def test_rloo_leave_one_out():
    # k = 2, groups [1, 3] and [2, 1]: A_j = s_j - (the other sample) -> [-2, 2] and [1, -1], on every valid token
    adv, ret = advantages("rloo", k=2, whiten_advantages=False)
    assert_close(adv, torch.tensor([[-2.0, -2.0, 0.0], [2.0, 2.0, 2.0], [1.0, 0.0, 0.0], [-1.0, -1.0, -1.0]]))
    assert_close(ret, RETURN_TO_GO)
    # k = 4, one group [1, 3, 2, 1], sum 7: A_j = s_j - (7 - s_j) / 3 -> [1 - 2, 3 - 4/3, 2 - 5/3, 1 - 2]
    adv, _ = advantages("rloo", k=4, whiten_advantages=False)
    assert_close(adv[:, 0], torch.tensor([-1.0, 5 / 3, 1 / 3, -1.0]))


# ---- grpo ----------------------------------------------------------------------------------------------------------
def test_grpo_group_batch_and_no_scale():
    # k = 2, groups [1, 3] (mean 2, unbiased std sqrt(2)) and [2, 1] (mean 1.5, std sqrt(0.5)); eps 1e-6 in the scale
    adv, ret = advantages("grpo", k=2, scale_rewards="group")
    r = 1 / math.sqrt(2)  # -1 / sqrt(2) = -0.5 / sqrt(0.5) = -0.70711
    assert_close(adv[:, 0], torch.tensor([-r, r, r, -r]), atol=1e-5, rtol=0)
    assert_close(adv * (1 - MASK), torch.zeros_like(adv))
    assert_close(ret, RETURN_TO_GO)
    # batch: std of all four [1, 3, 2, 1] (mean 1.75): sqrt((0.5625 + 1.5625 + 0.0625 + 0.5625) / 3) = 0.957427
    adv, _ = advantages("grpo", k=2, scale_rewards="batch")
    assert_close(adv[:, 0], torch.tensor([-1.044466, 1.044466, 0.522233, -0.522233]), atol=1e-5, rtol=0)
    # none (Dr. GRPO): centred only
    adv, _ = advantages("grpo", k=2, scale_rewards="none")
    assert_close(adv, torch.tensor([[-1.0, -1.0, 0.0], [1.0, 1.0, 1.0], [0.5, 0.0, 0.0], [-0.5, -0.5, -0.5]]))


def test_grpo_folds_the_kl_in_the_reward_into_the_sequence_return():
    # Both responses score 1. Row 0 pays beta * KL_t = 0.2 * [0.5, 1.0] = [0.1, 0.2]: rewards [-0.1, 1 - 0.2];
    # row 1 has no KL: rewards [0, 1]. Sequence returns 0.7 and 1.0, group mean 0.85 -> A = [-0.15, 0.15].
    # (On the scores alone, [1, 1], both advantages would be 0.)
    rewards = torch.tensor([[-0.1, 0.8], [0.0, 1.0]])
    mask = torch.ones(2, 2)
    adv, ret = advantages("grpo", rewards, mask, scores=torch.tensor([1.0, 1.0]), k=2, scale_rewards="none")
    assert_close(adv, torch.tensor([[-0.15, -0.15], [0.15, 0.15]]))
    assert_close(ret, torch.tensor([[0.7, 0.8], [1.0, 1.0]]))


# ---- reinforce_pp --------------------------------------------------------------------------------------------------
def test_reinforce_pp_group_mean_baseline_then_whitened():
    # rewards (KL already in them), scores, return-to-go:
    #   row 0: [-0.1, 0.9]  score 1   rtg [0.8, 0.9]
    #   row 1: [0, 3]       score 3   rtg [3, 3]
    #   row 2: [0, 2]       score 2   rtg [2, 2]
    #   row 3: [4, -]       score 4   rtg [4, 0]
    # group means of the SCORES (k = 2): (1 + 3) / 2 = 2, (2 + 4) / 2 = 3
    # before whitening: [-1.2, -1.1], [1, 1], [-1, -1], [1, -]
    # the 7 valid values: mean -1.3 / 7 = -0.185714, unbiased variance 7.40857 / 6 = 1.234762, std 1.111198
    # whitened: (x + 0.185714) / 1.111198 -> -1.2: -0.912785, -1.1: -0.822792, 1: 1.067059, -1: -0.732800
    rewards = torch.tensor([[-0.1, 0.9], [0.0, 3.0], [0.0, 2.0], [4.0, 0.0]])
    mask = torch.tensor([[1.0, 1.0], [1.0, 1.0], [1.0, 1.0], [1.0, 0.0]])
    scores = torch.tensor([1.0, 3.0, 2.0, 4.0])
    adv, ret = advantages("reinforce_pp", rewards, mask, scores=scores, k=2, whiten_advantages=False)
    assert_close(adv, torch.tensor([[-1.2, -1.1], [1.0, 1.0], [-1.0, -1.0], [1.0, 0.0]]))
    adv, ret = advantages("reinforce_pp", rewards, mask, scores=scores, k=2)  # whitened by default
    expected = torch.tensor([[-0.912785, -0.822792], [1.067059, 1.067059], [-0.7328, -0.7328], [1.067059, 0.0]])
    assert_close(adv, expected, atol=1e-5, rtol=0)
    assert_close(ret, torch.tensor([[0.8, 0.9], [3.0, 3.0], [2.0, 2.0], [4.0, 0.0]]))


# ---- the table itself ----------------------------------------------------------------------------------------------
def test_algorithm_name_literal_equals_the_table():
    assert set(typing.get_args(AlgorithmName)) == set(ALGORITHMS)
    assert list(typing.get_args(AlgorithmName)) == list(ALGORITHMS)
    assert all(a.name == name for name, a in ALGORITHMS.items())


@pytest.mark.parametrize(
    ("name", "k", "epochs", "whiten", "loss", "value"),
    [
        ("ppo", 1, 4, True, "clipped", "always"),
        ("reinforce", 1, 1, True, "vanilla", "baseline"),
        ("rloo", 4, 1, True, "vanilla", "never"),
        ("grpo", 4, 1, False, "clipped", "never"),
        ("reinforce_pp", 4, 1, True, "clipped", "never"),
    ],
)
def test_resolve_fills_the_defaults(name, k, epochs, whiten, loss, value):
    algo = get_algorithm(name)
    given = UpdateConfig(clip_eps_low=0.1)
    cfg = algo.resolve(given)
    assert (cfg.samples_per_prompt, cfg.update_epochs, cfg.whiten_advantages) == (k, epochs, whiten)
    assert cfg.clip_eps_high == 0.1, "clip_eps_high defaults to clip_eps_low"
    assert (algo.policy_loss, algo.value_model) == (loss, value)
    assert given.samples_per_prompt is None and given.update_epochs is None, "resolve does not touch its input"
    explicit = algo.resolve(UpdateConfig(samples_per_prompt=8, update_epochs=3, whiten_advantages=not whiten,
                                         clip_eps_high=0.28))  # fmt: skip
    assert (explicit.samples_per_prompt, explicit.update_epochs, explicit.whiten_advantages) == (8, 3, not whiten)
    assert explicit.clip_eps_high == 0.28


def test_resolve_errors_and_value_needs():
    for name in ("rloo", "grpo", "reinforce_pp"):
        with pytest.raises(ValueError, match=rf"{name} needs samples_per_prompt >= 2, got 1"):
            get_algorithm(name).resolve(UpdateConfig(samples_per_prompt=1))
    with pytest.raises(ValueError, match="zero_std: drop needs groups"):
        get_algorithm("ppo").resolve(UpdateConfig(zero_std="drop"))
    assert get_algorithm("grpo").resolve(UpdateConfig(zero_std="resample")).samples_per_prompt == 4
    with pytest.raises(ValueError, match="unknown algorithm 'a2c'; known: ppo, reinforce, rloo, grpo, reinforce_pp"):
        get_algorithm("a2c")
    reinforce = get_algorithm("reinforce")
    assert get_algorithm("ppo").needs_value(UpdateConfig(baseline="none"))
    assert reinforce.needs_value(UpdateConfig(baseline="value"))
    assert not reinforce.needs_value(UpdateConfig(baseline="mean"))
    assert not get_algorithm("rloo").needs_value(UpdateConfig(baseline="value"))


def test_vanilla_loss_and_its_stats():
    # valid tokens (0,0), (0,1), (1,0); token (1,1) is masked (and holds -inf in the old log-probs)
    # loss (token_mean) = -(1 * -1 + 2 * -2 + -1 * -0.5) / 3 = 4.5 / 3 = 1.5
    # approx_kl = mean over valid of 0.5 * (logp - old)^2 = (0.5 * 0.25 + 0 + 0) / 3 = 0.0416667; clipfrac 0
    logprobs = torch.tensor([[-1.0, -2.0], [-0.5, -3.0]], requires_grad=True)
    old = torch.tensor([[-1.5, -2.0], [-0.5, float("-inf")]])
    adv = torch.tensor([[1.0, 2.0], [-1.0, 4.0]])
    mask = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    algo = get_algorithm("reinforce")
    loss, stats = algo.loss(logprobs, old, adv, mask, algo.resolve(UpdateConfig()), max_length=2)
    assert_close(loss, torch.tensor(1.5))
    assert_close(stats["approx_kl"], torch.tensor(0.5 * 0.25 / 3))
    assert_close(stats["clipfrac"], torch.tensor(0.0))
    loss.backward()  # d loss / d logp = -A / 3 on valid tokens, 0 on the masked one
    assert_close(logprobs.grad, torch.tensor([[-1 / 3, -2 / 3], [1 / 3, 0.0]]))


def test_kl_in_the_loss_adds_exactly_coef_times_the_masked_mean_of_k3(tiny_tokenizer):
    """``kl.placement: loss``: the loss with coef 0.5 minus the loss with coef 0 is 0.5 * masked_mean(k3)."""
    modules = {}
    for coef in (0.0, 0.5):
        torch.manual_seed(0)
        modules[coef] = PolicyModule(
            "tiny-llama", algorithm="grpo", lora=LoRAConfig(r=4, alpha=8), sampling=SamplingConfig(max_new_tokens=5),
            kl=KLConfig(estimator="k3", placement="loss", coef=coef), update=UpdateConfig(samples_per_prompt=2),
            rewards=[RewardSpec("perl_lightning.rewards.toy:newline_reward")],
        )  # fmt: skip
    a, b = modules[0.0], modules[0.5]
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    dm = PromptDataModule(limit=8, batch_size=2, max_prompt_length=32, val_fraction=0.0)
    dm.tokenizer = tiny_tokenizer
    dm.setup()
    torch.manual_seed(0)
    rollout = a.generate(dm.collate(dm.encoded["train"][:2]), a.sampling, k=2)
    (logprobs,) = a.logprobs(rollout, "policy")  # what the loss recomputes (LoRA B = 0: equal in both modules)
    mask = rollout.response_mask.float()
    ref = logprobs + 0.3 * torch.randn_like(logprobs)
    exp = Experience(rollout.sequences, rollout.attention_mask, mask, logprobs, ref, torch.zeros_like(mask),
                     torch.randn_like(mask) * mask, torch.zeros_like(mask))  # fmt: skip
    with torch.no_grad():
        loss_0, _ = a.loss(exp, rollout.prompt_length)
        loss_half, _ = b.loss(exp, rollout.prompt_length)
    r = ref - logprobs  # k3 = exp(ref - logp) - 1 - (ref - logp), per token
    k3 = torch.exp(r) - 1 - r
    masked_mean_k3 = (k3 * mask).sum() / mask.sum()
    assert masked_mean_k3 > 0.01
    assert_close(loss_half - loss_0, 0.5 * masked_mean_k3, atol=1e-6, rtol=1e-5)
