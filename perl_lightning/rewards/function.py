"""Python reward functions, called the way TRL users know: the rows' columns arrive as keyword arguments.

A reward function is ``fn(prompts, completions, **columns) -> list[float | None]``: ``prompts`` and ``completions``
(also passed as ``responses``) are lists of N strings, and every extra field of the data rows (a gold ``answer``, a
``gold_action``, an ``image_id``, ...) arrives as a keyword argument holding N values, plus ``row_ids``. A function
only receives the arguments its signature names, unless it takes ``**kwargs``. ``None`` marks a response the
function does not apply to.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import torch

from perl_lightning.rewards.base import RewardError, check_scores, describe_row
from perl_lightning.rl.types import Rollout


def import_function(path: str) -> Callable[..., Sequence[float | None]]:
    """``package.module:function`` (or ``package.module.function``) imported; a clear error otherwise."""
    module_name, sep, attr = path.partition(":")
    if not sep:
        module_name, _, attr = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as err:
        raise ValueError(f"reward function '{path}': cannot import it as 'module:function' ({err})") from err


class FunctionReward:
    """A Python reward function as a reward source.

    Args:
        path: dotted path, ``package.module:function`` (or ``package.module.function``).
        name: the source's name in metrics (``rl/reward/<name>``); the function's name by default.
        args: constant keyword arguments added to every call (a function's settings, e.g. partial credit).
    """

    def __init__(self, path: str, name: str | None = None, args: dict[str, Any] | None = None) -> None:
        self.path, self.args = path, dict(args or {})
        self.fn = import_function(path)
        self.name = name or getattr(self.fn, "__name__", path.rpartition(":")[2] or path)
        params = inspect.signature(self.fn).parameters.values()
        self._accepts_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
        self._accepted = {p.name for p in params if p.kind is not inspect.Parameter.VAR_POSITIONAL}

    def arguments(self, rollout: Rollout) -> dict[str, Any]:
        """The keyword arguments the function is called with for ``rollout``."""
        columns: dict[str, list[Any]] = {}
        keys = dict.fromkeys(k for row in rollout.metadata for k in row)
        for key in keys:
            columns[key] = [row.get(key) for row in rollout.metadata]
        kwargs = {
            **columns,
            "prompts": list(rollout.prompts),
            "completions": list(rollout.responses),
            "responses": list(rollout.responses),
            "row_ids": list(rollout.row_ids),
            **self.args,
        }
        return kwargs if self._accepts_all else {k: v for k, v in kwargs.items() if k in self._accepted}

    def __call__(self, rollout: Rollout) -> torch.Tensor:
        """Scores (N,) float32 on the rollout's device, NaN where the function returned ``None``."""
        try:
            values = self.fn(**self.arguments(rollout))
        except Exception as err:  # a user function: find the row it fails on, name it, and stop the run
            raise RewardError(f"reward function '{self.path}' raised on {self._failing_row(rollout)}: {err!r}") from err
        return check_scores(f"function {self.path}", values, rollout).to(rollout.sequences.device)

    def _failing_row(self, rollout: Rollout) -> str:
        """The first row the function raises on when called alone (the batch as a whole if none does)."""
        for i in range(len(rollout.responses)):
            try:
                self.fn(**self.arguments(rollout.select([i])))
            except Exception:  # noqa: BLE001 - locating the failure, the caller re-raises
                return describe_row(rollout, i)
        return f"a batch of {len(rollout.responses)} responses (no single row fails alone)"
