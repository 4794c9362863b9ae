"""NonFiniteGuard: a NaN loss stops the run (last good checkpoint intact) or skips the step bit-identically."""

from __future__ import annotations

import copy
import math

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint

from perl_lightning.callbacks.faults import NonFiniteError, NonFiniteGuard
from perl_lightning.data.preference import PreferenceDataModule
from perl_lightning.data.prompts import PromptDataModule
from perl_lightning.models.adapters import LoRAConfig
from perl_lightning.modules import reward_model
from perl_lightning.modules.optim import OptimConfig
from perl_lightning.modules.policy import PolicyModule
from perl_lightning.modules.reward_model import RewardModelModule
from perl_lightning.rewards import RewardSpec
from perl_lightning.rl.config import SamplingConfig, UpdateConfig

NAN = float("nan")


def _trainer(tmp_path, steps: int, callbacks: list[Callback], checkpointing: bool = False) -> L.Trainer:
    return L.Trainer(
        accelerator="cpu",
        max_steps=steps,
        logger=False,
        enable_checkpointing=checkpointing,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        default_root_dir=tmp_path,
        callbacks=callbacks,
    )


def _reward_model(monkeypatch, bad_steps: set[int], value: float = NAN) -> RewardModelModule:
    """A tiny LoRA RM whose loss is multiplied by ``value`` at the given (0-based) global steps."""
    module = RewardModelModule(model="tiny-llama", lora=LoRAConfig(r=4, alpha=8, dropout=0.0), learning_rate=5e-3,
                               schedule="constant", warmup_ratio=0.0)  # fmt: skip
    loss_fn = reward_model.pairwise_reward_loss

    def poisoned(*args, **kwargs):
        loss = loss_fn(*args, **kwargs)
        return loss * value if module.trainer.global_step in bad_steps else loss

    monkeypatch.setattr(reward_model, "pairwise_reward_loss", poisoned)
    return module


def _preferences(pairs_file) -> PreferenceDataModule:
    return PreferenceDataModule(path=str(pairs_file), batch_size=2, max_length=48)


def _policy(bad_steps: set[int]) -> PolicyModule:
    """A tiny REINFORCE policy with a value baseline (one optimizer step per batch), NaN loss at ``bad_steps``."""
    module = PolicyModule(model="tiny-llama", algorithm="reinforce",
                          update=UpdateConfig(baseline="value", update_epochs=1),
                          lora=LoRAConfig(r=4, alpha=8, dropout=0.0), optim=OptimConfig(learning_rate=5e-3),
                          rewards=[RewardSpec("perl_lightning.rewards.toy:newline_reward")],
                          sampling=SamplingConfig(max_new_tokens=4, temperature=0.5))  # fmt: skip
    loss_fn = module.loss

    def poisoned(*args, **kwargs):
        loss, stats = loss_fn(*args, **kwargs)
        return (loss * NAN if module.trainer.global_step in bad_steps else loss), stats

    module.loss = poisoned
    return module


def _prompts() -> PromptDataModule:
    return PromptDataModule(limit=12, batch_size=2, max_prompt_length=32, val_limit=2)


def _trainable(module: L.LightningModule) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in module.named_parameters() if p.requires_grad}


class Snapshot(Callback):
    """Trainable parameters and optimizer state just before and just after the batch run at ``step``."""

    def __init__(self, step: int) -> None:
        self.step = step
        self.before: tuple | None = None
        self.after: tuple | None = None

    def _take(self, trainer: L.Trainer, module: L.LightningModule) -> tuple:
        return _trainable(module), copy.deepcopy(trainer.optimizers[0].state_dict()["state"])

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == self.step:
            self.before = self._take(trainer, pl_module)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if self.before is not None and self.after is None:
            self.after = self._take(trainer, pl_module)


def _assert_state_equal(a: dict, b: dict) -> None:
    assert a.keys() == b.keys() and a
    for key in a:
        if isinstance(a[key], dict):
            _assert_state_equal(a[key], b[key])
        else:
            assert torch.equal(torch.as_tensor(a[key]), torch.as_tensor(b[key])), key


def test_stop_keeps_the_last_good_checkpoint(tmp_path, monkeypatch, pairs_file):
    module = _reward_model(monkeypatch, bad_steps={1})
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=1)
    trainer = _trainer(tmp_path, 4, [NonFiniteGuard(action="stop"), checkpoint], checkpointing=True)
    with pytest.raises(NonFiniteError, match=r"non-finite loss \(nan\) at global step 1 \(batch 1, epoch 0\)"):
        trainer.fit(module, _preferences(pairs_file))
    files = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    assert files == ["epoch=0-step=1.ckpt"]  # without the guard: step=2 with NaN weights, step 1 deleted
    saved = torch.load(tmp_path / "ckpt" / files[0], weights_only=True)
    assert saved["global_step"] == 1
    tensors = list(saved["state_dict"].values())
    for state in saved["optimizer_states"]:
        tensors += [v for s in state["state"].values() for v in s.values() if torch.is_tensor(v)]
    assert tensors and all(torch.isfinite(t).all() for t in tensors)
    assert all(torch.isfinite(p).all() for p in module.parameters())  # the in-memory model too


