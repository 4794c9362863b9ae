"""Several reward sources, weighted and summed: what the RL stage calls its reward.

YAML::

    rewards:
      - source: runs/rm/reward_adapter            # a reward model (adapter on the shared backbone when it fits)
        weight: 1.0
      - source: [rm_seed0, rm_seed1, rm_seed2]   # an ensemble is one source, reduced
        reduce: mean_minus_std
      - source: my_task.rewards:exact_match      # a Python function: the rows' columns arrive as kwargs
        weight: 0.5

The total reward of a response is ``sum_i weight_i * score_i`` over the sources that apply to it (a function's
``None``); a response no source applies to stops the run with its row named. Each source's mean is logged as
``rl/reward/<name>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

import torch
from torch import nn

from perl_lightning.models.artifacts import adapter_base_model
from perl_lightning.models.topology import PolicyModels
from perl_lightning.models.vlm import is_vlm
from perl_lightning.rewards.adapter import AdapterReward
from perl_lightning.rewards.base import RewardError, RewardSource, describe_row
from perl_lightning.rewards.function import FunctionReward
from perl_lightning.rewards.text_model import TextReward
from perl_lightning.rewards.vision_model import VisionReward
from perl_lightning.rl.shaping import EnsembleReduce, reduce_ensemble
from perl_lightning.rl.types import Rollout

#: ``package.module:function`` or ``package.module.function`` (no path separators).
FUNCTION_PATH = re.compile(r"[A-Za-z_][\w.]*[:.][A-Za-z_]\w*")


@dataclass
class RewardSpec:
    """One reward source and its weight.

    Attributes:
        source: a reward-model directory (``RewardModelModule`` output: a peft adapter or a fully fine-tuned model),
            a list of them (an ensemble, one source reduced with ``reduce``), or a Python function
            ``package.module:function`` called with the rows' columns as keyword arguments.
        weight: multiplies the source's score in the total.
        name: the source's name in metrics (``rl/reward/<name>``); default: the function's name, or ``rm``,
            ``rm_1``, ...
        kind: ``auto`` (a function when ``source`` reads like ``package.module:function`` and is no existing path;
            a model directory otherwise), ``model`` or ``function``.
        reduce: how an ensemble's members combine: ``mean``, ``min`` or ``mean_minus_std``.
        std_coef: lambda of ``mean - lambda * std``.
        max_length: most tokens a reward model on its own backbone reads.
        args: constant keyword arguments of a Python function (its settings, e.g. ``{credit: {element: 0.3}}``).
    """

    source: str | list[str]
    weight: float = 1.0
    name: str | None = None
    kind: Literal["auto", "model", "function"] = "auto"
    reduce: EnsembleReduce = "mean"
    std_coef: float = 1.0
    max_length: int = 512
    args: dict[str, Any] | None = None

    def is_function(self) -> bool:
        """Whether ``source`` names a Python function."""
        if self.kind != "auto":
            return self.kind == "function"
        if not isinstance(self.source, str) or Path(self.source).expanduser().exists():
            return False
        return FUNCTION_PATH.fullmatch(self.source) is not None


class ModelReward(nn.Module):
    """Reward models as one source: a single model, or an ensemble reduced to one score per response.

    Args:
        members: :class:`AdapterReward` (shared backbone), :class:`TextReward` or :class:`VisionReward` (own
            backbone) modules.
        name: the source's name.
        reduce: ensemble reduction.
        std_coef: lambda of ``mean_minus_std``.
    """

    def __init__(self, members: list[nn.Module], name: str, reduce: EnsembleReduce = "mean", std_coef: float = 1.0):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.name, self.reduce, self.std_coef = name, reduce, std_coef

    def member_scores(self, rollout: Rollout) -> torch.Tensor:
        """Each member's scores (M, N)."""
        return torch.stack([m(rollout).to(rollout.sequences.device).float() for m in self.members])

    def forward(self, rollout: Rollout) -> torch.Tensor:
        """Reduced scores (N,)."""
        return reduce_ensemble(self.member_scores(rollout), self.reduce, self.std_coef)


class RewardResult(NamedTuple):
    """What the reward layer computed for a rollout."""

    total: torch.Tensor  # (N,) sum of weight * score over the sources that apply
    sources: dict[str, torch.Tensor]  # name -> (N,) the source's raw scores, NaN where it does not apply
    members: dict[str, torch.Tensor]  # name -> (M, N) members' scores of ensemble sources (M > 1)


