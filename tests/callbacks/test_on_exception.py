"""SIGTERM / Ctrl-C in a real ``perl fit`` process: conf/callbacks/on_exception.yaml writes a final checkpoint that
holds only trainable parameters, loads with ``weights_only=True``, and a resumed run continues from it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
CONFIGS = ["--config", str(REPO / "conf" / "rm_tiny.yaml")]
CONFIGS += ["--config", str(REPO / "conf" / "callbacks" / "on_exception.yaml")]

HELPERS = '''
"""Test-only callbacks loaded by ``perl fit`` through PYTHONPATH."""
import json
import os
import signal

import lightning as L
import torch


class SignalAtStep(L.Callback):
    """Send ``sig`` to this very process once ``trainer.global_step`` reaches ``step`` (end of that batch)."""

    def __init__(self, step: int = 3, sig: str = "SIGTERM") -> None:
        self.step, self.sig, self.sent = step, sig, False

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_step == self.step and not self.sent:
            self.sent = True
            os.kill(os.getpid(), getattr(signal, self.sig))


class StepLog(L.Callback):
    """Append to ``path`` (JSON lines) the step a fit starts at, its trainable weights' checksum and each step done."""

    def __init__(self, path: str) -> None:
        self.path = path

    def _write(self, **row) -> None:
        with open(self.path, "a") as handle:
            handle.write(json.dumps(row) + "\\n")

    def on_train_start(self, trainer, pl_module):
        trainable = [p.detach().double().sum().item() for p in pl_module.parameters() if p.requires_grad]
        self._write(start=trainer.global_step, checksum=sum(trainable))

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self._write(step=trainer.global_step)
'''


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "perl_test_callbacks.py").write_text(textwrap.dedent(HELPERS))
    return tmp_path


def _fit(workdir: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(workdir), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "WANDB_MODE": "offline", "OMP_NUM_THREADS": "1"}  # fmt: skip
    args = [sys.executable, "-m", "perl_lightning.cli", "fit", *CONFIGS, "--trainer.logger=false",
            "--trainer.limit_val_batches=0", "--trainer.num_sanity_val_steps=0", "--trainer.enable_progress_bar=false",
            "--trainer.callbacks+=perl_test_callbacks.StepLog",
            f"--trainer.callbacks.init_args.path={workdir / 'steps.jsonl'}", *extra]  # fmt: skip
    # SIGINT back to its default before exec: a shell without job control starts background jobs with SIGINT
    # ignored, and Python then never raises KeyboardInterrupt (seen when CI itself was started with `&`).
    return subprocess.run(args, cwd=workdir, env=env, capture_output=True, text=True, timeout=600,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip


def _log(workdir: Path) -> list[dict]:
    return [json.loads(line) for line in (workdir / "steps.jsonl").read_text().splitlines()]


def _checked_checkpoint(path: Path, step: int) -> dict:
    assert path.is_file(), f"no final checkpoint at {path}"
    ckpt = torch.load(path, weights_only=True)  # plain tensors and containers only
    assert ckpt["global_step"] == step
    model_keys = [k for k in ckpt["state_dict"] if k.startswith("model.")]
    assert model_keys and all("lora_" in k or ".score." in k for k in model_keys), model_keys  # no frozen base
    assert ckpt["optimizer_states"] and ckpt["lr_schedulers"]
    return ckpt


def test_sigterm_writes_a_final_checkpoint_and_the_run_resumes(workdir):
    first = _fit(
        workdir, "--trainer.callbacks+=perl_test_callbacks.SignalAtStep", "--trainer.callbacks.init_args.step=3"
    )
    assert first.returncode == 0, first.stderr[-3000:]  # SIGTERMException is a SystemExit without a code
    assert [row["step"] for row in _log(workdir) if "step" in row] == [1, 2, 3]  # stopped right after step 3
    final = workdir / "runs" / "checkpoints" / "interrupted.ckpt"
    ckpt = _checked_checkpoint(final, 3)
    saved_checksum = sum(v.double().sum().item() for k, v in ckpt["state_dict"].items() if k.startswith("model."))
    assert not (workdir / "runs" / "rm_tiny" / "reward_adapter").exists()  # on_train_end never ran

    (workdir / "steps.jsonl").unlink()
    resumed = _fit(workdir, f"--ckpt_path={final}")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    rows = _log(workdir)
    assert rows[0]["start"] == 3 and rows[0]["checksum"] == pytest.approx(saved_checksum, rel=1e-12, abs=1e-9)
    assert [row["step"] for row in rows[1:]] == [4, 5, 6]  # the configured max_steps 6, from step 3 on
    assert not final.exists()  # a run that ends normally removes it (OnExceptionCheckpoint.teardown)


def test_ctrl_c_writes_a_final_checkpoint(workdir):
    run = _fit(workdir, "--trainer.callbacks+=perl_test_callbacks.SignalAtStep", "--trainer.callbacks.init_args.step=2",
               "--trainer.callbacks.init_args.sig=SIGINT")  # fmt: skip
    assert run.returncode == 1, run.stderr[-3000:]  # Lightning: graceful shutdown, then sys.exit(1)
    assert "KeyboardInterrupt" in run.stderr
    _checked_checkpoint(workdir / "runs" / "checkpoints" / "interrupted.ckpt", 2)
