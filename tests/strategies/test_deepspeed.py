"""DeepSpeed ZeRO-2 / ZeRO-3 (Lightning's DeepSpeedStrategy, conf/strategy/deepspeed*.yaml) on the tiny jobs.

Needs the ``deepspeed`` package (not a dependency of this project) and CUDA GPUs; skipped otherwise. Reuses the DDP
test's subprocess runner and probe callback.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

_spec = importlib.util.spec_from_file_location("_ddp_helpers", Path(__file__).with_name("test_ddp.py"))
_helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_helpers)

GPUS = torch.cuda.device_count()
HAS_DEEPSPEED = importlib.util.find_spec("deepspeed") is not None
pytestmark = [
    pytest.mark.skipif(not HAS_DEEPSPEED, reason="the deepspeed package is not installed (pip install deepspeed)"),
    pytest.mark.skipif(GPUS < 1, reason=f"DeepSpeed needs CUDA; found {GPUS} GPUs"),
]


@pytest.mark.parametrize("strategy", ["deepspeed", "deepspeed_zero3"])
@pytest.mark.parametrize("job", ["rm_tiny.yaml", "rl_tiny_ppo.yaml"])
def test_deepspeed_trains(tmp_path, job, strategy):
    devices = min(GPUS, 2)
    records = _helpers.run_ddp(
        tmp_path,
        job,
        "--trainer.max_steps=4",
        "--trainer.val_check_interval=1",
        "--trainer.limit_val_batches=1",
        devices=devices,
        strategy=strategy,
        accelerator="gpu",
    )
    assert len(records) == devices
    if devices == 2:
        _helpers.check_sharded(records, steps=len(records[0]["train_batches"]))
