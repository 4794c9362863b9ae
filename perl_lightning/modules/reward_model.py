"""RewardModelModule: a LoRA (or fully fine-tuned) reward model, pairwise (Bradley-Terry) or pointwise (BCE)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

import torch
from lightning.pytorch.utilities import move_data_to_device, rank_zero_info
from peft import TaskType, get_peft_model

from perl_lightning import checkpointing as ckpt
from perl_lightning.data.batching import batch_size, micro_batches
from perl_lightning.data.formatting import encode_scored_texts
from perl_lightning.data.preference import PreferenceBatch, ResponseBatch
from perl_lightning.data.rated import RatedBatch
from perl_lightning.models.adapters import LoRAConfig, apply_lora, as_lora_config
from perl_lightning.models.artifacts import write_adapter_dir
from perl_lightning.models.backbone import load_backbone, load_tokenizer, position_ids_from_mask, resolve_model_path
from perl_lightning.models.forward import last_hidden_state
from perl_lightning.models.heads import score_head_inputs, score_projection, set_score_head, zero_score_head
from perl_lightning.models.prefix_sharing import score_pairs_with_shared_prefix, supports_prefix_sharing
from perl_lightning.models.vlm import add_score_head, is_vlm, load_vlm, vlm_peft_config
from perl_lightning.modules.base import FineTuneModule, token_budget
from perl_lightning.modules.optim import DEFAULT_LR, Schedule
from perl_lightning.modules.reward_metrics import (
    STAGES,
    Objective,
    reward_metrics,
    update_pair_metrics,
    update_rated_metrics,
)
from perl_lightning.profiling import PhaseMeter
from perl_lightning.rl.masking import last_token_index
from perl_lightning.rl.probe import LinearProbe, fit_pairwise_probe, fit_pointwise_probe
from perl_lightning.rl.reward_losses import pairwise_reward_loss, pointwise_reward_loss
from perl_lightning.rl.types import ImageInputs

#: What each objective trains on: its batch type and the DataModule that makes such batches.
BATCHES: dict[str, tuple[type, str]] = {
    "pairwise": (PreferenceBatch, "PreferenceDataModule"),
    "pointwise": (RatedBatch, "RatedDataModule"),
}


def check_objective(objective: str, margin: float, center_coef: float, pos_weight: float | None) -> None:
    """Refuse an unknown objective, and settings that the chosen objective would silently ignore."""
    if objective not in BATCHES:
        raise ValueError(f"objective must be 'pairwise' or 'pointwise', not {objective!r}")
    if objective == "pointwise" and (margin != 0.0 or center_coef != 0.0):
        raise ValueError("margin and center_coef are pairwise settings; the pointwise objective takes pos_weight")
    if objective == "pairwise" and pos_weight is not None:
        raise ValueError("pos_weight is a pointwise setting (objective: pointwise); pairs are balanced by design")
    if pos_weight is not None and pos_weight <= 0:
        raise ValueError(f"pos_weight must be > 0, got {pos_weight}")


class RewardModelModule(FineTuneModule):
    """Reward model: backbone + scalar score head, read at the last non-padding token, trained on human feedback.

    ``objective: pairwise`` trains on preference pairs (``PreferenceDataModule``) with the Bradley-Terry loss
    ``-logsigmoid(r_chosen - r_rejected - margin) + center_coef * mean((r_c + r_r)^2)``; metrics ``accuracy``,
    ``margin``, ``chosen_reward``, ``rejected_reward``. ``objective: pointwise`` trains on rated responses
    (``RatedDataModule``: thumbs up / down, as PERL's Taskmaster reward models) with binary cross-entropy, the reward
    read as ``logit P(liked)``; metrics ``accuracy`` (reward > 0 for liked), and in validation ``auroc`` and ``ece``
    (calibration of ``sigmoid(reward)``). With ``lora`` set only the LoRA adapters on the attention projections and
    the score head train; ``lora: null`` fine-tunes every weight of the same model, so LoRA vs full tuning is one
    config switch.

    Args:
        model: base model: hub id, local path, ``smollm2-135m-instruct``, ``minilm-l6`` or ``tiny-llama``.
        objective: ``pairwise`` (Bradley-Terry on preference pairs) or ``pointwise`` (binary cross-entropy on rated
            responses).
        lora: LoRA settings; ``null`` for full fine-tuning.
        learning_rate: AdamW learning rate; ``None`` picks 5e-4 for LoRA and 1e-5 for full fine-tuning.
        weight_decay: AdamW weight decay.
        schedule: ``cosine``, ``linear`` or ``constant`` after warmup.
        warmup_ratio: fraction of the total steps spent in linear warmup.
        margin: pairwise: fixed margin subtracted from ``r_chosen - r_rejected`` in the loss.
        center_coef: pairwise: reward-centering coefficient (keeps rewards near zero mean).
        pos_weight: pointwise: weight of the liked responses' loss term, for class imbalance; ``n_disliked /
            n_liked`` weighs both classes equally (``RatedDataModule.label_counts``; 0.16 on Taskmaster Coffee, 86%
            liked). ``None`` is 1.
        dtype: ``auto`` (bf16 with CUDA, else fp32), ``fp32``, ``bf16``, ``fp16``.
        gradient_checkpointing: trade compute for activation memory.
        micro_batch_tokens: most padded tokens per forward/backward inside a training step. Pairs are sorted by
            length and grouped up to this budget, each group trimmed to its own longest sequence, so little compute
            goes to padding and only one group's activations are alive at a time. ``auto``: 512 on CPU (as fast as
            larger groups there, in less memory), the whole batch on accelerators; ``None`` runs the whole batch at
            once. The optimizer still steps once per batch on the exact mean loss.
        max_grad_norm: gradient-norm clipping per optimizer step (``None`` to disable).
        head_init: ``zero`` starts the score head at zero, so every reward starts at 0 and the loss at log 2, and the
            first steps learn a direction instead of unlearning a random one (on HH-RLHF harmless, 30 LoRA steps:
            held-out accuracy 0.593 vs 0.547 with ``normal``, the model's own random init; see
            ``tests/modules/test_reward_model_hh.py``). LoRA's B matrices start at zero too, so the adapters get
            their first gradient at the second step. ``probe`` ("linear probing then fine-tuning", Kumar et al.
            2022) starts from the zero head and, before the first step, replaces it with the best linear head on the
            frozen model's features of the first ``probe_batches`` training batches (all ranks'): an L2-regularised
            logistic regression (pointwise, liked terms weighed by ``pos_weight``) or Bradley-Terry on feature
            differences (pairwise), solved by L-BFGS (``perl_lightning.rl.probe``). It costs one forward pass over
            those batches and pays where a short run cannot find the signal by SGD: on Taskmaster Coffee, 24 LoRA
            steps from a zero head rank held-out ratings at chance (AUROC 0.51), 8 steps from a probed head at 0.633
            (``tests/modules/test_reward_model_taskmaster.py``).
        probe_batches: ``head_init: probe``: training batches (per rank) the head is fitted on.
        probe_weight_decay: ``head_init: probe``: L2 strength on the weights of standardised features.
        share_prefix: pairwise, causal models: run the prompt (the prefix shared by chosen and rejected) once and
            only the two continuations on top of its key/value cache; same rewards and gradients, ~35% fewer token
            passes on HH-RLHF (``perl_lightning.models.prefix_sharing``).
        save_dir: where the adapter directory is written at the end of fit (by :meth:`save_adapters`); ``None`` uses
            ``<log_dir>/reward_adapter``.
        trust_remote_code: allow model code from the hub (off unless set).
    """

    stage_label = "reward model"

    def __init__(
        self,
        model: str = "smollm2-135m-instruct",
        objective: Objective = "pairwise",
        lora: LoRAConfig | None = LoRAConfig(),  # noqa: B008 - a dataclass default read by LightningCLI
        learning_rate: float | None = None,
        weight_decay: float = 0.0,
        schedule: Schedule = "cosine",
        warmup_ratio: float = 0.1,
        margin: float = 0.0,
        center_coef: float = 0.0,
        pos_weight: float | None = None,
        dtype: str = "auto",
        gradient_checkpointing: bool = False,
        micro_batch_tokens: int | Literal["auto"] | None = "auto",
        max_grad_norm: float | None = 1.0,
        head_init: Literal["zero", "normal", "probe"] = "zero",
        probe_batches: int = 16,
        probe_weight_decay: float = 0.1,
        share_prefix: bool = True,
        save_dir: str | None = None,
        trust_remote_code: bool = False,
    ) -> None:
        super().__init__()
        check_objective(objective, margin, center_coef, pos_weight)
        self.lora = as_lora_config(lora)
        self.store_hparams(lora=self.lora)
        self.base_name, self.save_dir = model, save_dir
        self.processor = None  # a vision-language model's: the RM reads the image (a score head added on its LM)
        if is_vlm(model, trust_remote_code):
            backbone, self.processor = load_vlm(model, dtype, trust_remote_code=trust_remote_code)
            self.tokenizer = self.processor.tokenizer
            add_score_head(backbone)
        else:
            self.tokenizer = load_tokenizer(model, trust_remote_code)
            backbone = load_backbone(model, "sequence-classification", dtype=dtype, tokenizer=self.tokenizer,
                                     trust_remote_code=trust_remote_code)  # fmt: skip
        if gradient_checkpointing:
            backbone.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if head_init in ("zero", "probe"):
            zero_score_head(backbone)
        elif head_init != "normal":
            raise ValueError(f"head_init must be 'zero', 'normal' or 'probe', not {head_init!r}")
        if probe_batches < 1 or probe_weight_decay < 0:
            raise ValueError(f"need probe_batches >= 1 and probe_weight_decay >= 0, got {probe_batches}, "
                             f"{probe_weight_decay}")  # fmt: skip
        if self.processor is not None and self.lora is not None:  # LoRA on the language model, the score head saved
            self.model = get_peft_model(backbone, vlm_peft_config(self.lora, backbone, TaskType.SEQ_CLS))
        else:
            self.model = apply_lora(backbone, self.lora, TaskType.SEQ_CLS)
        self.model.train()  # from_pretrained returns eval mode; Lightning keeps each submodule's mode
        self.learning_rate = learning_rate or DEFAULT_LR["lora" if lora is not None else "full"]
        self.share_prefix = share_prefix and self.processor is None and supports_prefix_sharing(backbone)
        self.automatic_optimization = False  # one optimizer step per batch, backward per micro-batch
        self.metrics = torch.nn.ModuleDict({f"{s}_": reward_metrics(objective, s) for s in STAGES})
        self.meter = PhaseMeter()  # time (and, under MemoryMonitor, peak memory) of each training step
        self.eval_scores: list[tuple[float, float]] = []  # latest evaluation: (chosen, rejected), or (reward, label)

    # ---- scoring -------------------------------------------------------------------------------------------------
    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, images: ImageInputs | None = None
    ) -> torch.Tensor:
        """Rewards (N,) for sequences (N, T), read at each row's last non-padding token (either padding side); a
        VLM reward model reads the rows' ``images`` too."""
        if self.processor is not None:
            head = score_projection(self.model)
            return head(self._vlm_features(input_ids, attention_mask, images).to(head.weight.dtype)).squeeze(-1).float()
        out = self.model(
            input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids_from_mask(attention_mask)
        )
        return out.logits[:, 0].float()

    def _vlm_features(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, images: ImageInputs | None
    ) -> torch.Tensor:
        """What a VLM reward model's score head reads: the LM's last hidden state at each row's last real token."""
        hidden = last_hidden_state(self.model, input_ids, attention_mask, images)  # (N, T, H)
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last_token_index(attention_mask)]

    @torch.no_grad()
    def reward(self, prompts: list[str], responses: list[str], max_length: int = 512) -> torch.Tensor:
        """Rewards (N,) for (prompt, response) text pairs, formatted as in training (chat template, EOS)."""
        if self.processor is not None:
            raise ValueError("a VLM reward model scores images too: score batches with their images (forward)")
        ids, mask = encode_scored_texts(self.tokenizer, prompts, responses, max_length)
        return self(ids.to(self.device), mask.to(self.device))

    # ---- steps ---------------------------------------------------------------------------------------------------
    def _score_pairs(self, batch: PreferenceBatch) -> tuple[torch.Tensor, torch.Tensor]:
        right_padded = not bool((batch.attention_mask[:, 0] == 0).any())
        if self.share_prefix and right_padded:
            rewards = score_pairs_with_shared_prefix(self.model, batch.input_ids, batch.attention_mask).float()
        else:
            rewards = self(batch.input_ids, batch.attention_mask, batch.images)  # (2B,)
        return rewards.split(batch.num_pairs)  # (B,), (B,)

    def _loss(self, batch: PreferenceBatch | RatedBatch, stage: str) -> torch.Tensor:
        """The objective's mean loss of a batch, its rewards folded into the stage's metrics."""
        hp, metrics = self.hparams, self.metrics[f"{stage}_"]
        if isinstance(batch, RatedBatch):
            rewards = self(batch.input_ids, batch.attention_mask)  # (B,)
            update_rated_metrics(metrics, rewards, batch.labels)
            loss = pointwise_reward_loss(rewards, batch.labels, hp.pos_weight)
            scores = (rewards, batch.labels)
        else:
            chosen, rejected = self._score_pairs(batch)
            update_pair_metrics(metrics, chosen, rejected)
            loss = pairwise_reward_loss(chosen, rejected, hp.margin, hp.center_coef)
            scores = (chosen, rejected)
        if stage != "train":  # per item (paired statistics across evaluations)
            self.eval_scores += list(zip(*(x.detach().float().tolist() for x in scores), strict=True))
        return loss

    def _check_batch(self, batch: Any) -> None:
        objective = self.hparams.objective
        expected, datamodule = BATCHES[objective]
        if not isinstance(batch, expected):
            other = next((o for o, (cls, _) in BATCHES.items() if isinstance(batch, cls)), None)
            hint = f", or set objective: {other}" if other else ""
            raise TypeError(
                f"the {objective} reward model trains on {expected.__name__} batches, got {type(batch).__name__}: "
                f"use {datamodule}{hint}"
            )

    def _log(self, loss: torch.Tensor, stage: str, size: int) -> None:
        train = stage == "train"
        self.log(f"{stage}/loss", loss, prog_bar=stage != "test", batch_size=size, sync_dist=not train)
        metrics = self.metrics[f"{stage}_"]
        self.log_dict({f"{stage}/{k}": m for k, m in metrics.items()}, on_step=train, on_epoch=True, batch_size=size)

    def training_step(self, batch: PreferenceBatch | RatedBatch, batch_idx: int) -> torch.Tensor:
        """One optimizer step on the batch's mean loss (Bradley-Terry or BCE), accumulated over micro-batches."""
        self._check_batch(batch)
        hp = self.hparams
        optimizer, scheduler = self.optimizers(), self.lr_schedulers()
        self.meter.reset()
        self.meter.add_tokens(batch.attention_mask.sum())  # non-padding tokens of the batch
        with self.meter.phase("step"):
            optimizer.zero_grad(set_to_none=True)
            total = batch_size(batch)
            loss_sum = torch.zeros((), device=self.device)
            for micro in micro_batches(batch, token_budget(hp.micro_batch_tokens, self.device)):
                # the batch loss is the size-weighted mean of the micro-batch losses (pairs or rated responses)
                loss = self._loss(micro, "train") * (batch_size(micro) / total)
                self.manual_backward(loss)
                loss_sum += loss.detach()
            if hp.max_grad_norm is not None:
                self.clip_gradients(optimizer, gradient_clip_val=hp.max_grad_norm, gradient_clip_algorithm="norm")
            optimizer.step()
            scheduler.step()
        self._log(loss_sum, "train", total)
        return loss_sum

    def _eval_step(self, batch: PreferenceBatch | RatedBatch, stage: str) -> None:
        self._check_batch(batch)
        self._log(self._loss(batch, stage), stage, batch_size(batch))

    def validation_step(self, batch: PreferenceBatch | RatedBatch, batch_idx: int) -> None:
        self._eval_step(batch, "val")

    @property
    def eval_records(self) -> list[float]:
        """Per item of the latest evaluation (this process), as the accuracy counts it: 1 right, 0.5 tie, 0 wrong
        (chosen above rejected; or the reward's sign agreeing with the rating)."""
        pairwise = self.hparams.objective == "pairwise"
        signed = [a - b if pairwise else (a if b >= 0.5 else -a) for a, b in self.eval_scores]
        return [1.0 if x > 0 else 0.5 if x == 0 else 0.0 for x in signed]

    def on_validation_epoch_start(self) -> None:
        self.eval_scores = []

    def on_test_epoch_start(self) -> None:
        self.eval_scores = []

    def test_step(self, batch: PreferenceBatch | RatedBatch, batch_idx: int) -> None:
        self._eval_step(batch, "test")

    def predict_step(
        self, batch: PreferenceBatch | RatedBatch | ResponseBatch, batch_idx: int
    ) -> dict[str, torch.Tensor]:
        """``{"reward"}`` for (prompt, response) batches, ``{"reward", "label"}`` for rated ones, ``{"chosen",
        "rejected"}`` rewards for pair batches (whatever the objective)."""
        rewards = self(batch.input_ids, batch.attention_mask, getattr(batch, "images", None))
        if isinstance(batch, PreferenceBatch):
            chosen, rejected = rewards.split(batch.num_pairs)
            return {"chosen": chosen, "rejected": rejected}
        if isinstance(batch, RatedBatch):
            return {"reward": rewards, "label": batch.labels}
        return {"reward": rewards}

    # ---- optimisation (the optimizer and the parameter count are FineTuneModule's) ------------------------------
    def on_train_start(self) -> None:
        if self.hparams.head_init == "probe" and self.global_step == 0:  # a resumed run keeps its trained head
            self.fit_probe_head(self.trainer.train_dataloader)

    @torch.no_grad()
    def fit_probe_head(self, loader: Iterable[PreferenceBatch | RatedBatch]) -> LinearProbe:
        """Set the score head to the best linear head on the current model's features of the first
        ``probe_batches`` batches of ``loader`` (gathered from every rank, so each fits the same head)."""
        hp = self.hparams
        features, labels = [], []
        training, budget = self.model.training, token_budget(hp.micro_batch_tokens, self.device)
        self.model.eval()  # no dropout in the features
        for i, batch in enumerate(loader):
            if i == hp.probe_batches:
                break
            self._check_batch(batch)
            for micro in micro_batches(move_data_to_device(batch, self.device), budget):
                mask = micro.attention_mask
                if self.processor is not None:  # a VLM's head reads the LM's last hidden state, image included
                    with torch.no_grad():
                        feats = self._vlm_features(micro.input_ids, mask, getattr(micro, "images", None)).float()
                else:
                    feats = score_head_inputs(self.model, micro.input_ids, mask,
                                              position_ids=position_ids_from_mask(mask))  # fmt: skip
                features.append(feats.view(2, -1, feats.shape[-1]) if isinstance(micro, PreferenceBatch) else feats)
                labels.append(micro.labels if isinstance(micro, RatedBatch) else None)
        self.model.train(training)
        gather = self.all_gather if self._trainer is not None else (lambda t: t)  # callable outside a Trainer too
        x = gather(torch.cat(features, dim=-2))  # rated: (N, H); pairs: (2, B, H); (ranks, ...) under DDP
        width = x.shape[-1]
        if hp.objective == "pointwise":
            x, y = x.reshape(-1, width), gather(torch.cat(labels)).reshape(-1)
            bias = score_projection(self.model).bias is not None
            probe = fit_pointwise_probe(x.cpu(), y.cpu(), hp.probe_weight_decay, hp.pos_weight, intercept=bias)
            what = f"{x.shape[0]} rated responses"
        else:
            x = x.transpose(0, 1).reshape(2, -1, width) if x.dim() == 4 else x
            probe = fit_pairwise_probe(x[0].cpu(), x[1].cpu(), hp.probe_weight_decay)
            what = f"{x.shape[1]} pairs"
        set_score_head(self.model, probe.weight, probe.bias)
        rank_zero_info(
            f"reward model: score head probed on the frozen features of {what}: training loss {probe.train_loss:.3f} "
            f"(the zero head's: {math.log(2):.3f})"
        )
        return probe

    # ---- adapters and checkpoints (the rest is AdapterModule's) ---------------------------------------------------
    adapter_dir_name = "reward_adapter"

    def trainable_parameters(self) -> list[torch.nn.Parameter]:
        """LoRA adapters and the score head (every weight when fully fine-tuned)."""
        return [p for p in self.model.parameters() if p.requires_grad]

    def base_config(self) -> Any:
        return self.model.config

    def fsdp_units(self) -> tuple[list[torch.nn.Module], list[torch.nn.Module]]:
        return [self.model], []

    def write_adapters(self, path: Path) -> None:
        """A PEFT adapter directory (LoRA + score head, safetensors) with the tokenizer, at ``path`` itself.

        Plain ``transformers`` + ``peft`` reload it: ``AutoModelForSequenceClassification.from_pretrained(base,
        num_labels=1)`` then ``PeftModel.from_pretrained(model, path)``. A fully fine-tuned model is saved whole.
        """
        meta = {
            "stage": "reward_model",
            "model": self.hparams.model,
            "base": ckpt.base_identity(self.hparams.model, self.model.config),
            "role": "sequence-classification",
            "lora": asdict(self.lora) if self.lora is not None else None,
            "pad_token_id": self.tokenizer.pad_token_id,
        }  # write_adapter_dir gathers FSDP2-sharded tensors; the files are those of peft's save_pretrained
        write_adapter_dir(path, self.model, "default", resolve_model_path(self.hparams.model), self.tokenizer, meta)