class RewardLayer(nn.Module):
    """Weighted reward sources (model sources are submodules, so they move with the LightningModule).

    Args:
        sources: reward sources (:class:`ModelReward`, :class:`FunctionReward` or anything following
            :class:`~perl_lightning.rewards.base.RewardSource`).
        weights: one weight per source.
    """

    def __init__(self, sources: list[RewardSource], weights: list[float]) -> None:
        super().__init__()
        if len(sources) != len(weights):
            raise ValueError(f"{len(sources)} reward sources but {len(weights)} weights")
        if not sources:
            raise ValueError("no reward: give at least one reward source (rewards: [{source: ...}])")
        names = [s.name for s in sources]
        if len(set(names)) != len(names):
            raise ValueError(f"reward source names must be unique, got {names}: set `name` on each")
        self.source_modules = nn.ModuleList([s for s in sources if isinstance(s, nn.Module)])  # moved with the module
        self.sources = list(sources)
        self.weights = [float(w) for w in weights]

    @property
    def model_sources(self) -> list[ModelReward]:
        """The sources that are reward models."""
        return [s for s in self.sources if isinstance(s, ModelReward)]

    @torch.no_grad()
    def forward(self, rollout: Rollout) -> RewardResult:
        """Score a rollout with every source; raise :class:`RewardError` for a response no source applies to."""
        n, device = len(rollout.responses), rollout.sequences.device
        total = torch.zeros(n, device=device)
        applied = torch.zeros(n, dtype=torch.bool, device=device)
        per_source: dict[str, torch.Tensor] = {}
        members: dict[str, torch.Tensor] = {}
        for source, weight in zip(self.sources, self.weights, strict=True):
            if isinstance(source, ModelReward):
                stacked = source.member_scores(rollout)  # (M, N)
                scores = reduce_ensemble(stacked, source.reduce, source.std_coef)
                if stacked.shape[0] > 1:
                    members[source.name] = stacked
                if not torch.isfinite(scores).all():
                    bad = int((~torch.isfinite(scores)).nonzero()[0])
                    raise RewardError(f"reward model '{source.name}' gave a non-finite score for "
                                      f"{describe_row(rollout, bad)}")  # fmt: skip
            else:
                scores = source(rollout).to(device).float()
            valid = ~torch.isnan(scores)
            total = total + weight * torch.where(valid, scores, torch.zeros_like(scores))
            applied |= valid
            per_source[source.name] = scores
        if n and not applied.all():
            rows = [describe_row(rollout, int(i)) for i in (~applied).nonzero().flatten()[:3]]
            raise RewardError(f"no reward source applies to {', '.join(rows)} (every source returned None)")
        return RewardResult(total, per_source, members)


def build_rewards(
    specs: list[RewardSpec], models: PolicyModels, dtype: str = "auto", chunk: int | None = None
) -> RewardLayer:
    """The reward layer of ``specs``: reward-model directories trained on the policy's base ride on the shared
    backbone as named adapters (hydra layout); others load on their own backbone (a vision-language one reads the
    rollout's tokens and images, :class:`VisionReward`); functions are imported."""
    sources: list[RewardSource] = []
    adapters = 0
    for i, spec in enumerate(specs):
        if spec.is_function():
            if not isinstance(spec.source, str):
                raise ValueError(f"rewards[{i}]: a function source is one 'module:function' string")
            sources.append(FunctionReward(spec.source, spec.name, spec.args))
            continue
        if spec.args:
            raise ValueError(
                f"rewards[{i}]: 'args' are a Python function's settings; {spec.source!r} is a reward model"
            )
        paths = [spec.source] if isinstance(spec.source, str) else list(spec.source)
        members: list[nn.Module] = []
        for path in paths:
            if not Path(path).expanduser().exists():
                raise FileNotFoundError(f"rewards[{i}]: reward model directory {path} does not exist")
            if models.same_base(path):
                members.append(AdapterReward(models, path, "reward" if adapters == 0 else f"reward_{adapters}", chunk))
                adapters += 1
            elif is_vlm(adapter_base_model(path)):
                if models.processor is None:
                    raise ValueError(
                        f"rewards[{i}]: {path} is a vision-language reward model (base "
                        f"{adapter_base_model(path)!r}) and the policy {models.name!r} a text model"
                    )
                image_processor = models.processor.image_processor.to_dict()
                members.append(VisionReward(path, models.tokenizer, image_processor, dtype, chunk))
            else:
                members.append(TextReward(path, dtype, spec.max_length))
        name = spec.name or ("rm" if not any(isinstance(s, ModelReward) for s in sources) else f"rm_{i}")
        sources.append(ModelReward(members, name, spec.reduce, spec.std_coef))
    return RewardLayer(sources, [s.weight for s in specs])
