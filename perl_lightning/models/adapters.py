"""LoRA through peft: configuration, per-architecture defaults, attach, switch named adapters, counts, state."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from peft import LoraConfig, PeftModel, TaskType, get_peft_model, get_peft_model_state_dict
from peft.tuners.lora import LoraLayer
from peft.utils import ModulesToSaveWrapper
from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING
from torch import nn

#: LoRA on the attention projections, as in the PERL paper (Sidahmed et al. 2024).
ATTENTION_TARGETS: dict[str, list[str]] = {
    "llama": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "mistral": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "qwen2": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "qwen3": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "gemma": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "gemma2": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "phi3": ["qkv_proj", "o_proj"],
    "gpt2": ["attn.c_attn", "attn.c_proj"],
    "gpt_neox": ["query_key_value", "attention.dense"],
    "bert": ["query", "key", "value", "attention.output.dense"],
    "roberta": ["query", "key", "value", "attention.output.dense"],
    "t5": ["q", "k", "v", "o"],
}
#: Attribute names of task heads that must be trained and saved with the adapter.
HEAD_NAMES: tuple[str, ...] = ("score", "classifier", "v_head", "value_head")


@dataclass
class LoRAConfig:
    """LoRA hyper-parameters.

    Args:
        r: rank of the update matrices.
        alpha: scaling numerator (the update is scaled by ``alpha / r``, or ``alpha / sqrt(r)`` with rsLoRA).
        dropout: dropout on the LoRA input.
        target_modules: module name suffixes to adapt; ``None`` picks the attention projections of the architecture.
        modules_to_save: modules trained in full and saved with the adapter; ``None`` picks the task head.
        use_rslora: rank-stabilised scaling.
        train_projector: (vision-language models) train the image projector too, as a per-adapter copy (peft
            ``modules_to_save``); the reference and the other adapters keep the frozen original.
        train_vision_tower: (vision-language models) the same for the whole vision tower.
    """

    r: int = 8
    alpha: int = 16
    dropout: float = 0.0
    target_modules: list[str] | None = None
    modules_to_save: list[str] | None = None
    use_rslora: bool = False
    train_projector: bool = False
    train_vision_tower: bool = False
    extra: dict = field(default_factory=dict)


def as_lora_config(lora: LoRAConfig | dict | None) -> LoRAConfig | None:
    """Accept a ``LoRAConfig``, a plain mapping (from YAML / a checkpoint's hparams) or ``None``."""
    if lora is None or isinstance(lora, LoRAConfig):
        return lora
    return LoRAConfig(**dict(lora))


def default_target_modules(model: nn.Module) -> list[str]:
    """The attention projections of ``model``'s architecture."""
    model_type = getattr(getattr(model, "config", None), "model_type", None)
    if model_type in ATTENTION_TARGETS:
        return list(ATTENTION_TARGETS[model_type])
    if model_type in TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING:
        return list(TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING[model_type])
    raise ValueError(f"no default LoRA target modules for model type '{model_type}': set lora.target_modules")


def head_names(model: nn.Module) -> list[str]:
    """Names of the task heads present on ``model`` (e.g. ``score`` for Llama, ``classifier`` for BERT)."""
    return [name for name in HEAD_NAMES if isinstance(getattr(model, name, None), nn.Module)]


def to_peft_config(lora: LoRAConfig, model: nn.Module, task_type: TaskType | None = None) -> LoraConfig:
    """Build peft's ``LoraConfig`` with per-architecture defaults filled in (text models; a vision-language model's
    comes from :func:`perl_lightning.models.vlm.vlm_peft_config`)."""
    if lora.train_projector or lora.train_vision_tower:
        raise ValueError(f"lora.train_projector / train_vision_tower apply to vision-language models; "
                         f"{type(model).__name__} has no vision tower")  # fmt: skip
    modules_to_save = lora.modules_to_save if lora.modules_to_save is not None else head_names(model)
    return peft_lora_config(lora, lora.target_modules or default_target_modules(model), modules_to_save, task_type)


def peft_lora_config(
    lora: LoRAConfig, target_modules: list[str] | str, modules_to_save: list[str], task_type: TaskType | None
) -> LoraConfig:
    """peft's ``LoraConfig`` of ``lora``'s hyper-parameters with the given targets and fully trained modules."""
    return LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=target_modules,
        modules_to_save=modules_to_save or None,
        use_rslora=lora.use_rslora,
        task_type=task_type,
        **lora.extra,
    )


