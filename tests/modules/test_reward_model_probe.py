"""``head_init: probe`` (linear probing, then fine-tuning): the score head's features are what the model scores, the
probe fitted on them ranks the training feedback before any step, and it changes the head only."""

from __future__ import annotations

import math

import lightning as L
import pytest
import torch

from perl_lightning.data.formatting import pad
from perl_lightning.data.preference import PreferenceDataModule
from perl_lightning.data.rated import RatedDataModule
from perl_lightning.models.adapters import LoRAConfig
from perl_lightning.models.backbone import position_ids_from_mask
from perl_lightning.models.heads import score_head_inputs, set_score_head
from perl_lightning.modules.reward_model import RewardModelModule


def _module(model: str = "tiny-llama", **kwargs) -> RewardModelModule:
    kwargs.setdefault("lora", LoRAConfig(r=4, alpha=8, dropout=0.0))
    return RewardModelModule(model=model, learning_rate=5e-3, **kwargs)


@pytest.mark.parametrize(("model", "side"), [("tiny-llama", "right"), ("tiny-llama", "left"), ("minilm-l6", "right")])
def test_a_head_written_from_features_scores_exactly_features_at_w(model, side):
    module = _module(model=model).eval()
    ids, mask = pad([[5, 6, 7, 8, 9], [10, 11, 12], [13, 14, 15, 16]], module.tokenizer.pad_token_id, side)
    features = score_head_inputs(module.model, ids, mask, position_ids=position_ids_from_mask(mask))
    w, b = torch.randn(features.shape[1], generator=torch.Generator().manual_seed(0)), torch.tensor(0.25)
    set_score_head(module.model, w, b)
    has_bias = module.model.get_base_model().config.model_type != "llama"  # Llama's score has no bias
    torch.testing.assert_close(module(ids, mask), features @ w + (b if has_bias else 0.0), rtol=1e-4, atol=1e-4)


def test_pointwise_probe_ranks_the_ratings_before_any_step_and_changes_the_head_only(ratings_file):
    module = _module(objective="pointwise", head_init="probe", probe_batches=4, pos_weight=1 / 3)
    dm = RatedDataModule(path=str(ratings_file), val_fraction=0.0, batch_size=16, max_length=48)
    dm.tokenizer = module.tokenizer
    dm.setup()
    before = {n: p.detach().clone() for n, p in module.model.named_parameters()}
    probe = module.fit_probe_head(dm.train_dataloader())
    assert probe.train_loss < 0.5 * math.log(2)
    changed = {n for n, p in module.model.named_parameters() if not torch.equal(p, before[n])}
    assert changed and all("score" in n for n in changed) and module.model.training
    module.eval()
    batch = dm.collate(dm.encoded["train"])
    rewards = module(batch.input_ids, batch.attention_mask)
    liked, disliked = rewards[batch.labels == 1], rewards[batch.labels == 0]
    assert (liked[:, None] > disliked[None, :]).float().mean() > 0.95  # AUROC on the probe's data


def test_pairwise_probe_runs_at_train_start_and_fine_tuning_continues_from_it(tmp_path, pairs_file):
    module = _module(head_init="probe", probe_batches=2)
    dm = PreferenceDataModule(path=str(pairs_file), val_fraction=0.0, batch_size=8, max_length=48)
    seen = {}

    class Spy(L.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            if batch_idx == 0:
                chosen, rejected = pl_module(batch.input_ids, batch.attention_mask).split(batch.num_pairs)
                seen["accuracy"] = (chosen > rejected).float().mean().item()

    L.Trainer(accelerator="cpu", max_steps=2, logger=False, enable_checkpointing=False, enable_progress_bar=False,
              enable_model_summary=False, callbacks=[Spy()], default_root_dir=tmp_path).fit(module, dm)  # fmt: skip
    assert seen["accuracy"] == 1.0  # the first batch is one the probe saw: already ordered before the first step
    with pytest.raises(ValueError, match="probe_batches"):
        _module(head_init="probe", probe_batches=0)
