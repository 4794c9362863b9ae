"""Lightning checkpoints: trainable tensors only, exact resume (RM and RL), clear errors on a mismatched base/config."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from types import SimpleNamespace

import lightning as L
import numpy as np
import pytest
import torch

from perl_lightning import checkpointing as ckpt
from perl_lightning.data import PreferenceDataModule, PromptDataModule
from perl_lightning.data.base import ResumableSampler
from perl_lightning.models.adapters import LoRAConfig
from perl_lightning.models.artifacts import check_adapter_base
from perl_lightning.modules import PolicyModule, RewardModelModule
from perl_lightning.modules.optim import OptimConfig
from perl_lightning.rewards import RewardSpec
from perl_lightning.rl.config import KLConfig, SamplingConfig, ShapingConfig, UpdateConfig
from tests.modules.test_vlm_sft import _vqa_folder


def _extra(module: PolicyModule) -> dict[str, object]:
    """The RL state kept outside tensors, read off the objects themselves (not through ``extra_state``)."""
    return {"kl_coef": module.kl_ctl.value, "reward_stats": dict(vars(module.reward_stats)),
            "baseline_stats": dict(vars(module.baseline_stats))}  # fmt: skip


class Recorder(L.Callback):
    """Per training batch: the RM's returned loss, or the policy's logged RL statistics; for the policy also its
    controller and running statistics after global step ``at`` and at the start of fit (after a resume's restore)."""

    def __init__(self, at: int | None = None) -> None:
        self.at = at
        self.values: list[list[tuple[str, float]]] = []
        self.state_at: dict | None = None
        self.state_on_start: dict | None = None

    def on_train_start(self, trainer, pl_module) -> None:
        if isinstance(pl_module, PolicyModule):
            self.state_on_start = copy.deepcopy(_extra(pl_module))

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if isinstance(pl_module, PolicyModule):
            metrics = trainer.callback_metrics  # what training_step logged for this batch
            self.values.append(sorted((k, float(v)) for k, v in metrics.items() if k.startswith("rl/")))
            if trainer.global_step == self.at:
                self.state_at = copy.deepcopy(_extra(pl_module))
        else:
            self.values.append([("loss", float(outputs["loss"]))])


def _trainer(root: Path, steps: int, *callbacks: L.Callback) -> L.Trainer:
    return L.Trainer(
        accelerator="cpu",
        max_steps=steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        default_root_dir=root,
        callbacks=list(callbacks),
    )


def _rm(**kwargs) -> RewardModelModule:
    kwargs.setdefault("lora", LoRAConfig(r=4, alpha=8))
    return RewardModelModule(model="tiny-llama", learning_rate=5e-3, micro_batch_tokens=None, **kwargs)


def _rm_data(pairs_file: Path) -> PreferenceDataModule:
    return PreferenceDataModule(path=str(pairs_file), batch_size=3, max_length=64, val_fraction=0.25, limit=12)


#: -words / 10: differs between the tiny model's responses, so advantages are non-zero and the adapters train (the
#: newline count is 0 for nearly every 5-token response: every advantage 0, nothing to resume but the RNG)
BREVITY = [RewardSpec("perl_lightning.rewards.toy:brevity_reward")]


def _policy(**kwargs) -> PolicyModule:
    kwargs.setdefault("lora", LoRAConfig(r=4, alpha=8))
    kwargs.setdefault("model", "tiny-llama")
    kwargs.setdefault("algorithm", "rloo")
    kwargs.setdefault("update", UpdateConfig(samples_per_prompt=2))
    return PolicyModule(
        rewards=BREVITY,
        sampling=SamplingConfig(max_new_tokens=5, temperature=0.7),
        optim=OptimConfig(learning_rate=5e-3),
        **kwargs,
    )


def _prompt_data() -> PromptDataModule:
    return PromptDataModule(limit=10, val_limit=2, batch_size=3, max_prompt_length=32)


class Crash(L.Callback):
    """Write a checkpoint after step ``at`` (as ``ModelCheckpoint(every_n_train_steps)`` would), then crash."""

    def __init__(self, at: int, path: Path) -> None:
        self.at, self.path = at, path

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step == self.at:
            trainer.save_checkpoint(self.path)
            raise RuntimeError("simulated crash")


def _run_with_resume(tmp_path: Path, make_module, make_data, total: int, stop: int) -> SimpleNamespace:
    """An uninterrupted run, and one crashed after global step ``stop`` and resumed in a fresh process state: their
    per-batch values, final modules, and (policy) the RL state after step ``stop`` / right after the restore."""
    L.seed_everything(7)
    straight, straight_module = Recorder(at=stop), make_module()
    _trainer(tmp_path / "a", total, straight).fit(straight_module, make_data())

    L.seed_everything(7)
    first, path = Recorder(), tmp_path / "stop.ckpt"
    with pytest.raises(RuntimeError, match="simulated crash"):
        _trainer(tmp_path / "b", total, first, Crash(stop, path)).fit(make_module(), make_data())

    L.seed_everything(123)  # a different seed: everything that matters must come from the checkpoint
    second, resumed_module = Recorder(), make_module()
    _trainer(tmp_path / "c", total, second).fit(resumed_module, make_data(), ckpt_path=path)
    return SimpleNamespace(straight=straight.values, resumed=first.values + second.values, path=path,
                           straight_module=straight_module, resumed_module=resumed_module,
                           state_at_crash=straight.state_at, state_restored=second.state_on_start)  # fmt: skip


def _assert_same_trainable_weights(a: L.LightningModule, b: L.LightningModule) -> None:
    wa, wb = a.trainable_state_dict(), b.trainable_state_dict()
    assert wa.keys() == wb.keys() and wa
    different = [k for k in wa if not torch.equal(wa[k], wb[k])]
    assert not different, f"trainable tensors differ after the resumed run: {different[:5]}"


def test_reward_model_resume_is_exact(tmp_path, pairs_file):
    # 9 training pairs in batches of 3: 3 batches an epoch; stopping after 4 steps resumes mid-epoch 2
    run = _run_with_resume(tmp_path, _rm, lambda: _rm_data(pairs_file), total=7, stop=4)
    assert len(run.straight) == len(run.resumed) == 7
    assert run.resumed == run.straight, "the resumed run must reproduce the uninterrupted run's losses exactly"
    assert len(set(map(tuple, run.straight))) > 3  # the losses do change from step to step
    _assert_same_trainable_weights(run.straight_module, run.resumed_module)


#: RL runs whose state outside the tensors must survive a resume: name -> (PolicyModule arguments, optimizer steps per
#: rollout batch). Sampling draws from the global RNG (the checkpoint carries it); the prompt order resumes mid-epoch.
POLICY_RUNS = {
    # RLOO, fixed KL: RNG, data order, adapters and AdamW state
    "rloo_fixed_kl": ({}, 1),
    # PPO with its value adapter and head; the adaptive KL coefficient moves every step (horizon 10 samples); scores
    # normalised by running statistics
    "ppo_adaptive_kl_normalized": (
        {
            "algorithm": "ppo",
            "update": UpdateConfig(update_epochs=2),
            "kl": KLConfig(adaptive=True, target=1.0, horizon=10),
            "shaping": ShapingConfig(normalize=True),
        },
        2,
    ),  # fmt: skip
    # REINFORCE with the running-mean baseline; unwhitened, so a wrong baseline changes the advantages (whitening
    # would cancel the constant shift)
    "reinforce_mean_baseline": (
        {"algorithm": "reinforce", "update": UpdateConfig(baseline="mean", whiten_advantages=False)},
        1,
    ),
}


@pytest.mark.parametrize("name", list(POLICY_RUNS))
def test_policy_resume_is_exact(tmp_path, name):
    kwargs, per_batch = POLICY_RUNS[name]
    batches, stop_after = 5, 2
    run = _run_with_resume(tmp_path, lambda: _policy(**kwargs), _prompt_data, total=batches * per_batch,
                           stop=stop_after * per_batch)  # fmt: skip
    assert len(run.straight) == len(run.resumed) == batches
    assert run.resumed == run.straight, "the resumed RL run must reproduce the uninterrupted run's statistics exactly"
    _assert_same_trainable_weights(run.straight_module, run.resumed_module)
    rows = [dict(row) for row in run.straight]  # the runs are not degenerate: rewards vary, the policy moves
    assert all(r["rl/reward_std"] > 0 for r in rows) and rows[-1]["rl/kl"] != 0
    # the controller and running statistics restored from the checkpoint are those of the uninterrupted run
    assert run.state_at_crash is not None and run.state_restored == run.state_at_crash
    state, fresh = run.state_at_crash, _extra(_policy(**kwargs))
    if name == "ppo_adaptive_kl_normalized":
        assert state["kl_coef"] != fresh["kl_coef"], "the adaptive coefficient must have moved for this to test much"
        assert state["reward_stats"]["count"] == stop_after * 3 and state["reward_stats"] != fresh["reward_stats"]
        assert any(k == "rl/value_loss" for k, _ in run.straight[0])  # the value adapter trains
        kl_coefs = [dict(row)["rl/kl_coef"] for row in run.straight]
        assert len(set(kl_coefs)) == batches  # a new coefficient every step
    if name == "reinforce_mean_baseline":
        assert state["baseline_stats"]["count"] == stop_after * 3 and state["baseline_stats"] != fresh["baseline_stats"]


def test_checkpoint_holds_trainable_tensors_identity_and_rng_and_loads_weights_only(tmp_path, pairs_file):
    module = _rm()
    trainer = _trainer(tmp_path, 1)
    trainer.fit(module, _rm_data(pairs_file))
    path = tmp_path / "rm.ckpt"
    trainer.save_checkpoint(path)
    checkpoint = torch.load(path, weights_only=True)  # no arbitrary pickle
    assert set(checkpoint["state_dict"]) == set(module.trainable_state_dict())
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    assert sum(v.numel() for v in checkpoint["state_dict"].values()) == trainable
    assert trainable < sum(p.numel() for p in module.parameters()) / 20
    extras = checkpoint["perl_lightning"]
    assert extras["identity"]["model"] == "tiny-llama" and extras["identity"]["lora"]["r"] == 4
    assert len(extras["rng"]) == 1 and torch.equal(extras["rng"][0]["torch"], torch.get_rng_state())
    assert checkpoint["optimizer_states"] and checkpoint["loops"]
    assert checkpoint["PreferenceDataModule"]["batches_done"] == 1  # where the data order resumes


def test_mismatched_adapter_config_or_base_is_refused_by_name(tmp_path, pairs_file, tiny_base_dir):
    trainer = _trainer(tmp_path, 1)
    trainer.fit(_rm(), _rm_data(pairs_file))
    path = tmp_path / "rm.ckpt"
    trainer.save_checkpoint(path)
    with pytest.raises(ckpt.CheckpointMismatchError, match=r"lora: checkpoint has .*'r': 4.*this run has .*'r': 8"):
        _trainer(tmp_path, 2).fit(_rm(lora=LoRAConfig(r=8, alpha=16)), _rm_data(pairs_file), ckpt_path=path)
    with pytest.raises(ckpt.CheckpointMismatchError, match=r"model: checkpoint has 'tiny-llama', this run has '.*tiny"):
        other = RewardModelModule(model=str(tiny_base_dir), lora=LoRAConfig(r=4, alpha=8))
        _trainer(tmp_path, 2).fit(other, _rm_data(pairs_file), ckpt_path=path)
    with pytest.raises(ckpt.CheckpointMismatchError, match="module: checkpoint has 'RewardModelModule'"):
        _trainer(tmp_path, 2).fit(_policy(), _prompt_data(), ckpt_path=path)


def test_check_tensors_names_missing_unexpected_and_shape():
    expected = {"a": torch.zeros(2, 3), "b": torch.zeros(4)}
    ckpt.check_tensors({"a": torch.zeros(2, 3), "b": torch.zeros(4)}, expected, "x")
    with pytest.raises(ckpt.CheckpointMismatchError, match=r"missing: b; unexpected: c"):
        ckpt.check_tensors({"a": torch.zeros(2, 3), "c": torch.zeros(1)}, expected, "x")
    with pytest.raises(ckpt.CheckpointMismatchError, match=r"shape mismatch: a: checkpoint \(3, 2\) vs model \(2, 3\)"):
        ckpt.check_tensors({"a": torch.zeros(3, 2), "b": torch.zeros(4)}, expected, "x")
    with pytest.raises(ckpt.CheckpointMismatchError, match="not written by this package"):
        ckpt.check_identity(None, {"model": "m"}, "x")


def test_rng_state_round_trips_all_generators():
    state = ckpt.rng_state()
    draws = (torch.rand(3), np.random.rand(3), random.random())
    ckpt.set_rng_state(state)
    again = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(draws[0], again[0]) and np.array_equal(draws[1], again[1]) and draws[2] == again[2]


def test_resumable_sampler_shards_reshuffles_per_epoch_and_skips_once():
    data = list(range(10))
    rank0 = ResumableSampler(data, num_replicas=2, rank=0, seed=3)
    rank1 = ResumableSampler(data, num_replicas=2, rank=1, seed=3)
    first0, first1 = list(rank0), list(rank1)
    assert sorted(first0 + first1) == data  # disjoint shards covering the data (10 divides evenly)
    rank0.set_epoch(1)
    assert list(rank0) != first0  # a new order each epoch, from seed + epoch alone
    resumed = ResumableSampler(data, num_replicas=2, rank=0, seed=3, epoch=1, skip=2)
    rank0.set_epoch(1)
    assert list(resumed) == list(rank0)[2:]
    assert list(resumed) == list(rank0)  # the skip applies to the first iteration only


def test_adapter_on_another_base_is_refused_by_name(tmp_path, pairs_file, tiny_base_dir):
    module = _rm()
    adapter = module.save_adapters(tmp_path / "rm")
    meta = json.loads((adapter / "perl_lightning.json").read_text())
    assert meta["base"]["hidden_size"] == module.model.config.hidden_size
    check_adapter_base(adapter, "tiny-llama", module.model.config)  # its own base: fine
    with pytest.raises(ckpt.CheckpointMismatchError, match=r"model: adapter was trained on 'tiny-llama'"):
        check_adapter_base(adapter, str(tiny_base_dir), module.model.config)
    wider = copy.deepcopy(module.model.config)
    wider.hidden_size *= 2
    with pytest.raises(ckpt.CheckpointMismatchError, match=r"hidden_size: adapter has \d+, this base has \d+"):
        check_adapter_base(adapter, "tiny-llama", wider)
    with pytest.raises(ckpt.CheckpointMismatchError, match="model: adapter was trained on 'tiny-llama'"):
        _policy(init_policy_adapter=str(adapter), model=str(tiny_base_dir))


def test_vlm_policy_resume_is_exact(tmp_path):
    """PPO on a tiny Llava (policy, value and reference adapters on one VLM backbone, the policy training its own
    projector copy) on prompts with images: the resumed run reproduces the uninterrupted one exactly."""
    folder = _vqa_folder(tmp_path / "data", n=20)

    def module() -> PolicyModule:
        return _policy(model="tiny-llava", algorithm="ppo", lora=LoRAConfig(r=4, alpha=8, train_projector=True),
                       update=UpdateConfig(samples_per_prompt=2, update_epochs=1))  # fmt: skip

    def data() -> PromptDataModule:
        return PromptDataModule(task="vqa", path=str(folder), split="train", val_split="test", batch_size=3,
                                max_prompt_length=96)  # fmt: skip

    run = _run_with_resume(tmp_path, module, data, total=3, stop=2)
    assert len(run.straight) == len(run.resumed) == 3
    assert run.resumed == run.straight, "the resumed VLM run must reproduce the uninterrupted run's statistics"
    _assert_same_trainable_weights(run.straight_module, run.resumed_module)
    trained = run.straight_module.trainable_state_dict()
    assert any("multi_modal_projector.modules_to_save.policy" in k for k in trained)
    assert any(".value." in k for k in trained) and any("value_head" in k for k in trained)
