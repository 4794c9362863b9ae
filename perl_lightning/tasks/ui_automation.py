"""UI automation (PERL's UI task): given a screen's structure and a goal, emit the next action.

Two row kinds (JSON lines; the JSON-valued fields may be JSON-encoded strings):

- a **step**: ``{id, family, goal, screen, scroll, history: [{screen, scroll, action}], gold_action: [actions]}``,
  the screen at one step of an episode with the steps before it (the policy sees them as earlier turns);
- an **episode**: ``{id, family, goal, app: {start, screens}, goal_state: [conditions], gold_actions: [actions]}``,
  played turn by turn in :class:`~perl_lightning.tasks.ui.env.UIEnvironment` by a multi-turn RL rollout.

Screens, the action grammar and the environment are documented in :mod:`perl_lightning.tasks.ui`. Without a path the
task reads its built-in data: synthetic apps from :mod:`perl_lightning.tasks.ui.generator`, written once (seeded)
under the user cache, with ``train`` / ``validation`` splits of seven screen families and a ``test`` split of two
held-out families (``signup_form``, ``shopping_cart``) that measures generalisation rather than memorisation.

The prompt of a step is a conversation: each observation is a user turn (the screen's text, then the goal, which the
screen budget never cuts; the first adds the instructions), each earlier action an assistant turn. With
``observations="changes"`` a later screen shows only what the last action changed on it (a shorter context), in the
step rows' history and in the episodes' turns alike. The programmatic reward :func:`action_reward` scores a step's
output against its gold action (exact, right element, right action, invalid), and :func:`episode_reward` is an
episode's total from its environment. SFT imitates the gold actions; the reward model trains on pairs of a better and
a worse action ranked by the same scorer.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch

from perl_lightning.models.embedded import cache_dir
from perl_lightning.rl.types import Message
from perl_lightning.sources import DataError, Row
from perl_lightning.tasks.base import (
    Demonstration,
    PreferenceExample,
    PromptExample,
    Stage,
    Task,
    field_value,
    json_field,
    row_identity,
    text_field,
    where,
)
from perl_lightning.tasks.ui.actions import Action, Credit, Invalid, parse_action, score_action
from perl_lightning.tasks.ui.env import StepResult, UIEnvironment, check_goal_state, parse_app
from perl_lightning.tasks.ui.generator import DATA_VERSION, write_dataset
from perl_lightning.tasks.ui.screen import Screen, Snapshot, parse_screen, render_changes, render_screen, snapshot

INSTRUCTIONS = (
    'Actions: click(id), type(id, "text"), select(id, "option"), scroll(up|down), back(), done() once the goal is '
    "reached. Reply with one action only."
)


def observation_text(screen_text: str, goal: str, first: bool) -> str:
    """One observation turn: the screen, the goal (and, in the first turn, the instructions)."""
    return f"{screen_text}\nGoal: {goal}" + (f"\n{INSTRUCTIONS}" if first else "")


class UIEpisode:
    """A :class:`UIEnvironment` whose observations are the task's user turns (screen + goal)."""

    def __init__(self, env: UIEnvironment, goal: str) -> None:
        self.env, self.goal = env, goal

    def step(self, action: str) -> StepResult:
        result = self.env.step(action)
        if result.observation is not None:
            result.observation = observation_text(result.observation, self.goal, first=False)
        return result

    def summary(self) -> dict[str, Any]:
        return self.env.summary()


