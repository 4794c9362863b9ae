"""The RL stage's settings, grouped as a user thinks of them: sampling, KL, score shaping, the update.

Plain dataclasses (no torch needed): ``PolicyModule`` takes one of each, LightningCLI parses them from YAML
(``model.init_args.kl.coef``), and ``perl fit --help`` prints their documented fields. Defaults that depend on the
algorithm (samples per prompt, update epochs, advantage whitening) are ``None`` here and filled in from the algorithm
table (:mod:`perl_lightning.rl.algorithms`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

T = TypeVar("T")

KLEstimator = Literal["k1", "k2", "k3", "clamped", "jensen_shannon", "none"]
LossAggregation = Literal["token_mean", "seq_mean_token_mean", "seq_mean_token_sum_norm"]


@dataclass
class SamplingConfig:
    """How responses are sampled.

    Attributes:
        max_new_tokens: most tokens per response.
        min_new_tokens: EOS is forbidden before this many tokens.
        temperature: softmax temperature; log-probs are recomputed with the same temperature.
        top_p: nucleus sampling threshold (1.0 disables).
        top_k: top-k sampling (0 disables).
        do_sample: sample (``True``) or decode greedily.
        stop_strings: extra strings that end a response (the response is cut after the first one).
        engine: ``lean`` (``models.decoding``: static KV cache, each prompt prefilled once for its k samples,
            ``generate``'s sampling and random draws on logits equal to float rounding, ~1.5x faster on CPU, and
            the sampler's log-probs kept for the update) or ``generate`` (transformers' ``generate``; also used for
            models the lean loop cannot drive: encoder-decoders, sliding-window attention, FSDP2-sharded models).
        merge_adapter: fold the sampling LoRA adapter into the base weights while sampling (no LoRA side matmuls)
            and put the original weight tensors back after (bit-identical).
    """

    max_new_tokens: int = 64
    min_new_tokens: int = 0
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    do_sample: bool = True
    stop_strings: list[str] = field(default_factory=list)
    engine: Literal["lean", "generate"] = "lean"
    merge_adapter: bool = True


@dataclass
class KLConfig:
    """Regularisation towards the reference policy (the frozen start: base or initial adapter).

    Attributes:
        estimator: per-token penalty: ``k1``, ``k2``, ``k3``, ``clamped``, ``jensen_shannon`` (Sun et al. 2023) or
            ``none``. ``none``, or ``coef: 0`` with a fixed controller, skips the reference forward pass entirely.
        placement: ``reward`` (``-coef * KL_t`` in the per-token reward, as in PPO-RLHF) or ``loss`` (``coef * k3``
            added to the policy loss, as in GRPO).
        coef: initial coefficient (beta).
        adaptive: adapt the coefficient towards ``target`` (Ziegler et al. 2019); else fixed.
        target: target KL per sequence (k1, nats) of the adaptive controller.
        horizon: horizon (samples) of the adaptive controller.
    """

    estimator: KLEstimator = "k1"
    placement: Literal["reward", "loss"] = "reward"
    coef: float = 0.05
    adaptive: bool = False
    target: float = 6.0
    horizon: int = 10000

    @property
    def enabled(self) -> bool:
        """Whether any KL term can be non-zero (else the reference log-probs are never needed)."""
        return self.estimator != "none" and self.coef != 0.0


@dataclass
class ShapingConfig:
    """What happens to the reward sources' combined score before it becomes the RL reward.

    Attributes:
        normalize: normalise scores by a running mean and std (kept across resumes).
        clip: clip scores (after normalisation) to ``[-clip, clip]``; ``None`` disables it.
        length_penalty: subtracted from the score per response token.
        no_eos_penalty: subtracted from the score of a response that never ends (no EOS within max_new_tokens).
    """

    normalize: bool = False
    clip: float | None = None
    length_penalty: float = 0.0
    no_eos_penalty: float = 0.0


@dataclass
class UpdateConfig:
    """How a scored rollout becomes advantages and optimizer steps.

    Attributes:
        samples_per_prompt: responses per prompt (k); ``None`` takes the algorithm's default (4 for the group
            algorithms, 1 for ``ppo`` and ``reinforce``).
        update_epochs: passes over each rollout batch; ``None``: the algorithm's default (4 for ``ppo``, else 1).
        num_minibatches: optimizer steps per pass.
        gradient_accumulation_steps: least micro-batches per optimizer step (one backward each; every micro-batch's
            loss weighted by its share of the batch's tokens or sequences, so the gradient is the whole batch's).
        micro_batch_tokens: most padded tokens per forward/backward in the update: a minibatch is split into equal
            micro-batches of at most this many (and at least ``gradient_accumulation_steps`` of them). ``auto``:
            512 on CPU (where small micro-batches cost no time and cut activation memory), whole minibatches on
            accelerators; ``null``: whole minibatches.
        old_logprobs: where ``log pi_old`` comes from: ``sampler`` (the log-probs the lean sampling loop recorded;
            no extra forward pass), ``recompute`` (a no-grad forward after sampling; when one update step on one
            micro-batch follows, the update's own forward serves, detached), or ``auto`` (``sampler`` with float32
            weights without mixed precision, where it equals a recomputation to ~1e-6; ``recompute`` in half or mixed
            precision, where the merged sampling weights round differently).
        clip_eps_low: lower ratio clip, ``ratio >= 1 - clip_eps_low``.
        clip_eps_high: upper ratio clip, ``ratio <= 1 + clip_eps_high``; ``None`` = ``clip_eps_low``. DAPO's
            clip-higher uses 0.28 with 0.2 below.
        importance_sampling_level: ``token`` (PPO / GRPO ratio per token) or ``sequence`` (GSPO: the geometric mean
            of the token ratios of a response, one ratio per sequence).
        loss_agg: ``token_mean`` (DAPO: mean over all valid tokens of the batch), ``seq_mean_token_mean`` (GRPO
            paper: per response, then over responses) or ``seq_mean_token_sum_norm`` (Dr. GRPO: token sum divided by
            ``sampling.max_new_tokens``, then the mean over responses).
        value_clip: value clipping range of algorithms that clip values (PPO); ``None`` disables it.
        vf_coef: weight of the value loss.
        entropy_coef: weight of the entropy bonus.
        gamma: discount factor.
        lam: GAE lambda (PPO).
        whiten_advantages: normalise advantages over the batch's valid tokens; ``None``: the algorithm's default
            (on, except for ``grpo`` whose group normalisation is the scaling).
        baseline: REINFORCE baseline: ``value`` (learned value adapter), ``mean`` (running mean) or ``none``.
        scale_rewards: GRPO's advantage scale: ``group`` (group std), ``batch`` (batch std) or ``none`` (Dr. GRPO).
        zero_std: groups whose k raw scores are all equal have zero advantage: ``keep`` them (they only count in
            ``rl/zero_std_fraction``), ``drop`` them from the update, or ``resample`` them (draw the group again, up
            to ``max_resamples`` times, then drop what is still degenerate; DAPO's dynamic sampling).
        max_resamples: most re-draws of degenerate groups per step with ``zero_std: resample``.
    """

    samples_per_prompt: int | None = None
    update_epochs: int | None = None
    num_minibatches: int = 1
    gradient_accumulation_steps: int = 1
    micro_batch_tokens: int | Literal["auto"] | None = "auto"
    old_logprobs: Literal["auto", "sampler", "recompute"] = "auto"
    clip_eps_low: float = 0.2
    clip_eps_high: float | None = None
    importance_sampling_level: Literal["token", "sequence"] = "token"
    loss_agg: LossAggregation = "token_mean"
    value_clip: float | None = 0.2
    vf_coef: float = 0.1
    entropy_coef: float = 0.0
    gamma: float = 1.0
    lam: float = 0.95
    whiten_advantages: bool | None = None
    baseline: Literal["value", "mean", "none"] = "value"
    scale_rewards: Literal["group", "batch", "none"] = "group"
    zero_std: Literal["keep", "drop", "resample"] = "keep"
    max_resamples: int = 2


@dataclass
class EvalConfig:
    """Evaluation on held-out prompts (``val/`` metrics and the sample table).

    Attributes:
        sampling: sampling for evaluation; ``None``: greedy with the training length.
        seed: seed of sampled evaluation (the same responses at every evaluation).
        num_samples: rows of the sample table (prompt, before, after, rewards).
        samples_per_prompt: responses sampled per held-out prompt (``sampling`` must sample); a prompt's reward,
            KL and task metrics are the means over its samples ("avg@k", the pass@1 estimate of reasoning RL),
            which measures the sampling policy RL trains rather than its mode alone.
    """

    sampling: SamplingConfig | None = None
    seed: int = 1234
    num_samples: int = 8
    samples_per_prompt: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.sampling, dict):
            self.sampling = SamplingConfig(**self.sampling)
        if self.samples_per_prompt < 1:
            raise ValueError(f"evaluation.samples_per_prompt must be >= 1, got {self.samples_per_prompt}")
        if self.samples_per_prompt > 1 and (self.sampling is None or not self.sampling.do_sample):
            raise ValueError(
                f"evaluation.samples_per_prompt={self.samples_per_prompt} needs a sampling evaluation "
                "(evaluation.sampling with do_sample: true): greedy decoding gives the same response every time"
            )

    def describe(self) -> str:
        """How held-out prompts are answered, in words: ``greedy`` or ``mean of k samples at temperature T``."""
        if self.sampling is None or not self.sampling.do_sample:
            return "greedy"
        return f"mean of {self.samples_per_prompt} samples at temperature {self.sampling.temperature:g}"


def as_config(cls: type[T], value: T | dict[str, Any] | None) -> T:
    """A config dataclass from a copy of itself (modules never share a default instance), a plain mapping (YAML, a
    checkpoint's hparams) or ``None`` (defaults)."""
    if value is None:
        return cls()
    if isinstance(value, cls):
        return copy.deepcopy(value)
    return cls(**dict(value))  # type: ignore[arg-type]
