"""The adapter-directory format, in one place: what a saved adapter holds, how it is written, read and checked.

An adapter directory is a plain peft directory (``adapter_config.json`` + ``adapter_model.safetensors``) that
``transformers`` + ``peft`` reload without this package, plus:

* ``perl_lightning.json`` (:data:`META_FILE`): the stage that wrote it, the base model's name and architecture
  (:func:`perl_lightning.checkpointing.base_identity`), the LoRA settings, and the name of any extra head file;
* an optional head file next to it (``value_head.safetensors`` for a PPO value adapter);
* the tokenizer.

A reward adapter (``RewardModelModule.save_adapters``) is a ``SEQ_CLS`` adapter with its score head in
``modules_to_save``; :func:`read_reward_adapter` splits it into LoRA tensors and the head, so the LoRA weights can be
attached to a *causal-LM* backbone as one more named adapter. A fully fine-tuned model is a whole
``save_pretrained`` directory with the same metadata file.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from peft import PeftModel, get_peft_model_state_dict
from peft.utils.constants import EMBEDDING_LAYER_NAMES
from safetensors.torch import load_file, save_file
from torch import nn
from torch.distributed.tensor import DTensor
from transformers import PreTrainedTokenizerBase

from perl_lightning.checkpointing import CheckpointMismatchError, base_identity
from perl_lightning.models.backbone import resolve_model_path

#: Names under which RewardModelModule's task head is saved (``score`` for decoders).
SCORE_HEAD_NAMES: tuple[str, ...] = ("score",)
#: The metadata file this package writes into every adapter directory.
META_FILE = "perl_lightning.json"


def read_meta(path: str | Path) -> dict[str, Any]:
    """The ``perl_lightning.json`` metadata of an adapter directory (``{}`` for directories other tools wrote)."""
    meta = Path(path) / META_FILE
    return json.loads(meta.read_text()) if meta.is_file() else {}


def write_meta(path: str | Path, meta: dict[str, Any]) -> None:
    """Write the ``perl_lightning.json`` metadata of an adapter directory."""
    (Path(path) / META_FILE).write_text(json.dumps(meta, indent=2))


@dataclass
class RewardAdapterFiles:
    """The parts of a reward adapter directory.

    Attributes:
        path: the directory.
        base_model: the base the adapter was trained on (``perl_lightning.json`` ``model``, else peft's
            ``base_model_name_or_path``).
        peft_config: ``adapter_config.json`` as a dict.
        lora_state: LoRA tensors keyed as peft saves them (no adapter name), head keys removed.
        head_weight: score head weight (1, H).
        head_bias: score head bias (1,) or ``None``.
    """

    path: Path
    base_model: str
    peft_config: dict
    lora_state: dict[str, torch.Tensor]
    head_weight: torch.Tensor
    head_bias: torch.Tensor | None


def is_peft_dir(path: str | Path) -> bool:
    """Whether ``path`` is a peft adapter directory (as opposed to a fully fine-tuned model)."""
    return (Path(path) / "adapter_config.json").is_file()


def adapter_base_model(path: str | Path) -> str:
    """The base model name an adapter (or fully fine-tuned) directory was trained from."""
    path = Path(path)
    model = read_meta(path).get("model")
    if model:
        return str(model)
    config = path / "adapter_config.json"
    if config.is_file():
        base = json.loads(config.read_text()).get("base_model_name_or_path")
        if base:
            return str(base)
    return str(path)


def read_reward_adapter(path: str | Path) -> RewardAdapterFiles:
    """Split a ``RewardModelModule.save_adapter`` directory into LoRA tensors and the score head.

    Raises:
        FileNotFoundError: when the directory or its files are missing.
        ValueError: when the adapter holds no score head (not a reward adapter).
    """
    path = Path(path).expanduser()
    if not is_peft_dir(path):
        raise FileNotFoundError(f"{path}: not a peft reward adapter directory (no adapter_config.json)")
    weights = path / "adapter_model.safetensors"
    if not weights.is_file():
        raise FileNotFoundError(f"{path}: adapter_model.safetensors is missing")
    state = load_file(str(weights))
    head: dict[str, torch.Tensor] = {}
    lora: dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        parts = key.split(".")
        # saved head keys look like base_model.model.score.weight (or ...score.modules_to_save.weight)
        if any(name in parts for name in SCORE_HEAD_NAMES) and "lora_A" not in parts and "lora_B" not in parts:
            head[parts[-1]] = tensor
        else:
            lora[key] = tensor
    if "weight" not in head:
        raise ValueError(f"{path}: no score head ('score' in modules_to_save) in the adapter: not a reward adapter")
    return RewardAdapterFiles(
        path=path,
        base_model=adapter_base_model(path),
        peft_config=json.loads((path / "adapter_config.json").read_text()),
        lora_state=lora,
        head_weight=head["weight"],
        head_bias=head.get("bias"),
    )


def whole(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Tensors ready to write: FSDP2-sharded ``DTensor``s gathered (a collective: every rank must call it in the same
    order), all detached and contiguous."""
    return {k: (v.full_tensor() if isinstance(v, DTensor) else v).detach().contiguous() for k, v in state.items()}


