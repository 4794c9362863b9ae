"""Response log-probs and values of rows that share a prompt (GRPO's k samples) equal a full forward of each row."""

from __future__ import annotations

import torch
from peft import TaskType

from perl_lightning.models.forward import last_hidden_state, response_hidden_states, response_logprobs


def _rows(pad_id: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Six rows: prompts A, A, B, A, B, C (left-padded to 5) and responses of different lengths (right-padded)."""
    prompts = {"A": [5, 6, 7, 8, 9], "B": [11, 12, 13], "C": [14, 15, 16, 17]}
    spec = [("A", [20, 21, 22]), ("A", [23]), ("B", [30, 31]), ("A", [24, 25]), ("B", [32, 33, 34]), ("C", [40])]
    ids, mask = [], []
    for name, resp in spec:
        p = prompts[name]
        ids.append([pad_id] * (5 - len(p)) + p + resp + [pad_id] * (3 - len(resp)))
        mask.append([0] * (5 - len(p)) + [1] * len(p) + [1] * len(resp) + [0] * (3 - len(resp)))
    return torch.tensor(ids), torch.tensor(mask), 5


def test_shared_prompts_give_the_full_forward_hidden_states_and_gradients(tiny_lora, tiny_tokenizer):
    model = tiny_lora("causal-lm", TaskType.CAUSAL_LM)
    ids, mask, p = _rows(tiny_tokenizer.pad_token_id)
    full = last_hidden_state(model, ids, mask)[:, p - 1 : -1]
    full.pow(2).mul(mask[:, p:, None]).sum().backward()
    grads = {n: q.grad.clone() for n, q in model.named_parameters() if q.requires_grad}
    assert any(g.abs().sum() > 0 for g in grads.values())
    model.zero_grad()
    shared = response_hidden_states(model, ids, mask, p)
    assert shared.shape == full.shape
    m = mask[:, p:, None].bool()
    torch.testing.assert_close(shared * m, full * m, atol=1e-5, rtol=1e-4)
    shared.pow(2).mul(mask[:, p:, None]).sum().backward()
    for name, q in model.named_parameters():
        if q.requires_grad:  # float32 summation-order noise scales with the gradient, so the tolerance does too
            scale = float(grads[name].abs().max())
            torch.testing.assert_close(q.grad, grads[name], atol=1e-4 * scale + 1e-8, rtol=1e-3, msg=name)


def test_response_logprobs_unchanged_by_sharing(tiny_lora, tiny_tokenizer):
    model = tiny_lora("causal-lm", TaskType.CAUSAL_LM)
    ids, mask, p = _rows(tiny_tokenizer.pad_token_id)
    with torch.no_grad():
        shared, _ = response_logprobs(model, ids, mask, p)
        # the same rows one at a time: no prompt repeats, so each row takes the full forward
        single = torch.cat([response_logprobs(model, ids[i : i + 1], mask[i : i + 1], p)[0] for i in range(len(ids))])
    m = mask[:, p:].bool()
    torch.testing.assert_close(shared[m], single[m], atol=1e-5, rtol=1e-4)


def test_distinct_prompts_take_the_full_forward(tiny_lora, tiny_tokenizer):
    model = tiny_lora("causal-lm", TaskType.CAUSAL_LM)
    ids, mask, p = _rows(tiny_tokenizer.pad_token_id)
    rows = [0, 2, 5]  # prompts A, B, C: nothing to share, so one forward of the whole rows
    calls = []
    body = model.get_base_model().base_model
    record = lambda _m, _a, kwargs: calls.append(tuple(kwargs["input_ids"].shape))  # noqa: E731
    body.register_forward_pre_hook(record, with_kwargs=True)
    with torch.no_grad():
        response_hidden_states(model, ids[rows], mask[rows], p)
    assert calls == [tuple(ids[rows].shape)]
    calls.clear()
    with torch.no_grad():
        response_hidden_states(model, ids, mask, p)
    assert calls == [(3, p), (6, ids.shape[1] - p)]  # three distinct prompts once, then every row's response
