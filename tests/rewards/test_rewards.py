"""Reward sources: Python functions called TRL-style with the rows' columns, weighted sums, the errors that name a
row, ensembles, and reward adapters on the policy's backbone."""

from __future__ import annotations

import json
import math

import lightning as L
import pytest
import torch
from torch import nn
from torch.testing import assert_close

from perl_lightning.data.formatting import encode_prompt, encode_response, pad
from perl_lightning.data.prompts import PromptDataModule
from perl_lightning.models.adapters import LoRAConfig
from perl_lightning.modules.optim import OptimConfig
from perl_lightning.modules.policy import PolicyModule
from perl_lightning.rewards import AdapterReward, FunctionReward, ModelReward, RewardError, RewardLayer, RewardSpec
from perl_lightning.rewards.layer import build_rewards
from perl_lightning.rl.config import SamplingConfig
from perl_lightning.rl.types import Rollout

HERE = __name__  # reward functions below are imported by path, as a YAML names them: f"{HERE}:exact_match"
PROMPTS = ["How do I boil an egg?", "Name a prime number."]
RESPONSES = ["Put it in boiling water for eight minutes.", "Seven."]
SEEN: list[dict] = []


# ---- reward functions (TRL-style) ----------------------------------------------------------------------------------
def exact_match(completions, answer, **_):
    """1 when the response is the row's gold answer; None (not applicable) for a row without one."""
    return [None if a is None else float(c.strip() == a) for c, a in zip(completions, answer, strict=True)]


def length_score(completions):
    return [float(len(c)) for c in completions]


def picky(prompts, completions, answer):
    """No **kwargs: must receive exactly these three arguments."""
    SEEN.append({"prompts": prompts, "completions": completions, "answer": answer})
    return [0.0] * len(completions)


def greedy(**kwargs):
    SEEN.append(kwargs)
    return [1.0] * len(kwargs["completions"])


def fragile(completions, **_):
    if any("boom" in c for c in completions):
        raise ValueError("cannot score a boom")
    return [1.0] * len(completions)


def too_few(completions):
    return [1.0]


def not_finite(completions):
    return [float("inf") if c == "five" else 0.0 for c in completions]


def not_a_number(completions):
    return ["high" if c == "five" else 0.0 for c in completions]


def records_rows(completions, row_ids, answer, **_):
    SEEN.append({"row_ids": list(row_ids), "answer": list(answer)})
    return [float(c.count("\n")) for c in completions]


def _rollout(responses, row_ids=(), metadata=(), prompts=None) -> Rollout:
    n = len(responses)
    return Rollout(
        sequences=torch.zeros(n, 3, dtype=torch.long),
        attention_mask=torch.ones(n, 3, dtype=torch.long),
        response_mask=torch.ones(n, 1, dtype=torch.long),
        ended=torch.ones(n, dtype=torch.bool),
        prompt_length=2,
        prompts=list(prompts or [f"question {i}" for i in range(n)]),
        responses=list(responses),
        row_ids=list(row_ids),
        metadata=list(metadata),
    )


# four rows: ids q1..q4; q3 has no gold answer
METADATA = [{"answer": "4", "topic": "sum"}, {"answer": "5", "topic": "sum"}, {"topic": "open"}, {"answer": "7"}]
ROWS = _rollout(["4", "five", "6", "x"], ["q1", "q2", "q3", "q4"], METADATA)


@pytest.fixture(autouse=True)
def _clear_seen():
    SEEN.clear()