def _embeddings_targeted(model: PeftModel, adapter_name: str) -> bool | str:
    """Whether the adapter's file holds the embedding layers: when LoRA targets them. peft's default ("auto") would
    also look the base model up, on the Hub for a name that is no directory, to see whether the vocabulary was
    resized; perl_lightning never resizes it. A regex ``target_modules`` keeps peft's own decision."""
    targets = getattr(model.peft_config[adapter_name], "target_modules", None) or ()
    if isinstance(targets, str):
        return "auto"
    return bool(set(targets) & set(EMBEDDING_LAYER_NAMES))


def write_adapter_dir(
    out: Path,
    model: nn.Module,
    adapter_name: str,
    base_model: str,
    tokenizer: PreTrainedTokenizerBase,
    meta: dict,
    head: nn.Module | None = None,
    head_file: str = "value_head.safetensors",
) -> None:
    """Write one adapter as a standalone peft directory (or a fully trained model), with tokenizer and metadata.

    A ``PeftModel`` adapter is written under the name peft loads by default, so plain ``transformers`` + ``peft``
    reload it: ``PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), out)``. A model that is not a
    ``PeftModel`` (full fine-tuning) is saved whole with ``save_pretrained``. ``head`` (e.g. a value head) goes to
    ``head_file`` next to it.
    """
    out.mkdir(parents=True, exist_ok=True)
    if isinstance(model, PeftModel):
        state = get_peft_model_state_dict(model, adapter_name=adapter_name,
                                          save_embedding_layers=_embeddings_targeted(model, adapter_name))  # fmt: skip
        save_file(whole(state), str(out / "adapter_model.safetensors"))
        config = copy.deepcopy(model.peft_config[adapter_name])
        config.inference_mode = True
        config.base_model_name_or_path = base_model
        config.save_pretrained(str(out))
    else:
        model.save_pretrained(out, safe_serialization=True)
    if head is not None:
        save_file(whole(head.state_dict()), str(out / head_file))
    tokenizer.save_pretrained(out)
    full_meta = {**meta, "peft": isinstance(model, PeftModel), "head_file": head_file if head is not None else None}
    write_meta(out, full_meta)


def check_adapter_base(path: str | Path, model_name: str, config: Any) -> None:
    """Refuse to load the adapter directory ``path`` onto a base model other than the one it was trained on.

    Compares the base recorded in the adapter's ``perl_lightning.json`` (name and architecture) with ``model_name``
    and its ``config``; raises :class:`CheckpointMismatchError` naming each differing field. Adapters written by
    other tools (no recorded base) are compared by ``adapter_config.json``'s ``base_model_name_or_path`` only.
    """
    path = Path(path)
    meta = read_meta(path)
    saved_name = adapter_base_model(path)
    diffs = []
    if str(resolve_model_path(saved_name)) != str(resolve_model_path(model_name)):
        diffs.append(f"model: adapter was trained on {saved_name!r}, this base is {model_name!r}")
    current = base_identity(model_name, config)
    for key, value in (meta.get("base") or {}).items():
        if key != "model" and value != current.get(key):
            diffs.append(f"{key}: adapter has {value!r}, this base has {current.get(key)!r}")
    if diffs:
        raise CheckpointMismatchError(f"adapter {path} does not fit this base model:\n  " + "\n  ".join(diffs))