class UIAutomation(Task):
    """Screens + goals -> the next action; single-step rows and multi-step episodes (see the module docstring).

    Args:
        prompts: the rows of the built-in data: ``steps`` (every step of the episodes, with its history; one action
            scored by :func:`action_reward`), ``start`` (only each episode's start screen, for every stage: a fresh
            screen and a goal, the single-step task) or ``episodes`` (RL prompts are episodes, multi-turn, scored by
            :func:`episode_reward`; the other stages read the steps).
        max_screen_chars: character budget of one screen's text (``render_screen``'s policy; the goal is separate).
        seed: seed of the built-in data.
        train_episodes: built-in training episodes (validation 200, held-out test 300 episodes).
        max_steps: actions an episode allows.
        success_reward: an episode's reward when ``done()`` finds the goal state.
        invalid_penalty: reward per invalid action in an episode.
        shaping: weight of the per-step progress reward of an episode (0: at the end only).
        stop_on_invalid: an invalid action ends an episode.
        observations: how a screen after the first is shown, in step rows' history and in episodes alike: ``screens``
            (whole, every turn) or ``changes`` (on the same screen at the same scroll, only the elements the action
            changed: a shorter context; another screen is shown whole).
    """

    name: ClassVar[str] = "ui_automation"
    feedback: ClassVar[str] = "pairwise"  # type: ignore[assignment]
    builtin_val_split: ClassVar[str | None] = "test"  # the held-out screen families
    headline_metric: ClassVar[str | None] = "exact_action"
    group_by: ClassVar[str | None] = "family"
    programmatic_rewards: ClassVar[dict[str, str]] = {
        "steps": "perl_lightning.tasks.ui_automation:action_reward",
        "episodes": "perl_lightning.tasks.ui_automation:episode_reward",
    }
    reward_functions: ClassVar[tuple[str, ...]] = (
        "perl_lightning.tasks.ui_automation:action_reward",
        "perl_lightning.tasks.ui_automation:episode_reward",
    )

    def __init__(
        self, prompts: Literal["steps", "start", "episodes"] = "steps", max_screen_chars: int | None = 900,
        seed: int = 0, train_episodes: int = 1200, max_steps: int = 6, success_reward: float = 1.0,
        invalid_penalty: float = -0.5, shaping: float = 0.0, stop_on_invalid: bool = True,
        observations: Literal["screens", "changes"] = "screens",
    ) -> None:  # fmt: skip
        if prompts not in ("steps", "start", "episodes"):
            raise ValueError(f"prompts must be 'steps', 'start' or 'episodes', not {prompts!r}")
        if observations not in ("screens", "changes"):
            raise ValueError(f"observations must be 'screens' or 'changes', not {observations!r}")
        self.observations = observations
        self.prompts, self.max_screen_chars, self.seed, self.train_episodes = (
            prompts,
            max_screen_chars,
            seed,
            train_episodes,
        )
        self.env_args = dict(max_steps=max_steps, success_reward=success_reward, invalid_penalty=invalid_penalty,
                             shaping=shaping, stop_on_invalid=stop_on_invalid, max_chars=max_screen_chars)  # fmt: skip

    # ---- data ----------------------------------------------------------------------------------------------------
    def builtin_root(self) -> Path:
        """The built-in data directory (written on first use)."""
        root = cache_dir() / "ui_automation" / f"v{DATA_VERSION}-seed{self.seed}-n{self.train_episodes}"
        return write_dataset(root, seed=self.seed, train=self.train_episodes)

    def source(self, stage: Stage, path: str | None) -> str:
        """``path``, else the built-in step rows (only start screens when ``prompts='start'``; episodes for RL prompts
        when ``prompts='episodes'``), a directory with ``train`` / ``validation`` / ``test`` (held-out families)."""
        if path is not None:
            return path
        kind = "episodes" if stage == "prompts" and self.prompts == "episodes" else "steps"
        kind = "start" if self.prompts == "start" else kind
        return str(self.builtin_root() / kind)

    @staticmethod
    def _screen(row: Row, field: str, value: Any = None) -> Screen:
        """The screen in ``field`` (or ``value``, read from that field), parsed; errors name the row and field."""
        if value is None:
            value = json_field(row, field)
        elif isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as err:
                raise DataError(f"{where(row, field)} is not valid JSON ({err.msg})") from None
        return parse_screen(value, where(row, field))

    def step_messages(self, row: Row) -> tuple[list[Message], Screen]:
        """A step row as a conversation (earlier screens and actions, then the current screen) and its screen."""
        goal = text_field(row, "goal")
        history = field_value(row, "history") if row.data.get("history") is not None else []
        if isinstance(history, str):
            history = json_field(row, "history")
        if not isinstance(history, list):
            raise DataError(f"{where(row, 'history')} must be a list of {{screen, scroll, action}}")
        messages: list[Message] = []
        last: Snapshot | None = None
        for i, turn in enumerate(history):
            if not isinstance(turn, dict) or "screen" not in turn or not isinstance(turn.get("action"), str):
                raise DataError(f"{where(row, 'history')} turn {i}: needs 'screen' and an 'action' string")
            screen = self._screen(row, f"history.{i}.screen", turn["screen"])
            text, last = self._render(screen, int(turn.get("scroll") or 0), last)
            messages += [{"role": "user", "content": observation_text(text, goal, i == 0)},
                         {"role": "assistant", "content": turn["action"].strip()}]  # fmt: skip
        screen = self._screen(row, "screen")
        text, _ = self._render(screen, int(row.data.get("scroll") or 0), last)
        messages.append({"role": "user", "content": observation_text(text, goal, not history)})
        return messages, screen

    def _render(self, screen: Screen, scroll: int, last: Snapshot | None) -> tuple[str, Snapshot | None]:
        """A screen's text after the observation ``last`` (``None``: the first), and, with ``changes``, its snapshot
        (what the next observation is compared with)."""
        if self.observations != "changes":
            return render_screen(screen, scroll, self.max_screen_chars), None
        text = render_screen(screen, scroll, self.max_screen_chars) if last is None else (
            render_changes(screen, scroll, last, self.max_screen_chars))  # fmt: skip
        return text, snapshot(screen, scroll)

    def gold(self, row: Row, field: str = "gold_action", ids: Sequence[str] | None = None) -> list[str]:
        """The row's acceptable gold actions, each checked against the grammar (and the screen's ids)."""
        value = field_value(row, field)
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise DataError(f"{where(row, field)} must be an action or a non-empty list of actions")
        for v in values:
            parsed = parse_action(v, ids)
            if isinstance(parsed, Invalid):
                raise DataError(f"{where(row, field)}: {v!r} is not a valid action ({parsed.reason})")
        return [str(parse_action(v)) for v in values]

    def _is_episode(self, row: Row) -> bool:
        return "app" in row.data

    def demonstration(self, row: Row) -> Demonstration:
        """The step's conversation and its (first) gold action."""
        messages, screen = self.step_messages(self._step(row))
        return Demonstration(messages, self.gold(row, ids=screen.ids())[0])

    def preference(self, row: Row) -> PreferenceExample:
        """The step's conversation with a better and a worse action, ranked by the scorer: the gold action over a
        near miss (the right element with another text, another element, a premature ``done()``, an invalid
        output), or a near miss over a worse one; the kind of pair is drawn per row (seeded by the row id)."""
        messages, screen = self.step_messages(self._step(row))
        gold = self.gold(row, ids=screen.ids())
        rng = random.Random(hashlib.sha256(row_identity(row).encode()).hexdigest())
        chosen, rejected = rank_pair(gold, screen, rng)
        return PreferenceExample(messages, chosen, rejected)

    def prompt(self, row: Row) -> PromptExample:
        """A step (metadata: ``gold_action``, ``element_ids``, ``family``) or an episode (metadata: ``app``,
        ``goal``, ``goal_state``, ``family``, ``gold_steps``)."""
        row_id, family = row_identity(row), str(row.data.get("family", ""))
        if self._is_episode(row):
            goal = text_field(row, "goal")
            app, goal_state = json_field(row, "app"), json_field(row, "goal_state")
            start, screens = parse_app(app, where(row, "app"))
            check_goal_state(goal_state, screens, where(row, "goal_state"))
            gold = self.gold(row, "gold_actions") if row.data.get("gold_actions") else []
            text = render_screen(screens[start], 0, self.max_screen_chars)
            meta = {"app": app, "goal": goal, "goal_state": goal_state, "family": family, "gold_steps": len(gold)}
            return PromptExample([{"role": "user", "content": observation_text(text, goal, True)}], row_id, meta)
        messages, screen = self.step_messages(row)
        meta = {"gold_action": self.gold(row, ids=screen.ids()), "element_ids": screen.ids(), "family": family}
        return PromptExample(messages, row_id, meta)

    def _step(self, row: Row) -> Row:
        if self._is_episode(row):
            raise DataError(f"{row.source}: row {row.number}: an episode row; SFT and reward pairs read step rows")
        return row

    def environment(self, metadata: dict[str, Any]) -> UIEpisode:
        """The environment of an episode prompt (its metadata from :meth:`prompt`)."""
        if "app" not in metadata:
            raise ValueError("a multi-turn rollout needs episode rows (fields app, goal_state), not single steps")
        env = UIEnvironment(metadata["app"], metadata["goal_state"], changes=self.observations == "changes",
                            **self.env_args)  # fmt: skip
        return UIEpisode(env, metadata["goal"])

    # ---- evaluation ----------------------------------------------------------------------------------------------
    def evaluate(self, responses: Sequence[str], metadata: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor]:
        """Steps: ``exact_action``, ``element_accuracy``, ``invalid_action``; episodes (metadata with an
        ``episode`` summary): ``success``, ``episode_steps``, ``episode_invalid`` (invalid actions per step). NaN
        where a row is of the other kind."""
        nan = float("nan")
        names = ("exact_action", "element_accuracy", "invalid_action", "success", "episode_steps", "episode_invalid")
        out: dict[str, list[float]] = {n: [] for n in names}
        for text, meta in zip(responses, metadata, strict=True):
            row = dict.fromkeys(names, nan)
            if "gold_action" in meta:
                s = score_action(text, meta["gold_action"], meta.get("element_ids"))
                row.update(
                    exact_action=float(s.exact), element_accuracy=float(s.element), invalid_action=float(s.invalid)
                )
            if isinstance(meta.get("episode"), dict):
                e = meta["episode"]
                row.update(success=float(e["success"]), episode_steps=float(e["steps"]),
                           episode_invalid=e["invalid"] / max(e["steps"], 1))  # fmt: skip
            for n in names:
                out[n].append(row[n])
        return {n: torch.tensor(v) for n, v in out.items() if not all(x != x for x in v)}


