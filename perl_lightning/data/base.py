"""Plumbing shared by the DataModules: where the tokenizer comes from, and a training order that resumes exactly."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Sized
from typing import Any, TypeVar

import lightning as L
import torch
from torch.utils.data import DataLoader, DistributedSampler
from transformers import PreTrainedTokenizerBase, ProcessorMixin

from perl_lightning.models.backbone import load_tokenizer
from perl_lightning.sources import DataError

T = TypeVar("T")


class ResumableSampler(DistributedSampler):
    """Seeded shuffle per epoch, sharded over ranks, that can start part-way through an epoch.

    The order of epoch ``e`` is a permutation drawn from ``seed + e`` (``DistributedSampler``'s rule), so it does not
    depend on the global RNG or on how many epochs ran in this process; ``skip`` drops the first ``skip`` indices of
    this rank's share once, for the first iteration after a resume. Being a ``DistributedSampler``, Lightning does not
    replace it under DDP; without a process group it takes ``num_replicas`` and ``rank`` as given.

    Args:
        dataset: the (sized) training data.
        num_replicas: number of ranks.
        rank: this rank.
        shuffle: shuffle each epoch.
        seed: seed of the shuffle.
        epoch: the epoch the first iteration belongs to (set again by Lightning via ``set_epoch``).
        skip: indices of this rank's share to skip in the first iteration.
    """

    def __init__(
        self,
        dataset: Sized,
        num_replicas: int = 1,
        rank: int = 0,
        shuffle: bool = True,
        seed: int = 0,
        epoch: int = 0,
        skip: int = 0,
    ) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed)  # type: ignore[arg-type]
        self.epoch = epoch
        self.skip = skip

    def __iter__(self) -> Iterator[int]:
        indices = list(super().__iter__())
        skip, self.skip = self.skip, 0
        return iter(indices[skip:])


class TokenizerDataModule(L.LightningDataModule):
    """A DataModule whose tokenizer is named by ``hparams.tokenizer`` or taken from the attached LightningModule.

    Its training loader resumes exactly: ``state_dict`` records the epoch and how many batches of it were trained
    (read from the trainer's loop when a checkpoint is written); after ``load_state_dict`` the next training loader
    starts at the following batch of the same seeded order, so a resumed run sees the batches an uninterrupted one
    would.
    """

    _tokenizer: PreTrainedTokenizerBase | None = None
    _resume: dict[str, int] | None = None

    @property
    def tokenizer(self) -> PreTrainedTokenizerBase:
        """The tokenizer: given by name, or the attached LightningModule's."""
        if self._tokenizer is None:
            if self.hparams.get("tokenizer") is not None:
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

    _processor: ProcessorMixin | None = None

    @property
    def processor(self) -> ProcessorMixin | None:
        """A vision-language model's processor (images to pixel tensors, image tokens): set, or the attached
        LightningModule's ``processor``; ``None`` for text models."""
        if self._processor is None and self.trainer is not None:
            self._processor = getattr(self.trainer.lightning_module, "processor", None)
        return self._processor

    @processor.setter
    def processor(self, value: ProcessorMixin | None) -> None:
        self._processor = value

    # ---- exact resume --------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Where training stands in the data: ``{"epoch", "batches_done"}`` (batches of that epoch already trained)."""
        trainer = self.trainer
        if trainer is None:
            return {}
        progress = trainer.fit_loop.epoch_loop.batch_progress.current
        return {"epoch": int(trainer.current_epoch), "batches_done": int(progress.processed)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Start the next training loader after the batches recorded by :meth:`state_dict`."""
        if state_dict:
            self._resume = {"epoch": int(state_dict["epoch"]), "batches_done": int(state_dict["batches_done"])}

    def train_loader(
        self, data: list[Any], batch_size: int, collate_fn: Callable, seed: int, num_workers: int, shuffle: bool = True
    ) -> DataLoader:
        """The training DataLoader: a :class:`ResumableSampler` over this rank's share, started where a resume says
        (``shuffle=False`` keeps ``data``'s order, for data already arranged)."""
        trainer = self.trainer
        replicas, rank = (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)
        epoch, skip = 0, 0
        if self._resume is not None:
            epoch, done = self._resume["epoch"], self._resume["batches_done"]
            per_rank = math.ceil(len(data) / replicas)
            if done >= math.ceil(per_rank / batch_size):  # the checkpoint closed its epoch: start the next one
                epoch, done = epoch + 1, 0
            skip = done * batch_size
            self._resume = None
        sampler = ResumableSampler(data, replicas, rank, shuffle=shuffle, seed=seed, epoch=epoch, skip=skip)
        return DataLoader(
            data,
            batch_size=batch_size,
            sampler=sampler,
            collate_fn=collate_fn,
            num_workers=num_workers,
            generator=own_generator(seed),
        )


def own_generator(seed: int) -> torch.Generator:
    """A generator for a DataLoader: starting an iterator draws a worker seed from it, not from the global RNG.

    Without one, every ``iter(loader)`` (each epoch, each validation, the sanity check) advances the global torch RNG
    that sampling in RL uses, so a resumed run, which starts its iterators at other moments, would sample differently.
    """
    return torch.Generator().manual_seed(seed)


def seeded_split(
    items: list[T], fraction: float, seed: int, what: str, allow_empty_train: bool = False
) -> tuple[list[T], list[T]]:
    """Hold out ``round(len(items) * fraction)`` items (at least one when ``fraction > 0``) by a seeded shuffle.

    Both parts keep the original order. Raises ``DataError`` naming ``what`` when nothing would be left to train on
    (unless ``allow_empty_train``: e.g. a file meant only for ``validate``).
    """
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    n_val = max(1, round(len(items) * fraction)) if fraction > 0 else 0
    if n_val >= len(items) and not allow_empty_train:
        raise DataError(f"{what}: {len(items)} rows (or prompts) are too few to hold out {n_val} for evaluation")
    return [items[i] for i in sorted(order[n_val:])], [items[i] for i in sorted(order[:n_val])]


def grouped_split(
    items: list[T], group: Callable[[T], str], fraction: float, seed: int, what: str, allow_empty_train: bool = False
) -> tuple[list[T], list[T]]:
    """Hold out ``round(n_groups * fraction)`` whole groups (at least one when ``fraction > 0``) by a seeded shuffle.

    Every item of a group (e.g. all the pairs of one prompt, all the ratings of one context) lands on the same side,
    so nothing evaluated on was trained on. With one item per group this is :func:`seeded_split`. Both parts keep
    the original order.
    """
    keys = list(dict.fromkeys(group(item) for item in items))
    _, held = seeded_split(keys, fraction, seed, what, allow_empty_train)
    if len(held) >= len(keys) and not allow_empty_train:
        raise DataError(f"{what}: {len(keys)} groups are too few to hold some out for evaluation")
    held_out = set(held)
    return [i for i in items if group(i) not in held_out], [i for i in items if group(i) in held_out]