def test_stop_on_an_infinite_gradient_names_the_parameter(tmp_path, monkeypatch, pairs_file):
    module = _reward_model(monkeypatch, bad_steps=set())
    module.on_after_backward = lambda: next(  # an inf gradient with a finite loss
        p for p in module.parameters() if p.requires_grad and p.grad is not None
    ).grad.fill_(math.inf)
    with pytest.raises(NonFiniteError, match=r"non-finite gradient of model\.\S+ at global step 0 \(batch 0"):
        _trainer(tmp_path, 2, [NonFiniteGuard()]).fit(module, _preferences(pairs_file))


def test_skip_leaves_weights_and_adamw_state_bit_identical(tmp_path, monkeypatch, pairs_file):
    module = _reward_model(monkeypatch, bad_steps={1})
    snapshot, guard = Snapshot(step=1), NonFiniteGuard(action="skip", max_skips=3)
    trainer = _trainer(tmp_path, 3, [guard, snapshot])
    with pytest.warns(UserWarning, match="optimizer step skipped"):
        trainer.fit(module, _preferences(pairs_file))
    (params_before, state_before), (params_after, state_after) = snapshot.before, snapshot.after
    _assert_state_equal(params_before, params_after)
    _assert_state_equal(state_before, state_after)
    assert all(float(s["step"]) == 1 for s in state_after.values())  # AdamW counted only the good step 0
    assert guard.skipped == 1 and trainer.callback_metrics["faults/skipped_batches"] == 1
    assert trainer.global_step == 3  # Lightning counts the skipped step
    final = _trainable(module)
    assert any(not torch.equal(final[n], params_after[n]) for n in final)  # the good step after it trained
    assert all(torch.isfinite(p).all() for p in final.values())


def test_skip_stops_after_max_skips(tmp_path, monkeypatch, pairs_file):
    module = _reward_model(monkeypatch, bad_steps={1, 2, 3, 4, 5}, value=math.inf)
    guard = NonFiniteGuard(action="skip", max_skips=2)
    with pytest.warns(UserWarning), pytest.raises(NonFiniteError, match=r"global step 3 .*max_skips=2"):
        _trainer(tmp_path, 8, [guard]).fit(module, _preferences(pairs_file))
    assert guard.skipped == 2
    assert all(torch.isfinite(p).all() for p in module.parameters())


def test_policy_stop_and_skip(tmp_path):
    module = _policy(bad_steps={1})
    with pytest.raises(NonFiniteError, match=r"non-finite loss \(nan\) at global step 1 \(batch 1"):
        _trainer(tmp_path, 3, [NonFiniteGuard()]).fit(module, _prompts())
    assert all(torch.isfinite(p).all() for p in module.parameters())

    module = _policy(bad_steps={1})
    snapshot, guard = Snapshot(step=1), NonFiniteGuard(action="skip")
    with pytest.warns(UserWarning, match="optimizer step skipped"):
        _trainer(tmp_path, 3, [guard, snapshot]).fit(module, _prompts())
    (params_before, state_before), (params_after, state_after) = snapshot.before, snapshot.after
    assert any("value" in n for n in params_before) and any("policy" in n for n in params_before)
    _assert_state_equal(params_before, params_after)
    _assert_state_equal(state_before, state_after)
    assert guard.skipped == 1


def test_refuses_to_checkpoint_non_finite_weights(tmp_path, monkeypatch, pairs_file):
    module = _reward_model(monkeypatch, bad_steps=set())
    trainer = _trainer(tmp_path, 1, [NonFiniteGuard()])
    trainer.fit(module, _preferences(pairs_file))
    good = tmp_path / "good.ckpt"
    trainer.save_checkpoint(good)
    with torch.no_grad():
        next(p for p in module.parameters() if p.requires_grad).fill_(NAN)
    with pytest.raises(NonFiniteError, match="refusing to write a checkpoint at global step 1"):
        trainer.save_checkpoint(good)
    assert all(torch.isfinite(t).all() for t in torch.load(good, weights_only=True)["state_dict"].values())


def test_rejects_bad_settings():
    with pytest.raises(ValueError, match="'pause'"):
        NonFiniteGuard(action="pause")
    with pytest.raises(ValueError, match="max_skips"):
        NonFiniteGuard(max_skips=-1)
