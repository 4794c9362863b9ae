"""The pointwise reward model (binary cross-entropy on thumbs up / down): it learns, micro-batches are exact, its
metrics are right, and a batch of the other objective's kind is refused with the DataModule to use."""

from __future__ import annotations

import json
import math

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

from perl_lightning.data.batching import micro_batches
from perl_lightning.data.formatting import pad
from perl_lightning.data.preference import PreferenceBatch, PreferenceDataModule
from perl_lightning.data.rated import RatedBatch, RatedDataModule
from perl_lightning.models.adapters import LoRAConfig
from perl_lightning.modules.reward_metrics import reward_metrics, update_rated_metrics
from perl_lightning.modules.reward_model import RewardModelModule


def _module(**kwargs) -> RewardModelModule:
    kwargs.setdefault("lora", LoRAConfig(r=4, alpha=8, dropout=0.0))
    kwargs.setdefault("learning_rate", 5e-3)
    return RewardModelModule(model="tiny-llama", objective="pointwise", **kwargs)


def _trainer(tmp_path, steps: int, callbacks=()) -> L.Trainer:
    return L.Trainer(accelerator="cpu", max_steps=steps, logger=False, enable_checkpointing=False,
                     enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
                     num_sanity_val_steps=0, default_root_dir=tmp_path, callbacks=list(callbacks))  # fmt: skip


def _evaluator() -> L.Trainer:
    return L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False)


def test_learns_a_learnable_label(tmp_path, ratings_file):
    module = _module(lora=LoRAConfig(r=8, alpha=16, dropout=0.0), save_dir=str(tmp_path / "adapter"))
    dm = RatedDataModule(path=str(ratings_file), batch_size=8, max_length=48, val_fraction=0.25, seed=0)
    before = _evaluator().validate(module, dm, verbose=False)[0]
    assert before["val/accuracy"] == 0.5 and before["val/loss"] == pytest.approx(math.log(2))  # zero head: all 0
    _trainer(tmp_path, steps=20).fit(module, dm)
    after = _evaluator().validate(module, dm, verbose=False)[0]
    assert after["val/loss"] < before["val/loss"] - 0.2
    assert after["val/auroc"] == 1.0 and after["val/accuracy"] > 0.9
    assert after["val/ece"] < before["val/ece"]
    assert (tmp_path / "adapter" / "adapter_model.safetensors").is_file()
    # per held-out rating: (reward, label), and right (1) when the reward's sign agrees with the label
    assert len(module.eval_scores) == len(dm.examples["val"]) and {y for _, y in module.eval_scores} == {0.0, 1.0}
    assert module.eval_records == [float((r > 0) == (y >= 0.5)) for r, y in module.eval_scores]
    assert sum(module.eval_records) / len(module.eval_records) == pytest.approx(after["val/accuracy"], abs=1e-6)


def test_micro_batches_of_rated_responses_keep_labels_and_trim_padding():
    sequences, labels = [[1] * 3, [2] * 9, [3] * 5, [4] * 6], torch.tensor([1.0, 0.0, 1.0, 0.0])
    batch = RatedBatch(*pad(sequences, 0, "left"), labels)
    parts = micro_batches(batch, 18)  # 9 + 9 = 18 fit: rows 1 and 3 (9, 6), then 2 and 0 (5, 3)
    assert [p.num_rated for p in parts] == [2, 2]
    assert [p.input_ids.shape[1] for p in parts] == [9, 5]
    assert [p.labels.tolist() for p in parts] == [[0.0, 0.0], [1.0, 1.0]]
    assert [set(p.input_ids[:, -1].tolist()) for p in parts] == [{2, 4}, {3, 1}]  # rows travel with their labels
    assert micro_batches(batch, None) == [batch]


class GradientsBeforeStep(L.Callback):
    def __init__(self) -> None:
        self.grads: list[dict[str, torch.Tensor]] = []

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        self.grads.append({n: p.grad.clone() for n, p in pl_module.named_parameters() if p.requires_grad})


def test_micro_batched_loss_and_gradients_equal_the_whole_batch(tmp_path):
    words = [2, 30, 5, 18, 3, 9, 24, 1, 12]  # lengths far apart: micro-batches of unequal sizes
    rows = [{"prompt": f"Question {i}: " + "tell me more " * n, "response": f"Answer {i}.", "label": float(i % 3 > 0)}
            for i, n in enumerate(words)]  # fmt: skip
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    dm = RatedDataModule(path=str(path), batch_size=len(rows), max_length=128, val_fraction=0.0)
    runs = {}
    for budget in (None, 200):
        torch.manual_seed(0)
        module = _module(micro_batch_tokens=budget, max_grad_norm=None, head_init="normal", pos_weight=0.4)
        with torch.no_grad():  # non-zero LoRA B: every LoRA matrix gets a gradient
            for name, p in module.model.named_parameters():
                if "lora_B" in name:
                    p.normal_(0, 0.05)
        dm.tokenizer = module.tokenizer
        dm.setup("fit")
        batch = dm.collate(dm.encoded["train"])
        if budget is not None:
            counts = [m.num_rated for m in micro_batches(batch, budget)]
            assert len(counts) >= 3 and len(set(counts)) > 1, counts
        grads = GradientsBeforeStep()
        trainer = _trainer(tmp_path, steps=1, callbacks=[grads])
        trainer.fit(module, train_dataloaders=DataLoader([batch], batch_size=None))
        runs[budget] = (float(trainer.callback_metrics["train/loss"]), grads.grads[0])
    (whole_loss, whole), (micro_loss, micro) = runs[None], runs[200]
    for kind in ("lora_A", "lora_B", "score"):
        assert any(kind in n and whole[n].abs().sum() > 0 for n in whole), f"no {kind} gradient to compare"
    for name, grad in whole.items():
        torch.testing.assert_close(micro[name], grad, atol=1e-7, rtol=1e-4, msg=lambda m, n=name: f"{n}: {m}")
    assert micro_loss == pytest.approx(whole_loss, rel=1e-5)


