"""Multi-turn rollouts: the policy acts, the task's environment answers, until the episode ends.

Each of the ``N = prompts x k`` episodes starts from its prompt (the first observation). A turn samples one action
from the policy for every running episode (one batched ``generate``), hands its text to the environment, and
appends the sampled tokens (exactly as sampled: never re-tokenised) and then the environment's observation rendered
as a new chat turn. The result is one :class:`~perl_lightning.rl.types.Rollout` whose response region is the whole
episode after the prompt, with ``response_mask`` 1 on the policy's own tokens only: log-probs, KL, advantages and the
loss see actions, never observations. GAE skips the observation tokens (``rl.advantages.gae``), so the end reward
reaches every action. Each row's metadata gains ``episode`` (the environment's summary: success, steps, reward, ...)
for :func:`perl_lightning.tasks.ui_automation.episode_reward`-style reward functions and for the task's metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from transformers import PreTrainedTokenizerBase

from perl_lightning.data.formatting import pad
from perl_lightning.data.prompts import PromptBatch
from perl_lightning.rl.types import Rollout
from perl_lightning.tasks import Task, get_task
from perl_lightning.tasks.base import Environment

#: ``generate(input_ids, attention_mask, prompts, row_ids, metadata) -> Rollout``: one sample per left-padded row.
Generate = Callable[[torch.Tensor, torch.Tensor, list, list, list], Rollout]
_MARK = "\x00ACTION\x00"


@dataclass
class EpisodeConfig:
    """Multi-turn RL: the environment of a task plays each prompt's row as an episode.

    Attributes:
        task: the task whose :meth:`~perl_lightning.tasks.Task.environment` runs the episodes (``ui_automation``);
            ``None``: single-turn (one response per prompt).
        task_args: the task's constructor arguments (e.g. ``{shaping: 0.1, max_steps: 5}``).
        max_turns: most policy turns of an episode (the environment may end it sooner).
        max_context_tokens: an episode whose context would exceed this many tokens ends (as the environment left it).
        observation_role: the chat role of observations.
        turn_batch_size: episodes sampled together in a turn, grouped by context length (less left padding);
            ``None``: all running episodes at once.
    """

    task: str | None = None
    task_args: dict[str, Any] | None = None
    max_turns: int = 6
    max_context_tokens: int = 2048
    observation_role: str = "user"
    turn_batch_size: int | None = 16

    def build_task(self) -> Task | None:
        """The task instance, or ``None`` when single-turn."""
        if self.task is None:
            return None
        return get_task(self.task) if not self.task_args else type(get_task(self.task))(**self.task_args)


def observation_ids(tokenizer: PreTrainedTokenizerBase, content: str, role: str, ended_with: str | None) -> list[int]:
    """Token ids that follow a sampled action to add one observation turn and open the next assistant turn.

    With a chat template: the template's text between an assistant turn's content and the next assistant turn's
    start, minus the end-of-turn text the policy already sampled (``ended_with``). Without one: the content between
    newlines.
    """
    if getattr(tokenizer, "chat_template", None):
        turns = [{"role": "user", "content": "x"}, {"role": "assistant", "content": _MARK},
                 {"role": role, "content": content}]  # fmt: skip
        text = tokenizer.apply_chat_template(turns, tokenize=False, add_generation_prompt=True)
        text = text[text.index(_MARK) + len(_MARK) :]
        if ended_with and text.startswith(ended_with):
            text = text[len(ended_with) :]
    else:
        text = ("" if ended_with else "\n") + content + "\n"
    return tokenizer(text, add_special_tokens=False)["input_ids"]


class EpisodeRunner:
    """Runs multi-turn episodes with a sampling function (see the module docstring).

    Args:
        task: the task whose environments the episodes play.
        tokenizer: the policy's tokenizer.
        config: turn and context limits, the observation role.
    """

    def __init__(self, task: Task, tokenizer: PreTrainedTokenizerBase, config: EpisodeConfig) -> None:
        self.task, self.tokenizer, self.config = task, tokenizer, config

    def __call__(self, generate: Generate, batch: PromptBatch, k: int = 1) -> Rollout:
        """Play ``k`` episodes per prompt of ``batch`` (episodes of a prompt contiguous)."""
        if batch.images is not None:
            raise ValueError("multi-turn episodes on prompts with images are not supported: the turns' observations "
                             "are text (use single-turn RL for a vision-language task)")  # fmt: skip
        tok, cfg = self.tokenizer, self.config
        n = len(batch.prompts) * k
        rows = [i // k for i in range(n)]
        metadata = [dict(batch.metadata[r]) if batch.metadata else {} for r in rows]
        envs: list[Environment] = [self.task.environment(m) for m in metadata]
        prompt_ids = [batch.input_ids[r][batch.attention_mask[r].bool()].tolist() for r in rows]
        tokens: list[list[int]] = [[] for _ in range(n)]
        policy: list[list[int]] = [[] for _ in range(n)]  # 1 on the policy's tokens
        logprobs: list[list[float]] = [[] for _ in range(n)]
        entropy: list[list[float]] = [[] for _ in range(n)]
        actions: list[list[str]] = [[] for _ in range(n)]
        ended = [True] * n
        running = list(range(n))
        recorded = True
        for _ in range(cfg.max_turns):
            if not running:
                break
            running.sort(key=lambda i: -(len(prompt_ids[i]) + len(tokens[i])))  # similar widths share a batch
            size = cfg.turn_batch_size or len(running)
            still = []
            for part in (running[s : s + size] for s in range(0, len(running), size)):
                out = self._turn(generate, batch, part, prompt_ids, tokens, rows, metadata)
                recorded = recorded and out.logprobs is not None
                for j, i in enumerate(part):
                    keep = out.response_mask[j].bool()
                    sampled = out.responses_ids[j][keep].tolist()
                    tokens[i] += sampled
                    policy[i] += [1] * len(sampled)
                    if out.logprobs is not None:
                        logprobs[i] += out.logprobs[j][keep].tolist()
                        entropy[i] += out.entropy[j][keep].tolist() if out.entropy is not None else [0.0] * len(sampled)
                    ended[i] = ended[i] and bool(out.ended[j])
                    actions[i].append(out.responses[j])
                    result = envs[i].step(out.responses[j])
                    if result.done or result.observation is None:
                        continue
                    last = tok.decode(sampled[-1:]) if bool(out.ended[j]) and sampled else None
                    obs = observation_ids(tok, result.observation, cfg.observation_role, last)
                    if len(prompt_ids[i]) + len(tokens[i]) + len(obs) + 1 > cfg.max_context_tokens:
                        continue
                    tokens[i] += obs
                    policy[i] += [0] * len(obs)
                    logprobs[i] += [0.0] * len(obs)
                    entropy[i] += [0.0] * len(obs)
                    still.append(i)
            running = still
        for i in range(n):
            metadata[i]["episode"] = envs[i].summary()
        return self._rollout(batch, rows, prompt_ids, tokens, policy, logprobs if recorded else None,
                             entropy if recorded else None, ended, actions, metadata)  # fmt: skip

    def _turn(
        self, generate: Generate, batch: PromptBatch, part: list[int], prompt_ids: list[list[int]],
        tokens: list[list[int]], rows: list[int], metadata: list[dict[str, Any]],
    ) -> Rollout:  # fmt: skip
        """One action for each episode of ``part``: its context left-padded, one sample."""
        ids, mask = pad([prompt_ids[i] + tokens[i] for i in part], self.tokenizer.pad_token_id, side="left")
        device = batch.input_ids.device
        return generate(ids.to(device), mask.to(device), [batch.prompts[rows[i]] for i in part],
                        [batch.row_ids[rows[i]] for i in part] if batch.row_ids else [],
                        [metadata[i] for i in part])  # fmt: skip

    def _rollout(
        self, batch: PromptBatch, rows: list[int], prompt_ids: list[list[int]], tokens: list[list[int]],
        policy: list[list[int]], logprobs: list[list[float]] | None, entropy: list[list[float]] | None,
        ended: list[bool], actions: list[list[str]], metadata: list[dict[str, Any]],
    ) -> Rollout:  # fmt: skip
        """One rollout: prompts left-padded, episodes right-padded, the policy's tokens marked."""
        pad_id = self.tokenizer.pad_token_id
        device = batch.input_ids.device
        prompts, prompt_mask = pad(prompt_ids, pad_id, side="left")
        width = max(1, max(len(t) for t in tokens))

        def right(values: Sequence[Sequence[float]], fill: float, dtype: torch.dtype) -> torch.Tensor:
            return torch.stack([F.pad(torch.tensor(list(v), dtype=dtype), (0, width - len(v)), value=fill)
                                for v in values])  # fmt: skip

        episode = right(tokens, pad_id, torch.long)
        real = right([[1] * len(t) for t in tokens], 0, torch.long)
        return Rollout(
            sequences=torch.cat([prompts, episode], 1).to(device),
            attention_mask=torch.cat([prompt_mask.long(), real], 1).to(device),
            response_mask=right(policy, 0, torch.long).to(device),
            ended=torch.tensor(ended, device=device),
            prompt_length=prompts.shape[1],
            prompts=[batch.prompts[r] for r in rows],
            responses=["\n".join(a) for a in actions],
            row_ids=[batch.row_ids[r] for r in rows] if batch.row_ids else [],
            metadata=metadata,
            logprobs=None if logprobs is None else right(logprobs, 0.0, torch.float32).to(device),
            entropy=None if entropy is None else right(entropy, 0.0, torch.float32).to(device),
        )
