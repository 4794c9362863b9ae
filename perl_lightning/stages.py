"""The three stages of PE-RLHF as functions: LoRA SFT, the LoRA reward model, LoRA RL; each measures its held-out
metrics before and after training. ``perl pipeline`` chains them; notebooks and benchmarks call them directly.

SFT trains a LoRA policy on the task's demonstrations (held-out perplexity before/after). The reward model trains on
the task's preference pairs (Bradley-Terry, held-out pairwise accuracy) or rated responses (pointwise, held-out
accuracy / AUROC / ECE). RL starts the policy from the SFT adapter when there is one (the reference is then that frozen
adapter), scores with the reward adapter on the same frozen backbone (Hydra layout), and reports on held-out prompts
the reward, KL to the initial policy, win rate and the task's own metrics (ROUGE, well-formed turns, ...) before and
after.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import lightning as L
from lightning.pytorch.loggers import CSVLogger

from perl_lightning.callbacks.stage_progress import StageProgressBar
from perl_lightning.data.preference import PreferenceDataModule
from perl_lightning.data.prompts import PromptDataModule
from perl_lightning.data.rated import RatedDataModule
from perl_lightning.data.scenes import SceneCaptionDataModule
from perl_lightning.data.sft import SFTDataModule
from perl_lightning.io import atomic_write
from perl_lightning.models.adapters import LoRAConfig
from perl_lightning.models.embedded import SMOLLM2, SMOLLM2_VLM, embedded_vlm_dir
from perl_lightning.models.embedded_vlm import VisionSpec
from perl_lightning.modules.episodes import EpisodeConfig
from perl_lightning.modules.optim import OptimConfig
from perl_lightning.modules.policy import PolicyModule
from perl_lightning.modules.reward_model import RewardModelModule
from perl_lightning.modules.sft import SFTModule
from perl_lightning.modules.vision_align import VisionAlignModule
from perl_lightning.rewards.layer import RewardSpec
from perl_lightning.rl.algorithms import AlgorithmName
from perl_lightning.rl.config import EvalConfig, KLConfig, SamplingConfig, ShapingConfig, UpdateConfig
from perl_lightning.tasks import Task, get_task


def logged_steps(logger: CSVLogger) -> list[dict[str, str]]:
    """The training-step rows of a finished run's ``metrics.csv``: those with ``rl/reward_mean``, and those of batches
    that made no update (``rl/update_skipped``: every group degenerate)."""
    logger.save()
    with open(Path(logger.log_dir) / "metrics.csv", newline="", encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle) if row.get("rl/reward_mean") or row.get("rl/update_skipped")]


#: Each stage's label on its progress bar (or plain progress lines) and the logged metrics shown there.
PROGRESS: dict[str, tuple[str, tuple[str, ...]]] = {
    "align": ("align", ("train/loss=loss",)),
    "sft": ("SFT", ("train/loss=loss",)),
    "reward_model": ("RM", ("train/loss=loss",)),  # its accuracy metric objects reach callback_metrics per epoch only
    "policy": ("RL", ("rl/reward_mean=reward", "rl/kl=kl", "rl/response_length=length")),
}


def _quiet_trainer(stage: str, **kwargs) -> L.Trainer:
    label, keys = PROGRESS[stage]
    return L.Trainer(accelerator="auto", devices=1, enable_model_summary=False, enable_checkpointing=False,
                     callbacks=[StageProgressBar(label, keys)], **kwargs)  # fmt: skip


def _fit_trainer(out: Path, name: str, steps: int, **kwargs) -> tuple[L.Trainer, CSVLogger]:
    logger = CSVLogger(str(out), name=name)
    trainer = _quiet_trainer(name, max_steps=steps, logger=logger, limit_val_batches=0, num_sanity_val_steps=0,
                             val_check_interval=None, check_val_every_n_epoch=None, **kwargs)  # fmt: skip
    return trainer, logger


def _validate(module: L.LightningModule, dm: L.LightningDataModule, stage: str, out: Path) -> dict[str, float]:
    """The held-out metrics; anything the module's callbacks write (e.g. a sample table) goes under ``out``."""
    metrics = _quiet_trainer(stage, logger=False, default_root_dir=str(out)).validate(module, dm, verbose=False)[0]
    return {k: float(v) for k, v in metrics.items()}


