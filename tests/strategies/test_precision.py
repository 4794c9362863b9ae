"""conf/precision/bf16.yaml composes with a job config and bf16-mixed (CPU autocast) really trains the tiny RM."""

from __future__ import annotations

from pathlib import Path

import torch
from lightning.pytorch.plugins.precision import MixedPrecision

from perl_lightning.cli import PerlCLI

CONF = Path(__file__).resolve().parents[2] / "conf"


def test_bf16_mixed_fits_the_tiny_reward_model_on_cpu(tmp_path):
    seen: list[torch.dtype] = []
    cli = PerlCLI(
        args=[
            "--config", str(CONF / "rm_tiny.yaml"), "--config", str(CONF / "precision" / "bf16.yaml"),
            "--trainer.max_steps=1", "--trainer.limit_val_batches=0", "--trainer.enable_progress_bar=false",
            f"--trainer.default_root_dir={tmp_path}", f"--trainer.logger.init_args.save_dir={tmp_path}",
            f"--model.init_args.save_dir={tmp_path / 'adapter'}",
        ],
        run=False,
    )  # fmt: skip
    plugin = cli.trainer.precision_plugin
    assert isinstance(plugin, MixedPrecision) and plugin.precision == "bf16-mixed" and plugin.device == "cpu"
    assert cli.config.trainer.max_steps == 1 and cli.config.trainer.logger.init_args.name == "rm_tiny"  # job kept
    module = cli.model
    assert next(module.model.parameters()).dtype == torch.float32  # dtype auto on CPU: fp32 weights
    trainable = {n: p.detach().clone() for n, p in module.model.named_parameters() if p.requires_grad}
    forward = module.forward

    def spy(input_ids: torch.Tensor, attention_mask: torch.Tensor, images=None) -> torch.Tensor:
        seen.append(torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else torch.float32)
        return forward(input_ids, attention_mask, images)

    module.forward = spy
    module.share_prefix = False  # score through forward, so the spy sees the autocast state
    cli.trainer.fit(cli.model, cli.datamodule)
    assert cli.trainer.global_step == 1
    assert seen and set(seen) == {torch.bfloat16}  # the forward ran under bf16 autocast
    after = dict(module.model.named_parameters())
    assert all(after[n].dtype == torch.float32 for n in trainable)  # fp32 master weights
    assert any(not torch.equal(after[n], p) for n, p in trainable.items())  # and they were updated