def rank_pair(gold: Sequence[str], screen: Screen, rng: random.Random) -> tuple[str, str]:
    """A (better, worse) pair of actions for a screen whose gold actions are ``gold``, ranked by :func:`score_action`
    with the default credit (ties redrawn)."""
    target = parse_action(gold[0])
    assert isinstance(target, Action)
    ids = screen.ids()
    others = [e for _, e in screen.walk() if e.id != target.target]
    candidates = [
        str(Action("click", rng.choice(others).id)) if others else "back()",
        "done()" if target.kind != "done" else "back()",
        rng.choice(["", "I would click the button.", f"click({target.target or 'e1'}", "tap(e1)", "click(zz99)"]),
    ]
    if target.kind in ("type", "select"):
        candidates.append(str(Action(target.kind, target.target, target.text[::-1] + "x")))
    if target.kind == "scroll":
        candidates.append(str(Action("scroll", "", "up" if target.text == "down" else "down")))
    candidates = [c for c in candidates if c not in gold]
    for _ in range(8):
        if rng.random() < 0.6:
            return gold[0], rng.choice(candidates)
        a, b = rng.sample(candidates, 2) if len(candidates) > 1 else (candidates[0], candidates[0])
        sa, sb = score_action(a, gold, ids).reward, score_action(b, gold, ids).reward
        if sa != sb:
            return (a, b) if sa > sb else (b, a)
    return gold[0], candidates[0]


def action_reward(
    completions: Sequence[str], gold_action: Sequence[Sequence[str] | None] | None = None,
    element_ids: Sequence[list[str]] | None = None, credit: dict[str, float] | None = None, **_: Any,
) -> list[float | None]:  # fmt: skip
    """The step reward: 1 for a gold action, partial credit for the right element with the wrong text (0.5) or the
    right action on another element (0.1), 0 for another valid action, -1 for an invalid one; ``credit`` overrides
    these (``RewardSpec.args: {credit: {element: 0.3}}``). ``None`` for rows without a gold action (episodes)."""
    c = Credit(**(credit or {}))
    gold_action = gold_action or [None] * len(completions)
    ids = element_ids or [None] * len(completions)
    return [
        None if g is None else score_action(t, g, i, c).reward
        for t, g, i in zip(completions, gold_action, ids, strict=True)
    ]


def episode_reward(
    completions: Sequence[str], episode: Sequence[dict[str, Any] | None] | None = None, **_: Any
) -> list[float | None]:
    """An episode's total reward (success, invalid-action penalties, shaping) from its environment's summary;
    ``None`` for rows that are not episodes."""
    return [None if e is None else float(e["reward"]) for e in episode or [None] * len(completions)]