@dataclass
class _Measured:
    before: dict[str, float]  # the held-out metrics before training
    after: dict[str, float]
    seconds: float  # of training alone
    trainer: L.Trainer
    items_before: list = field(default_factory=list)  # the module's eval_records (per held-out item) before training
    items_after: list = field(default_factory=list)
    scores_before: list = field(default_factory=list)  # the module's eval_scores (a reward model's per-item rewards)
    scores_after: list = field(default_factory=list)


def _measured_fit(
    module: L.LightningModule, dm: L.LightningDataModule, out: Path, name: str, steps: int, log_every_n_steps: int
) -> _Measured:
    """Validate, fit ``steps`` steps (timed), validate again; each validation's per-item records (the module's
    ``eval_records``, when it keeps them) are kept too."""
    before = _validate(module, dm, name, out)
    items_before, scores_before = list(getattr(module, "eval_records", [])), list(getattr(module, "eval_scores", []))
    trainer, _ = _fit_trainer(out, name, steps, log_every_n_steps=log_every_n_steps)
    start = time.perf_counter()
    trainer.fit(module, dm)
    seconds = time.perf_counter() - start
    after = _validate(module, dm, name, out)
    items_after, scores_after = list(getattr(module, "eval_records", [])), list(getattr(module, "eval_scores", []))
    return _Measured(before, after, seconds, trainer, items_before, items_after, scores_before, scores_after)


@dataclass
class AlignStageResult:
    """What the embedded VLM's alignment pre-stage produced (held-out scenes; see ``VisionAlignModule``)."""

    model_dir: Path
    seconds: float
    steps: int
    before: dict[str, float]  # val/ metrics of the untrained tower
    after: dict[str, float]


def run_align_stage(
    out: Path,
    steps: int = 3000,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    vision: VisionSpec | None = None,
    save_dir: Path | None = None,
    language_model: str = SMOLLM2,
    val_scenes: int = 256,
    seed: int = 0,
    combos: Literal["all", "seen"] = "all",
) -> AlignStageResult:
    """Align a vision tower and projector to the frozen language model (``VisionAlignModule``) and write the VLM to
    ``save_dir`` (default: the cache directory of ``smollm2-135m-vlm``); slot-decoding accuracy before and after.
    ``combos``: the training scenes' colour-shape combinations (``SceneCaptionDataModule``)."""
    L.seed_everything(seed, verbose=False)
    module = VisionAlignModule(language_model, vision, learning_rate, save_dir=str(save_dir) if save_dir else None)
    dm = SceneCaptionDataModule(batch_size=batch_size, val_scenes=val_scenes, seed=seed, combos=combos)
    run = _measured_fit(module, dm, out, "align", steps, log_every_n_steps=25)
    module.last_metrics = {k: round(v, 4) for k, v in run.after.items()}
    assert module.saved_adapters is not None
    atomic_write(module.saved_adapters / "alignment.json", module.alignment_record())  # with the final metrics
    return AlignStageResult(module.saved_adapters, run.seconds, run.trainer.global_step, run.before, run.after)


def ensure_embedded_vlm(out: Path, steps: int = 3000, seed: int = 0) -> Path:
    """The directory of ``smollm2-135m-vlm``, running the alignment pre-stage first if it was never built."""
    target = embedded_vlm_dir()
    if not (target / "config.json").is_file():
        print(f"{SMOLLM2_VLM} is not built yet: running its alignment pre-stage ({steps} steps) into {target}")
        run_align_stage(out / "align", steps=steps, seed=seed)
    return target


@dataclass
class SFTStageResult:
    """What the SFT stage produced (held-out demonstrations)."""

    perplexity_before: float
    perplexity_after: float
    adapter_dir: Path
    seconds: float
    steps: int
    held_out: int = 0  # held-out demonstrations
    nll_before: list[float] = field(default_factory=list)  # per held-out demonstration: mean response-token NLL
    nll_after: list[float] = field(default_factory=list)


