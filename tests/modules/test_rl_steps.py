"""Dynamic sampling of degenerate groups (update.zero_std) and the step metrics, on hand-built rollouts."""

from __future__ import annotations

import pytest
import torch

from perl_lightning.data.prompts import PromptBatch
from perl_lightning.modules.rl_steps import dynamic_sampling, idle_steps, old_logprob_source
from perl_lightning.rewards.layer import RewardResult
from perl_lightning.rl.config import UpdateConfig
from perl_lightning.rl.types import Rollout

K = 2


def _batch(n_prompts: int) -> PromptBatch:
    ids = torch.arange(n_prompts * 3).reshape(n_prompts, 3)
    rows = range(n_prompts)
    return PromptBatch(ids, torch.ones_like(ids), [f"p{i}" for i in rows], [f"r{i}" for i in rows],
                       [{"gold": i} for i in rows])  # fmt: skip


def _rollout(batch: PromptBatch, width: int, tag: int) -> Rollout:
    """k samples per prompt; response tokens all equal to ``tag`` so rows can be traced."""
    n = len(batch.prompts) * K
    prompts = batch.input_ids.repeat_interleave(K, 0)
    responses = torch.full((n, width), tag)
    mask = torch.ones(n, width, dtype=torch.long)
    return Rollout(torch.cat([prompts, responses], 1), torch.cat([torch.ones_like(prompts), mask], 1), mask,
                   torch.ones(n, dtype=torch.bool), prompts.shape[1], [p for p in batch.prompts for _ in range(K)],
                   [f"t{tag}"] * n, [r for r in batch.row_ids for _ in range(K)],
                   [m for m in batch.metadata for _ in range(K)])  # fmt: skip


def _result(scores: list[float]) -> RewardResult:
    t = torch.tensor(scores)
    return RewardResult(t, {"fn": t.clone()}, {})


def test_keep_counts_zero_std_groups_and_changes_nothing():
    batch = _batch(3)
    rollout, result = _rollout(batch, 4, 1), _result([1, 1, 0, 1, 2, 2])  # groups 0 and 2 are flat
    out, res, stats = dynamic_sampling(batch, rollout, result, UpdateConfig(samples_per_prompt=K), None, 0)
    assert stats == {"zero_std_fraction": pytest.approx(2 / 3), "dropped_groups": 0.0}
    assert out is rollout and res is result


def test_drop_removes_whole_degenerate_groups():
    batch = _batch(3)
    rollout, result = _rollout(batch, 4, 1), _result([1, 1, 0, 1, 2, 2])
    cfg = UpdateConfig(samples_per_prompt=K, zero_std="drop")
    out, res, stats = dynamic_sampling(batch, rollout, result, cfg, None, 0)
    assert stats["dropped_groups"] == 2.0
    assert out.row_ids == ["r1", "r1"] and out.prompts == ["p1", "p1"] and out.metadata == [{"gold": 1}] * 2
    assert res.total.tolist() == [0.0, 1.0] and res.sources["fn"].tolist() == [0.0, 1.0]


def test_drop_everything_skips_the_update_on_one_process_and_keeps_the_batch_on_several():
    batch = _batch(2)
    rollout, result = _rollout(batch, 4, 1), _result([3, 3, 5, 5])
    cfg = UpdateConfig(samples_per_prompt=K, zero_std="drop")
    out, res, stats = dynamic_sampling(batch, rollout, result, cfg, None, 0)
    assert out is None and res is None and stats["dropped_groups"] == 2.0
    out, _, stats = dynamic_sampling(batch, rollout, result, cfg, None, 0, world_size=2)
    assert out is rollout and stats["dropped_groups"] == 0.0  # every rank must run the same collectives


def test_resample_redraws_only_degenerate_groups_and_splices_them_in_place():
    batch = _batch(3)
    rollout, result = _rollout(batch, 4, 1), _result([1, 1, 0, 1, 2, 2])  # groups 0 and 2 flat
    calls = []

    def redraw(sub: PromptBatch):
        calls.append(list(sub.row_ids))
        fresh = _rollout(sub, 6, 9)  # longer responses: widths differ, padding must line them up
        return fresh, _result([4, 7, 8, 8])  # group r0 now varies, group r2 still flat

    cfg = UpdateConfig(samples_per_prompt=K, zero_std="resample", max_resamples=1)
    out, res, stats = dynamic_sampling(batch, rollout, result, cfg, redraw, pad_id=0)
    assert calls == [["r0", "r2"]]  # only the degenerate groups are drawn again
    assert stats == {
        "zero_std_fraction": pytest.approx(2 / 3),
        "dropped_groups": 1.0,
    }  # r2 stayed flat after the one redraw
    assert out.row_ids == ["r0", "r0", "r1", "r1"]  # group order kept, samples of a prompt contiguous
    assert res.total.tolist() == [4.0, 7.0, 0.0, 1.0] and res.sources["fn"].tolist() == [4.0, 7.0, 0.0, 1.0]
    assert out.responses == ["t9", "t9", "t1", "t1"]
    assert out.response_mask.sum(-1).tolist() == [6, 6, 4, 4]  # the old rows' responses padded (masked) to width 6
    assert out.sequences.shape == (4, 3 + 6) and out.attention_mask.shape == out.sequences.shape
    assert (out.sequences[2, 3:7] == 1).all() and (out.attention_mask[2, 7:] == 0).all()


