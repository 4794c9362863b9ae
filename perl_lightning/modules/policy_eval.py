"""Held-out evaluation of the RL policy: reward of the current policy against the initial one, win rate, KL drift,
and a sample table. A mixin of :class:`perl_lightning.modules.policy.PolicyModule` (kept apart so the module's own
file reads like the algorithm box)."""

from __future__ import annotations

import torch
from lightning.pytorch.callbacks import Callback

from perl_lightning.callbacks.sample_table import SampleTable
from perl_lightning.data.images import pixels_to_image
from perl_lightning.data.prompts import PromptBatch
from perl_lightning.models.topology import Role
from perl_lightning.rl.types import Rollout, prompt_text
from perl_lightning.tasks.base import Task


class PolicyEvaluation:
    """``validation_step`` and its helpers; the host module provides ``generate``, ``score``, ``logprobs``,
    ``evaluation``, ``eval_sampling``, ``eval_samples``, ``eval_records`` and ``_initial``."""

    def validation_step(self, batch: PromptBatch, batch_idx: int) -> None:
        """Held-out prompts: reward of the current policy vs the initial one (cached by row id), win rate, KL.

        Logs ``val/reward``, ``val/reward_initial``, ``val/win_rate`` (ties count half), the task's metrics when the
        DataModule has a task (``val/rouge1`` ..., and ``val/<name>_initial``), ``val/kl`` (summed
        ``log pi - log pi_ref`` of the evaluation responses: a KL estimate when the evaluation samples; with greedy
        decoding only a drift indicator), ``val/response_length`` and ``val/no_eos_fraction``. With
        ``evaluation.samples_per_prompt`` k > 1 each prompt's figures are the means over its k samples.
        """
        k, seed = self.evaluation.samples_per_prompt, self.evaluation.seed + batch_idx
        after = self._seeded(seed, batch, "policy", k)
        reward_after = self.score(after).total.view(-1, k).mean(1)  # (B,) per prompt
        ids = batch.row_ids or [prompt_text(p) for p in batch.prompts]
        missing = [i for i, r in enumerate(ids) if r not in self._initial]
        if missing:  # the initial policy (= the reference) answers each held-out row once per run
            before = self._seeded(seed, batch.select(missing), "reference", k)
            metas = list(before.metadata)[::k] or [{} for _ in missing]
            rewards = self.score(before).total.view(-1, k).mean(1).tolist()
            texts = [before.responses[j * k : (j + 1) * k] for j in range(len(missing))]
            for i, text, reward, meta in zip(missing, texts, rewards, metas, strict=True):
                self._initial[ids[i]] = (text, reward, meta)
        reward_before = torch.tensor([self._initial[r][1] for r in ids], device=reward_after.device)
        (ref_lp,) = self.logprobs(after, "reference")
        (policy_lp,) = [after.logprobs] if self._sampler_logprobs_serve(after) else self.logprobs(after, "policy")
        kl = ((policy_lp - ref_lp) * after.response_mask).sum(-1).view(-1, k).mean(1)  # (B,)
        wins = (reward_after > reward_before).float() + 0.5 * (reward_after == reward_before).float()
        metrics = {"val/reward": reward_after.mean(), "val/reward_initial": reward_before.mean(),
                   "val/win_rate": wins.mean(), "val/kl": kl.mean(),
                   "val/response_length": after.lengths.float().mean(),
                   "val/no_eos_fraction": (~after.ended).float().mean()}  # fmt: skip
        self.log_dict(metrics, batch_size=len(ids), sync_dist=True)  # under DDP: the mean over every rank's prompts
        metadata = list(after.metadata) or [{} for _ in range(len(ids) * k)]
        initial = ([t for r in ids for t in self._initial[r][0]], [self._initial[r][2] for r in ids for _ in range(k)])
        task = getattr(getattr(self.trainer, "datamodule", None), "task", None)
        per_item = self._log_task_metrics(task, (after.responses, metadata), initial, k)
        group_by = getattr(task, "group_by", None)
        for i, row in enumerate(ids):  # per held-out row, for paired comparisons (``eval_records``)
            record = {"row_id": row, "reward_initial": float(reward_before[i]), "reward": float(reward_after[i]),
                      "kl": float(kl[i])}  # fmt: skip
            if group_by is not None and group_by in metadata[i * k]:
                record["group"] = str(metadata[i * k][group_by])
            self.eval_records.append({**record, **{name: float(values[i]) for name, values in per_item.items()}})
        for i in range(min(len(ids), self.evaluation.num_samples - len(self.eval_samples))):
            texts, reward, _ = self._initial[ids[i]]
            sample = {
                "row_id": ids[i],
                "prompt": prompt_text(batch.prompts[i]),
                "before": texts[0],
                "after": after.responses[i * k],
                "reward_before": reward,
                "reward_after": float(reward_after[i]),
            }
            if batch.images is not None and getattr(self, "processor", None) is not None:  # what the model saw
                sample["image"] = pixels_to_image(batch.images.rows([i])["pixel_values"][0], self.processor)
            self.eval_samples.append(sample)

    def _log_task_metrics(
        self, task: Task | None, after: tuple[list[str], list[dict]], before: tuple[list[str], list[dict]], k: int = 1
    ) -> dict[str, torch.Tensor]:  # fmt: skip
        """The data's task metrics (ROUGE, well-formed turns, episode success, ...) of the current and the initial
        responses (``k`` contiguous samples per row, with their rows' metadata, which an episode's summary joins), as
        ``val/<name>`` and ``val/<name>_initial``: means over the rows the metric applies to (not NaN). Returns the
        per-row values (the mean over a row's samples) under the same names (without ``val/``; NaN where a metric
        does not apply)."""
        if task is None:
            return {}
        per_item = {}
        for suffix, (responses, metadata) in (("", after), ("_initial", before)):
            for name, values in task.evaluate(responses, metadata).items():
                values = values.view(-1, k).nanmean(1)  # (rows,): a metric applies to all of a row's samples or none
                per_item[f"{name}{suffix}"] = values
                valid = ~torch.isnan(values)
                if valid.any():
                    self.log(f"val/{name}{suffix}", values[valid].mean().to(self.device), batch_size=int(valid.sum()),
                             sync_dist=True)  # fmt: skip
        return per_item

    def _sampler_logprobs_serve(self, rollout: Rollout) -> bool:
        """Whether the sampler's own log-probs of the evaluation responses are the policy's log-probs at the training
        temperature (a sampled evaluation at that temperature), which saves a forward pass."""
        cfg = self.eval_sampling
        return rollout.logprobs is not None and cfg.do_sample and cfg.temperature == self.sampling.temperature

    def _seeded(self, seed: int, batch: PromptBatch, role: Role, k: int = 1) -> Rollout:
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            return self.generate(batch, self.eval_sampling, role=role, k=k)

    def on_validation_epoch_start(self) -> None:
        self.eval_samples = []
        self.eval_records = []  # per held-out row of this process: rewards, KL and task metrics, current and initial

    def configure_callbacks(self) -> list[Callback]:
        """A default :class:`SampleTable` (CSV, or a W&B table under W&B) unless the trainer already has one."""
        trainer = getattr(self, "_trainer", None)
        has_one = trainer is not None and any(isinstance(c, SampleTable) for c in trainer.callbacks)
        return [] if has_one else [SampleTable()]
