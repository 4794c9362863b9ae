"""Data: loading rows with row-level validation, chat formatting, tokenisation and DataModules per task."""

from perl_lightning.data.preference import PreferenceBatch, PreferenceDataModule
from perl_lightning.data.prompts import PromptBatch, PromptDataModule

__all__ = ["PreferenceBatch", "PreferenceDataModule", "PromptBatch", "PromptDataModule"]
