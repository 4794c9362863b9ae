"""Data: loading rows with row-level validation, chat formatting, tokenisation and DataModules per task."""

from perl_lightning.data.preference import PreferenceBatch, PreferenceDataModule

__all__ = ["PreferenceBatch", "PreferenceDataModule"]