# ---- FunctionReward ------------------------------------------------------------------------------------------------
def test_function_gets_the_rows_columns_as_keyword_arguments():
    scores = FunctionReward(f"{HERE}:exact_match")(ROWS)
    assert scores.dtype == torch.float32 and scores.shape == (4,)
    assert scores[[0, 1, 3]].tolist() == [1.0, 0.0, 0.0] and math.isnan(scores[2]), "None -> NaN (not applicable)"
    FunctionReward(f"{HERE}:picky")(ROWS)  # a TypeError here would mean arguments it does not take were passed
    assert SEEN[-1] == {"prompts": ROWS.prompts, "completions": ROWS.responses, "answer": ["4", "5", None, "7"]}
    FunctionReward(f"{HERE}.greedy")(ROWS)  # dotted form; **kwargs receives everything
    assert set(SEEN[-1]) == {"prompts", "completions", "responses", "row_ids", "answer", "topic"}
    assert SEEN[-1]["row_ids"] == ["q1", "q2", "q3", "q4"] and SEEN[-1]["topic"] == ["sum", "sum", "open", None]
    assert FunctionReward(f"{HERE}:exact_match").name == "exact_match"
    assert FunctionReward(f"{HERE}:exact_match", name="em").name == "em"


def test_function_args_are_constant_settings_of_every_call(reward_dir):
    FunctionReward(f"{HERE}.greedy", args={"scale": 0.5})(ROWS)
    assert SEEN[-1]["scale"] == 0.5 and SEEN[-1]["answer"] == ["4", "5", None, "7"]
    with pytest.raises(ValueError, match="'args' are a Python function's settings"):
        build_rewards([RewardSpec(reward_dir.path, args={"scale": 1.0})], None)


def test_toy_rewards():
    rollout = _rollout(["a\nb\n", "c", "one two"])
    assert FunctionReward("perl_lightning.rewards.toy:newline_reward")(rollout).tolist() == [2.0, 0.0, 0.0]
    assert FunctionReward("perl_lightning.rewards.toy:brevity_reward")(rollout).tolist() == pytest.approx(
        [-0.2, -0.1, -0.2]  # words: 2 ("a", "b"), 1, 2
    )
    with pytest.raises(ValueError, match="cannot import"):
        FunctionReward("perl_lightning.rewards.toy:nope")


def test_function_errors_name_the_function_and_the_row():
    rows = _rollout(["4", "boom", "6"], ["q1", "q2", "q3"])
    with pytest.raises(RewardError, match=rf"reward function '{HERE}:fragile' raised on row q2 .*cannot score a boom"):
        FunctionReward(f"{HERE}:fragile")(rows)
    with pytest.raises(RewardError, match=rf"'function {HERE}:too_few' returned 1 scores for 4 responses.*row q1"):
        FunctionReward(f"{HERE}:too_few")(ROWS)
    with pytest.raises(RewardError, match=rf"'function {HERE}:not_finite' returned a non-finite score inf for row q2"):
        FunctionReward(f"{HERE}:not_finite")(ROWS)
    with pytest.raises(RewardError, match=rf"'function {HERE}:not_a_number' returned 'high' for row q2"):
        FunctionReward(f"{HERE}:not_a_number")(ROWS)
    # a function whose signature does not fit the call (math.isfinite takes one positional argument)
    with pytest.raises(RewardError, match=r"reward function 'math:isfinite' raised on .*TypeError"):
        FunctionReward("math:isfinite")(ROWS)
    # without row ids the message names the row's place in the batch and its prompt
    with pytest.raises(RewardError, match=r"row #1 of the batch \(prompt 'question 1'\)"):
        FunctionReward(f"{HERE}:fragile")(_rollout(["ok", "boom"]))


# ---- RewardLayer ---------------------------------------------------------------------------------------------------
def test_weights_combine_over_the_sources_that_apply():
    layer = RewardLayer([FunctionReward(f"{HERE}:length_score"), FunctionReward(f"{HERE}:exact_match")], [0.5, 2.0])
    result = layer(ROWS)
    # length_score [1, 4, 1, 1] x 0.5; exact_match [1, 0, None, 0] x 2 (row q3: not applicable, adds nothing)
    # q1: 0.5 + 2 = 2.5   q2: 2 + 0 = 2.0   q3: 0.5   q4: 0.5 + 0 = 0.5
    assert_close(result.total, torch.tensor([2.5, 2.0, 0.5, 0.5]))
    assert set(result.sources) == {"length_score", "exact_match"} and result.members == {}
    assert_close(result.sources["length_score"], torch.tensor([1.0, 4.0, 1.0, 1.0]))
    assert math.isnan(result.sources["exact_match"][2])


