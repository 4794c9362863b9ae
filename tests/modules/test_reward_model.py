"""RewardModelModule: last-token scoring under both paddings, what trains, adapter round trip, checkpoints."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from peft import PeftModel
from transformers import AutoModelForSequenceClassification

from perl_lightning.data.formatting import pad
from perl_lightning.data.preference import PreferenceBatch, PreferenceDataModule, ResponseBatch
from perl_lightning.models.adapters import LoRAConfig
from perl_lightning.modules.reward_model import RewardModelModule


def _module(model: str = "tiny-llama", **kwargs) -> RewardModelModule:
    kwargs.setdefault("lora", LoRAConfig(r=4, alpha=8, dropout=0.0))
    return RewardModelModule(model=model, learning_rate=5e-3, **kwargs)


def _trainer(tmp_path, steps: int = 4) -> L.Trainer:
    return L.Trainer(
        accelerator="cpu",
        max_steps=steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        default_root_dir=tmp_path,
    )


def test_reward_read_at_last_real_token_for_both_paddings():
    module = _module(head_init="normal").eval()  # a random head: distinct sequences get distinct rewards
    sequences = [[11, 12, 13, 14, 15, 16], [21, 22, 23], [31, 32, 33, 34]]
    alone = torch.cat([module(torch.tensor([s]), torch.ones(1, len(s), dtype=torch.long)) for s in sequences])
    right = module(*pad(sequences, module.tokenizer.pad_token_id, "right"))
    left = module(*pad(sequences, module.tokenizer.pad_token_id, "left"))
    torch.testing.assert_close(right, alone, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(left, alone, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(alone[0], alone[1])  # distinct sequences, distinct rewards: not a constant


def test_fit_changes_lora_and_head_only(tmp_path, pairs_file):
    module = _module(save_dir=str(tmp_path / "adapter"))
    before = {n: p.detach().clone() for n, p in module.model.named_parameters()}
    dm = PreferenceDataModule(path=str(pairs_file), batch_size=4, max_length=64)
    _trainer(tmp_path).fit(module, dm)
    changed_lora = changed_head = 0
    for name, param in module.model.named_parameters():
        if param.requires_grad:
            changed = not torch.equal(param, before[name])
            changed_lora += changed and "lora_B" in name
            changed_head += changed and "score" in name
        else:
            assert torch.equal(param, before[name]), f"frozen parameter {name} changed"
    assert changed_lora >= 8 and changed_head == 1
    assert (tmp_path / "adapter" / "adapter_model.safetensors").is_file()


def test_training_learns_a_clear_preference(tmp_path, pairs_file):
    module = _module(lora=LoRAConfig(r=8, alpha=16, dropout=0.0))
    dm = PreferenceDataModule(path=str(pairs_file), batch_size=8, max_length=64, val_fraction=0.25)
    trainer = _trainer(tmp_path, steps=30)
    first = L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False)
    before = first.validate(module, dm, verbose=False)[0]
    trainer.fit(module, dm)
    after = first.validate(module, dm, verbose=False)[0]
    assert after["val/loss"] < before["val/loss"] - 0.2
    assert after["val/accuracy"] == 1.0
    assert after["val/margin"] > before["val/margin"]


def test_validation_keeps_each_pair_right_or_wrong(tmp_path, pairs_file):
    """``eval_records``: per held-out pair (in order) 1 when chosen out-scores rejected, 0 when not, 0.5 on a tie;
    their mean is the logged accuracy, and each agrees with the pair's rewards from ``predict``."""
    torch.manual_seed(0)
    module = _module(head_init="normal").eval()  # a random head: some pairs right, some wrong
    dm = PreferenceDataModule(path=str(pairs_file), batch_size=4, max_length=64, val_fraction=0.5)
    trainer = L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False)
    accuracy = trainer.validate(module, dm, verbose=False)[0]["val/accuracy"]
    records = list(module.eval_records)
    assert len(records) == len(dm.encoded["val"]) and set(records) <= {0.0, 0.5, 1.0}
    assert sum(records) / len(records) == pytest.approx(accuracy, abs=1e-6)
    scored = trainer.predict(module, dataloaders=dm.val_dataloader())
    expected = [float(c > r) for out in scored for c, r in zip(out["chosen"], out["rejected"], strict=True)]
    assert records == expected and 0 < sum(records) < len(records)
    pairs = [float(x) for out in scored for c, r in zip(out["chosen"], out["rejected"], strict=True) for x in (c, r)]
    flat = [x for pair in module.eval_scores for x in pair]  # each pair's (chosen, rejected) rewards, in order
    assert flat == pytest.approx(pairs, abs=1e-5)
    trainer.validate(module, dm, verbose=False)
    assert module.eval_records == records  # reset per evaluation, not appended to
    assert len(module.eval_scores) == len(records)


