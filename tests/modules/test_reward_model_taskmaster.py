"""A short pointwise LoRA reward model on real Taskmaster Coffee ratings ranks held-out responses above chance.

Uses ``../shared/data/taskmaster-coffee/reward_0*.json`` when present (skipped otherwise): 3,228 rated next agent
turns (86% thumbs up) read through the ``dialogue`` task (the latest API response kept, the canned greeting dropped);
SmolLM2-135M-Instruct + LoRA r=8 on the top LAYERS layers (the backward pass stops there).

The recipe is what lets a few CPU minutes find the signal; the same budget from a zero head with ``pos_weight``
balancing stays at chance (held-out AUROC 0.46-0.59 over 24-96 steps at 64-128 tokens):

- ``balance``: the training split oversamples the disliked ratings to parity, so the budget sees six times more of
  the rarer class;
- ``head_init: probe``: before the first step the score head becomes the L2-regularised logistic regression on the
  frozen features of the first PROBE_BATCHES batches (linear probing, then fine-tuning);
- the context keeps the user's request: API responses are long, and with every one of them kept a token budget
  that keeps the latest tokens cuts the request away, while the rated turn is judged against it.

Held out: every rating of a seeded 30% of the conversations (grouped by their opening request, so no context is on
both sides). The test scores every held-out disliked rating and as many seeded liked ones (an AUROC is a per-pair
statistic: sampling one class leaves it unbiased). "Above chance" means more than two standard errors above 0.5,
the standard error being Hanley & McNeil's at 0.5 (the Mann-Whitney null). Accuracy is no measure on this data:
saying "liked" to everything scores 0.86.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import lightning as L
import pytest
from torch.utils.data import DataLoader

from perl_lightning.data.rated import RatedDataModule
from perl_lightning.models.adapters import LoRAConfig
from perl_lightning.modules.reward_model import RewardModelModule
from perl_lightning.rl.stats import auroc_standard_error
from perl_lightning.tasks import Dialogue

TASKMASTER = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "taskmaster-coffee"
STEPS, BATCH, LR, MAX_LENGTH, MAX_PROMPT, HELD_OUT, LAYERS, PROBE_BATCHES = 8, 16, 5e-4, 160, 120, 0.3, 8, 24


@pytest.mark.slow
def test_short_pointwise_lora_run_ranks_held_out_taskmaster_ratings_above_chance(tmp_path):  # seeded 0 by conftest
    if not TASKMASTER.is_dir():
        pytest.skip(f"real data slice absent: {TASKMASTER}")
    start = time.perf_counter()
    dm = RatedDataModule(
        task=Dialogue(api_responses="last", agent_greeting=False),
        path=str(TASKMASTER),
        val_fraction=HELD_OUT,
        batch_size=BATCH,
        balance=True,
        max_length=MAX_LENGTH,
        max_prompt_length=MAX_PROMPT,
        seed=0,
    )
    module = RewardModelModule(
        model="smollm2-135m-instruct",
        objective="pointwise",
        lora=LoRAConfig(r=8, alpha=16, extra={"layers_to_transform": list(range(30 - LAYERS, 30))}),
        learning_rate=LR,
        schedule="constant",
        warmup_ratio=0.0,
        head_init="probe",
        probe_batches=PROBE_BATCHES,
        save_dir=str(tmp_path / "reward_adapter"),
    )
    dm.tokenizer = module.tokenizer
    dm.setup()
    assert len(dm.examples["train"]) + len(dm.examples["val"]) == 3228  # every rating, the agent-first ones too
    held_out = dm.encoded["val"]
    bad = [r for r in held_out if r[1] < 0.5]
    scored = bad + random.Random(0).sample([r for r in held_out if r[1] >= 0.5], len(bad))
    n = len(bad)
    assert 100 < n < 170, n

    L.Trainer(
        accelerator="cpu",
        max_steps=STEPS,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
    ).fit(module, dm)
    evaluator = L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False)
    metrics = evaluator.validate(module, DataLoader(scored, batch_size=32, collate_fn=dm.collate), verbose=False)[0]
    auroc, se = metrics["val/auroc"], float(auroc_standard_error(0.5, n, n))
    print(
        f"held-out AUROC {auroc:.3f} (SE at chance {se:.3f}, at the estimate "
        f"{float(auroc_standard_error(auroc, n, n)):.3f}) on {n} liked / {n} disliked; ECE {metrics['val/ece']:.3f}; "
        f"{time.perf_counter() - start:.0f} s"
    )
    assert auroc > 0.5 + 2 * se, f"held-out AUROC {auroc:.3f}, needs > {0.5 + 2 * se:.3f}"
