"""Multi-turn rollouts: only the policy's own tokens carry log-probs, advantages and the loss; observations are
appended as sampled context (no re-tokenisation drift); a PPO and a GRPO step train on episodes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

from perl_lightning.data.formatting import encode_prompt, pad
from perl_lightning.data.prompts import PromptBatch
from perl_lightning.models.adapters import LoRAConfig
from perl_lightning.models.topology import PolicyModels
from perl_lightning.modules.episodes import EpisodeConfig, EpisodeRunner, observation_ids
from perl_lightning.modules.optim import OptimConfig
from perl_lightning.modules.policy import PolicyModule
from perl_lightning.rewards import RewardSpec
from perl_lightning.rl.advantages import gae
from perl_lightning.rl.config import SamplingConfig, UpdateConfig
from perl_lightning.rl.losses import clipped_policy_loss
from perl_lightning.tasks.base import Task


@dataclass
class Step:
    observation: str | None
    reward: float
    done: bool


@dataclass
class Scripted:
    """Three turns; the observation names the turn; reward 1 when the first action has an even length."""

    turns: int = 3
    seen: list[str] = field(default_factory=list)

    def step(self, action: str) -> Step:
        self.seen.append(action)
        done = len(self.seen) >= self.turns
        return Step(None if done else f"observation {len(self.seen)}: the screen changed", 0.0, done)

    def summary(self) -> dict[str, Any]:
        return {"steps": len(self.seen), "actions": list(self.seen), "success": len(self.seen[0]) % 2 == 0,
                "reward": float(len(self.seen[0]) % 2 == 0)}  # fmt: skip


class ScriptedTask(Task):
    name = "scripted"

    def __init__(self) -> None:
        self.envs: list[Scripted] = []

    def environment(self, metadata: dict[str, Any]) -> Scripted:
        self.envs.append(Scripted(metadata.get("turns", 3)))
        return self.envs[-1]


def episode_reward(completions, episode=None, **_):
    return [float(e["reward"]) for e in episode]


@pytest.fixture(scope="module")
def models() -> PolicyModels:
    torch.manual_seed(0)
    return PolicyModels("tiny-llama", LoRAConfig(r=4, alpha=8, dropout=0.0))


def _batch(tokenizer, prompts: list[str], turns: list[int]) -> PromptBatch:
    ids, mask = pad([encode_prompt(tokenizer, p, True) for p in prompts], tokenizer.pad_token_id, side="left")
    return PromptBatch(ids, mask, prompts, [f"r{i}" for i in range(len(prompts))], [{"turns": t} for t in turns])


def _run(models: PolicyModels, task: Task, batch: PromptBatch, k: int = 2, max_new_tokens: int = 5):
    config = SamplingConfig(max_new_tokens=max_new_tokens, temperature=1.0)
    runner = EpisodeRunner(task, models.tokenizer, EpisodeConfig(max_turns=4))

    def generate(ids, mask, prompts, rows, meta):
        return models.generate(ids, mask, prompts, config, "policy", 1, rows, meta)

    return runner(generate, batch, k)


def test_only_the_policys_tokens_are_marked_and_observations_are_exact(models: PolicyModels) -> None:
    torch.manual_seed(1)
    task, tok = ScriptedTask(), models.tokenizer
    batch = _batch(tok, ["Open the settings.", "Turn on Wi-Fi now please."], [3, 2])
    rollout = _run(models, task, batch)
    assert rollout.sequences.shape[0] == 4 and [len(e.seen) for e in task.envs] == [3, 3, 2, 2]
    for i, env in enumerate(task.envs):
        tokens = rollout.responses_ids[i][rollout.attention_mask[i, rollout.prompt_length :].bool()].tolist()
        marks = rollout.response_mask[i][: len(tokens)].tolist()
        segments: list[tuple[int, list[int]]] = []
        for t, m in zip(tokens, marks, strict=True):  # runs of action (1) and observation (0) tokens
            if segments and segments[-1][0] == m:
                segments[-1][1].append(t)
            else:
                segments.append((m, [t]))
        actions = [s for m, s in segments if m == 1]
        observations = [s for m, s in segments if m == 0]
        assert len(actions) == len(env.seen) and len(observations) == len(env.seen) - 1
        for seg, text in zip(actions, env.seen, strict=True):  # each action is what the environment received
            assert tok.decode(seg, skip_special_tokens=True) == text
        for n, (seg, before) in enumerate(zip(observations, actions, strict=False), start=1):
            ended = tok.decode(before[-1:]) if before[-1] in models.end_ids else None
            assert seg == observation_ids(tok, f"observation {n}: the screen changed", "user", ended)
            assert f"observation {n}" in tok.decode(seg)
        assert rollout.response_mask[i, len(tokens) :].sum() == 0  # nothing after the episode
        assert rollout.metadata[i]["episode"]["steps"] == len(env.seen)
    assert rollout.responses[0] == "\n".join(task.envs[0].seen)


def test_sampler_logprobs_match_a_forward_over_the_whole_episode(models: PolicyModels) -> None:
    """The tokens the policy saw while sampling each turn are the episode's tokens (no re-tokenisation drift)."""
    torch.manual_seed(2)
    rollout = _run(models, ScriptedTask(), _batch(models.tokenizer, ["Go back.", "Search for mugs, then open one."],
                                                  [3, 3]))  # fmt: skip
    assert rollout.logprobs is not None
    (recomputed,) = models.logprobs(rollout, "policy", 1.0)
    mask = rollout.response_mask.bool()
    assert torch.allclose(recomputed[mask], rollout.logprobs[mask], atol=1e-4)
    assert (rollout.logprobs[~mask] == 0).all()


