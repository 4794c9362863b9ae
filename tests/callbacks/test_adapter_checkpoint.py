"""AdapterCheckpoint: every-N / best-k / last-k / final / interrupted adapter directories, written atomically."""

from __future__ import annotations

import json
from pathlib import Path

import lightning as L
import pytest
import torch
from peft import PeftModel
from transformers import AutoModelForSequenceClassification

from perl_lightning.callbacks.adapter_checkpoint import INDEX, RUN_CONFIG, AdapterCheckpoint
from perl_lightning.data import PreferenceDataModule, PromptDataModule
from perl_lightning.models.adapters import LoRAConfig
from perl_lightning.modules import PolicyModule, RewardModelModule
from perl_lightning.modules.optim import OptimConfig
from perl_lightning.rewards import RewardSpec
from perl_lightning.rl.config import SamplingConfig, UpdateConfig


class ValLosses(L.Callback):
    def __init__(self) -> None:
        self.seen: list[tuple[int, float]] = []

    def on_validation_end(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking:
            self.seen.append((trainer.global_step, float(trainer.callback_metrics["val/loss"])))


def _rm() -> RewardModelModule:
    return RewardModelModule(model="tiny-llama", lora=LoRAConfig(r=4, alpha=8), learning_rate=5e-3)


def _data(pairs_file: Path) -> PreferenceDataModule:
    return PreferenceDataModule(path=str(pairs_file), batch_size=4, max_length=64, val_fraction=0.25)


def _trainer(root: Path, steps: int, *callbacks: L.Callback, val_every: int | None = 1) -> L.Trainer:
    return L.Trainer(
        accelerator="cpu",
        max_steps=steps,
        val_check_interval=val_every or 1,
        limit_val_batches=None if val_every else 0,
        num_sanity_val_steps=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=root,
        callbacks=list(callbacks),
    )


def test_every_n_last_k_best_k_and_final(tmp_path, pairs_file, tiny_base_dir):
    saver = AdapterCheckpoint(
        dirpath=str(tmp_path / "ck"), every_n_train_steps=2, save_last_k=2, monitor="val/loss", mode="min", save_top_k=2
    )
    losses = ValLosses()
    module, dm = _rm(), _data(pairs_file)
    _trainer(tmp_path, 6, saver, losses).fit(module, dm)

    last = sorted(p.name for p in (tmp_path / "ck" / "last").iterdir())
    assert last == ["step-0000004", "step-0000006"]  # every 2 steps, the newest 2 kept
    best_steps = sorted(step for step, _ in sorted(losses.seen, key=lambda s: s[1])[:2])
    assert sorted(int(p.name.split("-")[1]) for p in (tmp_path / "ck" / "best").iterdir()) == best_steps
    index = json.loads((tmp_path / "ck" / INDEX).read_text())
    assert [b["step"] for b in index["best"]] == [s for s, _ in sorted(losses.seen, key=lambda s: s[1])[:2]]
    assert index["final"] == str(tmp_path / "ck" / "final")
    assert not [p for p in (tmp_path / "ck").rglob(".*tmp*")], "no temporary directories may be left behind"

    final = tmp_path / "ck" / "final"
    config = json.loads((final / RUN_CONFIG).read_text())
    assert config["global_step"] == 6 and config["hparams"]["model"] == "tiny-llama"
    assert config["data_hparams"]["batch_size"] == 4 and config["identity"]["lora"]["r"] == 4
    assert (final / "adapter" / "adapter_model.safetensors").is_file()
    assert (final / "adapter" / "tokenizer_config.json").is_file()
    # the final adapter reloads with plain transformers + peft and scores like the trained module
    batch = dm.collate(dm.encoded["val"][:2])
    base = AutoModelForSequenceClassification.from_pretrained(tiny_base_dir, num_labels=1)
    plain = PeftModel.from_pretrained(base, final / "adapter").eval()
    module.eval()
    with torch.no_grad():
        theirs = plain(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits[:, 0]
        ours = module(batch.input_ids, batch.attention_mask)
    torch.testing.assert_close(theirs, ours, atol=1e-5, rtol=1e-5)


def test_failed_write_keeps_the_previous_checkpoint_and_says_where(tmp_path, pairs_file, monkeypatch):
    saver = AdapterCheckpoint(dirpath=str(tmp_path / "ck"), every_n_train_steps=1, save_last_k=1)
    module = _rm()
    original = module.save_adapters
    calls = {"n": 0}

    def flaky(path):
        calls["n"] += 1
        if calls["n"] == 2:  # the second write dies half-way: a file written, then the disk is full
            Path(path).mkdir(parents=True)
            (Path(path) / "adapter_model.safetensors").write_bytes(b"partial")
            raise OSError(28, "No space left on device")
        return original(path)

    monkeypatch.setattr(module, "save_adapters", flaky)
    with pytest.raises(OSError, match=r"could not write .*last/step-0000002 \(previous contents kept\)"):
        _trainer(tmp_path, 3, saver, val_every=None).fit(module, _data(pairs_file))
    kept = tmp_path / "ck" / "last" / "step-0000001"
    assert (kept / "adapter" / "adapter_model.safetensors").stat().st_size > 1000  # the step-1 checkpoint, whole
    assert json.loads((kept / RUN_CONFIG).read_text())["global_step"] == 1
    assert not (tmp_path / "ck" / "last" / "step-0000002").exists()
    assert not [p for p in (tmp_path / "ck").rglob(".*tmp*")]


class Interrupt(L.Callback):
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step == 2:
            raise KeyboardInterrupt


def test_interrupt_writes_the_adapters_and_a_plain_error_does_not(tmp_path, pairs_file):
    saver = AdapterCheckpoint(dirpath=str(tmp_path / "ck"))
    with pytest.raises(SystemExit):  # Lightning turns Ctrl-C into a graceful shutdown and exit(1)
        _trainer(tmp_path, 5, saver, Interrupt(), val_every=None).fit(_rm(), _data(pairs_file))
    config = json.loads((tmp_path / "ck" / "interrupted" / RUN_CONFIG).read_text())
    assert config["global_step"] == 2
    assert (tmp_path / "ck" / "interrupted" / "adapter" / "adapter_model.safetensors").is_file()

    class Boom(L.Callback):
        def on_train_batch_end(self, *args) -> None:
            raise ValueError("boom")

    saver = AdapterCheckpoint(dirpath=str(tmp_path / "ck2"))
    with pytest.raises(ValueError, match="boom"):
        _trainer(tmp_path, 5, saver, Boom(), val_every=None).fit(_rm(), _data(pairs_file))
    assert not (tmp_path / "ck2" / "interrupted").exists()


def test_policy_checkpoints_hold_the_policy_adapter_and_state_resumes(tmp_path):
    module = PolicyModule(
        model="tiny-llama",
        algorithm="rloo",
        update=UpdateConfig(samples_per_prompt=2),
        lora=LoRAConfig(r=4, alpha=8),
        rewards=[RewardSpec("perl_lightning.rewards.toy:newline_reward")],
        sampling=SamplingConfig(max_new_tokens=4),
    )
    saver = AdapterCheckpoint(dirpath=str(tmp_path / "ck"), every_n_train_steps=1, save_last_k=1)
    data = PromptDataModule(limit=8, val_limit=2, batch_size=2, max_prompt_length=32)
    _trainer(tmp_path, 2, saver, val_every=None).fit(module, data)
    assert (tmp_path / "ck" / "last" / "step-0000002" / "adapter" / "policy" / "adapter_config.json").is_file()
    assert (tmp_path / "ck" / "final" / "adapter" / "policy" / "adapter_model.safetensors").is_file()
    restored = AdapterCheckpoint(dirpath=str(tmp_path / "ck"))
    restored.load_state_dict(saver.state_dict())
    assert restored.last == saver.last and restored.last[0]["step"] == 2


def test_bad_arguments_and_missing_metric_are_clear(tmp_path, pairs_file):
    with pytest.raises(ValueError, match="mode must be 'max' or 'min'"):
        AdapterCheckpoint(mode="up")
    with pytest.raises(ValueError, match="every_n_train_steps"):
        AdapterCheckpoint(every_n_train_steps=0)
    saver = AdapterCheckpoint(dirpath=str(tmp_path / "ck"), monitor="val/nope")
    with pytest.raises(KeyError, match=r"monitors 'val/nope', which was not logged; logged: \[.*val/loss"):
        _trainer(tmp_path, 1, saver).fit(_rm(), _data(pairs_file))


def test_with_adapter_ema_the_averaged_adapters_are_written(tmp_path, pairs_file):
    from safetensors.torch import load_file

    from perl_lightning.callbacks.ema import AdapterEMA

    class RawAtEnd(L.Callback):
        def on_train_batch_end(self, trainer, pl_module, *args) -> None:
            self.raw = {k: v.clone() for k, v in pl_module.trainable_state_dict().items()}

    raw = RawAtEnd()
    saver = AdapterCheckpoint(dirpath=str(tmp_path / "ck"), every_n_train_steps=3)
    module = _rm()
    # the saver is listed first, so its on_train_end runs before the EMA moves the average into the module
    _trainer(tmp_path, 3, saver, raw, AdapterEMA(decay=0.5), val_every=None).fit(module, _data(pairs_file))
    last = load_file(tmp_path / "ck" / "last" / "step-0000003" / "adapter" / "adapter_model.safetensors")
    final = load_file(tmp_path / "ck" / "final" / "adapter" / "adapter_model.safetensors")
    assert last.keys() == final.keys()
    assert all(torch.equal(last[k], final[k]) for k in last)  # both the average after step 3
    averaged = module.trainable_state_dict()  # at the end the module holds the average
    raw_b = [v for k, v in raw.raw.items() if "lora_B" in k]
    avg_b = [averaged[k] for k in raw.raw if "lora_B" in k]
    assert not all(torch.equal(a, b) for a, b in zip(raw_b, avg_b, strict=True))  # the average is not the raw weights


@pytest.mark.parametrize("model", ["tiny-llava", "tiny-idefics3"])
def test_vlm_policy_checkpoint_reloads_to_the_same_log_probs(tmp_path, model):
    """A VLM policy (LLaVA, or Idefics3 with its pixel attention mask; the VQA prompts with their images): the final
    checkpoint's policy adapter, loaded onto a fresh base, gives the trained policy's log-probs; the trained adapter
    moved away from the initial one."""
    brevity = RewardSpec("perl_lightning.rewards.toy:brevity_reward")
    kwargs = dict(model=model, algorithm="grpo", update=UpdateConfig(samples_per_prompt=2),
                  lora=LoRAConfig(r=4, alpha=8, dropout=0.0), rewards=[brevity],
                  sampling=SamplingConfig(max_new_tokens=4))  # fmt: skip
    module = PolicyModule(**kwargs, optim=OptimConfig(learning_rate=1e-2))
    saver = AdapterCheckpoint(dirpath=str(tmp_path / "ck"), every_n_train_steps=1, save_last_k=1)
    data = PromptDataModule(task="vqa", limit=8, val_limit=2, batch_size=2, max_prompt_length=128)
    _trainer(tmp_path, 2, saver, val_every=None).fit(module, data)
    final = tmp_path / "ck" / "final" / "adapter" / "policy"
    assert (final / "adapter_model.safetensors").is_file()
    reloaded, initial = PolicyModule(**kwargs, init_policy_adapter=str(final)), PolicyModule(**kwargs)
    batch = data.collate(data.encoded["val"])
    assert batch.images is not None and ("pixel_attention_mask" in batch.images.pixels) == (model == "tiny-idefics3")
    module.eval()
    rollout = module.generate(batch, module.eval_sampling)
    mask = rollout.response_mask.bool()
    (trained,) = module.models.logprobs(rollout, "policy", 1.0)
    (again,) = reloaded.models.logprobs(rollout, "policy", 1.0)
    (before,) = initial.models.logprobs(rollout, "policy", 1.0)
    torch.testing.assert_close(again[mask], trained[mask], atol=1e-5, rtol=1e-5)
    assert (trained[mask] - before[mask]).abs().max() > 1e-4, "two GRPO steps at lr 1e-2 changed the policy"
