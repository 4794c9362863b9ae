"""Which weights play which role in RL, and the forward passes of each role.

Hydra layout (default): one frozen causal-LM base carries named LoRA adapters: ``policy`` (trained), ``value``
(trained, with a value head) and reward adapters (frozen, attached by :mod:`perl_lightning.rewards`); the reference is
the base with every adapter disabled, or a frozen copy (``reference``) of the initial policy adapter. ``separate``
keeps conventional model copies for reference and value (and allows full fine-tuning, ``lora: null``).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, Literal

import torch
from peft import PeftModel, TaskType, get_peft_model
from torch import nn

from perl_lightning.models.adapters import LoRAConfig, merged_adapter, to_peft_config, use_adapter
from perl_lightning.models.artifacts import adapter_base_model, check_adapter_base, is_peft_dir, write_adapter_dir
from perl_lightning.models.backbone import load_backbone, load_tokenizer, resolve_model_path
from perl_lightning.models.forward import in_chunks, last_hidden_state, response_logprobs, response_values
from perl_lightning.models.generation import end_token_ids, sample
from perl_lightning.models.heads import ValueHead
from perl_lightning.models.vlm import is_vlm, load_vlm, vlm_peft_config
from perl_lightning.rl.config import SamplingConfig
from perl_lightning.rl.masking import forward_tokens, length_order
from perl_lightning.rl.types import ImageInputs, Rollout

Role = Literal["policy", "value", "reference"]
Layout = Literal["hydra", "separate"]


def _images(images: ImageInputs | None, rows: torch.Tensor) -> ImageInputs | None:
    return None if images is None else images.select(rows)


class PolicyModels(nn.Module):
    """The models of an RL run (policy, value, reference) on one backbone or as separate copies.

    A vision-language model (``AutoModelForImageTextToText``, or ``tiny-llava`` / ``tiny-idefics3``) loads with its
    processor (``processor``); LoRA then adapts its language model only, and every forward pass takes the rows'
    images (:class:`~perl_lightning.rl.types.ImageInputs`).

    Args:
        model: causal-LM or vision-language base: hub id, local path, embedded name, ``tiny-llama`` or a tiny VLM.
        lora: LoRA settings of the policy and value adapters; ``None`` trains whole models (``separate`` only).
        layout: ``hydra`` (one shared backbone) or ``separate`` (copies for reference and value).
        init_policy_adapter: start the policy from this peft adapter; the reference is then a frozen copy of it.
        value: whether a value adapter and head are needed.
        dtype: weights dtype name.
        gradient_checkpointing: trade compute for activation memory.
        trust_remote_code: allow model code from the hub.
    """

    def __init__(
        self,
        model: str,
        lora: LoRAConfig | None,
        layout: Layout = "hydra",
        init_policy_adapter: str | None = None,
        value: bool = False,
        dtype: str = "auto",
        gradient_checkpointing: bool = False,
        trust_remote_code: bool = False,
    ) -> None:
        super().__init__()
        if layout == "hydra" and lora is None:
            raise ValueError("layout 'hydra' shares one backbone between LoRA adapters; lora: null needs 'separate'")
        self.name, self.lora, self.layout, self.init_adapter = model, lora, layout, init_policy_adapter
        self.processor = None
        if is_vlm(model, trust_remote_code):
            base, self.processor = load_vlm(model, dtype, trust_remote_code=trust_remote_code)
            self.tokenizer = self.processor.tokenizer
        else:
            self.tokenizer = load_tokenizer(model, trust_remote_code)
            base = load_backbone(model, "causal-lm", dtype, tokenizer=self.tokenizer,
                                 trust_remote_code=trust_remote_code)  # fmt: skip
        if gradient_checkpointing:
            base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        self.reference_model = self.value_model = None
        if layout == "separate":
            self.reference_model = self._frozen_reference(copy.deepcopy(base))
            if value:
                self.value_model = self._wrap(copy.deepcopy(base), "value")
        self.model = self._wrap(base, "policy", init_policy_adapter)
        if value and self.value_model is None:
            self.model.add_adapter("value", self.peft_config(base))
        self.value_head = ValueHead(base.config.get_text_config(decoder=True).hidden_size) if value else None
        self.end_ids = end_token_ids(self.tokenizer, base)
        self.trainable: list[nn.Parameter] = []
        self.freeze_all_but_trained()

    # ---- construction --------------------------------------------------------------------------------------------
    def peft_config(self, base: nn.Module) -> Any:
        """peft's LoRA config of the policy / value adapters (language model only for a VLM)."""
        assert self.lora is not None
        build = vlm_peft_config if self.processor is not None else to_peft_config
        return build(self.lora, base, TaskType.CAUSAL_LM)

    def _wrap(self, base: nn.Module, name: str, init_adapter: str | None = None) -> nn.Module:
        """The policy / value model: the base with a named LoRA adapter (or an initial adapter), or fully trained."""
        if init_adapter is not None:
            if not is_peft_dir(init_adapter):
                raise ValueError(f"init_policy_adapter {init_adapter}: not a peft adapter directory")
            check_adapter_base(init_adapter, self.name, base.config)
            model = PeftModel.from_pretrained(base, init_adapter, adapter_name=name, is_trainable=True)
            if self.layout == "hydra":
                model.load_adapter(init_adapter, adapter_name="reference", is_trainable=False)
            if self.lora is None:
                model = model.merge_and_unload()
        elif self.lora is not None:
            return get_peft_model(base, self.peft_config(base), adapter_name=name)
        else:
            model = base
        return model.requires_grad_(True) if self.lora is None else model

    def _frozen_reference(self, base: nn.Module) -> nn.Module:
        if self.init_adapter:
            base = PeftModel.from_pretrained(base, self.init_adapter).merge_and_unload()
        return base.requires_grad_(False).eval()

    def freeze_all_but_trained(self) -> list[nn.Parameter]:
        """Policy and value adapters (or whole models without LoRA) and the value head train; all else is frozen.

        Call again after attaching more adapters (peft's ``add_adapter`` may flip flags). Returns the trainable list.
        """
        trainable: list[nn.Parameter] = []
        for model, names in ((self.model, ("policy", "value")), (self.value_model, ("value",))):
            if model is None:
                continue
            pattern = re.compile(rf"\.(?:lora_\w+|modules_to_save)\.({'|'.join(names)})\.")
            trainable += [p for n, p in model.named_parameters() if self.lora is None or pattern.search(n)]
        trainable += list(self.value_head.parameters()) if self.value_head is not None else []
        keep = {id(p) for p in trainable}
        for p in self.parameters():
            p.requires_grad_(id(p) in keep)
        self.trainable = trainable
        return trainable

    def set_modes(self) -> None:
        """Frozen parts in eval mode, trained ones in train mode (Lightning keeps each submodule's mode). This
        container computes nothing itself and stays in train mode, so with one backbone no module is in eval mode
        (Lightning warns about any at the start of training); separate frozen copies (reference, reward model) are."""
        self.eval()
        for trained in (self.model, self.value_model, self.value_head):
            if trained is not None:
                trained.train()
        self.training = True

    # ---- roles ---------------------------------------------------------------------------------------------------
    @contextmanager
    def role(self, name: Role) -> Iterator[nn.Module]:
        """The model playing ``name``, with the right adapter active (and trainable flags kept intact)."""
        if name == "reference" and self.reference_model is not None:
            yield self.reference_model
            return
        model = self.value_model if name == "value" and self.value_model is not None else self.model
        adapter = {"policy": "policy", "value": "value"}.get(name)
        if name == "reference" and self.init_adapter:
            adapter = "reference"
        with use_adapter(model, adapter, self.trainable) as active:
            yield active

    @contextmanager
    def adapter(self, name: str) -> Iterator[nn.Module]:
        """The shared backbone with any named adapter active (e.g. a reward adapter), trainable flags kept."""
        with use_adapter(self.model, name, self.trainable) as active:
            yield active

    def hidden_states(
        self, adapter: str, input_ids: torch.Tensor, attention_mask: torch.Tensor, images: ImageInputs | None = None
    ) -> torch.Tensor:
        """Final hidden states (N, T, H) of the shared backbone under a named adapter."""
        with self.adapter(adapter) as model:
            return last_hidden_state(model, input_ids, attention_mask, images)

    def same_base(self, path: str | Path) -> bool:
        """Whether a saved adapter (or model) directory can ride on the shared backbone."""
        from_dir = str(resolve_model_path(adapter_base_model(path)))
        return self.layout == "hydra" and is_peft_dir(path) and from_dir == str(resolve_model_path(self.name))

    # ---- forward passes ------------------------------------------------------------------------------------------
    @torch.no_grad()
    def generate(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, prompts: Sequence[str], config: SamplingConfig,
        role: Role = "policy", k: int = 1, row_ids: Sequence[str] = (), metadata: Sequence[dict[str, Any]] = (),
        images: ImageInputs | None = None,
    ) -> Rollout:  # fmt: skip
        """Sample ``k`` responses per left-padded prompt (samples of a prompt contiguous) from ``role``; the ``k``
        rows of a prompt share its image entry."""
        ids, mask = input_ids.repeat_interleave(k, 0), attention_mask.repeat_interleave(k, 0)  # (N, P)

        def rep(xs: Sequence) -> list:
            return [x for x in xs for _ in range(k)]

        with self.role(role) as model:
            fold = merged_adapter(model, self.trainable) if config.merge_adapter else nullcontext(model)
            with fold as sampler:
                return sample(sampler, self.tokenizer, ids, mask, rep(prompts), config, self.end_ids, rep(row_ids),
                              rep(metadata), k, None if images is None else images.repeat(k))  # fmt: skip

    @torch.no_grad()
    def _chunked(
        self, fn: Callable[[torch.Tensor], tuple[torch.Tensor, ...]], rollout: Rollout, chunk: int | None,
        budget: int | None,
    ) -> list[torch.Tensor]:  # fmt: skip
        """``fn`` over groups of rows (at most ``chunk`` rows, or about ``budget`` padded tokens each), rows grouped
        by prompt length so each group's forward trims its padding; results back in row order."""
        n = rollout.sequences.shape[0]
        order = length_order(rollout.attention_mask, rollout.prompt_length)
        tokens = forward_tokens(rollout.sequences, rollout.attention_mask, rollout.prompt_length)
        groups = -(-tokens // budget) if budget else 1  # ceil(positions run / budget); shared prompts counted once
        size = chunk or -(-n // max(groups, 1))
        parts = [fn(order[s]) for s in in_chunks(n, size)]
        inverse = torch.argsort(order)
        return [torch.cat(p)[inverse] for p in zip(*parts, strict=True)]

    def logprobs(
        self, rollout: Rollout, role: Role, temperature: float, with_entropy: bool = False, chunk: int | None = None,
        budget: int | None = None,
    ) -> list[torch.Tensor]:  # fmt: skip
        """No-grad log-probs (N, R) of the response tokens under ``role`` (and the entropy (N, R) if asked), in
        chunks of ``chunk`` rows or of about ``budget`` padded tokens (rows of similar prompt length together)."""

        def fn(rows: torch.Tensor) -> tuple[torch.Tensor, ...]:
            with self.role(role) as model:
                lp, ent = response_logprobs(model, rollout.sequences[rows], rollout.attention_mask[rows],
                                            rollout.prompt_length, temperature, with_entropy,
                                            images=_images(rollout.images, rows))  # fmt: skip
            return (lp,) if ent is None else (lp, ent)

        return self._chunked(fn, rollout, chunk, budget)

    def values(self, rollout: Rollout, chunk: int | None = None, budget: int | None = None) -> torch.Tensor:
        """No-grad values (N, R), zeros without a value model."""
        if self.value_head is None:
            return torch.zeros_like(rollout.response_mask, dtype=torch.float32)

        def fn(rows: torch.Tensor) -> tuple[torch.Tensor]:
            return (self.train_values(rollout.sequences[rows], rollout.attention_mask[rows], rollout.prompt_length,
                                      _images(rollout.images, rows)),)  # fmt: skip

        return self._chunked(fn, rollout, chunk, budget)[0]

    def train_logprobs(
        self, sequences: torch.Tensor, attention_mask: torch.Tensor, prompt_length: int, temperature: float,
        with_entropy: bool = False, entropy_grad: bool = True, images: ImageInputs | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:  # fmt: skip
        """Log-probs (N, R) of the response tokens under the policy, with gradients (and entropy if asked)."""
        with self.role("policy") as model:
            return response_logprobs(model, sequences, attention_mask, prompt_length, temperature, with_entropy,
                                     entropy_grad, images=images)  # fmt: skip

    def train_values(
        self, sequences: torch.Tensor, attention_mask: torch.Tensor, prompt_length: int,
        images: ImageInputs | None = None,
    ) -> torch.Tensor:  # fmt: skip
        """Values (N, R) under the value adapter and head (with gradients when enabled)."""
        assert self.value_head is not None, "no value model in this run"
        with self.role("value") as model:
            return response_values(model, self.value_head, sequences, attention_mask, prompt_length, images)

    # ---- artefacts -----------------------------------------------------------------------------------------------
    def write_adapters(self, root: Path, meta: dict[str, Any]) -> None:
        """Write ``policy/`` (and ``value/`` with its head) as standalone adapter directories under ``root``."""
        base = resolve_model_path(self.name)
        write_adapter_dir(root / "policy", self.model, "policy", base, self.tokenizer, {**meta, "stage": "rl_policy"})
        if self.value_head is not None:
            write_adapter_dir(root / "value", self.value_model or self.model, "value", base, self.tokenizer,
                              {**meta, "stage": "rl_value"}, head=self.value_head)  # fmt: skip
