"""Rollout machinery: adapter switching, sampling with EOS truncation, log-probs, values, rewards and advantages.

Everything here is a function of models and tensors; ``PolicyModule`` only decides what to call when. The reward
sources are small ``nn.Module`` wrappers so Lightning moves their weights to the right device:

* :class:`AdapterReward`: a reward adapter on the policy's own (shared) backbone plus its score head.
* :class:`TextReward`: a reward model on its own backbone (e.g. MiniLM); responses are decoded and re-tokenized.
* :class:`FunctionReward`: a Python function ``(prompts, responses) -> list[float]`` for verifiable tasks.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import torch
from peft import LoraConfig, PeftModel, TaskType, set_peft_model_state_dict
from torch import nn
from transformers import GenerationConfig, PreTrainedModel, PreTrainedTokenizerBase

from perl_lightning.checkpointing import check_adapter_base
from perl_lightning.data.formatting import encode_prompt, encode_response, end_token_id, pad, truncate_pair
from perl_lightning.models.backbone import load_backbone, load_tokenizer, position_ids_from_mask, resolve_model_path
from perl_lightning.models.heads import (
    ScoreHead,
    adapter_base_model,
    is_peft_dir,
    last_token_index,
    read_reward_adapter,
)
from perl_lightning.rl.advantages import RunningMeanStd, gae, masked_sum, masked_whiten, rloo_advantages
from perl_lightning.rl.kl import kl_penalty
from perl_lightning.rl.losses import entropy_from_logits
from perl_lightning.rl.types import Rollout, SamplingConfig, Scores, TokenRewards

Algorithm = Literal["ppo", "reinforce", "rloo"]
Baseline = Literal["value", "mean", "none"]
EnsembleReduce = Literal["mean", "min", "mean_minus_std"]


# ---- adapters and forward passes -----------------------------------------------------------------------------------
@contextmanager
def use_adapter(model: nn.Module, name: str | None, trainable: Sequence[nn.Parameter] = ()) -> Iterator[nn.Module]:
    """Run ``model`` with one named adapter active, or with every adapter disabled (``name=None``).

    peft's ``set_adapter`` / ``disable_adapter`` also flip ``requires_grad`` (the active adapter becomes trainable,
    the others frozen); that would unfreeze the reward adapter and freeze the value adapter. The flags are therefore
    reset to exactly ``trainable`` on entry and on exit. A model that is not a ``PeftModel`` is used as it is.
    """
    if not isinstance(model, PeftModel):
        yield model
        return

    def fix_grads() -> None:
        keep = {id(p) for p in trainable}
        for p in model.parameters():
            if p.requires_grad != (id(p) in keep):
                p.requires_grad_(id(p) in keep)

    try:
        if name is None:
            with model.disable_adapter():
                fix_grads()
                yield model
        else:
            if model.active_adapter != name:
                model.set_adapter(name, inference_mode=True)
            fix_grads()
            yield model
    finally:
        fix_grads()


def causal_lm(model: nn.Module) -> PreTrainedModel:
    """The transformers ``*ForCausalLM`` inside a ``PeftModel`` (or the model itself)."""
    return model.get_base_model() if isinstance(model, PeftModel) else model


def last_hidden_state(model: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """The decoder body's final (normed) hidden states (N, T, H), as a ``*ForSequenceClassification`` head sees them.

    Skips the LM head, so no (N, T, vocab) logits are built for value and reward passes.
    """
    body = causal_lm(model).base_model  # e.g. LlamaModel
    out = body(
        input_ids=input_ids,
        attention_mask=attention_mask,
        position_ids=position_ids_from_mask(attention_mask),
        use_cache=False,
    )
    return out.last_hidden_state  # (N, T, H)


def response_logprobs(
    model: nn.Module,
    sequences: torch.Tensor,
    attention_mask: torch.Tensor,
    prompt_length: int,
    temperature: float = 1.0,
    with_entropy: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Log-probabilities of the response tokens (logits / temperature, as when sampling) and optionally entropy.

    Only the logits that predict response tokens are computed (``logits_to_keep``), through the model's own forward
    (so architecture details such as logit soft-capping apply).

    Args:
        model: causal LM (a ``PeftModel`` with the wanted adapter active, or a plain model).
        sequences: (N, P + R) prompt and response ids.
        attention_mask: (N, P + R).
        prompt_length: P.
        temperature: the sampling temperature.
        with_entropy: also return the per-token entropy.

    Returns:
        ``(logprobs, entropy)``: (N, R) float32 each; ``entropy`` is ``None`` unless asked for.
    """
    width = sequences.shape[1] - prompt_length  # R
    out = model(
        input_ids=sequences,
        attention_mask=attention_mask,
        position_ids=position_ids_from_mask(attention_mask),
        use_cache=False,
        logits_to_keep=width + 1,
    )
    logits = out.logits[:, :-1].float() / temperature  # (N, R, V): column j predicts response token j
    targets = sequences[:, prompt_length:]  # (N, R)
    logprobs = torch.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)  # (N, R)
    entropy = entropy_from_logits(logits) if with_entropy else None  # (N, R)
    return logprobs, entropy


