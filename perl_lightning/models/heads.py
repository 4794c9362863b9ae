"""Small heads on a backbone's last hidden state: the reward model's score head and the PPO value head.

Also reads a reward adapter directory written by ``RewardModelModule.save_adapter`` (a peft ``SEQ_CLS`` adapter
with the score head in ``modules_to_save``) into its parts, so the LoRA weights can be attached to a *causal-LM*
backbone as one more named adapter and the score head applied to that backbone's hidden states.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import PreTrainedTokenizerBase

#: Names under which RewardModelModule's task head is saved (``score`` for decoders, ``classifier`` for encoders).
SCORE_HEAD_NAMES: tuple[str, ...] = ("score",)
META_FILE = "perl_lightning.json"


def last_token_index(attention_mask: torch.Tensor) -> torch.Tensor:
    """Index of each row's last real token, for either padding side.

    Args:
        attention_mask: (B, T) ones on real tokens.

    Returns:
        (B,) long indices; a row without any real token gets index 0.
    """
    width = attention_mask.shape[-1]
    flipped_first = attention_mask.flip(-1).long().argmax(-1)  # (B,) distance of the last 1 from the end
    index = width - 1 - flipped_first  # (B,)
    return torch.where(attention_mask.any(-1), index, torch.zeros_like(index))


class ValueHead(nn.Module):
    """Per-token value ``V(s_t)``: a Linear(hidden, 1) on the value adapter's last hidden state.

    Zero-initialised, so the first advantages are the plain (KL-shaped) returns.

    Args:
        hidden_size: width of the backbone's hidden state.
        dropout: dropout on the hidden state before the projection.
    """

    def __init__(self, hidden_size: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.summary = nn.Linear(hidden_size, 1)
        nn.init.zeros_(self.summary.weight)
        nn.init.zeros_(self.summary.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        """Values (B, T) in float32 from hidden states (B, T, H)."""
        x = self.dropout(hidden).to(self.summary.weight.dtype)  # (B, T, H)
        return self.summary(x).squeeze(-1).float()  # (B, T)


class ScoreHead(nn.Module):
    """A reward model's scalar head, read at each sequence's last real token (as ``*ForSequenceClassification``).

    Args:
        hidden_size: width of the backbone's hidden state.
        bias: whether the projection has a bias (Llama's ``score`` has none).
    """

    def __init__(self, hidden_size: int, bias: bool = False) -> None:
        super().__init__()
        self.score = nn.Linear(hidden_size, 1, bias=bias)

    @classmethod
    def from_tensors(cls, weight: torch.Tensor, bias: torch.Tensor | None = None) -> ScoreHead:
        """A frozen head holding a saved ``score`` projection (weight (1, H), optional bias (1,))."""
        if weight.dim() != 2 or weight.shape[0] != 1:
            raise ValueError(f"score head weight must be (1, hidden), got {tuple(weight.shape)}")
        head = cls(weight.shape[1], bias=bias is not None)
        with torch.no_grad():
            head.score.weight.copy_(weight)
            if bias is not None:
                head.score.bias.copy_(bias)
        return head.requires_grad_(False)

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Scores (B,) in float32 from hidden states (B, T, H) at the last real token of ``attention_mask`` (B, T)."""
        index = last_token_index(attention_mask)  # (B,)
        last = hidden[torch.arange(hidden.shape[0], device=hidden.device), index]  # (B, H)
        return self.score(last.to(self.score.weight.dtype)).squeeze(-1).float()  # (B,)


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
    meta = path / META_FILE
    if meta.is_file():
        model = json.loads(meta.read_text()).get("model")
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
    from peft import PeftModel, get_peft_model_state_dict

    out.mkdir(parents=True, exist_ok=True)
    if isinstance(model, PeftModel):
        state = get_peft_model_state_dict(model, adapter_name=adapter_name)
        save_file({k: v.detach().contiguous() for k, v in state.items()}, str(out / "adapter_model.safetensors"))
        config = copy.deepcopy(model.peft_config[adapter_name])
        config.inference_mode = True
        config.base_model_name_or_path = base_model
        config.save_pretrained(str(out))
    else:
        model.save_pretrained(out, safe_serialization=True)
    if head is not None:
        save_file({k: v.detach().contiguous() for k, v in head.state_dict().items()}, str(out / head_file))
    tokenizer.save_pretrained(out)
    full_meta = {**meta, "peft": isinstance(model, PeftModel), "head_file": head_file if head is not None else None}
    (out / META_FILE).write_text(json.dumps(full_meta, indent=2))
