"""The main job's console: third-party chatter kept out, our own output and warnings kept.

Kept out while :func:`quiet_third_party` is active: Lightning's info lines (accelerator banners, the LitLogger tip,
"``max_steps`` reached"), transformers' and datasets' info logs and progress bars ("Loading weights", "Generating
train split"), and warnings that libraries raise about their own internals (a deprecation inside peft or Lightning:
nothing a user of perl_lightning can act on). A warning attributed to a caller outside these libraries (our code,
or the user's) still shows, as do errors and every line the stages print themselves.
"""

from __future__ import annotations

import contextlib
import logging
import re
import warnings
from collections.abc import Iterator

import datasets
import transformers

#: Libraries whose own info logs, progress bars and internal warnings the main job keeps off the console.
THIRD_PARTY: tuple[str, ...] = (
    "lightning", "lightning_fabric", "pytorch_lightning", "torch", "transformers", "peft", "datasets",
    "huggingface_hub", "torchmetrics", "accelerate", "jsonargparse", "safetensors",
)  # fmt: skip
_LOGGERS = ("lightning.pytorch", "lightning.fabric", "lightning", "pytorch_lightning", "lightning_fabric")


@contextlib.contextmanager
def quiet_third_party() -> Iterator[None]:
    """Within the block: the libraries' info logs, progress bars and self-attributed warnings are off; on exit every
    setting is restored (so a test or notebook calling the main job in-process keeps its own logging)."""
    levels = {name: logging.getLogger(name).level for name in _LOGGERS}
    hf_level, hf_bars = transformers.logging.get_verbosity(), transformers.utils.logging.is_progress_bar_enabled()
    ds_level, ds_bars = datasets.logging.get_verbosity(), datasets.utils.is_progress_bar_enabled()
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module=rf"({'|'.join(map(re.escape, THIRD_PARTY))})(\.|$)")
            for name in _LOGGERS:
                logging.getLogger(name).setLevel(logging.WARNING)
            transformers.logging.set_verbosity_error()
            transformers.utils.logging.disable_progress_bar()
            datasets.logging.set_verbosity_error()
            datasets.disable_progress_bars()
            yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        transformers.logging.set_verbosity(hf_level)
        (
            transformers.utils.logging.enable_progress_bar
            if hf_bars
            else transformers.utils.logging.disable_progress_bar
        )()
        datasets.logging.set_verbosity(ds_level)
        (datasets.enable_progress_bars if ds_bars else datasets.disable_progress_bars)()
