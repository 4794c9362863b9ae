"""RatedDataModule: rated responses (thumbs up / down) for a pointwise reward model."""

from __future__ import annotations

import random
from typing import Literal, NamedTuple

import torch
from torch.utils.data import DataLoader

from perl_lightning.data.base import TokenizerDataModule, grouped_split, own_generator
from perl_lightning.data.formatting import encode_prompt, encode_response, pad, truncate_pair
from perl_lightning.sources import BadRowLog, BadRows, iter_rows, validated
from perl_lightning.tasks import RatedExample, Task, get_task
from perl_lightning.tasks.base import split_key
from perl_lightning.tasks.generic import Generic

__all__ = ["RatedBatch", "RatedDataModule", "RatedExample"]

#: One tokenized rated response: (prompt + response token ids, label).
Encoded = tuple[list[int], float]


class RatedBatch(NamedTuple):
    """(prompt, response) sequences with their ratings, for a pointwise (binary cross-entropy) reward model."""

    input_ids: torch.Tensor  # (B, T)
    attention_mask: torch.Tensor  # (B, T)
    labels: torch.Tensor  # (B,) float in [0, 1]: 1 liked (thumbs up), 0 disliked

    @property
    def num_rated(self) -> int:
        """B, the number of rated responses."""
        return self.input_ids.shape[0]


