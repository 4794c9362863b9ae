"""StageProgressBar: plain lines (throttled, first and last step always) in a file or pipe; a step-counting bar."""

from __future__ import annotations

import io

import lightning as L
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from perl_lightning.callbacks.stage_progress import StageProgressBar


class _Regression(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(2, 1)

    def training_step(self, batch: list[torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = nn.functional.mse_loss(self.layer(batch[0]), batch[1])
        self.log("train/loss", loss)
        return loss

    def validation_step(self, batch: list[torch.Tensor], batch_idx: int) -> None:
        self.log("val/loss", nn.functional.mse_loss(self.layer(batch[0]), batch[1]))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _loader(n: int) -> DataLoader:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 2, generator=g)
    return DataLoader(TensorDataset(x, x.sum(-1, keepdim=True)), batch_size=1)


class _Clock:
    """Two seconds pass at every reading."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 2.0
        return self.now


def _fit(bar: StageProgressBar, steps: int = 10, tmp_path=None) -> L.Trainer:
    trainer = L.Trainer(max_steps=steps, callbacks=[bar], logger=False, enable_checkpointing=False,
                        enable_model_summary=False, limit_val_batches=4, val_check_interval=steps,
                        default_root_dir=tmp_path)  # fmt: skip
    trainer.fit(_Regression(), _loader(32), _loader(4))
    return trainer


def test_plain_lines_are_throttled_and_carry_the_key_metrics(tmp_path) -> None:
    out = io.StringIO()  # not a terminal: plain lines
    bar = StageProgressBar("SFT", keys=["train/loss=loss", "not/logged"], every_s=5.0, stream=out, clock=_Clock())
    assert bar.plain and bar.is_disabled
    _fit(bar, tmp_path=tmp_path)
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue() and all(line.startswith("[SFT] ") for line in lines)
    steps = [line for line in lines if " step " in line]
    assert steps[0].startswith("[SFT] step 1/10  loss ") and steps[-1].startswith("[SFT] step 10/10  loss ")
    assert 3 <= len(steps) < 10  # two seconds a reading, a line at most every five: not every step
    assert "logged" not in out.getvalue() and "s/step" in steps[-1]
    assert lines[:3] == ["[SFT] sanity check 1/2 batches", "[SFT] sanity check 2/2 batches", "[SFT] training: 10 steps"]
    evaluating = [line for line in lines if "evaluating" in line]
    assert evaluating[0] == "[SFT] evaluating 1/4 batches" and evaluating[-1] == "[SFT] evaluating 4/4 batches"


def test_every_step_is_shown_when_steps_are_slow(tmp_path) -> None:
    out = io.StringIO()
    bar = StageProgressBar("RL", keys=["train/loss"], every_s=1.0, stream=out, clock=_Clock())
    _fit(bar, steps=4, tmp_path=tmp_path)
    steps = [line for line in out.getvalue().splitlines() if " step " in line]
    assert [s.split("  ")[0] for s in steps] == [f"[RL] step {i}/4" for i in range(1, 5)]


def test_terminal_bar_counts_optimizer_steps_under_the_stage_name(tmp_path) -> None:
    bar = StageProgressBar("RM", keys=["train/loss=loss"], plain=False, stream=io.StringIO())
    seen = []

    class _Spy(L.Callback):
        def on_train_batch_end(self, trainer, *args) -> None:
            seen.append(
                (
                    bar.train_progress_bar.desc,
                    bar.train_progress_bar.total,
                    bar.train_progress_bar.n,
                    dict(
                        bar.train_progress_bar.postfix
                        and [kv.split("=") for kv in bar.train_progress_bar.postfix.split(", ")]
                    ),
                )
            )

    trainer = L.Trainer(max_steps=6, callbacks=[bar, _Spy()], logger=False, enable_checkpointing=False,
                        enable_model_summary=False, limit_val_batches=0, default_root_dir=tmp_path)  # fmt: skip
    trainer.fit(_Regression(), _loader(32))
    assert [s[0].rstrip(": ") for s in seen] == ["RM"] * 6 and {s[1] for s in seen} == {6}
    assert [s[2] for s in seen] == [1, 2, 3, 4, 5, 6]
    assert set(seen[-1][3]) == {"loss"}