def response_values(
    model: nn.Module, head: nn.Module, sequences: torch.Tensor, attention_mask: torch.Tensor, prompt_length: int
) -> torch.Tensor:
    """Values V(s_t) (N, R) of the states before each response token: the head on the hidden state at ``P + t - 1``."""
    hidden = last_hidden_state(model, sequences, attention_mask)  # (N, P + R, H)
    return head(hidden[:, prompt_length - 1 : -1])  # (N, R)


def in_chunks(n: int, size: int | None) -> list[slice]:
    """Row slices covering ``range(n)`` in pieces of at most ``size`` (all at once for ``None``)."""
    size = n if not size else size
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


# ---- sampling ------------------------------------------------------------------------------------------------------
def end_token_ids(tokenizer: PreTrainedTokenizerBase, model: nn.Module | None = None) -> list[int]:
    """Tokens that end a response: EOS (tokenizer and generation config) and the pad token when distinct."""
    ids: list[int] = []
    eos = end_token_id(tokenizer)
    if eos is not None:
        ids.append(eos)
    config_eos = getattr(getattr(causal_lm(model), "generation_config", None), "eos_token_id", None) if model else None
    for token in config_eos if isinstance(config_eos, list) else [config_eos]:
        if token is not None and token not in ids:
            ids.append(int(token))
    if tokenizer.pad_token_id is not None and tokenizer.pad_token_id not in ids:
        ids.append(tokenizer.pad_token_id)
    return ids