def apply_lora(
    model: nn.Module, lora: LoRAConfig | None, task_type: TaskType | None = None, adapter_name: str = "default"
) -> nn.Module:
    """Wrap ``model`` with a LoRA adapter; ``lora=None`` means full fine-tuning (every parameter trainable)."""
    if lora is None:
        for p in model.parameters():
            p.requires_grad_(True)
        return model
    return get_peft_model(model, to_peft_config(lora, model, task_type), adapter_name=adapter_name)


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter counts; shared (tied) tensors counted once."""
    seen: set[int] = set()
    trainable = total = 0
    for p in model.parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        total += p.numel()
        trainable += p.numel() if p.requires_grad else 0
    return trainable, total


def trainable_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """Only the parameters that train (adapters and heads), keyed as in ``model.state_dict()``."""
    return {name: p.detach() for name, p in model.named_parameters() if p.requires_grad}


def adapter_state_dict(model: nn.Module, adapter_name: str = "default") -> dict[str, torch.Tensor]:
    """The adapter's saved state (LoRA matrices and ``modules_to_save`` heads) as peft writes it."""
    if not isinstance(model, PeftModel):
        raise TypeError("adapter_state_dict needs a PeftModel (this model is fully fine-tuned: use state_dict())")
    return get_peft_model_state_dict(model, adapter_name=adapter_name)


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


def _mergeable(layer: LoraLayer, name: str) -> bool:
    base = layer.get_base_layer()
    weight = getattr(base, "weight", None)
    return (
        name in layer.lora_A
        and not layer.use_dora.get(name, False)
        and isinstance(weight, torch.Tensor)
        and type(weight.data) is torch.Tensor  # not a DTensor (FSDP2) nor a quantised weight
        and weight.dtype.is_floating_point
    )


def _merges_whole(model: nn.Module, layers: list[LoraLayer], name: str) -> bool:
    """Whether folding ``lora_A``/``lora_B`` into the base weights captures all of adapter ``name``: no LoRA
    embedding matrices, no ``modules_to_save`` copies (both would be lost with the adapter layers off), no tied
    weight (folding into a tensor shared with the embeddings would change them too), every weight mergeable."""
    if any(name in getattr(layer, "lora_embedding_A", {}) for layer in layers):
        return False
    if any(isinstance(m, ModulesToSaveWrapper) and name in m.modules_to_save for m in model.modules()):
        return False
    targeted = [layer for layer in layers if name in layer.lora_A]
    if not targeted or not all(_mergeable(layer, name) for layer in targeted):
        return False
    weights = {id(layer.get_base_layer().weight) for layer in targeted}
    seen = [id(p) for _, p in model.named_parameters(remove_duplicate=False) if id(p) in weights]
    return len(seen) == len(set(seen))


@contextmanager
def merged_adapter(model: nn.Module, trainable: Sequence[nn.Parameter] = ()) -> Iterator[nn.Module]:
    """Run ``model`` with its active LoRA adapter folded into the base weights (``W + s B A``) and the adapter
    layers off, so a forward pays no LoRA side matmuls; on exit the original weight tensors are put back.

    The original tensors are kept, not recomputed, so after the context every base weight is bit-identical to
    before (an unmerge by subtraction would not be in floating point). The merged weights are a temporary copy of
    the adapted layers' weights (for LoRA on SmolLM2's attention: 106 MB in fp32). In bf16 the merged weight is
    rounded once, so outputs drift from the unmerged forward by bf16 rounding (bounded in the tests). A model
    without an active adapter that folding captures whole (disabled adapters, DoRA, LoRA on embeddings,
    ``modules_to_save`` copies, tied weights, sharded or quantised weights) is used as it is.
    """
    if not isinstance(model, PeftModel):
        yield model
        return
    layers = [m for m in model.modules() if isinstance(m, LoraLayer)]
    names = list(model.active_adapters) if layers and not layers[0].disable_adapters else []
    if len(names) != 1 or not _merges_whole(model, layers, names[0]):
        yield model
        return
    originals: list[tuple[torch.Tensor, torch.Tensor]] = []
    try:
        with torch.no_grad():
            for layer in layers:
                if names[0] in layer.lora_A:
                    weight = layer.get_base_layer().weight
                    originals.append((weight, weight.data))
                    weight.data = weight.data + layer.get_delta_weight(names[0]).to(weight.dtype)
        with use_adapter(model, None, trainable) as plain:
            yield plain
    finally:
        for weight, data in originals:
            weight.data = data
