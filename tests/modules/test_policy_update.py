"""PolicyModule.update and .loss: gradient accumulation gives the full-batch gradient; the loss's log-probs use the
sampling temperature (the one the rollout's old log-probs were computed with)."""

from __future__ import annotations

import lightning as L
import pytest
import torch

from perl_lightning.data.prompts import PromptDataModule
from perl_lightning.models.adapters import LoRAConfig
from perl_lightning.modules.optim import OptimConfig
from perl_lightning.modules.policy import PolicyModule
from perl_lightning.rewards import RewardSpec
from perl_lightning.rl.config import KLConfig, SamplingConfig, UpdateConfig
from perl_lightning.rl.types import Experience

#: -words / 10: varies between the tiny model's responses, so advantages (and gradients) are non-zero
BREVITY = [RewardSpec("perl_lightning.rewards.toy:brevity_reward")]


def _perturb_lora_b(module: PolicyModule, std: float = 0.05) -> None:
    """Non-zero LoRA B, so that every LoRA matrix (A too) gets a gradient."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if "lora_B" in name and p.requires_grad:
                p.normal_(0, std)


class GradientsBeforeStep(L.Callback):
    """The trainable parameters' gradients each time the optimizer is about to step (manual optimization too)."""

    def __init__(self) -> None:
        self.grads: list[dict[str, torch.Tensor]] = []

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        self.grads.append({n: p.grad.clone() for n, p in pl_module.named_parameters() if p.requires_grad})


def _one_update(
    algorithm: str, accumulation: int, kl: KLConfig | None = None, **update
) -> tuple[Experience, dict[str, torch.Tensor]]:
    """One training step (one rollout batch, one optimizer step): the experience ``update`` got, and the gradients
    at the optimizer step."""
    L.seed_everything(0, verbose=False)  # the same adapters, prompts and samples in every call
    module = PolicyModule(
        model="tiny-llama",
        algorithm=algorithm,
        lora=LoRAConfig(r=4, alpha=8, dropout=0.0),
        rewards=BREVITY,
        # min = max new tokens: every response has the same length, so the mean of the micro-batches' per-sequence
        # means is the mean over the whole batch
        sampling=SamplingConfig(max_new_tokens=4, min_new_tokens=4, temperature=0.7),
        update=UpdateConfig(
            update_epochs=1,
            num_minibatches=1,
            gradient_accumulation_steps=accumulation,
            loss_agg="seq_mean_token_mean",
            **update,
        ),  # fmt: skip
        optim=OptimConfig(learning_rate=1e-3, max_grad_norm=None),  # no clipping: it would rescale a wrong gradient
        kl=kl or KLConfig(),
    )
    _perturb_lora_b(module)
    seen: list[Experience] = []
    update = module.update

    def recording_update(exp: Experience, prompt_length: int, *rest):
        seen.append(exp)
        return update(exp, prompt_length, *rest)

    module.update = recording_update
    grads = GradientsBeforeStep()
    trainer = L.Trainer(accelerator="cpu", max_steps=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
                        num_sanity_val_steps=0, callbacks=[grads])  # fmt: skip
    trainer.fit(module, PromptDataModule(limit=8, val_limit=2, batch_size=4, max_prompt_length=32))
    assert len(seen) == 1 and len(grads.grads) == 1
    return seen[0], grads.grads[0]


@pytest.mark.parametrize("algorithm", ["ppo", "grpo"])
def test_gradient_accumulation_gives_the_full_batch_gradient(algorithm):
    """``update`` divides each micro-batch's loss by the number of micro-batches: with equal-length responses and
    ``seq_mean_token_mean`` the accumulated gradient of 2 micro-batches equals the one of the whole batch (PPO: policy
    and value adapters and the value head; GRPO: 4 samples per prompt)."""
    exp_1, whole = _one_update(algorithm, accumulation=1)
    exp_2, accumulated = _one_update(algorithm, accumulation=2)
    for a, b in zip(exp_1[:-1], exp_2[:-1], strict=True):  # the same experience batch in both runs
        assert torch.equal(a, b)
    assert exp_1.images is None and exp_2.images is None  # text prompts
    lengths = exp_1.response_mask.sum(-1)
    assert exp_1.sequences.shape[0] % 2 == 0 and (lengths == lengths[0]).all() and lengths[0] == 4
    assert exp_1.advantages.abs().sum() > 0
    assert whole.keys() == accumulated.keys()
    kinds = ("lora_A", "lora_B") + (("value_head",) if algorithm == "ppo" else ())
    for kind in kinds:
        assert any(kind in n and whole[n].abs().sum() > 0 for n in whole), f"no {kind} gradient to compare"
    if algorithm == "ppo":
        assert any(".value." in n for n in whole) and any(".policy." in n for n in whole)
    for name, grad in whole.items():
        torch.testing.assert_close(accumulated[name], grad, atol=1e-7, rtol=1e-4, msg=lambda m, n=name: f"{n}: {m}")


