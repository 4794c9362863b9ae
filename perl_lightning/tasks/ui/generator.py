"""The UI-automation episode / single-step datasets, built from the synthetic app families.

:data:`FAMILIES`, :data:`TRAIN_FAMILIES` and :data:`HELD_OUT_FAMILIES` (see
:mod:`perl_lightning.tasks.ui.families`) are re-exported here.

Rows. An episode: ``{"id", "family", "goal", "app" (JSON text, see :mod:`perl_lightning.tasks.ui.env`),
"goal_state" (JSON text, a condition list), "gold_actions" (canonical actions, ending with "done()")}``. A step (one
per gold action, from :func:`episode_steps`): ``{"id": "<episode id>/<t>", "family", "goal", "screen" (JSON text of
the current screen with its current state), "scroll", "history" ([{"screen", "scroll", "action"}] of the earlier
steps), "gold_action" (acceptable actions), "step" (t), "steps" (total)}``.

Regenerate (skipped when ``OUT_DIR/DONE`` records the same parameters)::

    python -m perl_lightning.tasks.ui.generator OUT_DIR --seed 0

writes ``OUT_DIR/{episodes,steps,start}/{train,validation,test}.jsonl``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from perl_lightning.io import atomic_write
from perl_lightning.tasks.ui.env import UIEnvironment
from perl_lightning.tasks.ui.families import FAMILIES, HELD_OUT_FAMILIES, TRAIN_FAMILIES

__all__ = [
    "FAMILIES",
    "HELD_OUT_FAMILIES",
    "TRAIN_FAMILIES",
    "episode_steps",
    "generate_episodes",
    "main",
    "write_dataset",
]

DATA_VERSION = 4  # 2: a step's gold_action lists every order-independent next action; 3: the email_inbox family;
# 4: the start folder (the same rows otherwise)


def generate_episodes(n: int, seed: int, families: Sequence[str]) -> list[dict[str, Any]]:
    """``n`` episodes, the families cycled in order, each from its own seed drawn from ``random.Random(seed)``.

    Args:
        n: how many episodes.
        seed: the seed (the same seed gives the same rows).
        families: names from :data:`FAMILIES`.
    """
    unknown = [f for f in families if f not in FAMILIES]
    if unknown or not families:
        raise ValueError(f"unknown or no families {unknown} (known: {', '.join(FAMILIES)})")
    rng, out = random.Random(seed), []
    for i in range(n):
        family = families[i % len(families)]
        episode = FAMILIES[family](random.Random(rng.getrandbits(64)))
        out.append({**episode, "id": f"{family}-{seed}-{i}"})
    return out


def _reaches_goal(episode: dict[str, Any], actions: Sequence[str]) -> bool:
    """Whether ``actions``, played from the episode's start, are all valid and end in the goal state."""
    env = UIEnvironment(json.loads(episode["app"]), json.loads(episode["goal_state"]), max_steps=len(actions) + 10,
                        at=episode["id"])  # fmt: skip
    for action in actions:
        if env.finished or not env.step(action).valid:
            return False
    return bool(env.summary()["success"])


def acceptable_actions(episode: dict[str, Any], t: int) -> list[str]:
    """The actions that are right at step ``t`` of an episode's gold trajectory: the canonical one first, then every
    later gold action (not ``done()``) that can be done now instead, i.e. the trajectory with it moved to step ``t``
    still reaches the goal. "Delete the umbrella and set the scarf to 3" accepts either as the first step; "open
    Display, then turn on Dark mode" accepts only the first (the switch is not on the screen yet)."""
    gold = list(episode["gold_actions"])
    out = [gold[t]]
    for j in range(t + 1, len(gold) - 1):
        if gold[j] not in out and _reaches_goal(episode, gold[:t] + [gold[j]] + gold[t:j] + gold[j + 1 :]):
            out.append(gold[j])
    return out


def episode_steps(episode: dict[str, Any]) -> list[dict[str, Any]]:
    """One single-step row per gold action (see the module docstring), replayed in :class:`UIEnvironment`.

    Raises:
        ValueError: a gold action is invalid, or the trajectory does not end in success (names the episode).
    """
    eid, gold = episode["id"], list(episode["gold_actions"])
    env = UIEnvironment(json.loads(episode["app"]), json.loads(episode["goal_state"]), max_steps=len(gold) + 10, at=eid)
    rows: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    for t, action in enumerate(gold):
        if env.finished:
            raise ValueError(f"{eid}: the episode ended before gold action {t} ({action})")
        screen, scroll = json.dumps(env.screen.to_json()), env.scroll[env.current]
        rows.append({"id": f"{eid}/{t}", "family": episode["family"], "goal": episode["goal"], "screen": screen,
                     "scroll": scroll, "history": list(history), "gold_action": acceptable_actions(episode, t),
                     "step": t, "steps": len(gold)})  # fmt: skip
        result = env.step(action)
        if not result.valid:
            raise ValueError(f"{eid}: gold action {t} ({action}) is invalid: {result.reason}")
        history.append({"screen": screen, "scroll": scroll, "action": action})
    if not env.summary()["success"]:
        raise ValueError(f"{eid}: the gold trajectory does not reach the goal state")
    return rows


def write_dataset(root: Path, seed: int = 0, train: int = 1200, validation: int = 200, test: int = 300) -> Path:
    """Write ``root/{episodes,steps,start}/{train,validation,test}.jsonl`` (each file atomically), then ``root/DONE``.
    ``start`` holds the step rows of each episode's first step (a fresh screen and a goal, no history).

    Train and validation come from :data:`TRAIN_FAMILIES` (seeds ``3 * seed`` and ``3 * seed + 1``), test from
    :data:`HELD_OUT_FAMILIES` (``3 * seed + 2``). Nothing is written when ``DONE`` records the same parameters.
    """
    root = Path(root)
    params = {"seed": seed, "train": train, "validation": validation, "test": test, "version": DATA_VERSION}
    marker = root / "DONE"
    with contextlib.suppress(OSError, ValueError):
        if json.loads(marker.read_text(encoding="utf-8")) == params:
            return root
    marker.unlink(missing_ok=True)
    splits = {"train": (train, 3 * seed, TRAIN_FAMILIES), "validation": (validation, 3 * seed + 1, TRAIN_FAMILIES),
              "test": (test, 3 * seed + 2, HELD_OUT_FAMILIES)}  # fmt: skip
    for split, (n, split_seed, families) in splits.items():
        episodes = generate_episodes(n, split_seed, families)
        steps = [row for e in episodes for row in episode_steps(e)]
        start = [row for row in steps if row["step"] == 0]
        for folder, rows in (("episodes", episodes), ("steps", steps), ("start", start)):
            atomic_write(root / folder / f"{split}.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    atomic_write(marker, json.dumps(params, sort_keys=True) + "\n")
    return root


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m perl_lightning.tasks.ui.generator OUT_DIR [--seed S] [--train N] [--validation N] [--test N]``."""
    parser = argparse.ArgumentParser(description="Write the synthetic UI-automation episodes and step rows.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    for split, n in (("train", 1200), ("validation", 200), ("test", 300)):
        parser.add_argument(f"--{split}", type=int, default=n, help=f"episodes in {split} (default {n})")
    args = parser.parse_args(argv)
    print(write_dataset(args.out_dir, args.seed, args.train, args.validation, args.test))


if __name__ == "__main__":
    main()