def test_observation_tokens_get_no_advantage_and_no_gradient(models: PolicyModels) -> None:
    torch.manual_seed(3)
    rollout = _run(models, ScriptedTask(), _batch(models.tokenizer, ["Log in."], [3]), k=2)
    mask = rollout.response_mask.float()
    obs = (rollout.attention_mask[:, rollout.prompt_length :] == 1) & (rollout.response_mask == 0)
    assert obs.any()
    rewards = torch.zeros_like(mask)
    last = mask.shape[1] - 1 - mask.flip(-1).argmax(-1)
    rewards[torch.arange(2), last] = 1.0
    values = torch.randn_like(mask)
    adv, ret = gae(rewards, values, mask, 1.0, 0.95)
    assert (adv[obs] == 0).all() and (ret[obs] == 0).all() and (adv[mask.bool()] != 0).all()
    logprobs = torch.randn_like(mask, requires_grad=True)
    loss, _ = clipped_policy_loss(logprobs, logprobs.detach(), adv, mask)
    loss.backward()
    assert (logprobs.grad[obs] == 0).all() and (logprobs.grad[mask.bool()] != 0).any()


@pytest.mark.parametrize("algorithm", ["grpo", "ppo"])
def test_a_training_step_on_episodes_changes_only_the_trained_parameters(algorithm: str, tmp_path) -> None:
    torch.manual_seed(4)
    module = PolicyModule("tiny-llama", algorithm=algorithm, lora=LoRAConfig(r=4, alpha=8, dropout=0.0),
                          rewards=[RewardSpec("tests.modules.test_episodes:episode_reward")],
                          sampling=SamplingConfig(max_new_tokens=4), update=UpdateConfig(samples_per_prompt=4),
                          optim=OptimConfig(learning_rate=1e-2))  # fmt: skip
    module.runner = EpisodeRunner(ScriptedTask(), module.tokenizer, EpisodeConfig(max_turns=3))
    trained = {n: p.detach().clone() for n, p in module.named_parameters() if p.requires_grad}
    frozen = {n: p.detach().clone() for n, p in module.named_parameters() if not p.requires_grad}
    batch = _batch(module.tokenizer, ["Open the settings.", "Log in as ana."], [3, 2])

    class Loader(L.LightningDataModule):
        def train_dataloader(self):
            return DataLoader([batch, batch], batch_size=None, collate_fn=lambda b: b)

    trainer = L.Trainer(accelerator="cpu", max_steps=2, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
                        default_root_dir=tmp_path)  # fmt: skip
    trainer.fit(module, Loader())
    after = dict(module.named_parameters())
    assert any(not torch.equal(after[n], v) for n, v in trained.items())
    assert all(torch.equal(after[n], v) for n, v in frozen.items())
