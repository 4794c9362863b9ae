"""Shared fixtures: offline hub, tiny models, the real-data slices when present."""

from __future__ import annotations

import contextlib
import os
import traceback
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("WANDB_MODE", "offline")

import pytest  # noqa: E402
import torch  # noqa: E402

import perl_lightning  # noqa: E402

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


# ---- warnings our own code causes (tests of the main job's console) ------------------------------------------------
PACKAGE = Path(perl_lightning.__file__).resolve().parent
#: one library under several distribution names
ALIASES = {"lightning_fabric": "lightning", "pytorch_lightning": "lightning", "lightning_utilities": "lightning"}


def _library(filename: str) -> str | None:
    """``perl_lightning``, the installed library a frame's file belongs to, or ``None`` (stdlib, tests)."""
    path = Path(filename).resolve()
    if PACKAGE == path or PACKAGE in path.parents:
        return "perl_lightning"
    parts = path.parts
    if "site-packages" not in parts:
        return None
    name = parts[parts.index("site-packages") + 1].split(".")[0]
    return ALIASES.get(name, name)


def _caused_by_us(stack: list[traceback.FrameSummary]) -> bool:
    """A warning our code causes: raised by our code, or by the one library our code called directly (a deprecated
    argument we pass, a module state a Lightning check objects to). One library calling another (peft using a
    transformers property that warns) is the libraries' business, and one no frame of ours led to is not ours."""
    frames = [f for f in stack if not f.filename.endswith("warnings.py")]
    ours = [i for i, f in enumerate(frames) if _library(f.filename) == "perl_lightning"]
    if not ours:
        return False
    return len({_library(f.filename) for f in frames[ours[-1] + 1 :]} - {None, "perl_lightning"}) <= 1


@contextlib.contextmanager
def _warnings_with_stacks() -> Iterator[list[tuple[str, list[traceback.FrameSummary]]]]:
    """Every warning (no filter, repeats included) with the stack that raised it."""
    seen: list[tuple[str, list[traceback.FrameSummary]]] = []

    def record(message, category, filename, lineno, file=None, line=None) -> None:
        seen.append((f"{category.__name__}: {message} ({filename}:{lineno})", traceback.extract_stack()))

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = record
        yield seen


@pytest.fixture
def caused_by_us() -> Callable[[list[traceback.FrameSummary]], bool]:
    """Whether a warning's stack (at the moment it was raised) shows it was caused by our code."""
    return _caused_by_us


@pytest.fixture
def our_warnings() -> Iterator[Callable[[], list[str]]]:
    """Record every warning raised in the test (no filter, repeats included); the fixture's value lists the ones our
    code caused (see :func:`_caused_by_us`)."""
    with _warnings_with_stacks() as seen:
        yield lambda: [message for message, stack in seen if _caused_by_us(stack)]