def truncate_after_end(responses: torch.Tensor, end_ids: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Mask everything after the first end token (the end token itself is kept: it is a sampled action).

    Args:
        responses: (N, R) sampled ids (``generate`` pads finished rows with the pad token).
        end_ids: ids that end a response.

    Returns:
        ``(response_mask, ended)``: (N, R) long mask and (N,) bool.
    """
    is_end = torch.isin(responses, torch.as_tensor(list(end_ids), device=responses.device))  # (N, R)
    ended = is_end.any(-1)  # (N,)
    ends_before = is_end.long().cumsum(-1) - is_end.long()  # (N, R) end tokens strictly before each position
    return (ends_before == 0).long(), ended


def cut_at_stop_strings(
    tokenizer: PreTrainedTokenizerBase,
    responses: torch.Tensor,
    response_mask: torch.Tensor,
    ended: torch.Tensor,
    stop_strings: Sequence[str],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Shorten responses to the first token whose text completes a stop string (that token is kept).

    Returns:
        Updated ``(response_mask, ended)``.
    """
    if not stop_strings:
        return response_mask, ended
    mask, ended = response_mask.clone(), ended.clone()
    for i in range(responses.shape[0]):
        n = int(mask[i].sum())
        ids = responses[i, :n].tolist()
        if not any(s in tokenizer.decode(ids) for s in stop_strings):
            continue
        lo, hi = 1, n  # smallest prefix length whose text contains a stop string
        while lo < hi:
            mid = (lo + hi) // 2
            if any(s in tokenizer.decode(ids[:mid]) for s in stop_strings):
                hi = mid
            else:
                lo = mid + 1
        mask[i, lo:] = 0
        ended[i] = True
    return mask, ended


@torch.no_grad()
def sample(
    model: nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    prompts: Sequence[str],
    config: SamplingConfig,
    end_ids: Sequence[int],
) -> Rollout:
    """Sample responses for left-padded prompts with ``generate`` (eval mode, KV cache) and mask after the end.

    Args:
        model: causal LM with the policy active.
        tokenizer: the policy's tokenizer (decoding, stop strings).
        input_ids: (N, P) left-padded prompts (already repeated for several samples per prompt).
        attention_mask: (N, P).
        prompts: N prompt texts.
        config: sampling settings.
        end_ids: tokens that end a response.
    """
    if input_ids.shape[0] and attention_mask[:, -1].min() == 0:
        raise ValueError("prompts must be LEFT-padded for generation (PromptDataModule does this)")
    knobs = dict(temperature=config.temperature, top_p=config.top_p, top_k=config.top_k) if config.do_sample else {}
    generation = GenerationConfig(
        max_new_tokens=config.max_new_tokens,
        min_new_tokens=config.min_new_tokens,
        do_sample=config.do_sample,
        eos_token_id=list(end_ids),
        pad_token_id=tokenizer.pad_token_id,
        use_cache=True,
        **knobs,
    )
    was_training = model.training
    model.eval()
    try:
        sequences = model.generate(input_ids=input_ids, attention_mask=attention_mask, generation_config=generation)
    finally:
        model.train(was_training)
    prompt_length = input_ids.shape[1]
    responses = sequences[:, prompt_length:]  # (N, R)
    response_mask, ended = truncate_after_end(responses, end_ids)  # (N, R), (N,)
    response_mask, ended = cut_at_stop_strings(tokenizer, responses, response_mask, ended, config.stop_strings)
    texts = [
        tokenizer.decode(row[mask.bool()].tolist(), skip_special_tokens=True)
        for row, mask in zip(responses, response_mask, strict=True)
    ]
    return Rollout(
        sequences=sequences,
        attention_mask=torch.cat([attention_mask, response_mask.to(attention_mask.dtype)], dim=1),
        response_mask=response_mask,
        ended=ended,
        prompt_length=prompt_length,
        prompts=list(prompts),
        responses=texts,
    )


# ---- reward sources ------------------------------------------------------------------------------------------------
class AdapterReward(nn.Module):
    """A reward adapter attached to the policy's shared backbone, with its score head.

    The LoRA weights from a ``RewardModelModule.save_adapter`` directory become one more named adapter of the
    causal-LM ``PeftModel``; the score head is applied to that backbone's final hidden state at the last real token.
    The base weights of a causal LM and of a sequence-classification model of the same checkpoint are the same, so
    the reward equals ``RewardModelModule``'s on the same tokens.

    Args:
        peft_model: the shared causal-LM ``PeftModel``.
        path: reward adapter directory.
        name: adapter name to register (``reward``, ``reward_1``, ...).
    """

    def __init__(self, peft_model: PeftModel, path: str | Path, name: str) -> None:
        super().__init__()
        files = read_reward_adapter(path)
        base = peft_model.get_base_model()
        check_adapter_base(path, files.base_model, base.config)  # same name: the architecture must match too
        keep = {k: v for k, v in files.peft_config.items() if k in LoraConfig.__dataclass_fields__}
        keep.update(task_type=TaskType.CAUSAL_LM, modules_to_save=None, inference_mode=True)
        peft_model.add_adapter(name, LoraConfig(**keep))
        result = set_peft_model_state_dict(peft_model, files.lora_state, adapter_name=name)
        missing = [k for k in result.missing_keys if f".{name}." in k]
        if missing:
            raise ValueError(f"{path}: reward adapter does not fit the policy backbone; missing e.g. {missing[:3]}")
        self.name = name
        self.path = str(files.path)
        self.head = ScoreHead.from_tensors(files.head_weight, files.head_bias)

    def forward(
        self, model: PeftModel, input_ids: torch.Tensor, attention_mask: torch.Tensor, trainable: Sequence = ()
    ) -> torch.Tensor:
        """Rewards (N,) of token sequences (N, T) in the policy's vocabulary, read at the last real token."""
        with use_adapter(model, self.name, trainable):
            return self.head(last_hidden_state(model, input_ids, attention_mask), attention_mask)


class TextReward(nn.Module):
    """A reward model on its own backbone (another architecture or tokenizer, or the ``separate`` layout).

    Loads a ``RewardModelModule`` output directory (peft adapter with score head, or a fully fine-tuned model) on
    its base, frozen. Text is formatted exactly as ``RewardModelModule.reward`` does (chat template when the RM's
    tokenizer has one, end token, prompt truncated from the start).

    Args:
        path: reward model directory.
        dtype: weights dtype.
        max_length: most tokens of prompt + response fed to the reward model.
    """

    def __init__(self, path: str | Path, dtype: str = "auto", max_length: int = 512) -> None:
        super().__init__()
        self.path = str(path)
        self.max_length = max_length
        self.tokenizer = load_tokenizer(self.path)
        if is_peft_dir(path):
            base = load_backbone(adapter_base_model(path), "sequence-classification", dtype, tokenizer=self.tokenizer)
            self.model = PeftModel.from_pretrained(base, self.path)
        else:
            self.model = load_backbone(self.path, "sequence-classification", dtype, tokenizer=self.tokenizer)
        self.model.requires_grad_(False).eval()

    def forward(self, prompts: Sequence[str], responses: Sequence[str]) -> torch.Tensor:
        """Rewards (N,) of (prompt, response) texts."""
        sequences = []
        for prompt, response in zip(prompts, responses, strict=True):
            p, r = truncate_pair(
                encode_prompt(self.tokenizer, prompt, True),
                encode_response(self.tokenizer, response, True),
                self.max_length,
                self.max_length // 2,
            )
            sequences.append(p + r)
        ids, mask = pad(sequences, self.tokenizer.pad_token_id)
        device = next(self.model.parameters()).device
        ids, mask = ids.to(device), mask.to(device)
        self.model.eval()
        out = self.model(input_ids=ids, attention_mask=mask, position_ids=position_ids_from_mask(mask))
        return out.logits[:, 0].float()  # (N,)


class FunctionReward:
    """A Python reward ``module:function(prompts: list[str], responses: list[str]) -> list[float]``.

    Args:
        path: dotted path, ``package.module:function`` (or ``package.module.function``).
    """

    def __init__(self, path: str) -> None:
        module_name, sep, attr = path.partition(":")
        if not sep:
            module_name, _, attr = path.rpartition(".")
        try:
            self.fn: Callable[[list[str], list[str]], Sequence[float]] = getattr(
                importlib.import_module(module_name), attr
            )
        except (ImportError, AttributeError, ValueError) as err:
            raise ValueError(f"reward_fn '{path}': cannot import it as 'module:function' ({err})") from err
        self.path = path

    def __call__(self, prompts: Sequence[str], responses: Sequence[str]) -> torch.Tensor:
        """Rewards (N,) as float32."""
        values = [float(v) for v in self.fn(list(prompts), list(responses))]
        if len(values) != len(responses):
            raise ValueError(f"reward_fn '{self.path}' returned {len(values)} rewards for {len(responses)} responses")
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"reward_fn '{self.path}' returned a non-finite reward: {values}")
        return torch.tensor(values, dtype=torch.float32)


