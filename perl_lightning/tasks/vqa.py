"""Visual question answering: an image, a question, answers from several annotators; VQA accuracy as metric and reward.

Schema (VQAv2-style rows, one JSON object per line, or a ``datasets`` table)::

    {"id": "...",                         # optional; else <file>:<row>
     "image": "images/tr-00017.png",      # a path (relative to the data file), raw bytes, a datasets Image
                                          #   ({"bytes", "path"}) or a PIL image
     "question": "How many red circles are there?",
     "answers": ["2", "two", ...],        # annotators' answers (strings, or VQAv2's [{"answer": ...}, ...]);
     "answer": "2"}                       #   or one gold ``answer`` (a single-answer row: exact match)

Metric and reward: the standard VQA accuracy, ``min(#annotators giving the answer / 3, 1)`` after the official
answer normalisation (averaged over the leave-one-out annotator subsets), of the short answer extracted from the
reply (:func:`~perl_lightning.tasks.visual.answers.extract_answer`); exact match for single-answer rows.

Stages: SFT demonstrations (the question and the majority answer), preference pairs (the gold answer over a wrong
answer of the same kind, on the same image), RL prompts with the annotators' answers as metadata. A row with a
missing or unreadable image, an empty question or no answers raises a ``DataError`` naming file, row and field
(``bad_rows: skip`` counts and skips it instead).

The built-in data (:mod:`perl_lightning.tasks.visual.generator`): seeded synthetic scenes of coloured shapes with
questions about colour, shape, size, counts, presence, position and relations, and a held-out split of unseen
colour-shape combinations.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch

from perl_lightning.rl.types import Message
from perl_lightning.sources import DataError, Row
from perl_lightning.tasks.base import Demonstration, PreferenceExample, PromptExample, Stage, Task, row_identity, where
from perl_lightning.tasks.visual.answers import extract_answer, normalize_answer, vqa_accuracy
from perl_lightning.tasks.visual.generator import builtin_root
from perl_lightning.tasks.visual.rows import answers as row_answers
from perl_lightning.tasks.visual.rows import load_image, question
from perl_lightning.tasks.visual.scenes import COLORS, SHAPES, SIZES

#: What the model is asked after the question (LLaVA's short-answer instruction).
INSTRUCTION = "Answer the question using a single word or number."

#: Wrong answers for preference pairs, by the kind of the gold answer (an unknown kind draws from all of them).
DISTRACTORS: dict[str, tuple[str, ...]] = {
    "yes/no": ("yes", "no"),
    "number": tuple(str(i) for i in range(11)),
    "color": tuple(COLORS),
    "shape": tuple(SHAPES),
    "size": tuple(SIZES),
    "side": ("left", "right", "top", "bottom", "center", "middle"),
}


def answer_kind(answer: str) -> str:
    """The kind of a normalised answer: ``yes/no``, ``number``, one of the scene vocabularies, or ``other``."""
    if answer in ("yes", "no"):
        return "yes/no"
    if answer.isdigit():
        return "number"
    return next((kind for kind, words in DISTRACTORS.items() if answer in words), "other")


def wrong_answer(answers: Sequence[str], rng: random.Random) -> str:
    """An answer no annotator gave (after normalisation), of the same kind as the majority answer when possible."""
    given = {normalize_answer(a) for a in answers}
    gold = majority_answer(answers)
    kind = answer_kind(normalize_answer(gold))
    pool = DISTRACTORS.get(kind) or tuple(w for words in DISTRACTORS.values() for w in words)
    choices = [w for w in pool if w not in given] or [w for ws in DISTRACTORS.values() for w in ws if w not in given]
    return rng.choice(sorted(set(choices)))


def majority_answer(answers: Sequence[str]) -> str:
    """The most frequent answer after normalisation (ties: the first given), in its first given spelling."""
    normal = [normalize_answer(a) for a in answers]
    best, _ = Counter(normal).most_common(1)[0]
    return answers[normal.index(best)]


def vqa_reward(completions: Sequence[str], answers: Sequence[Sequence[str]] | None = None, **_: Any) -> list[float]:
    """The VQA accuracy of each reply's short answer against its row's ``answers`` (the reward layer passes the
    rows' metadata); ``None`` for a row without answers."""
    rows = answers or [None] * len(completions)
    return [None if a is None else vqa_accuracy(extract_answer(c), a) for c, a in zip(completions, rows, strict=True)]


class VQA(Task):
    """Visual question answering on a vision-language model (see the module docstring for the schema).

    Args:
        seed: seed of the built-in data.
        train: built-in training rows.
        image_size: side of the built-in images in pixels.
        instruction: appended to each question (the answer format asked for).
    """

    name: ClassVar[str] = "vqa"
    feedback: ClassVar[str] = "pairwise"  # type: ignore[assignment]
    builtin_val_split: ClassVar[str | None] = "test"  # unseen colour-shape combinations
    headline_metric: ClassVar[str | None] = "vqa_accuracy"
    group_by: ClassVar[str | None] = "question_type"
    programmatic_rewards: ClassVar[dict[str, str]] = {"steps": "perl_lightning.tasks.vqa:vqa_reward"}
    reward_functions: ClassVar[tuple[str, ...]] = ("perl_lightning.tasks.vqa:vqa_reward",)
    needs_images: ClassVar[bool] = True

    def __init__(self, seed: int = 0, train: int = 2000, image_size: int = 64, instruction: str = INSTRUCTION) -> None:
        self.seed, self.train, self.image_size, self.instruction = seed, train, image_size, instruction

    def builtin_root(self) -> Path:
        """The built-in data directory (written on first use, a few seconds)."""
        return builtin_root(self.seed, self.train, self.image_size)

    def source(self, stage: Stage, path: str | None) -> str:
        """``path``, else the built-in rows: a directory with ``train`` / ``validation`` / ``test`` splits."""
        return path if path is not None else str(self.builtin_root())

    # ---- rows ----------------------------------------------------------------------------------------------------
    def messages(self, row: Row) -> list[Message]:
        """The user turn: the image, then the question and the answer-format instruction."""
        text = question(row) + (f"\n{self.instruction}" if self.instruction else "")
        return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]}]

    def _answers(self, row: Row) -> list[str]:
        values = row_answers(row)
        if not any(normalize_answer(a) for a in values):
            field = "answers" if "answers" in row.data else "answer"
            raise DataError(f"{where(row, field)} has no answer that is not empty after normalisation")
        return values

    def demonstration(self, row: Row) -> Demonstration:
        """The question about the image, answered with the majority answer."""
        answers = self._answers(row)
        return Demonstration(self.messages(row), majority_answer(answers), (load_image(row),))

    def preference(self, row: Row) -> PreferenceExample:
        """The majority answer preferred over a wrong one of the same kind (seeded by the row), same image."""
        answers = self._answers(row)
        rng = random.Random(f"{self.seed}:{row_identity(row)}")
        return PreferenceExample(self.messages(row), majority_answer(answers), wrong_answer(answers, rng),
                                 (load_image(row),))  # fmt: skip

    def prompt(self, row: Row) -> PromptExample:
        """The question about the image; metadata: the annotators' ``answers`` (and the row's ``question_type``)."""
        answers = self._answers(row)
        metadata: dict[str, Any] = {"answers": answers}
        if isinstance(row.data.get("question_type"), str):
            metadata["question_type"] = row.data["question_type"]
        return PromptExample(self.messages(row), row_identity(row), metadata, (load_image(row),))

    # ---- evaluation ----------------------------------------------------------------------------------------------
    def evaluate(self, responses: Sequence[str], metadata: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor]:
        """``vqa_accuracy`` (the standard metric) and ``exact_match`` (the short answer equals the majority answer
        after normalisation) per row; NaN for rows without answers."""
        accuracy, exact = [], []
        for response, meta in zip(responses, metadata, strict=True):
            answers = meta.get("answers")
            if not answers:
                accuracy.append(float("nan"))
                exact.append(float("nan"))
                continue
            short = extract_answer(response)
            accuracy.append(vqa_accuracy(short, answers))
            exact.append(float(normalize_answer(short) == normalize_answer(majority_answer(answers))))
        return {"vqa_accuracy": torch.tensor(accuracy), "exact_match": torch.tensor(exact)}