def test_a_redraw_with_narrower_prompts_is_left_padded_into_place():
    """A multi-turn rollout pads its prompts to the widest of its own rows, so the redraw of a few groups can come back
    with a narrower prompt: its rows are left-padded (masked) so that every response still starts at column P."""
    batch = _batch(2)
    rollout, result = _rollout(batch, 4, 1), _result([1, 1, 0, 1])  # group r0 flat

    def redraw(sub: PromptBatch):
        narrow = PromptBatch(sub.input_ids[:, 1:], sub.attention_mask[:, 1:], sub.prompts, sub.row_ids, sub.metadata)
        return _rollout(narrow, 5, 9), _result([2, 3])

    cfg = UpdateConfig(samples_per_prompt=K, zero_std="resample", max_resamples=1)
    out, res, _ = dynamic_sampling(batch, rollout, result, cfg, redraw, pad_id=0)
    assert out.prompt_length == 3 and out.sequences.shape == (4, 3 + 5) and res.total.tolist() == [2.0, 3.0, 0.0, 1.0]
    assert out.sequences[0].tolist() == [0, 1, 2, 9, 9, 9, 9, 9]  # pad, the prompt's last two tokens, the response
    assert out.attention_mask[0].tolist() == [0, 1, 1, 1, 1, 1, 1, 1]
    assert out.sequences[2].tolist() == [3, 4, 5, 1, 1, 1, 1, 0] and out.attention_mask[2, -1] == 0
    assert out.response_mask.sum(-1).tolist() == [5, 5, 4, 4]


def test_single_sample_algorithms_have_no_groups():
    batch = _batch(2)
    rollout = _rollout(batch, 4, 1)
    out, _, stats = dynamic_sampling(batch, rollout, _result([1, 1, 1, 1]), UpdateConfig(samples_per_prompt=1),
                                     None, 0)  # fmt: skip
    assert out is rollout and stats == {}


@pytest.mark.parametrize(
    ("setting", "has_sampler", "fp32", "one_micro", "has_value", "expected"),
    [
        (dict(old_logprobs="auto"), True, True, True, False, "sampler"),  # fp32: the sampler's numbers are exact
        (dict(old_logprobs="auto"), True, False, True, False, "update"),  # bf16 / autocast: not trusted
        (dict(old_logprobs="sampler"), True, False, False, True, "sampler"),  # asked for
        (dict(old_logprobs="sampler"), False, True, True, False, "update"),  # nothing recorded
        (dict(old_logprobs="recompute"), True, True, False, False, "recompute"),  # several micro-batches
        (dict(old_logprobs="recompute"), True, True, True, True, "recompute"),  # a value model moves the step
        (dict(old_logprobs="recompute", update_epochs=2), True, True, True, False, "recompute"),
        (dict(old_logprobs="recompute", num_minibatches=2), True, True, True, False, "recompute"),
    ],
)
def test_old_logprob_source_rule(setting, has_sampler, fp32, one_micro, has_value, expected):
    """pi_old comes from the update's own forward only when that forward is the one optimizer step of the batch."""
    cfg = UpdateConfig(**{"update_epochs": 1, **setting})  # as the algorithm resolves it for GRPO
    assert old_logprob_source(cfg, has_sampler, fp32, one_micro, has_value) == expected


def test_idle_steps_move_no_weight_and_advance_the_schedule():
    """A batch without an update spends its optimizer steps: the schedule advances, no weight moves (even with
    momentum left over from an earlier real step, which ``set_to_none`` gradients keep AdamW from applying)."""
    layer = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(layer.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0 / (1 + step))
    layer(torch.ones(1, 3)).sum().backward()
    opt.step()
    sched.step()
    before = [p.detach().clone() for p in layer.parameters()]
    idle_steps(opt, sched, 3)
    assert all(torch.equal(a, b) for a, b in zip(before, layer.parameters(), strict=True))
    assert sched.last_epoch == 4 and opt.param_groups[0]["lr"] == pytest.approx(0.1 / 5)