def reduce_ensemble(scores: torch.Tensor, how: EnsembleReduce = "mean", std_coef: float = 1.0) -> torch.Tensor:
    """Combine the scores (M, N) of M reward models into (N,): ``mean``, ``min`` or ``mean - std_coef * std``."""
    if how == "mean":
        return scores.mean(0)
    if how == "min":
        return scores.min(0).values
    if how == "mean_minus_std":
        std = scores.std(0, unbiased=False) if scores.shape[0] > 1 else torch.zeros_like(scores[0])
        return scores.mean(0) - std_coef * std
    raise ValueError(f"unknown ensemble reduction '{how}'; use mean, min or mean_minus_std")


def build_reward_models(
    paths: Sequence[str], policy: nn.Module, policy_base: str, shared: bool, dtype: str = "auto", max_length: int = 512
) -> nn.ModuleList:
    """One reward source per directory: an :class:`AdapterReward` on the shared policy backbone when ``shared`` and
    the directory is a peft adapter trained on ``policy_base``; a :class:`TextReward` on its own backbone otherwise."""
    models = []
    for i, path in enumerate(paths):
        same_base = resolve_model_path(adapter_base_model(path)) == resolve_model_path(policy_base)
        if shared and same_base and is_peft_dir(path) and isinstance(policy, PeftModel):
            models.append(AdapterReward(policy, path, "reward" if i == 0 else f"reward_{i}"))
        else:
            models.append(TextReward(path, dtype, max_length))
    return nn.ModuleList(models)