def run_sft_stage(
    out: Path,
    task: str | Task,
    model: str = "smollm2-135m-instruct",
    data: str | None = None,
    steps: int = 30,
    batch_size: int = 8,
    max_length: int = 256,
    lora_rank: int = 8,
    learning_rate: float | None = None,
    seed: int = 0,
    limit: int | None = None,
    val_limit: int | None = None,
    target_modules: list[str] | None = None,
) -> SFTStageResult:
    """LoRA SFT on the task's demonstrations (the first ``limit`` of each split); held-out perplexity before and
    after (on at most ``val_limit`` held-out demonstrations). ``target_modules``: the LoRA targets (``None``: the
    architecture's attention projections)."""
    L.seed_everything(seed, verbose=False)
    lora = LoRAConfig(r=lora_rank, alpha=2 * lora_rank, dropout=0.0, target_modules=target_modules)
    module = SFTModule(model=model, lora=lora, learning_rate=learning_rate, save_dir=str(out / "sft_adapter"))
    dm = SFTDataModule(
        task=task, path=data, batch_size=batch_size, max_length=max_length, seed=seed, limit=limit, val_limit=val_limit
    )
    run = _measured_fit(module, dm, out, "sft", steps, log_every_n_steps=5)
    assert module.saved_adapters is not None
    return SFTStageResult(run.before["val/perplexity"], run.after["val/perplexity"], module.saved_adapters,
                          run.seconds, run.trainer.global_step, len(dm.encoded["val"]), run.items_before,
                          run.items_after)  # fmt: skip


@dataclass
class RewardStageResult:
    """What the reward-model stage produced (held-out pairs or ratings)."""

    accuracy_before: float
    accuracy_after: float
    adapter_dir: Path
    seconds: float
    steps: int
    objective: str = "pairwise"
    before: dict[str, float] = field(default_factory=dict)  # every val/ metric before training
    after: dict[str, float] = field(default_factory=dict)
    held_out: int = 0  # held-out pairs, or rated responses
    positives: int = 0  # held-out liked responses (pointwise)
    negatives: int = 0  # held-out disliked responses (pointwise)
    correct_before: list[float] = field(default_factory=list)  # per held-out pair / rated response (as the accuracy)
    correct_after: list[float] = field(default_factory=list)
    scores_before: list[tuple[float, float]] = field(default_factory=list)  # per item: (chosen, rejected) rewards,
    scores_after: list[tuple[float, float]] = field(default_factory=list)  # or (reward, label) when pointwise