def test_saved_adapter_reloads_with_plain_peft(tmp_path, tiny_base_dir, pairs_file):
    module = _module(model=str(tiny_base_dir), save_dir=str(tmp_path / "adapter"))
    dm = PreferenceDataModule(path=str(pairs_file), batch_size=4, max_length=64)
    _trainer(tmp_path, steps=3).fit(module, dm)
    batch = dm.collate(dm.encoded["val"][:3])
    module.eval()
    ours = module(batch.input_ids, batch.attention_mask)

    base = AutoModelForSequenceClassification.from_pretrained(tiny_base_dir, num_labels=1)
    plain = PeftModel.from_pretrained(base, tmp_path / "adapter").eval()
    with torch.no_grad():
        theirs = plain(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits[:, 0]
    torch.testing.assert_close(theirs, ours, atol=1e-5, rtol=1e-5)
    assert (tmp_path / "adapter" / "tokenizer_config.json").is_file()


def test_checkpoint_holds_only_trainable_parameters_and_resumes(tmp_path, pairs_file):
    module = _module()
    dm = PreferenceDataModule(path=str(pairs_file), batch_size=4, max_length=64)
    trainer = _trainer(tmp_path, steps=2)
    trainer.fit(module, dm)
    ckpt = tmp_path / "rm.ckpt"
    trainer.save_checkpoint(ckpt)
    state = torch.load(ckpt, weights_only=True)["state_dict"]
    trainable = {f"model.{n}" for n, p in module.model.named_parameters() if p.requires_grad}
    assert {k for k in state if k.startswith("model.")} == trainable
    restored = _module()
    restored.load_state_dict(state, strict=False)
    for name, param in restored.model.named_parameters():
        if param.requires_grad:
            assert torch.equal(param, dict(module.model.named_parameters())[name])


def test_predict_returns_rewards(tmp_path, pairs_file):
    module = _module()
    dm = PreferenceDataModule(path=str(pairs_file), batch_size=4, max_length=64)
    predictions = L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False).predict(module, dm)
    total = sum(len(p["chosen"]) for p in predictions)
    assert total == len(dm.encoded["val"])
    batch = ResponseBatch(*pad([[1, 2, 3], [4, 5]], module.tokenizer.pad_token_id))
    assert module.predict_step(batch, 0)["reward"].shape == (2,)
    pair = PreferenceBatch(*pad([[1, 2], [3, 4], [5, 6], [7, 8]], module.tokenizer.pad_token_id))
    assert set(module.predict_step(pair, 0)) == {"chosen", "rejected"}


@pytest.mark.parametrize("model", ["tiny-llama", "minilm-l6"])
def test_zero_head_init_starts_every_reward_at_zero(model):
    module = _module(model=model).eval()
    r = module.reward(["How are you?", "Hi"], ["Fine, thanks.", "Hello!"])
    assert torch.equal(r, torch.zeros(2))
    normal = _module(model=model, head_init="normal").eval()
    assert not torch.equal(normal.reward(["How are you?"], ["Fine, thanks."]), torch.zeros(1))
    with pytest.raises(ValueError, match="head_init"):
        _module(head_init="xavier")


def test_reward_api_formats_like_training():
    module = _module().eval()
    r = module.reward(["How are you?", "Hi"], ["Fine, thanks.", "Hello!"])
    assert r.shape == (2,) and torch.isfinite(r).all()
    with pytest.raises(ValueError, match="prompts"):
        module.reward(["a"], ["b", "c"])