@torch.no_grad()
def score_rollout(
    rollout: Rollout,
    reward_models: Sequence[nn.Module],
    policy: nn.Module,
    reward_fn: FunctionReward | None = None,
    reduce: EnsembleReduce = "mean",
    std_coef: float = 1.0,
    trainable: Sequence[nn.Parameter] = (),
    chunk: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Raw rewards (N,): the reward models' scores (M, N) reduced over the ensemble, plus ``reward_fn`` if given.

    Returns:
        ``(raw, members)``; ``members`` is zeros (1, N) when only ``reward_fn`` scores.
    """
    n = rollout.sequences.shape[0]
    device = rollout.sequences.device
    members = []
    for rm in reward_models:
        if isinstance(rm, AdapterReward):
            parts = [
                rm(policy, rollout.sequences[s], rollout.attention_mask[s], trainable) for s in in_chunks(n, chunk)
            ]
            members.append(torch.cat(parts))
        else:
            members.append(rm(rollout.prompts, rollout.responses).to(device))
    stacked = torch.stack(members) if members else torch.zeros(1, n, device=device)  # (M, N)
    raw = reduce_ensemble(stacked, reduce, std_coef)  # (N,)
    if reward_fn is not None:
        raw = raw + reward_fn(rollout.prompts, rollout.responses).to(device)
    return raw, stacked


# ---- rewards and advantages ----------------------------------------------------------------------------------------
def shape_scores(
    raw: torch.Tensor,
    members: torch.Tensor,
    lengths: torch.Tensor,
    ended: torch.Tensor,
    normalizer: RunningMeanStd | None = None,
    clip: float | None = None,
    length_penalty: float = 0.0,
    no_eos_penalty: float = 0.0,
) -> Scores:
    """Sequence rewards after (optional) running normalisation, clipping, a per-token length penalty and a penalty
    for responses that never end. ``normalizer`` is updated with ``raw`` first."""
    shaped = raw
    if normalizer is not None:
        normalizer.update(raw)
        shaped = normalizer.normalize(shaped)
    if clip is not None:
        shaped = shaped.clamp(-clip, clip)
    shaped = shaped - length_penalty * lengths.to(shaped) - no_eos_penalty * (~ended).to(shaped)
    return Scores(raw=raw, shaped=shaped, members=members)


def token_rewards(
    scores: torch.Tensor,
    logprobs: torch.Tensor,
    ref_logprobs: torch.Tensor,
    mask: torch.Tensor,
    estimator: str = "k1",
    kl_coef: float = 0.05,
    kl_in_reward: bool = True,
) -> TokenRewards:
    """Per-token rewards: ``-kl_coef * KL_t`` (when the KL is in the reward) plus the score at the last token.

    Args:
        scores: (N,) shaped sequence scores.
        logprobs: (N, R) policy log-probs of the sampled tokens.
        ref_logprobs: (N, R) reference log-probs.
        mask: (N, R) response mask.
        estimator: ``k1``, ``k2``, ``k3``, ``clamped``, ``jensen_shannon`` or ``none`` (see ``rl.kl.kl_penalty``).
        kl_coef: KL coefficient (the controller's current value).
        kl_in_reward: put the KL penalty in the reward (else it goes into the loss and is not added here).
    """
    mask = mask.to(logprobs.dtype)
    valid = mask != 0  # (N, R); whatever sits under the mask (even NaN) never reaches the rewards
    kl = torch.where(valid, kl_penalty(logprobs, ref_logprobs, estimator) * mask, torch.zeros_like(logprobs))
    kl_k1 = masked_sum(logprobs - ref_logprobs, mask, dim=-1)  # (N,)
    kl_k3 = masked_sum(kl_penalty(logprobs, ref_logprobs, "k3"), mask, dim=-1)  # (N,)
    rewards = -kl_coef * kl if kl_in_reward else torch.zeros_like(kl)  # (N, R)
    rows = torch.arange(rewards.shape[0], device=rewards.device)
    has_tokens = mask.any(-1).to(rewards.dtype)  # (N,) an empty response gets no score (no token to carry it)
    rewards = rewards.index_put((rows, last_token_index(mask)), scores.to(rewards.dtype) * has_tokens, accumulate=True)
    return TokenRewards(rewards=rewards, kl=kl, kl_k1=kl_k1, kl_k3=kl_k3)


def advantages_and_returns(
    algorithm: Algorithm,
    rewards: torch.Tensor,
    values: torch.Tensor,
    mask: torch.Tensor,
    gamma: float = 1.0,
    lam: float = 0.95,
    samples_per_prompt: int = 1,
    baseline: Baseline = "value",
    baseline_stats: RunningMeanStd | None = None,
    whiten: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Advantages and value targets, both (N, R), for one rollout batch.

    * ``ppo``: GAE(gamma, lambda) on the per-token rewards with the learned values.
    * ``reinforce``: discounted return-to-go minus a baseline: the learned value (``value``), a running mean of the
      sequence returns (``mean``, updated with this batch first) or none.
    * ``rloo``: the sequence return minus the mean return of the other samples of the same prompt (samples of a
      prompt contiguous), given to every token of the response.

    ``whiten`` normalises the advantages over the batch's valid tokens (zero mean, unit variance).
    """
    mask = mask.to(rewards.dtype)
    if algorithm == "ppo":
        advantages, returns = gae(rewards, values, mask, gamma, lam)
    else:
        returns, _ = gae(rewards, torch.zeros_like(rewards), mask, gamma, 1.0)  # (N, R) return-to-go
        if algorithm == "rloo":
            advantages = rloo_advantages(returns[:, 0], samples_per_prompt)[:, None] * mask  # (N, R)
        elif algorithm == "reinforce":
            if baseline == "value":
                advantages = (returns - values) * mask
            elif baseline == "mean":
                if baseline_stats is None:
                    raise ValueError("baseline 'mean' needs baseline_stats")
                baseline_stats.update(returns[:, 0])
                advantages = (returns - baseline_stats.mean) * mask
            else:
                advantages = returns
        else:
            raise ValueError(f"unknown algorithm '{algorithm}'; use ppo, reinforce or rloo")
    if whiten:
        advantages = masked_whiten(advantages, mask)
    return advantages, returns


# ---- example verifiable rewards (usable as ``reward_fn``) -----------------------------------------------------------
def newline_reward(prompts: Sequence[str], responses: Sequence[str]) -> list[float]:
    """Number of line breaks per response: a dense reward even a tiny random policy can learn (tests, smoke runs)."""
    return [float(r.count("\n")) for r in responses]


def brevity_reward(prompts: Sequence[str], responses: Sequence[str]) -> list[float]:
    """``-words / 10``: prefers short answers (a verifiable toy reward; watch it hack with empty responses)."""
    return [-len(r.split()) / 10 for r in responses]