def test_update_logprobs_use_the_sampling_temperature():
    """``loss`` recomputes the rollout's log-probs at the sampling temperature (0.1 here): they equal the no-grad
    ``logprobs`` the old log-probs come from, and differ from temperature-1 log-probs."""
    L.seed_everything(0, verbose=False)
    module = PolicyModule(model="tiny-llama", algorithm="grpo", lora=LoRAConfig(r=4, alpha=8, dropout=0.0),
                          rewards=BREVITY, sampling=SamplingConfig(max_new_tokens=5, temperature=0.1),
                          update=UpdateConfig(samples_per_prompt=2))  # fmt: skip
    _perturb_lora_b(module)
    dm = PromptDataModule(limit=6, val_limit=2, batch_size=2, max_prompt_length=32)
    dm.tokenizer = module.tokenizer
    dm.setup("fit")
    batch = dm.collate(dm.encoded["train"][:2])
    module.eval()  # the phases before the update run in eval mode; dropout is 0 anyway
    rollout = module.generate(batch, module.sampling, k=2)
    (sampling_t,) = module.logprobs(rollout, "policy")  # at sampling.temperature
    (t_one,) = module.models.logprobs(rollout, "policy", 1.0)
    mask = rollout.response_mask.bool()
    assert mask.any() and not torch.allclose(sampling_t[mask], t_one[mask], atol=1e-3)  # the temperature matters

    seen = []
    train_logprobs = module.models.train_logprobs

    def recording(*args, **kwargs):
        out = train_logprobs(*args, **kwargs)
        seen.append(out[0].detach())
        return out

    module.models.train_logprobs = recording
    n = rollout.sequences.shape[0]
    zeros = torch.zeros_like(sampling_t)
    exp = Experience(rollout.sequences, rollout.attention_mask, rollout.response_mask.float(), sampling_t, sampling_t,
                     zeros, torch.linspace(-1, 1, n)[:, None] * rollout.response_mask, zeros)  # fmt: skip
    loss, stats = module.loss(exp, rollout.prompt_length)
    assert len(seen) == 1 and torch.isfinite(loss)
    torch.testing.assert_close(seen[0][mask], sampling_t[mask], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(seen[0][mask], t_one[mask], atol=1e-3)
    # the ratio to the old log-probs is 1: nothing clipped, no approximate KL
    assert float(stats["rl/approx_kl"]) < 1e-9 and float(stats["rl/clipfrac"]) == 0.0


@pytest.mark.parametrize("kl_placement", ["reward", "loss"])
def test_old_logprob_sources_give_the_same_step(monkeypatch, kl_placement):
    """GRPO, one epoch: ``log pi_old`` recorded by the sampler, taken from the update's own forward (one
    micro-batch), or recomputed by a no-grad pass (one micro-batch per row, losses weighted back to the batch's):
    only the last runs a separate policy pass, and all three give the same old log-probs and the same gradient."""
    runs = {}
    settings = {"sampler": dict(old_logprobs="sampler"),
                "update": dict(old_logprobs="recompute", micro_batch_tokens=None),
                "recompute": dict(old_logprobs="recompute", micro_batch_tokens=1)}  # fmt: skip
    for name, update in settings.items():
        passes: list[str] = []
        logprobs = PolicyModule.logprobs

        def counting(self, rollout, role, with_entropy=False, _seen=passes, _orig=logprobs):
            _seen.append(role)
            return _orig(self, rollout, role, with_entropy)

        monkeypatch.setattr(PolicyModule, "logprobs", counting)
        exp, grads = _one_update("grpo", 1, KLConfig(coef=0.1, placement=kl_placement), **update)
        runs[name] = (exp, grads, passes)
        monkeypatch.undo()
    assert [runs[n][2] for n in settings] == [["reference"], ["reference"], ["policy", "reference"]]
    exp_r, grads_r, _ = runs["recompute"]
    assert any(g.abs().sum() > 0 for g in grads_r.values())
    for name in ("sampler", "update"):
        exp, grads, _ = runs[name]
        torch.testing.assert_close(exp.old_logprobs, exp_r.old_logprobs, atol=2e-5, rtol=1e-5)
        torch.testing.assert_close(exp.advantages, exp_r.advantages, atol=1e-5, rtol=1e-5)
        for key, grad in grads_r.items():
            torch.testing.assert_close(grads[key], grad, atol=1e-6, rtol=2e-4,
                                       msg=lambda m, k=key, s=name: f"{s} {k}: {m}")  # fmt: skip
