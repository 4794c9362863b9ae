"""RL on a tiny VLM: images reach sampling, log-probs, the reference and the update; an image-dependent reward rises,
and the trained policy really reads the image (swapping the images lowers its reward)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import pytest
import torch
from lightning.pytorch.loggers import CSVLogger
from PIL import Image

from perl_lightning.data.prompts import PromptDataModule
from perl_lightning.models.adapters import LoRAConfig
from perl_lightning.models.backbone import load_tokenizer
from perl_lightning.modules.optim import OptimConfig
from perl_lightning.modules.policy import PolicyModule
from perl_lightning.rewards import RewardSpec
from perl_lightning.rl.config import KLConfig, SamplingConfig, UpdateConfig
from perl_lightning.sources import Row
from perl_lightning.tasks import PromptExample, Task

pytestmark = pytest.mark.usefixtures("one_thread")

_TOKENIZER = load_tokenizer("tiny-llama")  # tiny-llava's, less its image tokens


def shade_reward(completions: list[str], label: list[int], tokens: list[list[int]], **_: Any) -> list[float]:
    """The share of the response's tokens in the image's set: ``tokens[0]`` for a dark image, ``tokens[1]`` for a
    light one (disjoint sets). A policy that ignores the image gets at most 0.5."""
    out = []
    for text, light in zip(completions, label, strict=True):
        ids = _TOKENIZER(text, add_special_tokens=False)["input_ids"]
        out.append(sum(1 for i in ids if i in set(tokens[light])) / max(len(ids), 1))
    return out


class ShadeTask(Task):
    """A dark or a light image (random pixels around a base shade) and one fixed question."""

    name = "shade"

    def prompt(self, row: Row) -> PromptExample:
        data = row.data
        rs = np.random.RandomState(data["seed"])
        base = 40 if data["label"] == 0 else 215
        pixels = np.clip(base + rs.randint(-30, 30, (32, 32, 3)), 0, 255).astype("uint8")
        message = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Describe it."}]}]
        return PromptExample(message, data["id"], {"label": data["label"]}, (Image.fromarray(pixels),))


DARK = {f"s{1000 + i}" for i in range(0, 16, 2)}  # the held-out rows with dark images


def _rows(path: Path, n: int, offset: int) -> str:
    rows = [{"id": f"s{offset + i}", "seed": offset + i, "label": i % 2} for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def _mean_reward(policy: PolicyModule, batch, role: str = "policy") -> float:
    torch.manual_seed(0)
    rollout = policy.generate(batch, policy.sampling, role=role, k=4)
    return float(policy.score(rollout).total.mean())


def _favourites(policy: PolicyModule, batch, n: int = 40) -> list[list[int]]:
    """The initial policy's ``n`` most frequent tokens on dark and on light images (temperature 0.1), less the
    tokens of both lists."""
    torch.manual_seed(0)
    rollout = policy.generate(batch, policy.sampling, k=8)
    out = []
    for light in (0, 1):
        counts = Counter(
            t
            for i, (row, mask) in enumerate(
                zip(rollout.responses_ids.tolist(), rollout.response_mask.tolist(), strict=True)
            )
            if batch.metadata[i // 8]["label"] == light
            for t, m in zip(row, mask, strict=True)
            if m
        )
        out.append({t for t, _ in counts.most_common(n)})
    return [sorted(out[0] - out[1]), sorted(out[1] - out[0])]


def _policy(tokens: list[list[int]] | None) -> PolicyModule:
    lora = LoRAConfig(r=8, alpha=16, target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "up_proj", "down_proj"])
    reward = RewardSpec("tests.modules.test_vlm_policy:shade_reward", args={"tokens": tokens or [[], []]})
    return PolicyModule("tiny-llava", algorithm="grpo", lora=lora, rewards=[reward],
                        sampling=SamplingConfig(max_new_tokens=6, temperature=0.1), kl=KLConfig(coef=0.01),
                        update=UpdateConfig(samples_per_prompt=8), optim=OptimConfig(learning_rate=5e-3))  # fmt: skip


def test_vlm_policy_learns_an_image_dependent_reward(tmp_path: Path) -> None:
    """GRPO with LoRA on the language model of a tiny Llava: the reward asks for one word on dark images and another
    on light ones, so only a policy that reads the image can pass 0.5; the frozen vision tower, projector and base
    weights stay bit-identical."""
    _rows(tmp_path / "train.jsonl", 32, 0)
    _rows(tmp_path / "test.jsonl", 16, 1000)
    dm = PromptDataModule(task=ShadeTask(), path=str(tmp_path), split="train", val_split="test", batch_size=4,
                          max_prompt_length=128)  # fmt: skip
    probe = _policy(None)
    assert probe.processor is not None
    dm.tokenizer, dm.processor = probe.tokenizer, probe.processor
    dm.setup()
    tokens = _favourites(probe, dm.collate(dm.encoded["train"]))
    L.seed_everything(0)
    policy = _policy(tokens)
    val = dm.collate(dm.encoded["val"])
    assert val.images is not None and val.images.pixels["pixel_values"].shape[0] == 16
    before = _mean_reward(policy, val)
    logger = CSVLogger(str(tmp_path), name="rl")
    trainer = L.Trainer(accelerator="cpu", max_steps=30, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, limit_val_batches=0, num_sanity_val_steps=0, logger=logger,
                        log_every_n_steps=1, default_root_dir=tmp_path)  # fmt: skip
    frozen = {n: p.detach().clone() for n, p in policy.model.named_parameters() if "lora_" not in n}
    trainer.fit(policy, dm)
    logger.save()
    rows = list(csv.DictReader(open(Path(logger.log_dir) / "metrics.csv", newline="")))
    rewards = [float(r["rl/reward_mean"]) for r in rows if r.get("rl/reward_mean")]
    first, last = sum(rewards[:6]) / 6, sum(rewards[-6:]) / 6
    assert last > first + 0.2, (first, last)
    after = _mean_reward(policy, val)  # held-out images
    assert after > before + 0.3, (before, after)
    # the policy reads the image: each held-out row with its neighbour's image (dark <-> light) scores far lower
    assert [m["label"] for m in val.metadata] == [i % 2 for i in range(16)]
    swapped = val._replace(images=val.images.select([i ^ 1 for i in range(16)]))
    assert _mean_reward(policy, swapped) < after - 0.25, after
    for n, p in policy.model.named_parameters():  # vision tower, projector and language model: untouched
        if n in frozen:
            assert torch.equal(p, frozen[n]), n
    # the sample table shows the image the model saw (a PNG next to the CSV)
    checker = L.Trainer(accelerator="cpu", logger=CSVLogger(str(tmp_path), name="val"), enable_progress_bar=False,
                        enable_model_summary=False, limit_val_batches=1)  # fmt: skip
    checker.validate(policy, dm, verbose=False)
    table = next((Path(checker.log_dir) / "samples").glob("step_*.csv"))
    rows = list(csv.DictReader(open(table, newline="")))
    assert rows and all(r["image"].endswith(".png") for r in rows)
    seen = Image.open(table.parent / rows[0]["image"])
    assert (
        seen.size == (32, 32)
        and abs(sum(seen.convert("L").getdata()) / 1024 - (40 if rows[0]["row_id"] in DARK else 215)) < 40
    )
