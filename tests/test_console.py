"""The main job's console: what counts as a warning our code causes; third-party chatter off while quiet, restored."""

from __future__ import annotations

import logging
import traceback
import warnings
from pathlib import Path

import datasets
import transformers

import perl_lightning
from perl_lightning.console import quiet_third_party


def test_the_classifier_of_causes(caused_by_us) -> None:
    site = "/x/lib/python3.11/site-packages"
    ours = traceback.FrameSummary(str(Path(perl_lightning.__file__).resolve().parent / "stages.py"), 1, "run")
    test = traceback.FrameSummary("/repo/tests/test_x.py", 1, "test")
    lib = {n: traceback.FrameSummary(f"{site}/{n}/m.py", 1, "f") for n in ("peft", "transformers", "lightning_fabric")}
    light = traceback.FrameSummary(f"{site}/lightning/pytorch/loops/fit_loop.py", 1, "run")
    assert caused_by_us([test, ours])  # our own warnings.warn
    assert caused_by_us([test, ours, lib["transformers"], lib["transformers"]])  # a deprecated argument of ours
    assert caused_by_us([test, ours, light, lib["lightning_fabric"]])  # Lightning's check of our module
    assert not caused_by_us([test, ours, lib["peft"], lib["transformers"]])  # peft's use of transformers
    assert not caused_by_us([test, lib["transformers"]])


def _settings() -> tuple:
    hf, ds = transformers.utils.logging, datasets.utils
    levels = (logging.getLogger("lightning.pytorch").level, hf.get_verbosity(), datasets.logging.get_verbosity())
    return (*levels, hf.is_progress_bar_enabled(), ds.is_progress_bar_enabled())


def test_quiet_keeps_library_chatter_out_and_restores_everything(capsys) -> None:
    lightning_log = logging.getLogger("lightning.pytorch")
    before = _settings()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with quiet_third_party():
            assert not lightning_log.isEnabledFor(logging.INFO)
            assert not transformers.utils.logging.is_progress_bar_enabled()
            assert not datasets.utils.is_progress_bar_enabled()
            warnings.warn_explicit("inside a library", FutureWarning, "x.py", 1, module="transformers.modeling_utils")
            warnings.warn_explicit("from our code", UserWarning, "y.py", 1, module="perl_lightning.stages")
            warnings.warn_explicit("from the user's code", UserWarning, "z.py", 1, module="__main__")
    assert [str(w.message) for w in seen] == ["from our code", "from the user's code"]
    assert _settings() == before
