"""The built-in VQA dataset: seeded synthetic scenes, rendered to PNG, with templated questions and exact answers.

Rows (one JSON object per line of ``{train,validation,test}.jsonl``)::

    {"id": "tr0-17-1", "image": "images/tr-00017.png",   # the PNG, relative to the jsonl file's directory
     "question": "How many red circles are there?", "answer": "2",       # canonical, in normal form
     "answers": ["2", "two", "2", ...],                  # ten annotators, all normalising to "answer"
     "question_type": "count", "targets": ["red circle"],                # what the question is about
     "scene": {"objects": [...]}}                        # the scene drawn (see tasks/visual/scenes.py)

Each image carries :data:`QUESTIONS_PER_IMAGE` different questions (fewer when the scene allows fewer).

Held-out split. The (colour, shape) combinations in :data:`HELD_OUT_COMBOS` (green triangle, yellow circle, blue
square) never appear in a train or validation image, nor in any of their questions (their count / exists questions
ask only about seen combinations). Every test image holds at least one held-out combination, and every test question
concerns one (its ``targets`` include a held-out combination): the test split measures generalisation to unseen
combinations of colours and shapes each seen on its own (every colour and every shape appears in training).

Image files are named ``images/{tr,va,ho}-NNNNN.png`` (not ``train-...``), so that ``datasets.load_dataset`` on
the directory takes the three jsonl files as the splits. Regenerate (skipped when ``OUT_DIR/DONE`` records the same
parameters)::

    python -m perl_lightning.tasks.visual.generator OUT_DIR --seed 0
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from perl_lightning.io import atomic_write
from perl_lightning.models.embedded import cache_dir
from perl_lightning.tasks.visual.questions import QUESTION_TYPES, annotator_answers, ask
from perl_lightning.tasks.visual.scenes import COLORS, SHAPES, random_scene, render

__all__ = [
    "ALL_COMBOS",
    "DATA_VERSION",
    "HELD_OUT_COMBOS",
    "SEEN_COMBOS",
    "builtin_root",
    "generate_rows",
    "main",
    "write_dataset",
]

DATA_VERSION = 1
#: (colour, shape) combinations seen only in the test split.
HELD_OUT_COMBOS: tuple[tuple[str, str], ...] = (("green", "triangle"), ("yellow", "circle"), ("blue", "square"))
ALL_COMBOS: tuple[tuple[str, str], ...] = tuple((c, s) for c in COLORS for s in SHAPES)
#: The combinations of train and validation images.
SEEN_COMBOS: tuple[tuple[str, str], ...] = tuple(c for c in ALL_COMBOS if c not in HELD_OUT_COMBOS)
QUESTIONS_PER_IMAGE = 2
SPLITS: dict[str, str] = {"train": "tr", "validation": "va", "test": "ho"}  # split -> image-name prefix
_HELD_OUT_NAMES = frozenset(f"{c} {s}" for c, s in HELD_OUT_COMBOS)


def _scene_questions(scene: dict[str, Any], rng: random.Random, held_out: bool, per_image: int) -> list[dict[str, Any]]:
    """Up to ``per_image`` questions of different types about ``scene``; for the held-out split only questions
    concerning a held-out combination, otherwise only questions concerning none."""
    pool = HELD_OUT_COMBOS if held_out else SEEN_COMBOS
    out: list[dict[str, Any]] = []
    types = list(QUESTION_TYPES)
    for _ in range(4):  # a few passes: several types depend on random choices that may not apply to the scene
        rng.shuffle(types)
        for qtype in types:
            q = ask(scene, rng, qtype, pool)
            if q is None or bool(_HELD_OUT_NAMES & set(q["targets"])) != held_out:
                continue
            if all(q["question_type"] != o["question_type"] for o in out):
                out.append(q)
            if len(out) == per_image:
                return out
    return out


def generate_rows(
    n: int, seed: int, held_out: bool = False, prefix: str = "tr", per_image: int = QUESTIONS_PER_IMAGE
) -> list[dict[str, Any]]:
    """``n`` question rows over fresh scenes (see the module docstring), the same for the same arguments.

    Args:
        n: how many rows.
        seed: the seed.
        held_out: build the held-out split (scenes with held-out combinations, questions about them) instead of
            the seen one (scenes and questions without them).
        prefix: the image-name prefix (``images/<prefix>-NNNNN.png``) and row-id prefix.
        per_image: questions per image (of different types).
    """
    rng, rows, index = random.Random(seed), [], 0
    while len(rows) < n:
        if held_out:
            required = rng.sample(HELD_OUT_COMBOS, 2 if rng.random() < 0.25 else 1)
            scene = random_scene(rng, ALL_COMBOS, rng.randint(len(required), 5), required)
            rng.shuffle(scene["objects"])  # the required objects are not always listed first
        else:
            scene = random_scene(rng, SEEN_COMBOS)
        questions = _scene_questions(scene, rng, held_out, min(per_image, n - len(rows)))
        for q_index, q in enumerate(questions):
            rows.append({"id": f"{prefix}{seed}-{index}-{q_index}", "image": f"images/{prefix}-{index:05d}.png",
                         "question": q["question"], "answer": q["answer"],
                         "answers": annotator_answers(q["answer"], rng), "question_type": q["question_type"],
                         "targets": q["targets"], "scene": scene})  # fmt: skip
        index += bool(questions)
    return rows


def _png(scene: dict[str, Any], size: int) -> bytes:
    buffer = io.BytesIO()
    render(scene, size).save(buffer, format="PNG")
    return buffer.getvalue()


def write_dataset(
    root: Path, seed: int = 0, train: int = 2000, validation: int = 200, test: int = 400, image_size: int = 64
) -> Path:
    """Write ``root/{train,validation,test}.jsonl`` and their PNGs under ``root/images/``, then ``root/DONE``.

    Every file is written atomically (a temporary file next to it, then ``os.replace``), images before the rows
    that name them and ``DONE`` last. Train and validation come from seeds ``3 * seed`` and ``3 * seed + 1`` over
    :data:`SEEN_COMBOS`, test from ``3 * seed + 2`` with :data:`HELD_OUT_COMBOS`. Nothing is written when ``DONE``
    records the same parameters (with :data:`DATA_VERSION`). Images of an earlier, larger run are left in place.

    Args:
        root: the output directory.
        seed: the seed (the same seed gives the same bytes).
        train: question rows in ``train.jsonl``.
        validation: question rows in ``validation.jsonl``.
        test: question rows in ``test.jsonl`` (the held-out combinations).
        image_size: the image side in pixels.

    Returns:
        ``root``.
    """
    root = Path(root)
    params = {"seed": seed, "train": train, "validation": validation, "test": test, "image_size": image_size,
              "questions_per_image": QUESTIONS_PER_IMAGE, "version": DATA_VERSION}  # fmt: skip
    marker = root / "DONE"
    with contextlib.suppress(OSError, ValueError):
        if json.loads(marker.read_text(encoding="utf-8")) == params:
            return root
    marker.unlink(missing_ok=True)
    sizes = {"train": train, "validation": validation, "test": test}
    for k, (split, prefix) in enumerate(SPLITS.items()):
        rows = generate_rows(sizes[split], 3 * seed + k, held_out=split == "test", prefix=prefix)
        scenes = {r["image"]: r["scene"] for r in rows}
        for image, scene in scenes.items():
            atomic_write(root / image, _png(scene, image_size))
        atomic_write(root / f"{split}.jsonl", "".join(json.dumps(r) + "\n" for r in rows).encode("utf-8"))
    atomic_write(marker, (json.dumps(params, sort_keys=True) + "\n").encode("utf-8"))
    return root


def builtin_root(seed: int = 0, train: int = 2000, image_size: int = 64) -> Path:
    """The built-in dataset's directory under the cache (``cache_dir()/vqa/v<version>-seed<seed>-n<train>-<px>px``),
    written on first use with the default validation and test sizes."""
    root = cache_dir() / "vqa" / f"v{DATA_VERSION}-seed{seed}-n{train}-{image_size}px"
    return write_dataset(root, seed=seed, train=train, image_size=image_size)


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m perl_lightning.tasks.visual.generator OUT_DIR [--seed S] [--train N] [--validation N] [--test N]
    [--image-size PX]``: write the dataset and print its directory."""
    parser = argparse.ArgumentParser(description="Write the synthetic VQA rows and images.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    for split, n in (("train", 2000), ("validation", 200), ("test", 400)):
        parser.add_argument(f"--{split}", type=int, default=n, help=f"question rows in {split} (default {n})")
    parser.add_argument("--image-size", type=int, default=64, help="image side in pixels (default 64)")
    args = parser.parse_args(argv)
    print(write_dataset(args.out_dir, args.seed, args.train, args.validation, args.test, args.image_size))


if __name__ == "__main__":
    main()
