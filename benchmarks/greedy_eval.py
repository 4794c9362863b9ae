"""Shared by the task benchmarks: a policy's greedy answers scored per held-out item, and paired differences.

Imported by the scripts next to it (``python benchmarks/<name>.py`` puts this directory on ``sys.path``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch

from perl_lightning.data.prompts import PromptDataModule
from perl_lightning.modules.policy import PolicyModule
from perl_lightning.report import paired
from perl_lightning.rl.config import SamplingConfig
from perl_lightning.tasks import Task


def greedy_scores(
    policy: PolicyModule, dm: PromptDataModule, task: Task, names: tuple[str, ...]
) -> tuple[dict[str, list[float]], list[dict[str, Any]]]:
    """The policy's greedy responses on every validation batch of ``dm``, scored with ``task.evaluate``: per metric
    in ``names`` one value per item (in the DataModule's fixed order), and each item's metadata with its ``row_id``
    and its (first) ``response`` added."""
    config = SamplingConfig(max_new_tokens=policy.sampling.max_new_tokens, do_sample=False)
    return _scores(policy, dm, task, names, config, 1, 0)


def sampled_scores(
    policy: PolicyModule, dm: PromptDataModule, task: Task, names: tuple[str, ...], k: int, temperature: float,
    seed: int = 1234,
) -> tuple[dict[str, list[float]], list[dict[str, Any]]]:  # fmt: skip
    """Like :func:`greedy_scores`, but each item answered ``k`` times at ``temperature`` (seeded per batch, so two
    policies draw with the same random stream): per metric the mean over an item's ``k`` samples."""
    config = SamplingConfig(max_new_tokens=policy.sampling.max_new_tokens, temperature=temperature)
    return _scores(policy, dm, task, names, config, k, seed)


def _scores(
    policy: PolicyModule, dm: PromptDataModule, task: Task, names: tuple[str, ...], config: SamplingConfig, k: int,
    seed: int,
) -> tuple[dict[str, list[float]], list[dict[str, Any]]]:  # fmt: skip
    dm.tokenizer = policy.tokenizer
    dm.processor = policy.processor
    dm.setup()
    scores: dict[str, list[float]] = {n: [] for n in names}
    metadata: list[dict[str, Any]] = []
    with torch.no_grad():
        for index, batch in enumerate(dm.val_dataloader()):
            with torch.random.fork_rng():
                torch.manual_seed(seed + index)
                rollout = policy.generate(batch, config, k=k)
            metrics = task.evaluate(rollout.responses, list(rollout.metadata))
            for n in names:
                scores[n] += metrics[n].view(-1, k).nanmean(1).tolist()
            firsts = rollout.responses[::k]
            row_ids = rollout.row_ids[::k] if rollout.row_ids else [None] * len(firsts)
            items = zip(list(rollout.metadata)[::k], row_ids, firsts, strict=True)
            metadata += [{**m, "row_id": r, "response": text} for m, r, text in items]
    return scores, metadata


def paired_difference(first: list[float], second: list[float]) -> dict[str, float]:
    """Mean of ``second_i - first_i`` over the same items, its paired standard error ``sd(diff) / sqrt(n)`` (from
    :func:`perl_lightning.report.paired`), and the difference in standard errors."""
    p = paired(first, second)
    return {"diff": p.diff, "paired_se": p.stderr, "diff_in_se": p.diff / max(p.stderr, 1e-12), "n": p.n}


def load_results(path: Path) -> dict[str, Any]:
    """The results file's content, or an empty dict when it does not exist yet."""
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def save_results(results: dict[str, Any], path: Path) -> None:
    """Write the results atomically (an interrupted run keeps the previous file whole)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)


def mean_se(values: list[float]) -> dict[str, float]:
    """Mean, its standard error ``sd / sqrt(n)`` and the count."""
    n = len(values)
    mean = sum(values) / max(n, 1)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / max(n - 1, 1))
    return {"value": mean, "se": sd / math.sqrt(max(n, 1)), "n": n}
