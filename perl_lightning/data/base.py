"""Plumbing shared by the DataModules: where the tokenizer comes from."""

from __future__ import annotations

import lightning as L
from transformers import PreTrainedTokenizerBase


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