def run_reward_stage(
    out: Path,
    model: str = "smollm2-135m-instruct",
    data: str | None = None,
    steps: int = 60,
    batch_size: int = 8,
    max_length: int = 256,
    lora_rank: int = 8,
    learning_rate: float | None = None,
    seed: int = 0,
    task: str | Task | None = None,
    objective: Literal["pairwise", "pointwise"] | None = None,
    val_fraction: float = 0.1,
    limit: int | None = None,
    bad_rows: Literal["error", "skip"] = "error",
    max_prompt_length: int | None = None,
    head_init: Literal["zero", "normal", "probe"] | None = None,
    balance: bool | None = None,
    val_limit: int | None = None,
) -> RewardStageResult:
    """Train a LoRA reward model and measure its held-out metrics before and after.

    ``objective`` defaults to the task's feedback: Bradley-Terry on pairs, or binary cross-entropy on ratings.
    ``head_init`` is the reward model's (``probe``: linear probing then fine-tuning); ``balance`` trains on balanced
    rounds of ratings (pointwise only, see ``RatedDataModule``). ``None`` picks, for the pointwise objective, both
    (``probe`` and balanced rounds: what makes a short run on lopsided thumbs data rank above chance, see
    ``tests/modules/test_reward_model_taskmaster.py``), and for pairs a zero head. ``val_limit``: at most this many
    held-out pairs (pairwise only).
    """
    L.seed_everything(seed, verbose=False)
    pointwise_task = task is not None and get_task(task).feedback == "pointwise"
    objective = objective or ("pointwise" if pointwise_task else "pairwise")
    head_init = head_init or ("probe" if objective == "pointwise" else "zero")
    balance = objective == "pointwise" if balance is None else balance
    module = RewardModelModule(model=model, lora=LoRAConfig(r=lora_rank, alpha=2 * lora_rank, dropout=0.05),
                               learning_rate=learning_rate, objective=objective, head_init=head_init,
                               save_dir=str(out / "reward_adapter"))  # fmt: skip
    if balance and objective != "pointwise":
        raise ValueError("balance oversamples the rarer rating: it is a pointwise setting")
    kinds = {"pointwise": RatedDataModule, "pairwise": PreferenceDataModule}
    extra = {"balance": True} if balance else {}
    if val_limit is not None:
        if objective != "pairwise":
            raise ValueError("val_limit caps held-out pairs: a pairwise setting")
        extra["val_limit"] = val_limit
    dm = kinds[objective](task=task, path=data, batch_size=batch_size, max_length=max_length, seed=seed,
                          val_fraction=val_fraction, limit=limit, bad_rows=bad_rows,
                          max_prompt_length=max_prompt_length, **extra)  # fmt: skip
    run = _measured_fit(module, dm, out, "reward_model", steps, log_every_n_steps=5)
    assert module.saved_adapters is not None
    labels = [float(e.label) for e in dm.examples["val"]] if objective == "pointwise" else []
    positives = sum(label >= 0.5 for label in labels)
    return RewardStageResult(run.before["val/accuracy"], run.after["val/accuracy"], module.saved_adapters,
                             run.seconds, run.trainer.global_step, objective, run.before, run.after,
                             len(dm.encoded["val"]), positives, len(labels) - positives, run.items_before,
                             run.items_after, run.scores_before, run.scores_after)  # fmt: skip


@dataclass
class RLStageResult:
    """What the RL stage produced on its held-out prompts (``evaluation`` says how they were answered)."""

    reward_before: float
    reward_after: float
    kl_before: float  # 0: the policy starts as its reference (the base, or a frozen copy of the SFT adapter)
    kl_after: float
    win_rate: float
    samples: list[dict]
    adapter_dir: Path
    seconds: float
    rollouts: int
    phase_seconds: dict[str, float]
    task_metrics: dict[str, tuple[float, float]] = field(default_factory=dict)  # name -> (initial, final)
    records: list[dict] = field(default_factory=list)  # per held-out prompt: rewards, KL, task metrics (and _initial)
    metrics_csv: Path | None = None  # the training steps' logged metrics (reward, KL, length curves)
    evaluation: str = "greedy"  # how held-out prompts were answered: greedy, or "mean of k samples at temperature T"
    heldout: str = ""  # which prompts were held out (a split of the source, or a fraction of the prompts)


def _evaluation(
    num_samples: int, samples: int, temperature: float | None, rollout_temperature: float, max_new_tokens: int
) -> EvalConfig:  # fmt: skip
    """Greedy held-out evaluation, or ``samples`` responses per prompt at ``temperature`` (default: the rollouts')."""
    if samples == 1 and temperature is None:
        return EvalConfig(num_samples=num_samples)
    sampling = SamplingConfig(max_new_tokens=max_new_tokens, temperature=temperature or rollout_temperature)
    return EvalConfig(sampling=sampling, num_samples=num_samples, samples_per_prompt=samples)