def test_a_row_no_source_applies_to_is_an_error_naming_it():
    with pytest.raises(RewardError, match=r"no reward source applies to row q3 \(prompt 'question 2'\)"):
        RewardLayer([FunctionReward(f"{HERE}:exact_match")], [1.0])(ROWS)
    with pytest.raises(ValueError, match="no reward"):
        RewardLayer([], [])
    with pytest.raises(ValueError, match="unique"):
        RewardLayer([FunctionReward(f"{HERE}:exact_match"), FunctionReward(f"{HERE}:exact_match")], [1.0, 1.0])
    with pytest.raises(ValueError, match="weights"):
        RewardLayer([FunctionReward(f"{HERE}:exact_match")], [1.0, 2.0])


class Fixed(nn.Module):
    """A stand-in reward model that returns fixed scores."""

    def __init__(self, scores: list[float]) -> None:
        super().__init__()
        self.scores = torch.tensor(scores)

    def forward(self, rollout: Rollout) -> torch.Tensor:
        return self.scores


def test_ensemble_reductions_by_hand():
    two = _rollout(["a", "b"], ["r1", "r2"])
    members = [Fixed([1.0, 2.0]), Fixed([3.0, 0.0]), Fixed([5.0, 1.0])]
    # row r1: {1, 3, 5}  mean 3, min 1, population std sqrt(8/3) = 1.632993
    # row r2: {2, 0, 1}  mean 1, min 0, population std sqrt(2/3) = 0.816497
    assert_close(ModelReward(members, "rm", "mean")(two), torch.tensor([3.0, 1.0]))
    assert_close(ModelReward(members, "rm", "min")(two), torch.tensor([1.0, 0.0]))
    # mean - 0.5 * std: [3 - 0.816497, 1 - 0.408248]
    assert_close(ModelReward(members, "rm", "mean_minus_std", 0.5)(two), torch.tensor([2.183503, 0.591752]))
    assert_close(ModelReward(members[:1], "rm", "mean_minus_std")(two), torch.tensor([1.0, 2.0]))  # one: std 0
    result = RewardLayer([ModelReward(members, "rm", "min"), FunctionReward(f"{HERE}:length_score")], [2.0, 1.0])(two)
    assert_close(result.total, torch.tensor([2 * 1.0 + 1, 2 * 0.0 + 1]))
    assert_close(result.members["rm"], torch.tensor([[1.0, 2.0], [3.0, 0.0], [5.0, 1.0]]))
    assert_close(result.sources["rm"], torch.tensor([1.0, 0.0]))
    with pytest.raises(RewardError, match=r"reward model 'rm' gave a non-finite score for row r2"):
        RewardLayer([ModelReward([Fixed([1.0, float("nan")])], "rm")], [1.0])(two)


# ---- in a fit: per-source metrics, row ids and metadata reach the functions ------------------------------------------
def test_each_source_is_logged_and_sees_the_rows(tmp_path):
    rows = [{"id": f"task-{i}", "prompt": f"Write line {i}.", "answer": str(i)} for i in range(12)]
    path = tmp_path / "tasks.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    module = PolicyModule(
        "tiny-llama", algorithm="rloo", lora=LoRAConfig(r=4, alpha=8), sampling=SamplingConfig(max_new_tokens=4),
        rewards=[RewardSpec(f"{HERE}:records_rows", name="lines"), RewardSpec(f"{HERE}:exact_match", weight=0.5)],
        update={"samples_per_prompt": 2}, optim=OptimConfig(learning_rate=1e-3),
    )  # fmt: skip
    dm = PromptDataModule(path=str(path), batch_size=2, max_prompt_length=32, val_fraction=0.0)
    trainer = L.Trainer(accelerator="cpu", max_steps=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
                        default_root_dir=tmp_path)  # fmt: skip
    trainer.fit(module, dm)
    metrics = trainer.callback_metrics
    assert {"rl/reward/lines", "rl/reward/exact_match"} <= set(metrics)
    assert len(SEEN) == 1 and len(SEEN[0]["row_ids"]) == 4  # 2 prompts x 2 samples
    ids = SEEN[0]["row_ids"]
    assert ids[0] == ids[1] and ids[2] == ids[3] and all(i.startswith("task-") for i in ids)
    assert SEEN[0]["answer"] == [i.removeprefix("task-") for i in ids], "each row's own metadata, repeated per sample"


