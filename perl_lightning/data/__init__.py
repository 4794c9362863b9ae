"""Data: loading rows with row-level validation, chat formatting, tokenisation and DataModules per task."""

from perl_lightning.data.preference import PreferenceBatch, PreferenceDataModule
from perl_lightning.data.prompts import PromptBatch, PromptDataModule
from perl_lightning.data.rated import RatedBatch, RatedDataModule
from perl_lightning.data.scenes import CaptionBatch, SceneCaptionDataModule
from perl_lightning.data.sft import SFTBatch, SFTDataModule

__all__ = [
    "CaptionBatch",
    "PreferenceBatch",
    "PreferenceDataModule",
    "PromptBatch",
    "PromptDataModule",
    "RatedBatch",
    "RatedDataModule",
    "SFTBatch",
    "SceneCaptionDataModule",
    "SFTDataModule",
]
