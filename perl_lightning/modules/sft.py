"""SFTModule: supervised fine-tuning of a causal LM on demonstrations, with LoRA (or in full)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

import torch
from peft import TaskType, get_peft_model
from torch.utils.checkpoint import checkpoint
from torchmetrics import SumMetric

from perl_lightning import checkpointing as ckpt
from perl_lightning.data.sft import SFTBatch
from perl_lightning.models.adapters import LoRAConfig, apply_lora, as_lora_config
from perl_lightning.models.artifacts import write_adapter_dir
from perl_lightning.models.backbone import load_backbone, load_tokenizer, position_ids_from_mask, resolve_model_path
from perl_lightning.models.forward import (
    LOGIT_CHUNK_ELEMENTS,
    LogitTransform,
    in_chunks,
    last_hidden_state,
    logit_transform,
    output_logits,
    transformers_model,
)
from perl_lightning.models.vlm import is_vlm, load_vlm, vlm_peft_config
from perl_lightning.modules.base import FineTuneModule, token_budget
from perl_lightning.modules.optim import Schedule
from perl_lightning.profiling import PhaseMeter
from perl_lightning.rl.supervised import IGNORE_INDEX, TokenNLL, micro_batch_loss, perplexity, shift_labels, token_nll

#: SFT learning rates: LoRA ~10x full fine-tuning (QLoRA's 2e-4 for LoRA; Alpaca's 2e-5 for full tuning).
SFT_DEFAULT_LR = {"lora": 2e-4, "full": 2e-5}


def micro_batches(batch: SFTBatch, max_tokens: int | None) -> list[SFTBatch]:
    """Split a right-padded batch into micro-batches of whole rows holding at most ``max_tokens`` padded tokens each.

    Rows are sorted by length (longest first) and grouped greedily, each group trimmed to its own longest row, so
    little compute goes to padding; a row longer than the budget forms a group alone. ``None`` keeps the batch whole.
    """
    if max_tokens is None:
        return [batch]
    lengths = batch.attention_mask.sum(-1)  # (B,)
    groups: list[list[int]] = []
    for i in torch.argsort(lengths, descending=True, stable=True).tolist():  # a group's width: its first row's length
        if groups and (len(groups[-1]) + 1) * int(lengths[groups[-1][0]]) <= max_tokens:
            groups[-1].append(i)
        else:
            groups.append([i])
    out = []
    for group in groups:
        rows = torch.tensor(group, device=batch.input_ids.device)
        width = int(lengths[rows].max())
        images = None if batch.images is None else batch.images.select(rows)
        out.append(SFTBatch(*(t[rows, :width] for t in batch[:3]), images))
    return out


def _chunk_nll(
    head: torch.nn.Module, hidden: torch.Tensor, targets: torch.Tensor, transform: LogitTransform
) -> torch.Tensor:
    return token_nll(output_logits(head, hidden, transform), targets).total  # logits (n, V): only this chunk's


class SFTModule(FineTuneModule):
    """Supervised fine-tuning of a causal LM: next-token NLL of the response tokens of demonstrations.

    Loss: the mean NLL over every response token of the batch (end token included; prompt and padding excluded),
    exact under micro-batching (each micro-batch's summed NLL is divided by the whole batch's token count; under
    several processes by the count over all ranks). The LM head runs only on the response positions, a few hundred
    at a time, each chunk's logits recomputed in the backward pass, so no (B, T, vocab) logits are ever whole. With
    ``lora`` set only the LoRA adapters train; ``lora: null`` fine-tunes every weight of the same model.

    Logs ``train/loss``, ``train/tokens`` (response tokens of the step, all ranks), and ``val/loss`` and
    ``val/perplexity``: the token-mean NLL over the *whole* validation set and its exponential (summed NLL and token
    counts accumulated across batches and ranks, not a mean of per-batch values).

    The adapter written at the end of fit (``<log_dir>/sft_adapter``) is a causal-LM PEFT directory that
    ``PolicyModule(init_policy_adapter=...)`` starts RL from and plain ``transformers`` + ``peft`` reload.

    Args:
        model: base model: hub id, local path, ``smollm2-135m-instruct`` or ``tiny-llama``.
        lora: LoRA settings; ``null`` for full fine-tuning.
        learning_rate: AdamW learning rate; ``None`` picks 2e-4 for LoRA and 2e-5 for full fine-tuning.
        weight_decay: AdamW weight decay.
        schedule: ``cosine``, ``linear`` or ``constant`` after warmup.
        warmup_ratio: fraction of the total steps spent in linear warmup.
        dtype: ``auto`` (bf16 with CUDA, else fp32), ``fp32``, ``bf16``, ``fp16``.
        gradient_checkpointing: trade compute for activation memory.
        micro_batch_tokens: most padded tokens per forward/backward inside a training step. Rows are sorted by
            length and grouped up to this budget, each group trimmed to its own longest row. ``auto``: 512 on CPU, the
            whole batch on accelerators; ``None`` runs the whole batch at once. The optimizer still steps once per
            batch on the exact token-mean loss.
        max_grad_norm: gradient-norm clipping per optimizer step (``None`` to disable).
        save_dir: where the adapter directory is written at the end of fit; ``None`` uses ``<log_dir>/sft_adapter``.
        trust_remote_code: allow model code from the hub (off unless set).
    """

    stage_label = "SFT"

    adapter_dir_name = "sft_adapter"

    def __init__(
        self,
        model: str = "smollm2-135m-instruct",
        lora: LoRAConfig | None = LoRAConfig(),  # noqa: B008 - a dataclass default read by LightningCLI
        learning_rate: float | None = None,
        weight_decay: float = 0.0,
        schedule: Schedule = "cosine",
        warmup_ratio: float = 0.1,
        dtype: str = "auto",
        gradient_checkpointing: bool = False,
        micro_batch_tokens: int | Literal["auto"] | None = "auto",
        max_grad_norm: float | None = 1.0,
        save_dir: str | None = None,
        trust_remote_code: bool = False,
    ) -> None:
        super().__init__()
        self.lora = as_lora_config(lora)
        self.store_hparams(lora=self.lora)
        self.base_name, self.save_dir = model, save_dir
        self.processor = None  # a vision-language model's (images -> pixels, image tokens)
        if is_vlm(model, trust_remote_code):
            backbone, self.processor = load_vlm(model, dtype, trust_remote_code=trust_remote_code)
            self.tokenizer = self.processor.tokenizer
        else:
            self.tokenizer = load_tokenizer(model, trust_remote_code)
            backbone = load_backbone(
                model, "causal-lm", dtype=dtype, tokenizer=self.tokenizer, trust_remote_code=trust_remote_code
            )
        if gradient_checkpointing:
            backbone.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if self.processor is not None and self.lora is not None:  # LoRA on the language model only
            self.model = get_peft_model(backbone, vlm_peft_config(self.lora, backbone, TaskType.CAUSAL_LM))
        else:
            self.model = apply_lora(backbone, self.lora, TaskType.CAUSAL_LM)
        self.model.train()  # from_pretrained returns eval mode; Lightning keeps each submodule's mode
        self.learning_rate = learning_rate or SFT_DEFAULT_LR["lora" if self.lora is not None else "full"]
        self.automatic_optimization = False  # one optimizer step per batch, backward per micro-batch
        # summed NLL and token counts per evaluation stage: the set's token mean, synced over ranks on compute
        self.sums = torch.nn.ModuleDict(
            {f"{s}_{k}": SumMetric(nan_strategy="disable") for s in ("val", "test") for k in ("nll", "tokens")}
        )
        self.meter = PhaseMeter()  # time (and, under MemoryMonitor, peak memory) of each training step
        self.eval_records: list[float] = []  # the latest evaluation, per demonstration: its mean response-token NLL

    # ---- forward -------------------------------------------------------------------------------------------------
    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Logits (B, T, V) of right-padded sequences (B, T)."""
        out = self.model(
            input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids_from_mask(attention_mask)
        )
        return out.logits

    def nll(self, batch: SFTBatch) -> TokenNLL:
        """Summed next-token NLL of the batch's response tokens and their count.

        The decoder body runs once; the LM head then runs only on the positions that predict a response token, in
        chunks of at most ``LOGIT_CHUNK_ELEMENTS`` logits, each checkpointed when gradients are on (recomputed in the
        backward pass instead of kept).
        """
        targets = shift_labels(batch.labels)  # (B, T): the token each position predicts, -100 where none counts
        selected = targets != IGNORE_INDEX  # (B, T)
        hidden = last_hidden_state(self.model, batch.input_ids, batch.attention_mask, batch.images)[selected]  # (M, H)
        targets = targets[selected]  # (M,)
        causal = transformers_model(self.model)
        head, transform = causal.get_output_embeddings(), logit_transform(self.model)
        vocab = getattr(head, "out_features", None) or causal.config.get_text_config(decoder=True).vocab_size
        rows = max(1, LOGIT_CHUNK_ELEMENTS // vocab)
        total = hidden.float().sum() * 0.0  # 0, on the graph even when no position counts (backward still runs)
        for s in in_chunks(targets.shape[0], rows):
            args = (head, hidden[s], targets[s], transform)
            total = total + (checkpoint(_chunk_nll, *args, use_reentrant=False) if torch.is_grad_enabled()
                             else _chunk_nll(*args))  # fmt: skip
        return TokenNLL(total, selected.sum())

    # ---- steps ---------------------------------------------------------------------------------------------------
    def training_step(self, batch: SFTBatch, batch_idx: int) -> torch.Tensor:
        """One optimizer step on the token-mean NLL of the batch's responses, accumulated over micro-batches."""
        hp = self.hparams
        optimizer, scheduler = self.optimizers(), self.lr_schedulers()
        self.meter.reset()
        self.meter.add_tokens(batch.attention_mask.sum())  # non-padding tokens of the batch
        with self.meter.phase("step"):
            optimizer.zero_grad(set_to_none=True)
            tokens = self.trainer.strategy.reduce(batch.num_tokens, reduce_op="sum")  # over all ranks
            # DDP / FSDP average gradients over ranks: dividing by the mean count makes their average the exact
            # gradient of (summed NLL of all ranks) / (tokens of all ranks)
            per_rank = tokens.float() / self.trainer.world_size
            loss_sum = torch.zeros((), device=self.device)
            for micro in micro_batches(batch, token_budget(hp.micro_batch_tokens, self.device)):
                loss = micro_batch_loss(self.nll(micro), per_rank)
                self.manual_backward(loss)
                loss_sum += loss.detach()
            if hp.max_grad_norm is not None:
                self.clip_gradients(optimizer, gradient_clip_val=hp.max_grad_norm, gradient_clip_algorithm="norm")
            optimizer.step()
            scheduler.step()
        size = batch.input_ids.shape[0]
        self.log("train/loss", loss_sum, prog_bar=True, batch_size=size, sync_dist=True)
        self.log("train/tokens", tokens.float(), on_step=True, on_epoch=False, batch_size=size)
        return loss_sum

    def _eval_step(self, batch: SFTBatch, stage: str) -> None:
        """Each demonstration's NLL on its own (kept in ``eval_records`` for paired statistics), summed."""
        for i in range(batch.input_ids.shape[0]):
            n = int(batch.attention_mask[i].sum())  # right-padded: the row's own tokens come first
            row = SFTBatch(batch.input_ids[i : i + 1, :n], batch.attention_mask[i : i + 1, :n],
                           batch.labels[i : i + 1, :n],
                           batch.images.select([i]) if batch.images is not None else None)  # fmt: skip
            part = self.nll(row)
            self.sums[f"{stage}_nll"].update(part.total)
            self.sums[f"{stage}_tokens"].update(part.tokens)
            self.eval_records.append(float(part.mean))

    def on_validation_epoch_start(self) -> None:
        self.eval_records = []

    def on_test_epoch_start(self) -> None:
        self.eval_records = []

    def _log_eval(self, stage: str) -> None:
        """``<stage>/loss`` and ``<stage>/perplexity`` of the whole set, then reset the sums."""
        nll, tokens = self.sums[f"{stage}_nll"], self.sums[f"{stage}_tokens"]
        if nll.update_count == 0:  # no batch (e.g. no held-out data): nothing to report
            return
        total, count = nll.compute(), tokens.compute()  # summed over batches and ranks
        self.log(f"{stage}/loss", total / count.clamp(min=1), prog_bar=stage == "val")
        self.log(f"{stage}/perplexity", perplexity(total, count))
        nll.reset()
        tokens.reset()

    def validation_step(self, batch: SFTBatch, batch_idx: int) -> None:
        self._eval_step(batch, "val")

    def on_validation_epoch_end(self) -> None:
        self._log_eval("val")

    def test_step(self, batch: SFTBatch, batch_idx: int) -> None:
        self._eval_step(batch, "test")

    def on_test_epoch_end(self) -> None:
        self._log_eval("test")

    # ---- adapters and checkpoints (the rest is AdapterModule's) ---------------------------------------------------
    def trainable_parameters(self) -> list[torch.nn.Parameter]:
        """LoRA adapters (every weight when fully fine-tuned)."""
        return [p for p in self.model.parameters() if p.requires_grad]

    def base_config(self) -> Any:
        return self.model.config

    def fsdp_units(self) -> tuple[list[torch.nn.Module], list[torch.nn.Module]]:
        return [self.model], []

    def write_adapters(self, path: Path) -> None:
        """A causal-LM PEFT adapter directory (safetensors) with the tokenizer and metadata, at ``path`` itself.

        ``PolicyModule(init_policy_adapter=path)`` starts RL from it (and takes a frozen copy as the reference);
        plain ``transformers`` + ``peft`` reload it: ``AutoModelForCausalLM.from_pretrained(base)`` then
        ``PeftModel.from_pretrained(model, path)``. A fully fine-tuned model is saved whole (``save_pretrained``):
        RL starts from it as ``model: <path>``.
        """
        meta = {
            "stage": "sft",
            "model": self.hparams.model,
            "base": ckpt.base_identity(self.hparams.model, self.model.config),
            "role": "causal-lm",
            "lora": asdict(self.lora) if self.lora is not None else None,
            "pad_token_id": self.tokenizer.pad_token_id,
        }  # write_adapter_dir gathers FSDP2-sharded tensors; the files are those of peft's save_pretrained
        write_adapter_dir(path, self.model, "default", resolve_model_path(self.hparams.model), self.tokenizer, meta)
