"""PolicyModule: LoRA RL (PPO, REINFORCE, RLOO) with policy, value, reward and reference on one frozen backbone."""

from __future__ import annotations

import copy
import csv
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, Literal

import lightning as L
import torch
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_info
from peft import PeftModel, TaskType, get_peft_model

from perl_lightning import checkpointing as ckpt
from perl_lightning.data.prompts import PromptBatch
from perl_lightning.io import atomic_directory
from perl_lightning.models.adapters import LoRAConfig, as_lora_config, count_parameters, to_peft_config
from perl_lightning.models.backbone import load_backbone, load_tokenizer, resolve_model_path
from perl_lightning.models.heads import ValueHead, is_peft_dir, write_adapter_dir
from perl_lightning.modules.optim import Schedule, build_optimizer
from perl_lightning.profiling import PhaseMeter
from perl_lightning.rl import rollout as R
from perl_lightning.rl.advantages import RunningMeanStd, masked_mean, masked_var
from perl_lightning.rl.kl import AdaptiveKLController, FixedKLController, kl_penalty
from perl_lightning.rl.losses import ppo_policy_loss, reinforce_loss, value_loss
from perl_lightning.rl.types import Experience, Rollout, SamplingConfig, Scores, TokenRewards

#: RL learning rates: LoRA needs ~10-20x the full fine-tuning rate; RL wants less than reward modelling.
RL_DEFAULT_LR = {"lora": 1e-4, "full": 5e-6}


def _as_sampling(value: SamplingConfig | dict) -> SamplingConfig:
    """A ``SamplingConfig`` from itself or from a plain mapping (YAML, a checkpoint's hparams)."""
    return value if isinstance(value, SamplingConfig) else SamplingConfig(**dict(value))


TABLE_COLUMNS = ["prompt", "before", "after", "reward_before", "reward_after"]