# ---- reward adapters on the policy's backbone ----------------------------------------------------------------------
def test_adapter_reward_equals_reward_model_module(reward_dir, tiny_tokenizer):
    rm, path = reward_dir.rm, reward_dir.path
    module = PolicyModule("tiny-llama", lora=LoRAConfig(r=4, alpha=8), rewards=[RewardSpec(str(path))]).eval()
    (source,) = module.rewards.sources
    (adapter,) = source.members
    assert isinstance(adapter, AdapterReward) and set(module.model.peft_config) == {"policy", "value", "reward"}
    expected = rm.reward(PROMPTS, RESPONSES)
    seqs = [encode_prompt(tiny_tokenizer, p, True) + encode_response(tiny_tokenizer, r, True)
            for p, r in zip(PROMPTS, RESPONSES, strict=True)]  # fmt: skip
    for side in ("left", "right"):
        ids, mask = pad(seqs, tiny_tokenizer.pad_token_id, side)
        rollout = _rollout(RESPONSES, prompts=PROMPTS)._replace(sequences=ids, attention_mask=mask)
        with torch.no_grad():
            got = adapter(rollout)
        assert_close(got, expected, atol=1e-5, rtol=1e-5)
    # on sampled rollouts (left-padded prompt + right-padded response), through the module's scoring path
    dm = PromptDataModule(limit=8, batch_size=4, max_prompt_length=48, val_fraction=0.0)
    dm.tokenizer = tiny_tokenizer
    dm.setup()
    torch.manual_seed(0)
    sampled = module.generate(dm.collate(dm.encoded["train"][:4]), SamplingConfig(max_new_tokens=6), k=2)
    result = module.score(sampled)
    with torch.no_grad():
        direct = rm(sampled.sequences, sampled.attention_mask)
    assert_close(result.total, direct, atol=1e-5, rtol=1e-5)
    assert_close(result.sources["rm"], direct, atol=1e-5, rtol=1e-5)
    assert result.members == {}, "a single reward model is no ensemble"
    assert not torch.allclose(direct, direct[0].expand_as(direct)), "rewards must depend on the text"
    assert not any(p.requires_grad for n, p in module.named_parameters() if ".reward." in n or "rewards." in n)


def test_reward_spec_kinds(reward_dir, tmp_path):
    path = reward_dir.path
    assert RewardSpec(f"{HERE}:exact_match").is_function()
    assert not RewardSpec(str(path)).is_function()
    assert not RewardSpec([str(path), str(path)]).is_function()
    assert not RewardSpec("runs/missing/reward_adapter", kind="model").is_function()
    module_kwargs = dict(lora=LoRAConfig(r=4, alpha=8), algorithm="grpo")
    with pytest.raises(FileNotFoundError, match="runs/missing/reward_adapter does not exist"):
        PolicyModule("tiny-llama", rewards=[RewardSpec("runs/missing/reward_adapter", kind="model")], **module_kwargs)
    with pytest.raises(ValueError, match="a function source is one 'module:function' string"):
        PolicyModule("tiny-llama", rewards=[RewardSpec([f"{HERE}:exact_match"], kind="function")], **module_kwargs)
