"""SFTModule: held-out perplexity falls, only LoRA trains, the adapter reloads with plain peft and starts RL,
micro-batches are exact, perplexity of the whole set, exact resume."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import lightning as L
import pytest
import torch
from peft import PeftModel
from torch.utils.data import DataLoader
from transformers import AutoModelForCausalLM

from perl_lightning.data import SFTDataModule
from perl_lightning.models.adapters import LoRAConfig
from perl_lightning.models.forward import response_logprobs
from perl_lightning.modules import PolicyModule, SFTModule
from perl_lightning.modules.sft import micro_batches
from perl_lightning.rewards import RewardSpec
from perl_lightning.rl.supervised import sft_nll

COLOURS = ["red", "blue", "green", "yellow"]
#: The tiny random model's logits are bounded by its final norm and its tiny tied embeddings: LoRA on the attention
#: alone moves its loss by well under a nat in a few steps. LoRA on the LM head too lets a short fit show learning.
WITH_HEAD = LoRAConfig(r=8, alpha=16, target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "lm_head"])


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: a second intra-op thread only adds sync


@pytest.fixture(scope="module")
def demos(tmp_path_factory) -> Path:
    """40 demonstrations of one answer template (prompts differ, so the held-out prompts are new)."""
    rows = [
        {"prompt": f"What colour is box {i}?", "response": f"Box {i} is {COLOURS[i % 4]}. I hope this helps."}
        for i in range(40)
    ]
    path = tmp_path_factory.mktemp("sft") / "demos.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _module(model: str = "tiny-llama", **kwargs) -> SFTModule:
    kwargs.setdefault("lora", LoRAConfig(r=8, alpha=16, dropout=0.0))
    kwargs.setdefault("learning_rate", 1e-2)
    return SFTModule(model=model, **kwargs)


def _data(path: Path, **kwargs) -> SFTDataModule:
    kwargs = {"batch_size": 8, "max_length": 64, "val_fraction": 0.25, "eval_batch_size": 4, **kwargs}
    return SFTDataModule(path=str(path), **kwargs)


def _trainer(root: Path, steps: int, *callbacks: L.Callback, **kwargs) -> L.Trainer:
    kwargs = {"limit_val_batches": 0, "logger": False, **kwargs}
    return L.Trainer(accelerator="cpu", max_steps=steps, enable_checkpointing=False, enable_progress_bar=False,
                     enable_model_summary=False, num_sanity_val_steps=0, default_root_dir=root,
                     callbacks=list(callbacks), **kwargs)  # fmt: skip


def _validate(module: SFTModule, dm: SFTDataModule) -> dict[str, float]:
    trainer = L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False)
    return trainer.validate(module, dm, verbose=False)[0]


# ---- one short fit on tiny-llama shared by several tests -----------------------------------------------------------
@pytest.fixture(scope="module")
def fitted(demos, tmp_path_factory) -> SimpleNamespace:
    tmp = tmp_path_factory.mktemp("fit")
    module, dm = _module(lora=WITH_HEAD, save_dir=str(tmp / "sft_adapter")), _data(demos)
    before_weights = {n: p.detach().clone() for n, p in module.model.named_parameters()}
    before = _validate(module, dm)
    _trainer(tmp, 15).fit(module, dm)
    after = _validate(module, dm)
    return SimpleNamespace(module=module.eval(), dm=dm, before=before, after=after, weights=before_weights)


def test_held_out_perplexity_falls_after_a_short_fit(fitted):
    before, after = fitted.before, fitted.after
    assert after["val/loss"] < before["val/loss"] - 3.0, (before, after)  # perplexity / 20 (measured: 52154 -> 82)
    assert after["val/perplexity"] < before["val/perplexity"] / 20
    for result in (before, after):
        assert result["val/perplexity"] == pytest.approx(math.exp(result["val/loss"]), rel=1e-5)
    train_prompts = {e.prompt for e in fitted.dm.examples["train"]}
    assert not train_prompts & {e.prompt for e in fitted.dm.examples["val"]}  # held out: never trained on


def test_only_lora_weights_change(fitted):
    changed_lora = 0
    for name, param in fitted.module.model.named_parameters():
        if param.requires_grad:
            assert "lora_" in name, f"{name} trains but is no LoRA weight"
            changed_lora += not torch.equal(param, fitted.weights[name])
        else:
            assert torch.equal(param, fitted.weights[name]), f"frozen parameter {name} changed"
    assert changed_lora >= 18  # A and B of q, k, v, o in 2 layers and of the LM head (its tied embedding frozen)


def test_validation_perplexity_is_of_the_whole_set_not_a_mean_over_batches(fitted):
    module, dm = fitted.module, fitted.dm
    parts = []
    with torch.no_grad():
        for batch in dm.val_dataloader():
            parts.append(sft_nll(module(batch.input_ids, batch.attention_mask), batch.labels))
    assert len(parts) >= 3 and len({int(p.tokens) for p in parts}) > 1  # batches of unequal token counts
    total, tokens = sum(p.total for p in parts), sum(p.tokens for p in parts)
    assert fitted.after["val/loss"] == pytest.approx(float(total / tokens), rel=1e-5)
    assert fitted.after["val/perplexity"] == pytest.approx(math.exp(total / tokens), rel=1e-5)
    batch_mean = sum(math.exp(p.mean) for p in parts) / len(parts)
    assert fitted.after["val/perplexity"] != pytest.approx(batch_mean, rel=1e-4)


def test_validation_keeps_each_demonstration_nll_and_they_add_up_to_the_set_loss(fitted):
    """``eval_records``: per held-out demonstration (in the loader's fixed order) its mean response-token NLL, each as
    the model gives it alone; weighted by token counts they make the logged loss (paired statistics across
    evaluations rely on the order and the values)."""
    module, dm = fitted.module, fitted.dm
    records = module.eval_records
    assert len(records) == len(dm.encoded["val"])
    with torch.no_grad():
        alone = []
        for batch in dm.val_dataloader():
            for i in range(batch.input_ids.shape[0]):
                one = [t[i : i + 1] for t in (batch.input_ids, batch.attention_mask, batch.labels)]
                alone.append(sft_nll(module(one[0], one[1]), one[2]))
    assert records == pytest.approx([float(p.mean) for p in alone], rel=1e-5)
    total, tokens = sum(float(p.total) for p in alone), sum(int(p.tokens) for p in alone)
    assert fitted.after["val/loss"] == pytest.approx(total / tokens, rel=1e-5)
    assert len(set(records)) > 1  # the records differ per item: not one value repeated


# ---- the adapter: plain transformers + peft, and the start of RL ---------------------------------------------------
@pytest.fixture(scope="module")
def saved(demos, tiny_base_dir, tmp_path_factory) -> SimpleNamespace:
    """An SFT adapter trained on the tiny base saved as a plain transformers directory."""
    tmp = tmp_path_factory.mktemp("saved")
    module, dm = _module(model=str(tiny_base_dir), save_dir=str(tmp / "sft_adapter")), _data(demos)
    _trainer(tmp, 3).fit(module, dm)
    return SimpleNamespace(module=module.eval(), dm=dm, path=tmp / "sft_adapter")


def test_saved_adapter_reloads_with_plain_transformers_and_peft(saved, tiny_base_dir):
    batch = saved.dm.collate(saved.dm.encoded["val"][:3])
    with torch.no_grad():
        ours = saved.module(batch.input_ids, batch.attention_mask)
    base = AutoModelForCausalLM.from_pretrained(tiny_base_dir)
    plain = PeftModel.from_pretrained(base, saved.path).eval()
    with torch.no_grad():
        theirs = plain(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
    torch.testing.assert_close(theirs, ours, atol=1e-5, rtol=1e-5)
    with torch.no_grad(), plain.disable_adapter():
        bare = plain(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
    assert not torch.allclose(bare, ours, atol=1e-3), "the adapter was trained: it must change the logits"
    meta = json.loads((saved.path / "perl_lightning.json").read_text())
    assert meta["stage"] == "sft" and meta["role"] == "causal-lm" and meta["peft"] is True
    assert (saved.path / "adapter_model.safetensors").is_file() and (saved.path / "tokenizer_config.json").is_file()


def test_adapter_starts_the_policy_and_is_its_reference(saved, tiny_base_dir):
    policy = PolicyModule(model=str(tiny_base_dir), algorithm="rloo", lora=LoRAConfig(r=4, alpha=8),
                          rewards=[RewardSpec("perl_lightning.rewards.toy:brevity_reward")],
                          init_policy_adapter=str(saved.path)).eval()  # fmt: skip
    examples = saved.dm.encoded["val"][:3]
    prompts = [e.input_ids[: e.prompt_length] for e in examples]
    responses = [e.input_ids[e.prompt_length :] for e in examples]
    p, r, pad = max(map(len, prompts)), max(map(len, responses)), policy.tokenizer.pad_token_id
    rows = [[pad] * (p - len(a)) + a + b + [pad] * (r - len(b)) for a, b in zip(prompts, responses, strict=True)]
    masks = [
        [0] * (p - len(a)) + [1] * (len(a) + len(b)) + [0] * (r - len(b))
        for a, b in zip(prompts, responses, strict=True)
    ]
    sequences, mask = torch.tensor(rows), torch.tensor(masks)  # (3, P + R): prompts left-, responses right-padded
    with torch.no_grad():
        policy_lp, _ = policy.models.train_logprobs(sequences, mask, p, temperature=1.0)  # (3, R)
        with policy.models.role("reference") as reference:
            reference_lp, _ = response_logprobs(reference, sequences, mask, p)
    for i, (prompt, response) in enumerate(zip(prompts, responses, strict=True)):
        ids = torch.tensor([prompt + response])
        with torch.no_grad():
            logits = saved.module(ids, torch.ones_like(ids))[0, len(prompt) - 1 : -1].log_softmax(-1)  # (R_i, V)
        sft_lp = logits.gather(-1, torch.tensor(response).unsqueeze(-1)).squeeze(-1)
        torch.testing.assert_close(policy_lp[i, : len(response)], sft_lp, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(reference_lp, policy_lp)  # the frozen SFT copy: no spurious KL at the start


def test_full_fine_tuning_trains_every_weight_and_saves_a_whole_model(demos, tmp_path):
    module = _module(lora=None, learning_rate=None, save_dir=str(tmp_path / "full"))
    assert module.learning_rate == 2e-5 and _module(learning_rate=None).learning_rate == 2e-4  # 10x for LoRA
    before = {n: p.detach().clone() for n, p in module.model.named_parameters()}
    _trainer(tmp_path, 2).fit(module, _data(demos))
    assert all(p.requires_grad and not torch.equal(p, before[n]) for n, p in module.model.named_parameters())
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path / "full").eval()
    ids = torch.tensor([[1, 4093, 198, 26843, 2]])
    with torch.no_grad():
        torch.testing.assert_close(reloaded(input_ids=ids).logits, module.eval()(ids, torch.ones_like(ids)))


# ---- micro-batches and resume --------------------------------------------------------------------------------------
class GradientsBeforeStep(L.Callback):
    """The trainable gradients as the optimizer is about to step (after every micro-batch's backward)."""

    def __init__(self) -> None:
        self.grads: list[dict[str, torch.Tensor]] = []

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        self.grads.append({n: p.grad.clone() for n, p in pl_module.named_parameters() if p.requires_grad})


def test_micro_batched_step_equals_the_whole_batch_step(tmp_path):
    words = [1, 30, 4, 18, 2, 9, 25, 1]  # lengths far apart: micro-batches of unequal rows and response tokens
    rows = [{"prompt": f"Question {i}?", "response": "more " * n + f"answer {i}."} for i, n in enumerate(words)]
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    dm = _data(path, batch_size=len(rows), max_length=128, val_fraction=0.0)
    runs = {}
    for budget in (None, 150):
        torch.manual_seed(0)
        module = _module(micro_batch_tokens=budget, max_grad_norm=None)
        with torch.no_grad():  # non-zero LoRA B: the A matrices get gradients too
            for name, p in module.model.named_parameters():
                if "lora_B" in name:
                    p.normal_(0, 0.05)
        dm.tokenizer = module.tokenizer
        dm.setup("fit")
        batch = dm.collate(dm.encoded["train"])
        if budget is not None:
            parts = micro_batches(batch, budget)
            assert len(parts) >= 3 and len({int(m.num_tokens) for m in parts}) > 1
            assert sum(int(m.num_tokens) for m in parts) == int(batch.num_tokens)
        grads = GradientsBeforeStep()
        trainer = _trainer(tmp_path, 1, grads)
        trainer.fit(module, train_dataloaders=DataLoader([batch], batch_size=None))
        runs[budget] = (float(trainer.callback_metrics["train/loss"]), grads.grads[0])
        assert int(trainer.callback_metrics["train/tokens"]) == int(batch.num_tokens)
    (whole_loss, whole), (micro_loss, micro) = runs[None], runs[150]
    assert whole.keys() == micro.keys()
    assert any("lora_A" in n and g.abs().sum() > 0 for n, g in whole.items())
    for name, grad in whole.items():
        torch.testing.assert_close(micro[name], grad, atol=1e-7, rtol=1e-4, msg=lambda m, n=name: f"{n}: {m}")
    assert micro_loss == pytest.approx(whole_loss, rel=1e-5)


class Losses(L.Callback):
    def __init__(self, crash_at: int | None = None, path: Path | None = None) -> None:
        self.values: list[float] = []
        self.crash_at, self.path = crash_at, path

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.values.append(float(outputs["loss"]))
        if trainer.global_step == self.crash_at:
            trainer.save_checkpoint(self.path)
            raise RuntimeError("simulated crash")


def test_resume_from_a_checkpoint_is_exact(demos, tmp_path):
    """Crash after step 2 (inside epoch 0: 30 demonstrations, batches of 8), resume: steps 3-6 (into epoch 1) give
    the losses of an uninterrupted run, so the length-grouped order and the weights are restored exactly."""

    def data() -> SFTDataModule:
        return _data(demos, batch_size=8, val_fraction=0.25)

    L.seed_everything(7)  # the same LoRA initialisation in both runs
    straight = Losses()
    _trainer(tmp_path / "a", 6, straight).fit(_module(), data())
    L.seed_everything(7)
    first, path = Losses(crash_at=2, path=tmp_path / "stop.ckpt"), tmp_path / "stop.ckpt"
    with pytest.raises(RuntimeError, match="simulated crash"):
        _trainer(tmp_path / "b", 6, first).fit(_module(), data())
    L.seed_everything(123)  # another LoRA initialisation: the weights must come from the checkpoint
    second = Losses()
    _trainer(tmp_path / "c", 6, second).fit(_module(), data(), ckpt_path=path)
    assert len(straight.values) == 6 and len(first.values + second.values) == 6
    assert first.values + second.values == pytest.approx(straight.values, rel=1e-6, abs=1e-7)
