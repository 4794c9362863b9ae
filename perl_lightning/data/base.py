"""Plumbing shared by the DataModules: where the tokenizer comes from."""

from __future__ import annotations

import random
from typing import TypeVar

import lightning as L
from transformers import PreTrainedTokenizerBase

T = TypeVar("T")


class TokenizerDataModule(L.LightningDataModule):
    """A DataModule whose tokenizer is named by ``hparams.tokenizer`` or taken from the attached LightningModule."""

    _tokenizer: PreTrainedTokenizerBase | None = None

    @property
    def tokenizer(self) -> PreTrainedTokenizerBase:
        """The tokenizer: given by name, or the attached LightningModule's."""
        if self._tokenizer is None:
            if self.hparams.get("tokenizer") is not None:
                from perl_lightning.models.backbone import load_tokenizer

                self._tokenizer = load_tokenizer(self.hparams.tokenizer)
            elif self.trainer is not None and hasattr(self.trainer.lightning_module, "tokenizer"):
                self._tokenizer = self.trainer.lightning_module.tokenizer
            else:
                raise RuntimeError(
                    f"{type(self).__name__} needs a tokenizer: pass tokenizer= or attach to a Trainer "
                    "whose LightningModule has a .tokenizer"
                )
        return self._tokenizer

    @tokenizer.setter
    def tokenizer(self, value: PreTrainedTokenizerBase) -> None:
        self._tokenizer = value


def seeded_split(
    items: list[T], fraction: float, seed: int, what: str, allow_empty_train: bool = False
) -> tuple[list[T], list[T]]:
    """Hold out ``round(len(items) * fraction)`` items (at least one when ``fraction > 0``) by a seeded shuffle.

    Both parts keep the original order. Raises ``DataError`` naming ``what`` when nothing would be left to train on
    (unless ``allow_empty_train``: e.g. a file meant only for ``validate``).
    """
    from perl_lightning.data.sources import DataError

    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    n_val = max(1, round(len(items) * fraction)) if fraction > 0 else 0
    if n_val >= len(items) and not allow_empty_train:
        raise DataError(f"{what}: {len(items)} rows are too few to hold out {n_val} for evaluation")
    return [items[i] for i in sorted(order[n_val:])], [items[i] for i in sorted(order[:n_val])]
