"""AdapterEMA: EMA worked out by hand, only trainable parameters averaged, validation swap, end-of-fit transfer,
weights_only checkpoint state and exact resume; then on the tiny LoRA reward model."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import Callback
from peft import get_peft_model_state_dict
from safetensors.torch import load_file
from torch.utils.data import DataLoader

from perl_lightning.callbacks.ema import AdapterEMA
from perl_lightning.data.preference import PreferenceDataModule
from perl_lightning.models.adapters import LoRAConfig, count_parameters
from perl_lightning.modules.reward_model import RewardModelModule

C = torch.tensor([1.0, 2.0])  # SGD(lr=1) on loss -(w * C).sum(): w_t = t * C exactly


class Toy(L.LightningModule):
    """A frozen 'base' (64x64 Linear) and a trainable 'adapter' w (2,) whose value after step t is t * C."""

    def __init__(self) -> None:
        super().__init__()
        self.base = torch.nn.Linear(64, 64).requires_grad_(False)
        self.adapter = torch.nn.Parameter(torch.zeros(2))
        self.seen_in_validation: list[torch.Tensor] = []
        self.at_train_end: torch.Tensor | None = None

    def training_step(self, batch: torch.Tensor, batch_idx: int) -> torch.Tensor:
        return -(self.adapter * C).sum() + 0.0 * self.base(batch).sum()

    def validation_step(self, batch: torch.Tensor, batch_idx: int) -> None:
        self.seen_in_validation.append(self.adapter.detach().clone())

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD([self.adapter], lr=1.0)

    def on_train_end(self) -> None:
        self.at_train_end = self.adapter.detach().clone()  # what a module's save_adapter would write


def _loader() -> DataLoader:
    return DataLoader(torch.ones(16, 64), batch_size=1)


def _trainer(tmp_path: Path, steps: int, ema: AdapterEMA, **kwargs) -> L.Trainer:
    kwargs = {"limit_val_batches": 0, **kwargs}
    return L.Trainer(accelerator="cpu", max_steps=steps, callbacks=[ema], logger=False, enable_checkpointing=False,
                     enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                     default_root_dir=tmp_path, **kwargs)  # fmt: skip


@pytest.mark.parametrize(
    ("decay", "every", "start", "expected"),
    [
        (0.5, 1, 0, 2.25),  # copy 1C; 0.5*1 + 0.5*2 = 1.5; 0.5*1.5 + 0.5*3 = 2.25
        (0.5, 1, 1, 2.5),  # warm-up: copy 2C at step 1; 0.5*2 + 0.5*3 = 2.5
        (0.5, 2, 0, 2.0),  # copy 1C at step 0; next at step 2: 0.5*1 + 0.5*3 = 2.0
        (0.75, 1, 0, 1.6875),  # 1; 0.75*1 + 0.25*2 = 1.25; 0.75*1.25 + 0.25*3 = 1.6875
    ],
)
def test_ema_by_hand_and_transferred_before_the_module_saves(tmp_path, decay, every, start, expected):
    module, ema = Toy(), AdapterEMA(decay=decay, update_every_n_steps=every, start_step=start)
    base = module.base.weight.detach().clone()
    _trainer(tmp_path, 3, ema).fit(module, _loader())
    torch.testing.assert_close(module.adapter.detach(), expected * C, rtol=0, atol=0)
    torch.testing.assert_close(module.at_train_end, expected * C, rtol=0, atol=0)  # callback hook ran first
    assert torch.equal(module.base.weight, base)


def test_only_trainable_parameters_are_held(tmp_path):
    module, ema = Toy(), AdapterEMA(decay=0.5)
    _trainer(tmp_path, 2, ema).fit(module, _loader())
    trainable, total = count_parameters(module)
    assert ema.average.names == ["adapter"]
    assert ema.average.numel() == trainable == 2 and total > 1000 * trainable
    assert all(a.data_ptr() != p.data_ptr() for a, p in zip(ema.average.average, module.parameters(), strict=False))


def test_validation_sees_the_average_and_training_resumes_from_its_own_weights(tmp_path):
    module, ema = Toy(), AdapterEMA(decay=0.5)
    trainer = _trainer(tmp_path, 3, ema, limit_val_batches=1, val_check_interval=2)
    trainer.fit(module, _loader(), _loader())
    # validation after step 2: average 1.5C (not the current 2C); then step 3 must start from 2C again -> w3 = 3C,
    # so the final average is 0.5 * 1.5 + 0.5 * 3 = 2.25 (a leaked swap would give w3 = 2.5C and 2.0)
    assert len(module.seen_in_validation) == 1
    torch.testing.assert_close(module.seen_in_validation[0], 1.5 * C, rtol=0, atol=0)
    torch.testing.assert_close(module.adapter.detach(), 2.25 * C, rtol=0, atol=0)
    torch.testing.assert_close(ema.state_dict()["training"]["adapter"], 3 * C, rtol=0, atol=0)


def test_checkpoint_state_is_weights_only_and_resume_is_exact(tmp_path):
    straight, ema = Toy(), AdapterEMA(decay=0.5)
    _trainer(tmp_path / "a", 4, ema).fit(straight, _loader())

    first, ema_b = Toy(), AdapterEMA(decay=0.5)
    trainer = _trainer(tmp_path / "b", 2, ema_b)
    trainer.fit(first, _loader())
    trainer.save_checkpoint(tmp_path / "b.ckpt")  # after fit: the module holds the average 1.5C, training at 2C
    checkpoint = torch.load(tmp_path / "b.ckpt", weights_only=True)
    (state,) = [v for k, v in checkpoint["callbacks"].items() if "AdapterEMA" in k]
    assert set(state["average"]) == set(state["training"]) == {"adapter"}
    torch.testing.assert_close(state["average"]["adapter"], 1.5 * C, rtol=0, atol=0)
    torch.testing.assert_close(state["training"]["adapter"], 2 * C, rtol=0, atol=0)
    assert checkpoint["state_dict"]["base.weight"].shape == (64, 64)  # the module's own state, not the callback's

    resumed, ema_c = Toy(), AdapterEMA(decay=0.5)
    _trainer(tmp_path / "c", 4, ema_c).fit(resumed, _loader(), ckpt_path=tmp_path / "b.ckpt")
    # straight: 1, 1.5, 2.25, 0.5*2.25 + 0.5*4 = 3.125
    torch.testing.assert_close(straight.adapter.detach(), 3.125 * C, rtol=0, atol=0)
    assert torch.equal(resumed.adapter, straight.adapter)
    assert torch.equal(ema_c.state_dict()["training"]["adapter"], 4 * C)


def test_ending_before_start_step_keeps_the_weights(tmp_path):
    module, ema = Toy(), AdapterEMA(decay=0.5, start_step=10)
    with pytest.warns(UserWarning, match="before the first update"):
        _trainer(tmp_path, 2, ema).fit(module, _loader())
    torch.testing.assert_close(module.adapter.detach(), 2 * C, rtol=0, atol=0)
    with pytest.raises(ValueError, match="decay"):
        AdapterEMA(decay=1.5)


# ---- on the tiny LoRA reward model -------------------------------------------------------------------------------
class Snapshots(Callback):
    """Trainable weights after each training batch (registered before AdapterEMA: sees the pre-average weights)."""

    def __init__(self) -> None:
        self.steps: list[dict[str, torch.Tensor]] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:  # noqa: ANN001
        self.steps.append({n: p.detach().clone() for n, p in pl_module.named_parameters() if p.requires_grad})


def test_reward_model_saves_the_averaged_adapter(tmp_path, pairs_file):
    module = RewardModelModule("tiny-llama", lora=LoRAConfig(r=4, alpha=8), learning_rate=5e-3,
                               save_dir=str(tmp_path / "adapter"))  # fmt: skip
    base = {n: p.detach().clone() for n, p in module.named_parameters() if not p.requires_grad}
    snapshots, ema = Snapshots(), AdapterEMA(decay=0.5)
    dm = PreferenceDataModule(path=str(pairs_file), batch_size=4, max_length=64)
    trainer = L.Trainer(accelerator="cpu", max_steps=3, callbacks=[snapshots, ema], logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        limit_val_batches=0, num_sanity_val_steps=0, default_root_dir=tmp_path)  # fmt: skip
    trainer.fit(module, dm)

    trainable, total = count_parameters(module)
    assert ema.average.numel() == trainable and trainable < total / 20  # the base is not copied
    assert len(snapshots.steps) == 3
    expected = {}
    for name, w1 in snapshots.steps[0].items():
        w2, w3 = snapshots.steps[1][name], snapshots.steps[2][name]
        expected[name] = 0.5 * (0.5 * w1 + 0.5 * w2) + 0.5 * w3
        assert not torch.equal(w3, w1), f"{name} did not train"
    for name, p in module.named_parameters():
        if p.requires_grad:
            torch.testing.assert_close(p.detach(), expected[name], rtol=1e-6, atol=1e-7)
        else:
            assert torch.equal(p, base[name]), f"frozen {name} changed"
    saved = load_file(str(tmp_path / "adapter" / "adapter_model.safetensors"))
    current = get_peft_model_state_dict(module.model)
    assert set(saved) == set(current)
    for key, tensor in saved.items():
        assert torch.equal(tensor, current[key]), f"saved adapter {key} is not the average"


def test_policy_saves_the_averaged_policy_adapter(tmp_path):
    from perl_lightning.data.prompts import PromptDataModule
    from perl_lightning.modules.optim import OptimConfig
    from perl_lightning.modules.policy import PolicyModule
    from perl_lightning.rewards import RewardSpec
    from perl_lightning.rl.config import SamplingConfig, UpdateConfig

    rm = RewardModelModule("tiny-llama", lora=LoRAConfig(r=4, alpha=8), head_init="normal")  # random, not constant
    reward = rm.save_adapters(tmp_path / "rm")
    module = PolicyModule(model="tiny-llama", algorithm="rloo", update=UpdateConfig(samples_per_prompt=2),
                          lora=LoRAConfig(r=4, alpha=8), rewards=[RewardSpec(str(reward))],
                          optim=OptimConfig(learning_rate=5e-3), sampling=SamplingConfig(max_new_tokens=4),
                          save_dir=str(tmp_path / "rl"))  # fmt: skip
    frozen = {n: p.detach().clone() for n, p in module.named_parameters() if not p.requires_grad}
    snapshots, ema = Snapshots(), AdapterEMA(decay=0.5)
    dm = PromptDataModule(limit=8, batch_size=2, max_prompt_length=32, val_limit=2)
    trainer = L.Trainer(accelerator="cpu", max_steps=2, callbacks=[snapshots, ema], logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        limit_val_batches=0, num_sanity_val_steps=0, default_root_dir=tmp_path)  # fmt: skip
    trainer.fit(module, dm)

    trainable, total = count_parameters(module)
    assert ema.average.numel() == trainable and all(".policy." in n for n in ema.average.names)
    assert len(snapshots.steps) == 2
    for name, p in module.named_parameters():
        if p.requires_grad:
            w1, w2 = snapshots.steps[0][name], snapshots.steps[1][name]
            torch.testing.assert_close(p.detach(), 0.5 * w1 + 0.5 * w2, rtol=1e-6, atol=1e-7)
        else:
            assert torch.equal(p, frozen[name]), f"frozen {name} changed (reward adapter, base)"
    assert any(not torch.equal(s0, snapshots.steps[1][n]) for n, s0 in snapshots.steps[0].items())
    saved = load_file(str(tmp_path / "rl" / "policy" / "adapter_model.safetensors"))
    current = get_peft_model_state_dict(module.model, adapter_name="policy")
    assert set(saved) == set(current) and all(torch.equal(saved[k], current[k]) for k in saved)
