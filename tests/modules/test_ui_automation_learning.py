"""On a trivially learnable screen set a tiny model's programmatic reward rises under RL (after a short SFT that
leaves it room), and the multi-turn config trains end to end."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.loggers import CSVLogger

from perl_lightning.data.prompts import PromptDataModule
from perl_lightning.data.sft import SFTDataModule
from perl_lightning.modules.optim import OptimConfig
from perl_lightning.modules.policy import PolicyModule
from perl_lightning.modules.sft import SFTModule
from perl_lightning.rewards import RewardSpec
from perl_lightning.rl.config import KLConfig, SamplingConfig, UpdateConfig

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: a second intra-op thread only adds sync


def _screens(path: Path, n: int) -> str:
    """Screens whose goal is always finished already: the gold action is ``done()``."""
    rows = []
    for i in range(n):
        screen = {"title": f"Done {i}", "elements": [{"id": "e1", "type": "text", "text": f"Saved item {i}"},
                                                    {"id": "e2", "type": "button", "text": "OK"}]}  # fmt: skip
        rows.append({"id": f"r{i}", "goal": f"Save item {i}", "screen": json.dumps(screen),
                     "family": "done" if i % 2 else "finished", "gold_action": ["done()"]})  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def _trainer(tmp_path: Path, steps: int, **kwargs) -> L.Trainer:
    return L.Trainer(accelerator="cpu", max_steps=steps, enable_checkpointing=False, enable_progress_bar=False,
                     enable_model_summary=False, limit_val_batches=0, num_sanity_val_steps=0,
                     default_root_dir=tmp_path, **kwargs)  # fmt: skip


def test_rl_raises_a_tiny_models_programmatic_reward(tmp_path: Path) -> None:
    """A short full SFT of the tiny random model writes ``done`` but rarely ``done()`` (invalid: -1); GRPO on the
    scorer's reward moves it to the valid action."""
    torch.manual_seed(0)
    data = _screens(tmp_path / "screens.jsonl", 64)
    sft = SFTModule("tiny-llama", lora=None, learning_rate=1e-2, save_dir=str(tmp_path / "sft"))
    _trainer(tmp_path, 30, logger=False).fit(sft, SFTDataModule(task="ui_automation", path=data, batch_size=8,
                                                                max_length=128))  # fmt: skip
    policy = PolicyModule(str(tmp_path / "sft"), algorithm="grpo", lora=None, layout="separate",
                          rewards=[RewardSpec("perl_lightning.tasks.ui_automation:action_reward")],
                          sampling=SamplingConfig(max_new_tokens=6), kl=KLConfig(coef=0.0),
                          update=UpdateConfig(samples_per_prompt=8), optim=OptimConfig(learning_rate=2e-3))  # fmt: skip
    logger = CSVLogger(str(tmp_path), name="rl")
    dm = PromptDataModule(task="ui_automation", path=data, batch_size=4, max_prompt_length=128)
    _trainer(tmp_path, 30, logger=logger, log_every_n_steps=1).fit(policy, dm)
    logger.save()
    with open(Path(logger.log_dir) / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    rewards = [float(r["rl/reward/action_reward"]) for r in rows if r.get("rl/reward/action_reward")]
    first, last = sum(rewards[:6]) / 6, sum(rewards[-6:]) / 6
    assert -1.0 < first < 0.5, f"the SFT policy should leave room to learn, got {first}"
    assert last > first + 0.5, (first, last, rewards)
    # held-out records carry the row's screen family (the task's group_by), for per-family results
    checker = L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False)
    checker.validate(policy, dm, verbose=False)
    assert policy.eval_records and all(r["group"] == ("done" if int(r["row_id"][1:]) % 2 else "finished")
                                       for r in policy.eval_records)  # fmt: skip