class PolicyModule(L.LightningModule):
    """RLHF policy trained with PPO, REINFORCE (with a baseline) or RLOO against a frozen reward.

    Hydra layout (default): the causal-LM base is loaded once and carries named LoRA adapters: ``policy`` (trained),
    ``value`` (trained, with a value head; for PPO and REINFORCE's learned baseline) and ``reward`` (frozen, from the
    reward-model stage, with its score head). The reference is the base with adapters disabled, or a frozen copy
    (``reference``) of ``init_policy_adapter``. ``layout: separate`` keeps conventional separate model copies for
    reference, value and reward (and allows ``lora: null``, full fine-tuning) for comparisons. Reward models whose
    base differs from ``model`` (e.g. ``minilm-l6``) always run on their own backbone from decoded text.

    Each training step: sample -> score -> reference log-probs -> KL-shaped rewards -> advantages -> clipped update
    (``update_epochs`` x ``num_minibatches`` optimizer steps; ``trainer.global_step`` counts optimizer steps).

    Args:
        model: causal-LM base: hub id, local path, ``smollm2-135m-instruct`` or ``tiny-llama``.
        algorithm: ``ppo`` (GAE, clipped ratio and value loss), ``reinforce`` (policy gradient with a baseline) or
            ``rloo`` (``samples_per_prompt`` samples, leave-one-out baseline).
        lora: LoRA settings of the policy and value adapters; ``null`` fine-tunes the whole policy (separate layout).
        layout: ``hydra`` (one shared backbone) or ``separate`` (model copies for reference, value, reward).
        init_policy_adapter: start the policy from this peft adapter (e.g. SFT); the reference is then a frozen copy.
        reward_adapter: reward-model directory (``RewardModelModule.save_adapter``) or a list of them (an ensemble).
        reward_fn: Python reward ``module:function(prompts, responses) -> list[float]``, added to the adapters' reward.
        ensemble_reduce: how several reward adapters combine: ``mean``, ``min`` or ``mean_minus_std``.
        ensemble_std_coef: lambda of ``mean - lambda * std``.
        reward_max_length: most tokens a separate-backbone reward model reads.
        sampling: rollout sampling (max/min new tokens, temperature, top_p, top_k, stop strings).
        samples_per_prompt: responses per prompt; ``None``: 4 for ``rloo``, else 1.
        kl_estimator: per-token KL penalty: ``k1``, ``k2``, ``k3``, ``clamped``, ``jensen_shannon`` or ``none``.
        kl_in: ``reward`` (penalty in the per-token reward) or ``loss`` (k3 added to the policy loss).
        kl_coef: initial KL coefficient.
        adaptive_kl: adapt the coefficient towards ``kl_target`` (Ziegler et al.); else fixed.
        kl_target: target KL per sequence (k1, nats) of the adaptive controller.
        kl_horizon: horizon (samples) of the adaptive controller.
        normalize_rewards: normalise scores by running mean and std.
        reward_clip: clip scores (after normalisation) to ``[-reward_clip, reward_clip]``.
        length_penalty: subtracted from the score per response token.
        no_eos_penalty: subtracted from the score of a response that never ends (no EOS within max_new_tokens).
        gamma: discount factor.
        lam: GAE lambda (PPO).
        whiten_advantages: normalise advantages over the batch.
        baseline: REINFORCE baseline: ``value`` (learned value adapter), ``mean`` (running mean) or ``none``.
        update_epochs: passes over each rollout batch; ``None``: 4 for ``ppo``, else 1.
        num_minibatches: optimizer steps per pass.
        gradient_accumulation_steps: micro-batches per optimizer step.
        clip_eps: PPO ratio clipping range.
        value_clip: value clipping range; ``null`` disables it.
        vf_coef: weight of the value loss.
        entropy_coef: weight of the entropy bonus.
        loss_agg: ``token_mean`` or ``seq_mean``.
        max_grad_norm: gradient-norm clipping; ``null`` disables it.
        learning_rate: AdamW learning rate; ``None``: 1e-4 with LoRA, 5e-6 for full fine-tuning.
        weight_decay: AdamW weight decay.
        schedule: ``constant``, ``cosine`` or ``linear`` after warmup (per optimizer step).
        warmup_ratio: fraction of the optimizer steps spent in warmup.
        eval_sampling: sampling for evaluation; ``None``: greedy with the training lengths.
        eval_seed: seed of sampled evaluation (the same responses every evaluation).
        num_eval_samples: rows of the sample table (prompt, before, after, rewards) sent to the logger.
        forward_batch_size: sequences per forward pass in the no-grad phases; ``None``: all at once.
        dtype: ``auto`` (bf16 with CUDA, else fp32), ``fp32``, ``bf16``, ``fp16``.
        gradient_checkpointing: trade compute for activation memory.
        save_dir: where the ``policy`` and ``value`` adapter directories are written at the end of fit; ``None``
            uses ``<log_dir>/rl_adapters``.
        trust_remote_code: allow model code from the hub (off unless set).
    """

    def __init__(
        self,
        model: str = "smollm2-135m-instruct",
        algorithm: R.Algorithm = "ppo",
        lora: LoRAConfig | None = LoRAConfig(dropout=0.0),  # noqa: B008 - a dataclass default read by LightningCLI
        layout: Literal["hydra", "separate"] = "hydra",
        init_policy_adapter: str | None = None,
        reward_adapter: str | list[str] | None = None,
        reward_fn: str | None = None,
        ensemble_reduce: R.EnsembleReduce = "mean",
        ensemble_std_coef: float = 1.0,
        reward_max_length: int = 512,
        sampling: SamplingConfig = SamplingConfig(),  # noqa: B008
        samples_per_prompt: int | None = None,
        kl_estimator: Literal["k1", "k2", "k3", "clamped", "jensen_shannon", "none"] = "k1",
        kl_in: Literal["reward", "loss"] = "reward",
        kl_coef: float = 0.05,
        adaptive_kl: bool = False,
        kl_target: float = 6.0,
        kl_horizon: int = 10000,
        normalize_rewards: bool = False,
        reward_clip: float | None = None,
        length_penalty: float = 0.0,
        no_eos_penalty: float = 0.0,
        gamma: float = 1.0,
        lam: float = 0.95,
        whiten_advantages: bool = True,
        baseline: R.Baseline = "value",
        update_epochs: int | None = None,
        num_minibatches: int = 1,
        gradient_accumulation_steps: int = 1,
        clip_eps: float = 0.2,
        value_clip: float | None = 0.2,
        vf_coef: float = 0.1,
        entropy_coef: float = 0.0,
        loss_agg: Literal["token_mean", "seq_mean"] = "token_mean",
        max_grad_norm: float | None = 1.0,
        learning_rate: float | None = None,
        weight_decay: float = 0.0,
        schedule: Schedule = "constant",
        warmup_ratio: float = 0.0,
        eval_sampling: SamplingConfig | None = None,
        eval_seed: int = 1234,
        num_eval_samples: int = 8,
        forward_batch_size: int | None = None,
        dtype: str = "auto",
        gradient_checkpointing: bool = False,
        save_dir: str | None = None,
        trust_remote_code: bool = False,
    ) -> None:
        super().__init__()
        self.lora = as_lora_config(lora)
        self.sampling = _as_sampling(sampling)
        greedy = SamplingConfig(max_new_tokens=self.sampling.max_new_tokens, do_sample=False)
        self.eval_sampling = _as_sampling(eval_sampling) if eval_sampling else greedy
        self.save_hyperparameters(ignore=["lora", "sampling", "eval_sampling"])
        for key, value in (("lora", self.lora), ("sampling", self.sampling), ("eval_sampling", eval_sampling)):
            self.hparams[key] = asdict(value) if is_dataclass(value) else value  # plain types: weights_only loads
        self.automatic_optimization = False
        self.strict_loading = False  # checkpoints hold only the trainable parameters
        self.k = samples_per_prompt or (4 if algorithm == "rloo" else 1)
        self.update_epochs = update_epochs or (4 if algorithm == "ppo" else 1)
        self.uses_value = algorithm == "ppo" or (algorithm == "reinforce" and baseline == "value")
        self._check_args()
        self.learning_rate = learning_rate or RL_DEFAULT_LR["lora" if self.lora is not None else "full"]
        self.tokenizer = load_tokenizer(model, trust_remote_code)
        base = load_backbone(model, "causal-lm", dtype, tokenizer=self.tokenizer, trust_remote_code=trust_remote_code)
        if gradient_checkpointing:
            base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        self.reference_model = self.value_model = None
        if layout == "separate":
            self.reference_model = self._frozen_reference(copy.deepcopy(base))
            if self.uses_value:
                self.value_model = self._wrap(copy.deepcopy(base), "value")
        self.model = self._wrap(base, "policy", init_policy_adapter)
        if self.uses_value and self.value_model is None:
            self.model.add_adapter("value", to_peft_config(self.lora, base, TaskType.CAUSAL_LM))
        self.value_head = ValueHead(base.config.hidden_size) if self.uses_value else None
        paths = [reward_adapter] if isinstance(reward_adapter, str) else list(reward_adapter or [])
        self.reward_models = R.build_reward_models(
            paths, self.model, model, layout == "hydra", dtype, reward_max_length
        )
        self.reward_fn = R.FunctionReward(reward_fn) if reward_fn else None
        self._trainable = self._collect_trainable()
        self.eval()  # from_pretrained returns eval mode and Lightning keeps each submodule's mode: set them here
        for trained in (self.model, self.value_model, self.value_head):
            if trained is not None:
                trained.train()
        self.end_ids = R.end_token_ids(self.tokenizer, base)
        self.kl_ctl = (
            AdaptiveKLController(kl_coef, kl_target, kl_horizon) if adaptive_kl else FixedKLController(kl_coef)
        )
        self.reward_stats, self.baseline_stats = RunningMeanStd(), RunningMeanStd()
        self.history: list[dict[str, float]] = []  # per training step: the logged rl/ and time/ metrics
        self.meter = PhaseMeter()  # time (and, under MemoryMonitor, peak memory) of each phase of a training step
        self.samples: list[dict[str, Any]] = []  # the latest evaluation's sample table
        self._initial: dict[str, tuple[str, float]] = {}  # held-out prompt -> (initial policy's response, reward)
        self.saved_adapters: Path | None = None

    # ---- construction --------------------------------------------------------------------------------------------
    def _check_args(self) -> None:
        hp = self.hparams
        if hp.layout == "hydra" and self.lora is None:
            raise ValueError("layout 'hydra' shares one backbone between LoRA adapters; lora: null needs 'separate'")
        if hp.algorithm == "rloo" and self.k < 2:
            raise ValueError("rloo needs samples_per_prompt >= 2 (the leave-one-out baseline)")
        if not hp.reward_adapter and not hp.reward_fn:
            raise ValueError("no reward: set reward_adapter (a reward-model directory) and/or reward_fn")

    def _wrap(self, base: torch.nn.Module, name: str, init_adapter: str | None = None) -> torch.nn.Module:
        """The policy / value model: the base with a named LoRA adapter (or an initial adapter), or fully trained."""
        if init_adapter is not None:
            if not is_peft_dir(init_adapter):
                raise ValueError(f"init_policy_adapter {init_adapter}: not a peft adapter directory")
            ckpt.check_adapter_base(init_adapter, self.hparams.model, base.config)
            model = PeftModel.from_pretrained(base, init_adapter, adapter_name=name, is_trainable=True)
            if self.hparams.layout == "hydra":
                model.load_adapter(init_adapter, adapter_name="reference", is_trainable=False)
            if self.lora is None:
                model = model.merge_and_unload()
        elif self.lora is not None:
            return get_peft_model(base, to_peft_config(self.lora, base, TaskType.CAUSAL_LM), adapter_name=name)
        else:
            model = base
        return model.requires_grad_(True) if self.lora is None else model

    def _frozen_reference(self, base: torch.nn.Module) -> torch.nn.Module:
        if self.hparams.init_policy_adapter:
            base = PeftModel.from_pretrained(base, self.hparams.init_policy_adapter).merge_and_unload()
        return base.requires_grad_(False).eval()

    def _collect_trainable(self) -> list[torch.nn.Parameter]:
        """Policy and value adapters (or whole models without LoRA) and the value head; everything else frozen."""
        trainable: list[torch.nn.Parameter] = []
        for model, names in ((self.model, ("policy", "value")), (self.value_model, ("value",))):
            if model is None:
                continue
            pattern = re.compile(rf"\.lora_\w+\.({'|'.join(names)})\.")
            trainable += [p for n, p in model.named_parameters() if self.lora is None or pattern.search(n)]
        trainable += list(self.value_head.parameters()) if self.value_head is not None else []
        keep = {id(p) for p in trainable}
        for p in self.parameters():
            p.requires_grad_(id(p) in keep)
        return trainable

    # ---- roles ---------------------------------------------------------------------------------------------------
    @contextmanager
    def role(self, name: Literal["policy", "value", "reference"]) -> Iterator[torch.nn.Module]:
        """The model playing ``name``, with the right adapter active (and trainable flags kept intact)."""
        if name == "reference" and self.reference_model is not None:
            yield self.reference_model
            return
        model = self.value_model if name == "value" and self.value_model is not None else self.model
        adapter = {"policy": "policy", "value": "value"}.get(name)
        if name == "reference" and self.hparams.init_policy_adapter:
            adapter = "reference"
        with R.use_adapter(model, adapter, self._trainable) as active:
            yield active

    @contextmanager
    def _timed(self, phase: str) -> Iterator[None]:
        with self.meter.phase(phase):
            yield

    # ---- rollout phases ------------------------------------------------------------------------------------------
    def generate(self, batch: PromptBatch, config: SamplingConfig, role: str = "policy", k: int = 1) -> Rollout:
        """Sample ``k`` responses per prompt (samples of a prompt contiguous) from ``role``."""
        ids, mask = batch.input_ids.repeat_interleave(k, 0), batch.attention_mask.repeat_interleave(k, 0)  # (N, P)
        prompts = [p for p in batch.prompts for _ in range(k)]
        with self.role(role) as model:
            return R.sample(model, self.tokenizer, ids, mask, prompts, config, self.end_ids)

    @torch.no_grad()
    def _chunked(self, fn, rollout: Rollout) -> list[torch.Tensor]:
        parts = [fn(s) for s in R.in_chunks(rollout.sequences.shape[0], self.hparams.forward_batch_size)]
        return [torch.cat(p) for p in zip(*parts, strict=True)]

    def logprobs(self, rollout: Rollout, role: str, with_entropy: bool = False) -> list[torch.Tensor]:
        """No-grad log-probs (N, R) of the response tokens under ``role`` (and the entropy (N, R) if asked)."""
        args = (rollout.sequences, rollout.attention_mask)

        def fn(s: slice) -> tuple[torch.Tensor, ...]:
            with self.role(role) as model:
                lp, ent = R.response_logprobs(
                    model, *(a[s] for a in args), rollout.prompt_length, self.sampling.temperature, with_entropy
                )
            return (lp,) if ent is None else (lp, ent)

        return self._chunked(fn, rollout)

    def values(self, rollout: Rollout) -> torch.Tensor:
        """No-grad values (N, R), zeros without a value model."""
        if not self.uses_value:
            return torch.zeros_like(rollout.response_mask, dtype=torch.float32)

        def fn(s: slice) -> tuple[torch.Tensor]:
            with self.role("value") as model:
                seq, am = rollout.sequences[s], rollout.attention_mask[s]
                return (R.response_values(model, self.value_head, seq, am, rollout.prompt_length),)

        return self._chunked(fn, rollout)[0]

    def score(self, rollout: Rollout) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw rewards (N,) (ensemble-reduced, plus ``reward_fn``) and each reward model's scores (M, N)."""
        hp = self.hparams
        return R.score_rollout(rollout, self.reward_models, self.model, self.reward_fn, hp.ensemble_reduce,
                               hp.ensemble_std_coef, self._trainable, hp.forward_batch_size)  # fmt: skip

    @contextmanager
    def _eval_mode(self) -> Iterator[None]:
        modes = {m: m.training for m in self.modules()}  # frozen parts stay in eval mode afterwards
        self.eval()
        try:
            yield
        finally:
            for module, training in modes.items():
                module.training = training

    # ---- the RL step ---------------------------------------------------------------------------------------------
    def training_step(self, batch: PromptBatch, batch_idx: int) -> None:
        self.meter.reset()
        with self._eval_mode():
            with self._timed("rollout"):  # 1. y ~ pi(.|x); log pi_old(y|x); V(s_t)
                rollout = self.generate(batch, self.sampling, k=self.k)
                self.meter.add_tokens(rollout.attention_mask.sum())  # prompt + generated, no padding
                old_logprobs, entropy = self.logprobs(rollout, "policy", with_entropy=True)
                old_values = self.values(rollout)
            with self._timed("scoring"):  # 2. r(x, y); normalised, clipped, length and no-EOS penalties
                scores = self.shaped_scores(rollout)
            with self._timed("reference"):  # 3. log pi_ref(y|x): adapters off (or the frozen initial adapter)
                (ref_logprobs,) = self.logprobs(rollout, "reference")
        mask = rollout.response_mask.float()  # (N, R)
        rewards = self.token_rewards(scores.shaped, old_logprobs, ref_logprobs, mask)  # 4. r_t = -beta KL_t (+ r)
        advantages, returns = self.advantages(rewards.rewards, old_values, mask)  # 5. GAE | baseline | RLOO
        exp = Experience(rollout.sequences, rollout.attention_mask, mask, old_logprobs, ref_logprobs, old_values,
                         advantages, returns)  # fmt: skip
        with self._timed("update"):  # 6. update_epochs x num_minibatches clipped / policy-gradient steps
            stats = self.update(exp, rollout.prompt_length)
        kl = self.trainer.strategy.reduce(rewards.kl_k1.mean(), reduce_op="mean")  # over all ranks: one beta for all
        self.kl_ctl.update(float(kl), n_steps=mask.shape[0] * self.trainer.world_size)  # 7. adapt beta
        self._log_step(rollout, scores, rewards, entropy, exp, stats)

    def shaped_scores(self, rollout: Rollout) -> Scores:
        """Raw rewards and shaped sequence scores (running normalisation, clipping, length / no-EOS penalties)."""
        hp = self.hparams
        raw, members = self.score(rollout)
        stats = self.reward_stats if hp.normalize_rewards else None
        return R.shape_scores(raw, members, rollout.lengths, rollout.ended, stats, hp.reward_clip, hp.length_penalty,
                              hp.no_eos_penalty)  # fmt: skip

    def token_rewards(
        self, scores: torch.Tensor, logprobs: torch.Tensor, ref_logprobs: torch.Tensor, mask: torch.Tensor
    ) -> TokenRewards:
        """Per-token rewards (N, R) with the current KL coefficient (KL left out when ``kl_in: loss``)."""
        hp = self.hparams
        return R.token_rewards(scores, logprobs, ref_logprobs, mask, hp.kl_estimator, self.kl_ctl.value,
                               hp.kl_in == "reward")  # fmt: skip

    def advantages(
        self, rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Advantages and value targets (N, R) for the configured algorithm."""
        hp = self.hparams
        return R.advantages_and_returns(hp.algorithm, rewards, values, mask, hp.gamma, hp.lam, self.k, hp.baseline,
                                        self.baseline_stats, hp.whiten_advantages)  # fmt: skip

    def _log_step(self, rollout: Rollout, scores: Scores, rewards: TokenRewards, entropy: torch.Tensor,
                  exp: Experience, stats: dict[str, torch.Tensor]) -> None:  # fmt: skip
        mask = exp.response_mask
        in_loss = self.kl_ctl.value * rewards.kl_k3 if self.hparams.kl_in == "loss" else 0.0
        seq_reward = rewards.rewards.sum(-1) - in_loss  # (N,) total reward of each response
        metrics = {
            "rl/reward_mean": seq_reward.mean(), "rl/reward_std": seq_reward.std(unbiased=False),
            "rl/score_mean": scores.raw.mean(), "rl/kl": rewards.kl_k1.mean(), "rl/kl_k3": rewards.kl_k3.mean(),
            "rl/kl_coef": self.kl_ctl.value, "rl/entropy": masked_mean(entropy, mask),
            "rl/response_length": rollout.lengths.float().mean(), "rl/no_eos_fraction": (~rollout.ended).float().mean(),
            **stats, **self.meter.time_metrics(("rollout", "scoring", "reference", "update")),  # + time/tokens_per_s
        }  # fmt: skip
        if self.uses_value:  # the share of the returns' variance the value model explains
            residual = masked_var(exp.returns - exp.old_values, mask) / masked_var(exp.returns, mask).clamp_min(1e-8)
            metrics["rl/explained_variance"] = 1 - residual
        if scores.members.shape[0] > 1:  # reward-ensemble disagreement: grows when the policy exploits one member
            metrics["rl/reward_ensemble_std"] = scores.members.std(0, unbiased=False).mean()
        self.log_dict(metrics, on_step=True, on_epoch=False, batch_size=mask.shape[0], sync_dist=True)  # all ranks
        self.log_dict({"reward": metrics["rl/reward_mean"], "kl": metrics["rl/kl"]}, prog_bar=True, logger=False)
        self.history.append({k: float(v) for k, v in metrics.items()})

    def update(self, exp: Experience, prompt_length: int) -> dict[str, torch.Tensor]:
        """Optimise the policy (and value) on one experience batch; returns mean loss statistics."""
        hp, opt, sched = self.hparams, self.optimizers(), self.lr_schedulers()
        n = exp.sequences.shape[0]
        sums: dict[str, torch.Tensor] = {}
        micro_steps = 0
        for _ in range(self.update_epochs):
            order = torch.randperm(n, device=exp.sequences.device)
            for minibatch in order.chunk(min(hp.num_minibatches, n)):
                micro = minibatch.chunk(min(hp.gradient_accumulation_steps, len(minibatch)))
                for idx in micro:
                    loss, stats = self.loss(Experience(*(t[idx] for t in exp)), prompt_length)
                    self.manual_backward(loss / len(micro))
                    for key, v in stats.items():
                        sums[key] = sums.get(key, 0.0) + v
                    micro_steps += 1
                if hp.max_grad_norm is not None:
                    self.clip_gradients(opt, gradient_clip_val=hp.max_grad_norm, gradient_clip_algorithm="norm")
                opt.step()
                opt.zero_grad(set_to_none=True)
                if sched is not None:
                    sched.step()
        return {k: v / max(micro_steps, 1) for k, v in sums.items()}

    def loss(self, exp: Experience, prompt_length: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Policy loss (+ KL in the loss, - entropy bonus) + vf_coef * value loss on one micro-batch."""
        hp, mask = self.hparams, exp.response_mask
        with self.role("policy") as model:
            logprobs, entropy = R.response_logprobs(
                model, exp.sequences, exp.attention_mask, prompt_length, self.sampling.temperature, hp.entropy_coef > 0
            )
        if hp.algorithm == "ppo":
            loss, stats = ppo_policy_loss(logprobs, exp.old_logprobs, exp.advantages, mask, hp.clip_eps, hp.loss_agg)
        else:
            loss = reinforce_loss(logprobs, exp.advantages, mask, hp.loss_agg)
            log_ratio = (logprobs - exp.old_logprobs).detach()
            stats = {
                "clipfrac": torch.zeros((), device=mask.device),
                "approx_kl": masked_mean(0.5 * log_ratio**2, mask),
            }
        stats = {"rl/policy_loss": loss.detach(), "rl/clipfrac": stats["clipfrac"], "rl/approx_kl": stats["approx_kl"]}
        if hp.kl_in == "loss":
            loss = loss + self.kl_ctl.value * masked_mean(kl_penalty(logprobs, exp.ref_logprobs, "k3"), mask)
        if entropy is not None:
            loss = loss - hp.entropy_coef * masked_mean(entropy, mask)
        if self.uses_value:
            with self.role("value") as model:
                values = R.response_values(model, self.value_head, exp.sequences, exp.attention_mask, prompt_length)
            clip = hp.value_clip if hp.algorithm == "ppo" else None
            v_loss, _ = value_loss(values, exp.old_values, exp.returns, mask, clip)
            loss = loss + hp.vf_coef * v_loss
            stats["rl/value_loss"] = v_loss.detach()
        return loss, stats

    # ---- evaluation ----------------------------------------------------------------------------------------------
    def validation_step(self, batch: PromptBatch, batch_idx: int) -> None:
        """Held-out prompts: reward of the current policy vs the initial one (cached), win rate, KL, samples.

        Logs ``val/reward``, ``val/reward_initial``, ``val/win_rate`` (ties count half), ``val/kl`` (summed
        ``log pi - log pi_ref`` of the evaluation responses: a KL estimate when ``eval_sampling`` samples; with greedy
        decoding only a drift indicator), ``val/response_length`` and ``val/no_eos_fraction``.
        """
        seed = self.hparams.eval_seed + batch_idx
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            after = self.generate(batch, self.eval_sampling)
        reward_after, _ = self.score(after)
        missing = [i for i, p in enumerate(batch.prompts) if p not in self._initial]
        if missing:  # the initial policy (= the reference) answers each held-out prompt once per run
            sub = PromptBatch(
                batch.input_ids[missing], batch.attention_mask[missing], [batch.prompts[i] for i in missing]
            )
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(seed)
                before = self.generate(sub, self.eval_sampling, role="reference")
            for prompt, text, reward in zip(sub.prompts, before.responses, self.score(before)[0].tolist(), strict=True):
                self._initial[prompt] = (text, reward)
        reward_before = torch.tensor([self._initial[p][1] for p in batch.prompts], device=reward_after.device)
        (policy_lp,), (ref_lp,) = self.logprobs(after, "policy"), self.logprobs(after, "reference")
        kl = ((policy_lp - ref_lp) * after.response_mask).sum(-1)  # (B,)
        wins = (reward_after > reward_before).float() + 0.5 * (reward_after == reward_before).float()
        n = len(batch.prompts)
        self.log_dict(
            {
                "val/reward": reward_after.mean(),
                "val/reward_initial": reward_before.mean(),
                "val/win_rate": wins.mean(),
                "val/kl": kl.mean(),
                "val/response_length": after.lengths.float().mean(),
                "val/no_eos_fraction": (~after.ended).float().mean(),
            },
            batch_size=n,
            prog_bar=False,
            sync_dist=True,  # under DDP: the mean over every rank's prompts
        )
        for i in range(min(n, self.hparams.num_eval_samples - len(self._rows))):
            p = batch.prompts[i]
            self._rows.append([p, self._initial[p][0], after.responses[i], self._initial[p][1], float(reward_after[i])])

    def on_validation_epoch_start(self) -> None:
        self._rows: list[list[Any]] = []

    def on_validation_epoch_end(self) -> None:
        self.samples = [dict(zip(TABLE_COLUMNS, row, strict=True)) for row in self._rows]
        log_dir = self.trainer.log_dir  # a broadcast under DDP: every rank must ask, not only rank 0
        if not self._rows or self.trainer.sanity_checking or not self.trainer.is_global_zero:
            return
        if isinstance(self.logger, WandbLogger):
            self.logger.log_table(key="val/samples", columns=TABLE_COLUMNS, data=self._rows, step=self.global_step)
            return
        root = Path(log_dir or self.trainer.default_root_dir) / "samples"
        root.mkdir(parents=True, exist_ok=True)
        with open(root / f"step_{self.global_step:06d}.csv", "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([TABLE_COLUMNS, *self._rows])

    # ---- optimisation and checkpoints ----------------------------------------------------------------------------
    def configure_optimizers(self) -> dict:
        hp, trainer = self.hparams, self.trainer
        per_batch = self.update_epochs * hp.num_minibatches
        total = trainer.max_steps if trainer.max_steps > 0 else trainer.estimated_stepping_batches * per_batch
        return build_optimizer(
            self._trainable, self.learning_rate, hp.weight_decay, hp.schedule, hp.warmup_ratio, total
        )

    def on_fit_start(self) -> None:
        trainable, total = count_parameters(self)
        rank_zero_info(
            f"policy ({self.hparams.algorithm}, {self.hparams.layout}): {trainable:,} trainable / {total:,} parameters"
            f" ({100 * trainable / total:.2f}%), lr {self.learning_rate:g}, {len(self.reward_models)} reward model(s)"
        )

    def identity(self) -> dict[str, Any]:
        """What a checkpoint of this module depends on: module, base model, adapter config, layout, reward models."""
        hp = self.hparams
        return {
            "module": type(self).__name__,
            **ckpt.base_identity(hp.model, self.model.config),
            "lora": asdict(self.lora) if self.lora is not None else None,
            "layout": hp.layout,
            "value": self.uses_value,
        }

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        """The trainable entries of ``state_dict()``: policy / value adapters and the value head."""
        ids = {id(p) for p in self._trainable}
        keep = {name for name, p in self.named_parameters() if id(p) in ids}
        return ckpt.trainable_only(self.state_dict(), keep)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Keep only trainable parameters (never a frozen base or reward), the controllers' state and the RNGs."""
        checkpoint["state_dict"] = ckpt.trainable_only(checkpoint["state_dict"], set(self.trainable_state_dict()))
        rl_state = {
            "kl_ctl": self.kl_ctl.state_dict(),
            "reward_stats": self.reward_stats.state_dict(),
            "baseline_stats": self.baseline_stats.state_dict(),
        }
        ckpt.save_extras(checkpoint, self.identity(), {"rl": rl_state})

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Refuse a checkpoint of another base, adapter config or layout; restore controllers and RNG states."""
        state = ckpt.load_extras(checkpoint, self.identity(), self.trainable_state_dict())["rl"]
        self.kl_ctl.load_state_dict(state["kl_ctl"])
        self.reward_stats.load_state_dict(state["reward_stats"])
        self.baseline_stats.load_state_dict(state["baseline_stats"])

    def on_train_end(self) -> None:
        log_dir = self.trainer.log_dir  # a broadcast under DDP: every rank must ask, not only rank 0
        with ckpt.full_parameters(self.trainer):  # under FSDP every rank gathers; rank zero writes
            if self.trainer.is_global_zero:
                root = self.hparams.save_dir or Path(log_dir or self.trainer.default_root_dir) / "rl_adapters"
                self.saved_adapters = self.save_adapters(root)
                rank_zero_info(f"policy / value adapters saved to {self.saved_adapters}")

    def save_adapters(self, path: str | Path) -> Path:
        """Write ``policy/`` (and ``value/`` with ``value_head.safetensors``) adapter directories, atomically.

        Plain ``transformers`` + ``peft`` reload the policy: ``AutoModelForCausalLM.from_pretrained(base)`` then
        ``PeftModel.from_pretrained(model, path / "policy")``. A fully fine-tuned policy is saved whole.
        """
        hp, path = self.hparams, Path(path)
        meta = {"model": hp.model, "base": ckpt.base_identity(hp.model, self.model.config), "algorithm": hp.algorithm,
                "role": "causal-lm", "lora": asdict(self.lora) if self.lora else None}  # fmt: skip
        base = resolve_model_path(hp.model)
        with atomic_directory(path) as tmp:
            write_adapter_dir(
                tmp / "policy", self.model, "policy", base, self.tokenizer, {**meta, "stage": "rl_policy"}
            )
            if self.uses_value:
                model = self.value_model or self.model
                meta = {**meta, "stage": "rl_value"}
                write_adapter_dir(tmp / "value", model, "value", base, self.tokenizer, meta, head=self.value_head)
        return path
