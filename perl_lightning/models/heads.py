"""Small heads on a backbone's last hidden state: the reward model's score head and the PPO value head."""

from __future__ import annotations

import torch
from torch import nn

from perl_lightning.models.adapters import head_names
from perl_lightning.rl.masking import last_token_index


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


def score_projection(model: nn.Module) -> nn.Linear:
    """The output projection of a sequence-classification model's score head: Llama's ``score``, BERT's
    ``classifier``, RoBERTa's ``classifier.out_proj``; under PEFT, the active adapter's trainable copy of it."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    names = head_names(base)
    if not names:
        raise ValueError(f"{type(base).__name__} has no score head")
    head = getattr(base, names[0])
    copies = getattr(head, "modules_to_save", None)  # peft's ModulesToSaveWrapper
    if isinstance(copies, nn.ModuleDict) and len(copies):
        head = copies[head.active_adapter if isinstance(head.active_adapter, str) else head.active_adapter[0]]
    last = head if isinstance(head, nn.Linear) else getattr(head, "out_proj", None)
    if not isinstance(last, nn.Linear) or last.out_features != 1:
        raise ValueError(f"cannot find a (hidden -> 1) output projection in {type(base).__name__}.{names[0]}")
    return last


def zero_score_head(model: nn.Module) -> None:
    """Zero the score head's output projection, so every reward starts at 0."""
    set_score_head(model, torch.zeros(score_projection(model).in_features), torch.zeros(()))


def set_score_head(model: nn.Module, weight: torch.Tensor, bias: torch.Tensor | None = None) -> None:
    """Write a (H,) weight (and bias, where the projection has one) into the score head's output projection."""
    last = score_projection(model)
    with torch.no_grad():
        last.weight.copy_(weight.reshape(1, -1).to(last.weight))
        if last.bias is not None:
            last.bias.copy_((bias if bias is not None else torch.zeros(())).reshape(1).to(last.bias))


@torch.no_grad()
def score_head_inputs(
    model: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor, **kwargs: torch.Tensor
) -> torch.Tensor:
    """What the score head's output projection reads for each sequence, (N, H) in float32: the input of the
    projection, at each row's last real token when the model scores every position (decoders) and as it is when the
    model pools before its head (BERT's pooler, RoBERTa's dense layer). A linear probe on these features is a score
    head: ``set_score_head(model, w, b)`` makes the model's rewards ``features @ w + b``."""
    seen: list[torch.Tensor] = []
    handle = score_projection(model).register_forward_pre_hook(lambda _, args: seen.append(args[0]))
    try:
        model(input_ids=input_ids, attention_mask=attention_mask, **kwargs)
    finally:
        handle.remove()
    x = seen[-1]
    if x.dim() == 3:  # (N, T, H): the model pools the per-position scores afterwards
        x = x[torch.arange(x.shape[0], device=x.device), last_token_index(attention_mask)]
    return x.float()
