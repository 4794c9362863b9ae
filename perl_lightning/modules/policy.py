"""PolicyModule: LoRA RL (PPO, REINFORCE, RLOO, GRPO, REINFORCE++) with every role on one frozen backbone."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

from perl_lightning import checkpointing as ckpt
from perl_lightning.data.prompts import PromptBatch
from perl_lightning.models.adapters import LoRAConfig, as_lora_config, count_parameters
from perl_lightning.models.topology import Layout, PolicyModels, Role
from perl_lightning.modules.base import AdapterModule, token_budget
from perl_lightning.modules.episodes import EpisodeConfig, EpisodeRunner
from perl_lightning.modules.optim import OptimConfig, build_optimizer
from perl_lightning.modules.policy_eval import PolicyEvaluation
from perl_lightning.modules.policy_update import PolicyUpdate
from perl_lightning.modules.rl_steps import (
    dynamic_sampling,
    eval_mode,
    idle_steps,
    micro_batch_count,
    old_logprob_source,
    step_metrics,
)
from perl_lightning.profiling import PhaseMeter
from perl_lightning.rewards.layer import RewardResult, RewardSpec, build_rewards
from perl_lightning.rl.advantages import RunningMeanStd
from perl_lightning.rl.algorithms import AdvantageInputs, AlgorithmName, get_algorithm
from perl_lightning.rl.config import (
    EvalConfig,
    KLConfig,
    SamplingConfig,
    ShapingConfig,
    UpdateConfig,
    as_config,
)
from perl_lightning.rl.kl import AdaptiveKLController, FixedKLController
from perl_lightning.rl.masking import forward_tokens
from perl_lightning.rl.shaping import shape_scores, token_rewards
from perl_lightning.rl.types import Experience, Rollout

#: RL learning rates: LoRA needs ~10-20x the full fine-tuning rate; RL wants less than reward modelling.
RL_DEFAULT_LR = {"lora": 1e-4, "full": 5e-6}


class PolicyModule(PolicyEvaluation, PolicyUpdate, AdapterModule):
    """RLHF policy trained against weighted reward sources with an algorithm from ``rl.algorithms.ALGORITHMS``.

    Each training step (``trainer.global_step`` counts optimizer steps)::

        1. y ~ pi(.|x), k samples per prompt             (degenerate groups redrawn or dropped: update.zero_std)
        2. r(x, y) = sum_i w_i * source_i(x, y, row)      (reward adapters, reward models, functions)
        3. log pi_old(y|x), V(s_t)                        (V only for algorithms with a value model)
        4. log pi_ref(y|x)                                (adapters off / frozen initial adapter; skipped if KL off)
        5. shaped score; r_t = -beta * KL_t (+ score at the last token)
        6. advantages (the algorithm's estimator)
        7. update_epochs x num_minibatches clipped / policy-gradient steps (+ value loss)
        8. adapt beta

    Args:
        model: causal-LM base: hub id, local path, ``smollm2-135m-instruct`` or ``tiny-llama``.
        algorithm: ``ppo``, ``reinforce``, ``rloo``, ``grpo`` or ``reinforce_pp`` (REINFORCE++-baseline).
        lora: LoRA settings of the policy and value adapters; ``null`` fine-tunes the whole policy (separate layout).
        layout: ``hydra`` (one shared backbone) or ``separate`` (model copies for reference and value).
        init_policy_adapter: start the policy from this peft adapter (e.g. SFT); the reference is then a frozen copy.
        rewards: the reward sources and their weights (reward-model directories, ensembles, Python functions).
        shaping: normalisation, clipping, length and no-EOS penalties of the combined score.
        sampling: rollout sampling (max/min new tokens, temperature, top_p, top_k, stop strings).
        kl: KL estimator, placement (reward or loss), coefficient and its controller.
        update: samples per prompt, epochs, minibatches, clipping, loss aggregation, advantages, zero-std groups.
        optim: AdamW settings; ``learning_rate: null`` picks 1e-4 with LoRA, 5e-6 for full fine-tuning.
        evaluation: held-out sampling, seed and sample-table size.
        episodes: multi-turn RL: a task whose environment plays each prompt's row as an episode (policy turns and
            observations; only the policy's tokens are trained on); ``task: null`` (default) is single-turn.
        forward_batch_size: sequences per forward pass in the no-grad phases; ``None``: all at once.
        dtype: ``auto`` (bf16 with CUDA, else fp32), ``fp32``, ``bf16``, ``fp16``.
        gradient_checkpointing: trade compute for activation memory.
        save_dir: where ``policy/`` (and ``value/``) adapters are written at the end of fit; ``None`` uses
            ``<log_dir>/rl_adapters``.
        trust_remote_code: allow model code from the hub (off unless set).
    """

    adapter_dir_name = "rl_adapters"

    def __init__(
        self,
        model: str = "smollm2-135m-instruct",
        algorithm: AlgorithmName = "ppo",
        lora: LoRAConfig | None = LoRAConfig(dropout=0.0),  # noqa: B008 - a dataclass default read by LightningCLI
        layout: Layout = "hydra",
        init_policy_adapter: str | None = None,
        rewards: list[RewardSpec] | None = None,
        shaping: ShapingConfig = ShapingConfig(),  # noqa: B008 - dataclass defaults read by LightningCLI (copied)
        sampling: SamplingConfig = SamplingConfig(),  # noqa: B008
        kl: KLConfig = KLConfig(),  # noqa: B008
        update: UpdateConfig = UpdateConfig(),  # noqa: B008
        optim: OptimConfig = OptimConfig(),  # noqa: B008
        evaluation: EvalConfig = EvalConfig(),  # noqa: B008
        episodes: EpisodeConfig = EpisodeConfig(),  # noqa: B008
        forward_batch_size: int | None = None,
        dtype: str = "auto",
        gradient_checkpointing: bool = False,
        save_dir: str | None = None,
        trust_remote_code: bool = False,
    ) -> None:
        super().__init__()
        self.algo = get_algorithm(algorithm)
        self.lora, self.base_name, self.save_dir = as_lora_config(lora), model, save_dir
        self.shaping, self.sampling = as_config(ShapingConfig, shaping), as_config(SamplingConfig, sampling)
        self.kl, self.optim = as_config(KLConfig, kl), as_config(OptimConfig, optim)
        self.cfg = self.algo.resolve(as_config(UpdateConfig, update))
        self.evaluation = as_config(EvalConfig, evaluation)
        self.eval_sampling = self.evaluation.sampling or SamplingConfig(self.sampling.max_new_tokens, do_sample=False)
        self.reward_specs = [as_config(RewardSpec, s) for s in rewards or []]
        self.episodes = as_config(EpisodeConfig, episodes)
        self.store_hparams(lora=self.lora, rewards=self.reward_specs, shaping=self.shaping, sampling=self.sampling,
                           kl=self.kl, update=update, optim=self.optim, evaluation=self.evaluation,
                           episodes=self.episodes)  # fmt: skip
        self.automatic_optimization = False
        self.k = self.cfg.samples_per_prompt
        self.models = PolicyModels(model, self.lora, layout, init_policy_adapter, self.algo.needs_value(self.cfg),
                                   dtype, gradient_checkpointing, trust_remote_code)  # fmt: skip
        self.tokenizer = self.models.tokenizer
        self.processor = self.models.processor  # a vision-language model's (images -> pixels, image tokens); else None
        episode_task = self.episodes.build_task()
        self.runner = EpisodeRunner(episode_task, self.tokenizer, self.episodes) if episode_task else None
        self.rewards = build_rewards(self.reward_specs, self.models, dtype, forward_batch_size)
        self.models.set_modes()  # from_pretrained returns eval mode and Lightning keeps each submodule's mode
        self.learning_rate = self.optim.learning_rate or RL_DEFAULT_LR["lora" if self.lora is not None else "full"]
        self.kl_ctl = (AdaptiveKLController(self.kl.coef, self.kl.target, self.kl.horizon) if self.kl.adaptive
                       else FixedKLController(self.kl.coef))  # fmt: skip
        self.reward_stats, self.baseline_stats = RunningMeanStd(), RunningMeanStd()
        self.meter = PhaseMeter()  # time (and, under MemoryMonitor, peak memory) of each phase of a training step
        self.eval_samples: list[dict[str, Any]] = []  # the latest evaluation's sample table (SampleTable writes it)
        self.eval_records: list[dict[str, Any]] = []  # the latest evaluation, per held-out row (paired statistics)
        self._skipped = 0  # rollout batches without an update (every group degenerate)
        self._initial: dict[str, tuple[list[str], float, dict]] = {}  # held-out row -> initial responses, reward, row

    @property
    def model(self) -> torch.nn.Module:
        """The policy model (the shared backbone with its adapters in the hydra layout)."""
        return self.models.model

    # ---- phases --------------------------------------------------------------------------------------------------
    def generate(self, batch: PromptBatch, config: SamplingConfig, role: Role = "policy", k: int = 1) -> Rollout:
        """Sample ``k`` responses per prompt (samples of a prompt contiguous) from ``role``; with ``episodes`` ``k``
        multi-turn episodes per prompt (one rollout row each)."""
        if self.runner is not None:
            return self.runner(lambda ids, mask, prompts, rows, meta: self.models.generate(
                ids, mask, prompts, config, role, 1, rows, meta), batch, k)  # fmt: skip
        return self.models.generate(batch.input_ids, batch.attention_mask, batch.prompts, config, role, k,
                                    batch.row_ids, batch.metadata, batch.images)  # fmt: skip

    def logprobs(self, rollout: Rollout, role: Role, with_entropy: bool = False) -> list[torch.Tensor]:
        """No-grad log-probs (N, R) under ``role`` at the sampling temperature (and the entropy if asked)."""
        return self.models.logprobs(rollout, role, self.sampling.temperature, with_entropy,
                                    self.hparams.forward_batch_size, self.token_budget)  # fmt: skip

    @property
    def token_budget(self) -> int | None:
        """Padded tokens per no-grad forward (``update.micro_batch_tokens``); with several processes one pass, so that
        every rank runs as many (FSDP2 gathers parameters per forward)."""
        world = getattr(getattr(self, "_trainer", None), "world_size", 1)
        return token_budget(self.cfg.micro_batch_tokens, self.device) if world == 1 else None

    def micro_batches(self, rows: int, tokens: int) -> int:
        """Micro-batches of a minibatch of ``rows`` whose forward runs over ``tokens`` positions: the largest count
        over the ranks, so that every rank runs as many backward passes (DDP reduces gradients in each)."""
        count = micro_batch_count(rows, tokens, self.cfg, self.device)
        if getattr(getattr(self, "_trainer", None), "world_size", 1) > 1:
            count = int(self.all_gather(torch.tensor(count, device=self.device)).max())
        return min(count, rows)

    def score(self, rollout: Rollout) -> RewardResult:
        """Every reward source's scores and their weighted total (N,)."""
        return self.rewards(rollout)

    # ---- the RL step ---------------------------------------------------------------------------------------------
    def training_step(self, batch: PromptBatch, batch_idx: int) -> None:
        self.meter.reset()
        with eval_mode(self):
            with self.meter.phase("rollout"):  # 1. y ~ pi(.|x), k per prompt
                rollout = self.generate(batch, self.sampling, k=self.k)
            with self.meter.phase("scoring"):  # 2. r(x, y) from every reward source
                result = self.score(rollout)
            pad, world = self.tokenizer.pad_token_id, self.trainer.world_size
            rollout, result, groups = dynamic_sampling(batch, rollout, result, self.cfg, self._redraw, pad, world)
            if rollout is None:  # every group had equal rewards (update.zero_std: drop / resample)
                return self._skip_update(groups)
            self.meter.add_tokens(rollout.attention_mask.sum())  # prompt + generated, no padding
            source = self.old_logprob_source(rollout)
            if source == "sampler":  # 3. log pi_old(y|x): recorded while sampling, or from the update's forward
                old_logprobs, entropy = rollout.logprobs, rollout.entropy
            elif source == "recompute":
                with self.meter.phase("rollout"):
                    old_logprobs, entropy = self.logprobs(rollout, "policy", with_entropy=True)
            with self.meter.phase("rollout"):  # V(s_t)
                old_values = self.models.values(rollout, self.hparams.forward_batch_size, self.token_budget)
            ref_logprobs = None
            if self.kl.enabled:
                with self.meter.phase("reference"):  # 4. log pi_ref(y|x): adapters off (or the frozen initial adapter)
                    (ref_logprobs,) = self.logprobs(rollout, "reference")
        graph = None
        if source == "update":  # 3. one step on one micro-batch: pi_old = pi, the update's forward gives log pi_old
            with self.meter.phase("update"):
                graph = self.train_forward(rollout.sequences, rollout.attention_mask, rollout.prompt_length, True,
                                           rollout.images)  # fmt: skip
            old_logprobs, entropy = graph[0].detach(), graph[1].detach()
        mask = rollout.response_mask.float()  # (N, R)
        sh = self.shaping  # 5. shaped score; r_t = -beta KL_t (+ score at the last token)
        scores = shape_scores(result.total, rollout.lengths, rollout.ended,
                              self.reward_stats if sh.normalize else None, sh.clip, sh.length_penalty,
                              sh.no_eos_penalty)  # fmt: skip
        rewards = token_rewards(scores, old_logprobs, ref_logprobs, mask, self.kl.estimator, self.kl_ctl.value,
                                self.kl.placement == "reward")  # fmt: skip
        advantages, returns = self.algo.advantages(  # 6. the algorithm's advantage estimator
            AdvantageInputs(rewards.rewards, scores, old_values, mask, self.k, self.cfg, self.baseline_stats)
        )
        ref = old_logprobs if ref_logprobs is None else ref_logprobs
        exp = Experience(rollout.sequences, rollout.attention_mask, mask, old_logprobs, ref, old_values,
                         advantages, returns, rollout.images)  # fmt: skip
        with self.meter.phase("update"):  # 7. update_epochs x num_minibatches optimizer steps
            stats = self.update(exp, rollout.prompt_length, graph)
        if self.kl.enabled:  # 8. adapt beta, on the KL over all ranks: one beta for all
            kl = self.trainer.strategy.reduce(rewards.kl_k1.mean(), reduce_op="mean")
            self.kl_ctl.update(float(kl), n_steps=mask.shape[0] * self.trainer.world_size)
        in_loss = self.kl_ctl.value if self.kl.placement == "loss" and self.kl.enabled else 0.0
        metrics = {**step_metrics(rollout, result, scores, rewards, entropy, exp, in_loss, self.kl.enabled,
                                  self.models.value_head is not None),
                   **stats, **{f"rl/{k}": v for k, v in groups.items()}, "rl/kl_coef": self.kl_ctl.value,
                   "rl/update_skipped": 0.0,
                   **self.meter.time_metrics(("rollout", "scoring", "reference", "update"))}  # fmt: skip
        self.log_dict(metrics, on_step=True, on_epoch=False, batch_size=mask.shape[0], sync_dist=True)
        self.log_dict({"reward": metrics["rl/reward_mean"]}, prog_bar=True, logger=False, batch_size=mask.shape[0])

    def _redraw(self, batch: PromptBatch) -> tuple[Rollout, RewardResult]:
        """k fresh samples per prompt of ``batch``, scored (dynamic sampling's redraw)."""
        with self.meter.phase("rollout"):
            rollout = self.generate(batch, self.sampling, k=self.k)
        with self.meter.phase("scoring"):
            return rollout, self.score(rollout)

    def _skip_update(self, groups: dict[str, float]) -> None:
        """Every group tied (``update.zero_std``: drop / resample), nothing to learn: the batch still spends its
        optimizer steps, with no gradient (no weight moves), so a run of degenerate batches ends at ``max_steps``."""
        if not self._skipped:
            rank_zero_warn("every group of a batch had equal rewards: that batch makes no update (update.zero_std); "
                           "rl/update_skipped counts them")  # fmt: skip
        self._skipped += 1
        idle_steps(self.optimizers(), self.lr_schedulers(), self.cfg.update_epochs * self.cfg.num_minibatches)
        metrics = {**{f"rl/{k}": v for k, v in groups.items()}, "rl/update_skipped": 1.0}
        self.log_dict(metrics, on_step=True, on_epoch=False, batch_size=1)

    def old_logprob_source(self, rollout: Rollout) -> str:
        """Where this step's ``log pi_old`` comes from (``update.old_logprobs``; see
        :func:`~perl_lightning.modules.rl_steps.old_logprob_source`)."""
        fp32 = next(self.models.model.parameters()).dtype == torch.float32  # and no mixed precision:
        fp32 = fp32 and not torch.is_autocast_enabled(self.device.type)
        n = rollout.sequences.shape[0]
        tokens = forward_tokens(rollout.sequences, rollout.attention_mask, rollout.prompt_length)
        return old_logprob_source(self.cfg, rollout.logprobs is not None, fp32, self.micro_batches(n, tokens) == 1,
                                  self.models.value_head is not None)  # fmt: skip

    # ---- optimisation, identity, artefacts -----------------------------------------------------------------------
    def configure_optimizers(self) -> dict:
        o, trainer = self.optim, self.trainer
        per_batch = self.cfg.update_epochs * self.cfg.num_minibatches
        total = trainer.max_steps if trainer.max_steps > 0 else trainer.estimated_stepping_batches * per_batch
        return build_optimizer(self.models.trainable, self.learning_rate, o.weight_decay, o.schedule, o.warmup_ratio,
                               total)  # fmt: skip

    def on_fit_start(self) -> None:
        trainable, total = count_parameters(self)
        rank_zero_info(
            f"policy ({self.algo.name}, {self.models.layout}): {trainable:,} trainable / {total:,} parameters"
            f" ({100 * trainable / total:.2f}%), lr {self.learning_rate:g}, {len(self.rewards.sources)} reward sources"
        )

    def trainable_parameters(self) -> list[torch.nn.Parameter]:
        return self.models.trainable

    def base_config(self) -> Any:
        return self.models.model.config

    def configure_model(self) -> None:
        """FSDP2 under ``ModelParallelStrategy`` (see ``AdapterModule``); sharding replaces the parameters with
        ``DTensor`` ones, so the trainable list (optimizer, adapter switching) is collected again afterwards."""
        super().configure_model()
        self.models.freeze_all_but_trained()

    def fsdp_units(self) -> tuple[list[torch.nn.Module], list[torch.nn.Module]]:
        m = self.models
        heads = [m.value_head] if m.value_head is not None else []
        return [x for x in (m.model, m.value_model, m.reference_model) if x is not None], heads

    def identity_extras(self) -> dict[str, Any]:
        return {"layout": self.models.layout, "value": self.models.value_head is not None}

    def extra_state(self) -> dict[str, Any]:
        return {"kl_ctl": self.kl_ctl.state_dict(), "reward_stats": self.reward_stats.state_dict(),
                "baseline_stats": self.baseline_stats.state_dict()}  # fmt: skip

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.kl_ctl.load_state_dict(state["kl_ctl"])
        self.reward_stats.load_state_dict(state["reward_stats"])
        self.baseline_stats.load_state_dict(state["baseline_stats"])

    def write_adapters(self, path: Path) -> None:
        """``policy/`` (and ``value/`` with ``value_head.safetensors``) adapter directories under ``path``.

        Plain ``transformers`` + ``peft`` reload the policy: ``AutoModelForCausalLM.from_pretrained(base)`` then
        ``PeftModel.from_pretrained(model, path / "policy")``. A fully fine-tuned policy is saved whole.
        """
        meta = {
            "model": self.base_name,
            "base": ckpt.base_identity(self.base_name, self.base_config()),
            "algorithm": self.algo.name,
            "role": "causal-lm",
            "lora": asdict(self.lora) if self.lora else None,
        }
        self.models.write_adapters(path, meta)