@pytest.mark.parametrize("side", ["right", "left"])
def test_micro_batches_keep_pairs_and_trim_padding(side):
    from perl_lightning.data.batching import micro_batches

    chosen = [[1] * 3, [2] * 9, [3] * 5]
    rejected = [[4] * 4, [5] * 2, [6] * 6]
    batch = PreferenceBatch(*pad(chosen + rejected, 0, side))
    parts = micro_batches(batch, 36)  # 2 pairs x 2 rows x 9 tokens = 36 fit; adding pair 0 would need 54
    assert [p.num_pairs for p in parts] == [2, 1]
    # longest pairs first: pair 1 (9 tokens) and pair 2 (6), then pair 0 (4); each trimmed to its own width
    assert [p.input_ids.shape[1] for p in parts] == [9, 4]
    first = parts[0]
    assert first.attention_mask.sum(-1).tolist() == [9, 5, 2, 6]
    assert set(first.input_ids[0].tolist()) - {0} == {2} and set(first.input_ids[2].tolist()) - {0} == {5}
    assert micro_batches(batch, None) == [batch]
    assert [p.num_pairs for p in micro_batches(batch, 1)] == [1, 1, 1]  # over budget: one pair per group
    assert [p.num_pairs for p in micro_batches(batch, 1000)] == [3]


class GradientsBeforeStep(L.Callback):
    """The trainable parameters' gradients as the optimizer is about to step (after every micro-batch's backward)."""

    def __init__(self) -> None:
        self.grads: list[dict[str, torch.Tensor]] = []

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        self.grads.append({n: p.grad.clone() for n, p in pl_module.named_parameters() if p.requires_grad})


def test_micro_batched_training_step_equals_whole_batch_step(tmp_path):
    """``training_step`` with micro-batches of unequal pair counts accumulates the gradient of the whole batch's mean
    loss (each micro-batch weighted by its share of the pairs), as one pass over the batch computes it."""
    import json

    from torch.utils.data import DataLoader

    from perl_lightning.data.batching import micro_batches

    words = [2, 30, 5, 18, 3, 9, 24, 1]  # prompt lengths far apart: micro-batches of different sizes
    rows = [{"prompt": f"Question {i}: " + "tell me more " * n, "chosen": f"A clear answer number {i}.",
             "rejected": "No." if i % 2 else "Go away, I will not."} for i, n in enumerate(words)]  # fmt: skip
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    dm = PreferenceDataModule(path=str(path), batch_size=len(rows), max_length=128, val_fraction=0.0)
    runs = {}
    for budget in (None, 400):
        torch.manual_seed(0)  # the same LoRA initialisation and perturbation for both
        module = _module(micro_batch_tokens=budget, max_grad_norm=None, head_init="normal")
        with torch.no_grad():  # non-zero LoRA B: every LoRA matrix (not only the head) gets a gradient
            for name, p in module.model.named_parameters():
                if "lora_B" in name:
                    p.normal_(0, 0.05)
        dm.tokenizer = module.tokenizer
        dm.setup("fit")
        batch = dm.collate(dm.encoded["train"])
        assert batch.num_pairs == len(rows)
        if budget is not None:
            counts = [m.num_pairs for m in micro_batches(batch, budget)]
            assert len(counts) >= 3 and len(set(counts)) > 1, counts  # several micro-batches, unequal pair counts
        grads = GradientsBeforeStep()
        trainer = L.Trainer(accelerator="cpu", max_steps=1, logger=False, enable_checkpointing=False,
                            enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
                            num_sanity_val_steps=0, default_root_dir=tmp_path, callbacks=[grads])  # fmt: skip
        trainer.fit(module, train_dataloaders=DataLoader([batch], batch_size=None))
        assert len(grads.grads) == 1
        runs[budget] = (float(trainer.callback_metrics["train/loss"]), grads.grads[0])
    (whole_loss, whole), (micro_loss, micro) = runs[None], runs[400]
    assert whole.keys() == micro.keys()
    for kind in ("lora_A", "lora_B", "score"):
        assert any(kind in n and whole[n].abs().sum() > 0 for n in whole), f"no {kind} gradient to compare"
    for name, grad in whole.items():
        torch.testing.assert_close(micro[name], grad, atol=1e-7, rtol=1e-4, msg=lambda m, n=name: f"{n}: {m}")
    assert micro_loss == pytest.approx(whole_loss, rel=1e-5)
