"""Shared fixtures: offline hub, tiny models, the real-data slices when present."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("WANDB_MODE", "offline")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(min(2, os.cpu_count() or 1))

REPO = Path(__file__).resolve().parents[1]
HH_HARMLESS = REPO.parent / "shared" / "data" / "hh-rlhf" / "harmless-base-test.jsonl.gz"


@pytest.fixture(autouse=True)
def _working_directory_outside_the_repo(tmp_path_factory, monkeypatch) -> None:
    """Each test runs in a fresh directory of its own, so whatever lands in the working directory (Lightning's
    ``default_root_dir``, adapter dirs, sample tables) never lands in the repository. Not ``tmp_path`` itself:
    tests that list their ``tmp_path`` see only what they wrote."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models on a small shared CPU: a second intra-op thread only adds synchronisation (modules opt in with
    ``pytestmark = pytest.mark.usefixtures("one_thread")``)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_tokenizer():
    """SmolLM2's real tokenizer (pad = <|endoftext|>), shared by the tiny models."""
    from perl_lightning.models.backbone import load_tokenizer

    return load_tokenizer("tiny-llama")


@pytest.fixture(scope="session")
def tiny_base_dir(tmp_path_factory, tiny_tokenizer) -> Path:
    """The tiny Llama saved as a plain transformers directory, for reload-with-plain-peft tests."""
    from perl_lightning.models.backbone import load_backbone

    path = tmp_path_factory.mktemp("tiny-llama-base")
    load_backbone("tiny-llama", "causal-lm", tokenizer=tiny_tokenizer).save_pretrained(path)
    tiny_tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def reward_dir(tmp_path_factory):
    """A tiny reward model with non-trivial LoRA weights and score head, saved as the RM stage saves it:
    ``.rm`` (the module, eval mode) and ``.path`` (its adapter directory)."""
    from types import SimpleNamespace

    from perl_lightning.models.adapters import LoRAConfig
    from perl_lightning.modules.reward_model import RewardModelModule

    torch.manual_seed(0)
    rm = RewardModelModule("tiny-llama", lora=LoRAConfig(r=4, alpha=8, dropout=0.0))
    with torch.no_grad():
        for p in rm.model.parameters():
            if p.requires_grad:
                p.add_(0.5 * torch.randn_like(p))
    path = rm.save_adapters(tmp_path_factory.mktemp("rm") / "reward_adapter")
    return SimpleNamespace(rm=rm.eval(), path=str(path))


@pytest.fixture(scope="session")
def hh_harmless() -> Path:
    """The real HH-RLHF harmless-base slice in ``../shared/data`` (the package never needs it); skips when absent."""
    if not HH_HARMLESS.exists():
        pytest.skip(f"{HH_HARMLESS} not present")
    return HH_HARMLESS


@pytest.fixture
def pairs_file(tmp_path) -> Path:
    """A small explicit-schema preference file."""
    import json

    rows = [
        {
            "prompt": f"Question {i}: how do I do thing {i}?",
            "chosen": f"Here is a clear answer about thing {i}.",
            "rejected": "Go away.",
        }
        for i in range(24)
    ]
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same RNG state: results do not depend on test order."""
    import lightning as L

    L.seed_everything(0, verbose=False)


@pytest.fixture
def replaced_files(monkeypatch) -> list[tuple[str, str]]:
    """Every ``os.replace(src, dst)`` of the test, recorded in order (and performed): how atomic writes land."""
    replaced: list[tuple[str, str]] = []
    real_replace = os.replace

    def record(src: str, dst: str) -> None:
        replaced.append((str(src), str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", record)
    return replaced