def balanced(rated: list[Encoded], seed: int) -> list[Encoded]:
    """``rated`` reordered into balanced rounds: each round is every rating of the rarer class (label < 0.5 vs
    >= 0.5) and as many fresh ones of the other, shuffled together (seeded); the rounds go on until every rating of
    the commoner class has been used (the last round tops it up with ones already used). A run shorter than one pass
    thus sees each rare rating once before any repeats, and both classes equally often. Unchanged when a class is
    empty."""
    liked = [r for r in rated if r[1] >= 0.5]
    disliked = [r for r in rated if r[1] < 0.5]
    rare, common = sorted((disliked, liked), key=len)
    if not rare:
        return rated
    rng = random.Random(seed)
    common = rng.sample(common, len(common))
    rounds = -(-len(common) // len(rare))  # ceil
    common = common + common[: rounds * len(rare) - len(common)]  # top up the last round
    out: list[Encoded] = []
    for k in range(rounds):
        one = rare + common[k * len(rare) : (k + 1) * len(rare)]
        out += rng.sample(one, len(one))
    return out


class RatedDataModule(TokenizerDataModule):
    """Rated responses (prompt, response, thumbs up 1 / down 0) for a pointwise reward model, read through a task.

    The task turns its native rows into rated responses (Taskmaster's ``{context, generation, reward}`` with the
    ``dialogue`` task); without a task, ``{prompt, response, label}`` rows are read by the column names below, the
    label any number in ``[0, 1]``. The held-out split keeps every rating of one context on the same side (or of
    whatever the task groups contexts by, e.g. the prefixes of one Taskmaster conversation), so no context is both
    trained and evaluated on. Applies the tokenizer's chat template when it has one, truncates per
    ``perl_lightning.data.formatting.truncate_pair`` (the start of a long context goes first) and pads dynamically
    per batch. Batches are :class:`RatedBatch`; train with ``objective: pointwise``.

    Args:
        task: a task name (``dialogue``, ...) or instance with rated examples; ``None`` reads the columns named below
            (the ``generic`` task).
        path: the task's built-in ratings when ``None``, a local jsonl / json / parquet / csv file (``.gz`` ok), a
            local dataset directory, or a hub dataset id.
        name: hub dataset configuration name.
        split: split used for training (``train`` if not given).
        val_split: a split of the same source used for validation; when ``None`` a seeded ``val_fraction`` of the
            training contexts is held out with all their ratings.
        val_fraction: fraction of the contexts held out when ``val_split`` is ``None``.
        limit: use only the first ``limit`` usable rows (before the split); ``None`` for all.
        prompt_key: without a task: column holding the prompt (the context ratings are grouped by).
        response_key: without a task: column holding the rated response.
        label_key: without a task: column holding the rating (1 liked, 0 disliked; any value in ``[0, 1]``).
        max_length: maximum tokens of prompt + response.
        max_prompt_length: most tokens the prompt keeps when a sequence is too long (default ``max_length // 2``).
        batch_size: rated responses per training batch.
        balance: train on balanced rounds (:func:`balanced`): each round is every rating of the rarer class and as
            many fresh ones of the other, shuffled; the rounds cover the commoner class once per epoch, in order.
            Validation is untouched. Thumbs data is lopsided (Taskmaster Coffee: 86% liked); where the budget is a
            fraction of a pass this shows the model every disliked response early and both classes equally often,
            which ``pos_weight`` (a reweighting of the few it happens to see) cannot. Use one or the other.
        eval_batch_size: rated responses per validation / test / predict batch (default ``2 * batch_size``).
        padding_side: ``right`` or ``left``; the reward model reads the last real token either way.
        chat_template: apply the tokenizer's chat template when it has one.
        bad_rows: ``error`` (default: stop at the first bad row, naming file, row and field) or ``skip`` (skip and
            count, warning with file and row).
        tokenizer: tokenizer name or path; ``None`` takes the tokenizer of the LightningModule being trained.
        predict_path: rated rows in the task's schema to score in ``predict`` (their labels come along); ``None``
            predicts the validation ratings.
        num_workers: DataLoader workers.
        seed: seed of the shuffle and the train / validation split.
    """

    def __init__(
        self,
        task: str | Task | None = None,
        path: str | None = None,
        name: str | None = None,
        split: str | None = None,
        val_split: str | None = None,
        val_fraction: float = 0.1,
        limit: int | None = None,
        prompt_key: str = "prompt",
        response_key: str = "response",
        label_key: str = "label",
        max_length: int = 256,
        max_prompt_length: int | None = None,
        batch_size: int = 8,
        balance: bool = False,
        eval_batch_size: int | None = None,
        padding_side: Literal["right", "left"] = "right",
        chat_template: bool = True,
        bad_rows: BadRows = "error",
        tokenizer: str | None = None,
        predict_path: str | None = None,
        num_workers: int = 0,
        seed: int = 42,
    ) -> None:
        super().__init__()
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
        self.save_hyperparameters(ignore=["task"])
        self.hparams["task"] = task if task is None or isinstance(task, str) else type(task).__name__
        self.task = (
            get_task(task)
            if task is not None
            else Generic("explicit", prompt_key=prompt_key, response_key=response_key, label_key=label_key)
        )
        if "rated" not in self.task.stages():
            raise ValueError(
                f"task '{self.task.name}' has no rated responses (it has: {', '.join(self.task.stages())}); "
                "train a pairwise reward model on it with PreferenceDataModule"
            )
        self.path = self.task.source("rated", path)
        if path is None and val_split is None:  # built-in data may come with its own held-out split
            self.hparams["val_split"] = self.task.builtin_val_split
        self.max_prompt_length = max_prompt_length or max_length // 2
        self.examples: dict[str, list[RatedExample]] = {}
        self.encoded: dict[str, list[Encoded]] = {}
        self.skipped: list[str] = []

    def _read(self, path: str, split: str | None, bad: BadRowLog, limit: int | None) -> list[RatedExample]:
        """The task's rated responses of one split, in file order."""
        rows = iter_rows(path, split=split, name=self.hparams.name)
        parsed = validated(rows, self.task.rated, bad, f"{path} ({split or 'train'})")
        return parsed[:limit] if limit else parsed

    def load_examples(self) -> dict[str, list[RatedExample]]:
        """Read, validate and split the rated responses (no tokenizer needed)."""
        if self.examples:
            return self.examples
        hp = self.hparams
        bad = BadRowLog(hp.bad_rows)
        train = self._read(self.path, hp.split, bad, hp.limit)
        if hp.val_split is not None:
            val = self._read(self.path, hp.val_split, bad, hp.limit)
        else:
            train, val = grouped_split(train, split_key, hp.val_fraction, hp.seed, self.path, allow_empty_train=True)
        self.skipped = bad.skipped
        self.examples = {"train": train, "val": val}
        return self.examples

    def encode(self, example: RatedExample) -> Encoded:
        """Token ids of one (prompt, response) sequence, truncated per the policy, and its label."""
        tok, hp = self.tokenizer, self.hparams
        prompt = encode_prompt(tok, example.prompt, hp.chat_template)
        response = encode_response(tok, example.response, hp.chat_template)
        p, r = truncate_pair(prompt, response, hp.max_length, self.max_prompt_length)
        return p + r, float(example.label)

    def setup(self, stage: str | None = None) -> None:
        """Load and tokenize once; later calls reuse the result."""
        if self.encoded:
            return
        for split, examples in self.load_examples().items():
            self.encoded[split] = [self.encode(e) for e in examples]
        if self.hparams.balance:
            self.encoded["train"] = balanced(self.encoded["train"], self.hparams.seed)

    def label_counts(self, split: str = "train") -> tuple[int, int]:
        """(liked, disliked) responses of a split (label >= 0.5 counts as liked), e.g. for a ``pos_weight``."""
        liked = sum(e.label >= 0.5 for e in self.load_examples()[split])
        return liked, len(self.examples[split]) - liked

    def collate(self, rated: list[Encoded]) -> RatedBatch:
        """Pad the sequences of a batch: (B, T) ids and mask, (B,) labels."""
        ids, mask = pad([s for s, _ in rated], self.tokenizer.pad_token_id, self.hparams.padding_side)
        return RatedBatch(ids, mask, torch.tensor([y for _, y in rated], dtype=torch.float32))

    def _loader(self, data: list[Encoded]) -> DataLoader:
        hp = self.hparams
        return DataLoader(
            data,
            batch_size=hp.eval_batch_size or 2 * hp.batch_size,
            collate_fn=self.collate,
            num_workers=hp.num_workers,
            generator=own_generator(hp.seed),
        )

    def train_dataloader(self) -> DataLoader:
        hp = self.hparams
        shuffle = not hp.balance  # balanced rounds come shuffled within, and stay in order
        return self.train_loader(self.encoded["train"], hp.batch_size, self.collate, hp.seed, hp.num_workers, shuffle)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.encoded["val"])

    def test_dataloader(self) -> DataLoader:
        return self.val_dataloader()

    def predict_dataloader(self) -> DataLoader:
        if self.hparams.predict_path is None:
            return self.val_dataloader()
        bad = BadRowLog(self.hparams.bad_rows)
        examples = self._read(self.hparams.predict_path, None, bad, None)
        return self._loader([self.encode(e) for e in examples])