def run_rl_stage(
    out: Path,
    reward_adapter: Path | None,
    model: str = "smollm2-135m-instruct",
    prompts: str | None = None,
    rollouts: int = 12,
    batch_size: int = 4,
    samples_per_prompt: int = 2,
    max_new_tokens: int = 48,
    learning_rate: float = 2e-4,
    kl_coef: float = 0.05,
    eval_prompts: int = 8,
    seed: int = 0,
    task: str | Task | None = None,
    init_policy_adapter: Path | None = None,
    rewards: list[RewardSpec] | None = None,
    algorithm: AlgorithmName = "rloo",
    episodes: EpisodeConfig | None = None,
    max_prompt_length: int = 192,
    val_split: str | None = None,
    temperature: float = 0.9,
    zero_std: Literal["keep", "drop", "resample"] = "keep",
    num_samples: int = 3,
    val_fraction: float = 0.1,
    eval_samples: int = 1,
    eval_temperature: float | None = None,
) -> RLStageResult:
    """Train a LoRA policy (RLOO by default) against the reward adapter on the same backbone (or ``rewards``: e.g.
    a task's programmatic reward, or both weighted), from the SFT adapter if given; ``episodes`` makes it multi-turn;
    ``zero_std`` is what happens to groups whose samples all score the same (see ``UpdateConfig``); ``num_samples``:
    held-out samples (prompt, before, after) kept in the result; ``val_fraction``: prompts held out when the data
    has no held-out split of its own (then at most ``eval_prompts`` of them are evaluated); ``eval_samples``: responses
    sampled per held-out prompt at ``eval_temperature`` (default: the rollouts'), whose mean is that prompt's figure
    (with 1 and no ``eval_temperature``: greedy)."""
    L.seed_everything(seed, verbose=False)
    policy = PolicyModule(
        model=model,
        algorithm=algorithm,
        lora=LoRAConfig(r=8, alpha=16),
        init_policy_adapter=str(init_policy_adapter) if init_policy_adapter else None,
        rewards=rewards or [RewardSpec(str(reward_adapter))],
        episodes=episodes or EpisodeConfig(),
        sampling=SamplingConfig(max_new_tokens=max_new_tokens, temperature=temperature),
        kl=KLConfig(coef=kl_coef),
        shaping=ShapingConfig(no_eos_penalty=1.0),
        update=UpdateConfig(samples_per_prompt=samples_per_prompt, zero_std=zero_std),
        optim=OptimConfig(learning_rate=learning_rate, schedule="constant"),
        evaluation=_evaluation(num_samples, eval_samples, eval_temperature, temperature, max_new_tokens),
        save_dir=str(out / "rl_adapters"),
    )
    path = prompts if prompts is not None or task is not None else "builtin:prompts"
    dm = PromptDataModule(task=task, path=path, batch_size=batch_size, eval_batch_size=min(eval_prompts, 32),
                          val_limit=eval_prompts, max_prompt_length=max_prompt_length, seed=seed,
                          val_split=val_split, val_fraction=val_fraction)  # fmt: skip
    trainer, logger = _fit_trainer(out, "policy", rollouts, log_every_n_steps=1)  # rloo: one update per rollout
    start = time.perf_counter()
    trainer.fit(policy, dm)
    seconds = time.perf_counter() - start
    # the current policy, and (once per row) the initial one: before = the initial
    after = _validate(policy, dm, "policy", out)
    steps = logged_steps(logger)
    updates = [h for h in steps if h.get("rl/reward_mean")]  # the phase times of the batches that updated
    phases = {
        k.removeprefix("time/"): sum(float(h[k]) for h in updates) / len(updates)
        for k in (updates[0] if updates else {})
        if k.startswith("time/") and k.endswith("_s") and "per" not in k
    }
    task_metrics = {
        k.removeprefix("val/"): (after[f"{k}_initial"], after[k])
        for k in after
        if f"{k}_initial" in after and k != "val/reward"
    }
    assert policy.saved_adapters is not None
    split = dm.hparams["val_split"]
    heldout = f"split {split!r}" if split else f"{dm.hparams['val_fraction']:g} of the prompts"
    return RLStageResult(after["val/reward_initial"], after["val/reward"], 0.0, after["val/kl"],
                         after["val/win_rate"], policy.eval_samples, policy.saved_adapters, seconds, len(steps), phases,
                         task_metrics, list(policy.eval_records), Path(logger.log_dir) / "metrics.csv",
                         policy.evaluation.describe(), heldout)  # fmt: skip
