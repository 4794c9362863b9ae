"""Small heads on a backbone's last hidden state: the reward model's score head and the PPO value head."""

from __future__ import annotations

import torch
from torch import nn

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