def test_metrics_on_hand_made_rewards():
    metrics = reward_metrics("pointwise", "val")
    # rewards log 9, log 3, 0, -log 3 -> sigmoid 0.9, 0.75, 0.5, 0.25, each in its own of the 15 bins
    rewards = torch.tensor([math.log(9), math.log(3), 0.0, -math.log(3)])
    update_rated_metrics(metrics, rewards, torch.tensor([1.0, 0.0, 1.0, 0.0]))
    # a second batch: liked at 1 and -0.5, disliked at 1 (a tie with a liked one) and -1
    update_rated_metrics(metrics, torch.tensor([1.0, -0.5, 1.0, -1.0]), torch.tensor([1.0, 1.0, 0.2, 0.0]))
    out = {k: float(v) for k, v in metrics.compute().items()}
    # accuracy: batch 1 [right, wrong, half (reward 0), right], batch 2 [right, wrong, wrong (0.2 is disliked), right]
    assert out["accuracy"] == pytest.approx(4.5 / 8)
    # AUROC, 4 liked {log 9, 0, 1, -0.5} x 4 disliked {log 3 = 1.0986, -log 3, 1, -1}, liked scored above disliked:
    # log 9 above all 4; 0 above 2; 1 above 2 and tied with 1 (half); -0.5 above 2: 10.5 of 16 pairs
    assert out["auroc"] == pytest.approx(10.5 / 16)
    # ECE, 15 bins of width 1/15 over p = sigmoid(reward) = 0.9, 0.75, 0.5, 0.25 | 0.7311, 0.3775, 0.7311, 0.2689.
    # Alone in their bins: |0.9 - 1| + |0.75 - 0| + |0.5 - 1| + |0.25 - 0| + |0.3775 - 1| + |0.2689 - 0| = 2.4914008;
    # the two 0.7311 share bin [0.667, 0.733) with labels 1 and 0: 2 * |0.7311 - 0.5| = 0.4621172. / 8 = 0.3691897
    assert out["ece"] == pytest.approx(0.3691897387, abs=1e-6)


def test_ece_worked_by_hand():
    metrics = reward_metrics("pointwise", "test")
    # sigmoid 0.9, 0.75, 0.5, 0.25, one per bin: ECE = mean |p - y| = (0.1 + 0.75 + 0.5 + 0.25) / 4 = 0.4
    rewards = torch.tensor([math.log(9), math.log(3), 0.0, -math.log(3)])
    update_rated_metrics(metrics, rewards, torch.tensor([1.0, 0.0, 1.0, 0.0]))
    assert float(metrics.compute()["ece"]) == pytest.approx(0.4, abs=1e-6)
    assert set(reward_metrics("pointwise", "train")) == {"accuracy"}  # no per-batch AUROC in training


def test_wrong_batch_kind_names_the_datamodule_to_use(tmp_path, pairs_file):
    pointwise = _module()
    pairs = PreferenceBatch(*pad([[1, 2], [3, 4], [5, 6], [7, 8]], pointwise.tokenizer.pad_token_id))
    with pytest.raises(TypeError, match="RatedBatch batches, got PreferenceBatch: use RatedDataModule, or set obj"):
        pointwise.validation_step(pairs, 0)
    with pytest.raises(TypeError, match="use RatedDataModule"):  # through a whole fit, too
        _trainer(tmp_path, steps=1).fit(pointwise, PreferenceDataModule(path=str(pairs_file), max_length=48))
    pairwise = RewardModelModule(model="tiny-llama", lora=LoRAConfig(r=4, alpha=8, dropout=0.0))
    rated = RatedBatch(*pad([[1, 2], [3]], 0), torch.tensor([1.0, 0.0]))
    with pytest.raises(TypeError, match="PreferenceBatch batches, got RatedBatch: use PreferenceDataModule, or set "
                                        "objective: pointwise"):  # fmt: skip
        pairwise.validation_step(rated, 0)


def test_settings_of_the_other_objective_are_refused():
    with pytest.raises(ValueError, match="margin and center_coef are pairwise settings"):
        _module(margin=1.0)
    with pytest.raises(ValueError, match="pos_weight is a pointwise setting"):
        RewardModelModule(model="tiny-llama", pos_weight=0.5)
    with pytest.raises(ValueError, match="objective must be"):
        RewardModelModule(model="tiny-llama", objective="listwise")
    with pytest.raises(ValueError, match="pos_weight must be > 0"):
        _module(pos_weight=0.0)


def test_predict_returns_rewards_with_labels(ratings_file):
    module = _module()
    dm = RatedDataModule(path=str(ratings_file), batch_size=8, max_length=48, val_fraction=0.25)
    predictions = _evaluator().predict(module, dm)
    assert sum(len(p["reward"]) for p in predictions) == len(dm.encoded["val"]) == 12
    assert all(set(p) == {"reward", "label"} and p["reward"].shape == p["label"].shape for p in predictions)
