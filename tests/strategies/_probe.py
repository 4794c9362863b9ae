"""Test-only callback for the multi-process strategy tests: records what each rank sees and logs, one JSON per rank.

Not a test module (leading underscore): the tests copy this file into a temporary directory, put it on PYTHONPATH and
add ``--trainer.callbacks+=_probe.RankProbe`` to a ``perl fit`` run, so every process the strategy launches loads it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import lightning as L
import torch


def _floats(value: Any) -> Any:
    return value.detach().float().tolist() if isinstance(value, torch.Tensor) else value


class RankProbe(L.Callback):
    """Dump per rank: training batches, rollouts, local (unreduced) validation values, reduced metrics, parameters.

    Args:
        out_dir: directory of the ``rank{N}.json`` files.
    """

    def __init__(self, out_dir: str) -> None:
        self.out_dir = Path(out_dir)
        self.record: dict[str, Any] = {"train_batches": [], "rollouts": [], "val_logged": [], "val_pairs": []}

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        record = self.record
        record["world_size"], record["rank"] = trainer.world_size, trainer.global_rank
        record["strategy"] = type(trainer.strategy).__name__
        record["initial_params"] = self._param_digest(pl_module)
        log, log_dict = pl_module.log, pl_module.log_dict

        def spy_log(name: str, value: Any, *args: Any, **kwargs: Any) -> None:
            if name.startswith("val/") and isinstance(value, torch.Tensor):
                record["val_logged"].append({name: float(value), "batch_size": kwargs.get("batch_size")})
            log(name, value, *args, **kwargs)

        def spy_log_dict(dictionary: dict[str, Any], *args: Any, **kwargs: Any) -> None:
            values = {k: float(v) for k, v in dictionary.items() if k.startswith("val/") and torch.is_tensor(v)}
            if values:
                record["val_logged"].append({**values, "batch_size": kwargs.get("batch_size")})
            log_dict(dictionary, *args, **kwargs)

        pl_module.log, pl_module.log_dict = spy_log, spy_log_dict
        if hasattr(pl_module, "generate"):  # RL: every rollout this rank samples
            generate = pl_module.generate

            def spy_generate(batch: Any, config: Any, role: str = "policy", k: int = 1) -> Any:
                rollout = generate(batch, config, role=role, k=k)
                if trainer.training:
                    record["rollouts"].append({"prompts": list(rollout.prompts), "responses": list(rollout.responses)})
                return rollout

            pl_module.generate = spy_generate
        if hasattr(pl_module, "_score_pairs"):  # RM: each validation pair's reward margin
            score_pairs = pl_module._score_pairs

            def spy_score_pairs(batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
                chosen, rejected = score_pairs(batch)
                if not trainer.training:
                    record["val_pairs"] += _floats(chosen - rejected)
                return chosen, rejected

            pl_module._score_pairs = spy_score_pairs

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if hasattr(batch, "prompts"):
            self.record["train_batches"].append(list(batch.prompts))
        else:  # preference pairs: the chosen rows' tokens (padding dropped) identify each pair
            rows = batch.input_ids[: batch.num_pairs]
            masks = batch.attention_mask[: batch.num_pairs].bool()
            self.record["train_batches"].append([r[m].tolist() for r, m in zip(rows, masks, strict=True)])

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")}
        self.record.setdefault("val_reduced", []).append(metrics)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.record["final_params"] = self._param_digest(pl_module)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / f"rank{trainer.global_rank}.json"
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(self.record))
        tmp.replace(path)

    @staticmethod
    def _param_digest(pl_module: L.LightningModule) -> str:
        """Hash of every trainable parameter's bytes (identical across ranks when gradients are all-reduced)."""
        digest = hashlib.sha256()
        for name, p in sorted(pl_module.named_parameters()):
            if p.requires_grad:
                digest.update(name.encode())
                digest.update(p.detach().float().cpu().numpy().tobytes())
        return digest.hexdigest()
