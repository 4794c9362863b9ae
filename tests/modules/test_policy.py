"""PolicyModule: what trains and what must not, reward equality, learning, edge cases, artefacts, configs."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from types import SimpleNamespace

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

from perl_lightning.cli import PerlCLI
from perl_lightning.data.formatting import encode_prompt, encode_response, pad
from perl_lightning.data.prompts import PromptDataModule
from perl_lightning.models.adapters import LoRAConfig
from perl_lightning.models.backbone import load_backbone
from perl_lightning.modules.policy import PolicyModule
from perl_lightning.modules.reward_model import RewardModelModule
from perl_lightning.rl.rollout import AdapterReward, TextReward
from perl_lightning.rl.types import SamplingConfig

CONF = Path(__file__).resolve().parents[2] / "conf"
RL_CONFIGS = sorted(CONF.glob("rl_*.yaml"))
TINY_CONFIGS = [CONF / f"rl_tiny_{a}.yaml" for a in ("ppo", "reinforce", "rloo")]
STEP_KEYS = {
    "rl/reward_mean", "rl/reward_std", "rl/score_mean", "rl/kl", "rl/kl_k3", "rl/entropy", "rl/clipfrac",
    "rl/approx_kl", "rl/response_length", "rl/no_eos_fraction", "time/rollout_s", "time/scoring_s",
    "time/reference_s", "time/update_s", "time/tokens_per_s",
}  # fmt: skip
PROMPTS = ["How do I boil an egg?", "Name a prime number."]
RESPONSES = ["Put it in boiling water for eight minutes.", "Seven."]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models on a small shared CPU: a second intra-op thread only adds synchronisation."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def reward_dir(tmp_path_factory) -> SimpleNamespace:
    """A tiny reward model with non-trivial LoRA weights and score head, saved as the RM stage saves it."""
    torch.manual_seed(0)
    rm = RewardModelModule("tiny-llama", lora=LoRAConfig(r=4, alpha=8, dropout=0.0))
    with torch.no_grad():
        for p in rm.model.parameters():
            if p.requires_grad:
                p.add_(0.5 * torch.randn_like(p))
    path = rm.save_adapter(tmp_path_factory.mktemp("rm") / "reward_adapter")
    return SimpleNamespace(rm=rm.eval(), path=str(path))


def _policy(reward_dir: SimpleNamespace | None, **kwargs) -> PolicyModule:
    kwargs.setdefault("sampling", SamplingConfig(max_new_tokens=6))
    kwargs.setdefault("lora", LoRAConfig(r=4, alpha=8, dropout=0.0))
    kwargs.setdefault("learning_rate", 5e-3)
    if reward_dir is not None:
        kwargs.setdefault("reward_adapter", reward_dir.path)
    return PolicyModule(model="tiny-llama", **kwargs)


def _data(**kwargs) -> PromptDataModule:
    kwargs = {"limit": 24, "batch_size": 4, "max_prompt_length": 48, "val_limit": 2, **kwargs}
    return PromptDataModule(**kwargs)


def _trainer(tmp_path: Path, rollouts: int, module: PolicyModule, **kwargs) -> L.Trainer:
    kwargs = {"logger": False, "enable_checkpointing": False, "limit_val_batches": 0, **kwargs}
    return L.Trainer(
        accelerator="cpu",
        max_steps=rollouts * module.update_epochs * module.hparams.num_minibatches,
        num_sanity_val_steps=0,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
        **kwargs,
    )


def _fixed_rollout(module: PolicyModule, seed: int = 0):
    dm = _data()
    dm.tokenizer = module.tokenizer
    dm.setup()
    torch.manual_seed(seed)
    return module.generate(next(iter(dm.val_dataloader())), SamplingConfig(max_new_tokens=6), k=2)


def _finite(history: list[dict[str, float]]) -> bool:
    return all(math.isfinite(v) for step in history for v in step.values())


# ---- a short PPO run shared by several tests -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained(reward_dir, tmp_path_factory) -> SimpleNamespace:
    tmp = tmp_path_factory.mktemp("ppo")
    module = _policy(reward_dir, algorithm="ppo", update_epochs=2)
    dm = _data()
    before = {n: p.detach().clone() for n, p in module.named_parameters()}
    rollout = _fixed_rollout(module)
    module.eval()
    (ref_before,) = module.logprobs(rollout, "reference")
    (policy_before,) = module.logprobs(rollout, "policy")
    checkpoint = ModelCheckpoint(dirpath=tmp / "ckpt", save_last=True)
    trainer = _trainer(tmp, 3, module, logger=CSVLogger(tmp, name="logs"), enable_checkpointing=True,
                       callbacks=[checkpoint], limit_val_batches=1, val_check_interval=3)  # fmt: skip
    validated_before = trainer.validate(module, dm, verbose=False)[0]
    initial_cache = dict(module._initial)
    trainer.fit(module, dm)
    return SimpleNamespace(module=module, dm=dm, trainer=trainer, before=before, rollout=rollout,
                           ref_before=ref_before, policy_before=policy_before, validated_before=validated_before,
                           initial_cache=initial_cache, ckpt=Path(checkpoint.last_model_path), tmp=tmp)  # fmt: skip


def test_hydra_layout_holds_one_copy_of_the_base(trained, tiny_tokenizer):
    module = trained.module
    assert set(module.model.peft_config) == {"policy", "value", "reward"}
    assert module.reference_model is None and module.value_model is None
    assert [type(r) for r in module.reward_models] == [AdapterReward]
    base_numel = sum(p.numel() for p in load_backbone("tiny-llama", tokenizer=tiny_tokenizer).parameters())
    seen, numel = set(), 0
    for name, p in module.named_parameters():
        if "lora_" in name or "value_head" in name or "reward_models" in name or p.data_ptr() in seen:
            continue
        seen.add(p.data_ptr())
        numel += p.numel()
    assert numel == base_numel, "the Hydra layout must hold exactly one copy of the base weights"


def test_update_trains_policy_and_value_only(trained):
    module, before = trained.module, trained.before
    changed = {"policy": 0, "value": 0, "head": 0}
    for name, p in module.named_parameters():
        if ".policy." in name or ".value." in name or name.startswith("value_head"):
            key = "policy" if ".policy." in name else "value" if ".value." in name else "head"
            changed[key] += not torch.equal(p, before[name])
            assert p.requires_grad, name
        else:
            assert torch.equal(p, before[name]), f"{name} must stay bit-identical (base, reward adapter, score head)"
            assert not p.requires_grad, name
    assert changed["policy"] >= 8 and changed["value"] >= 8 and changed["head"] >= 1
    module.eval()
    (ref_after,) = module.logprobs(trained.rollout, "reference")
    (policy_after,) = module.logprobs(trained.rollout, "policy")
    assert torch.equal(ref_after, trained.ref_before), "reference log-probs must not move with the policy"
    assert not torch.allclose(policy_after, trained.policy_before), "the policy itself must have moved"
    assert len(module.history) == 3 and _finite(module.history)
    assert STEP_KEYS | {"rl/value_loss", "rl/explained_variance"} <= set(module.history[-1])
    assert module.trainer.global_step == 6  # 3 rollout batches x 2 PPO epochs


def test_adapter_reward_equals_reward_model_module(reward_dir, trained):
    module, rm = trained.module.eval(), reward_dir.rm
    expected = rm.reward(PROMPTS, RESPONSES)
    seqs = [encode_prompt(module.tokenizer, p, True) + encode_response(module.tokenizer, r, True)
            for p, r in zip(PROMPTS, RESPONSES, strict=True)]  # fmt: skip
    for side in ("left", "right"):
        ids, mask = pad(seqs, module.tokenizer.pad_token_id, side)
        with torch.no_grad():
            got = module.reward_models[0](module.model, ids, mask, module._trainable)
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    # on sampled rollouts (left-padded prompt + right-padded response), through the module's scoring path
    rollout = trained.rollout
    raw, members = module.score(rollout)
    with torch.no_grad():
        direct = rm(rollout.sequences, rollout.attention_mask)
    torch.testing.assert_close(raw, direct, atol=1e-5, rtol=1e-5)
    assert members.shape == (1, rollout.sequences.shape[0])
    assert not torch.allclose(raw, raw[0].expand_as(raw)), "rewards must depend on the text"


def test_saved_policy_reloads_with_plain_peft(trained, tiny_base_dir):
    module = trained.module.eval()
    saved = module.saved_adapters
    assert saved == Path(trained.trainer.log_dir) / "rl_adapters"
    assert (saved / "policy" / "adapter_model.safetensors").is_file()
    assert (saved / "value" / "value_head.safetensors").is_file()
    base = AutoModelForCausalLM.from_pretrained(tiny_base_dir)
    reloaded = PeftModel.from_pretrained(base, saved / "policy").eval()
    ids = trained.rollout.sequences
    mask = trained.rollout.attention_mask
    with torch.no_grad(), module.role("policy") as policy:
        ours = policy(input_ids=ids, attention_mask=mask).logits
        theirs = reloaded(input_ids=ids, attention_mask=mask).logits
    assert torch.equal(ours, theirs), "plain transformers + peft must reproduce the policy's logits exactly"
    head = load_file(str(saved / "value" / "value_head.safetensors"))
    assert torch.equal(head["summary.weight"], module.value_head.summary.weight)


def test_checkpoint_holds_only_trainable_parameters(trained, reward_dir):
    module = trained.module
    checkpoint = torch.load(trained.ckpt, map_location="cpu", weights_only=True)
    keys = set(checkpoint["state_dict"])
    trainable = {n for n, p in module.named_parameters() if p.requires_grad}
    assert keys == trainable and all(".policy." in k or ".value." in k or "value_head" in k for k in keys)
    assert checkpoint["perl_lightning"]["rl"]["kl_ctl"]["value"] == module.kl_ctl.value
    restored = PolicyModule.load_from_checkpoint(trained.ckpt)
    state = dict(restored.named_parameters())
    for name, p in module.named_parameters():
        assert torch.equal(state[name], p), name
    # resume: loop, optimizer and controller state come back and training continues from the saved step
    resumed = _policy(reward_dir, algorithm="ppo", update_epochs=2)
    trainer = _trainer(trained.tmp / "resume", 4, resumed)
    trainer.fit(resumed, _data(), ckpt_path=trained.ckpt)
    assert trainer.global_step == 8 and len(resumed.history) == 1 and _finite(resumed.history)


def test_evaluation_before_and_after(trained):
    before = trained.validated_before
    assert before["val/win_rate"] == 0.5 and before["val/kl"] == 0.0  # untrained policy == the initial policy
    assert before["val/reward"] == pytest.approx(before["val/reward_initial"])
    module = trained.module
    assert module._initial == trained.initial_cache, "the initial policy's responses are cached once per run"
    metrics = trained.trainer.callback_metrics
    assert {"val/reward", "val/reward_initial", "val/win_rate", "val/kl"} <= set(metrics)
    assert module.samples and set(module.samples[0]) == {"prompt", "before", "after", "reward_before", "reward_after"}
    tables = sorted((Path(trained.trainer.log_dir) / "samples").glob("step_*.csv"))
    assert tables, "the sample table goes to a CSV under the log dir without W&B"
    rows = list(csv.reader(tables[-1].open()))
    assert rows[0] == ["prompt", "before", "after", "reward_before", "reward_after"] and len(rows) > 1
    after = trained.trainer.validate(module, trained.dm, verbose=False)[0]
    assert after["val/reward_initial"] == pytest.approx(before["val/reward_initial"])  # same cached baseline
    assert after["val/kl"] != 0.0 and 0.0 <= after["val/win_rate"] <= 1.0


def test_reward_model_on_another_backbone(tmp_path, trained):
    """A MiniLM reward adapter runs on its own backbone and scores the decoded text with its own tokenizer."""
    rm = RewardModelModule("minilm-l6", lora=LoRAConfig(r=4, alpha=8, dropout=0.0))
    torch.manual_seed(1)
    with torch.no_grad():
        for p in rm.model.parameters():
            if p.requires_grad:
                p.add_(0.1 * torch.randn_like(p))
    path = rm.save_adapter(tmp_path / "minilm_reward")
    module = _policy(None, algorithm="rloo", reward_adapter=str(path)).eval()
    assert [type(r) for r in module.reward_models] == [TextReward]
    assert set(module.model.peft_config) == {"policy"}
    rollout = _fixed_rollout(module)
    raw, _ = module.score(rollout)
    torch.testing.assert_close(raw, rm.eval().reward(rollout.prompts, rollout.responses), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("config", TINY_CONFIGS, ids=lambda p: p.stem)
def test_tiny_config_learns_a_learnable_reward(config: Path, tmp_path):
    """Each algorithm raises a dense Python reward (line breaks in 8 tokens) within 30 rollout batches."""
    cli = PerlCLI(
        args=[
            "fit",
            "--config",
            str(config),
            f"--trainer.default_root_dir={tmp_path}",
            f"--trainer.logger.init_args.save_dir={tmp_path}",
            "--trainer.enable_progress_bar=false",
            "--trainer.limit_val_batches=0",  # evaluation has its own test
        ]
    )
    module, dm = cli.model.eval(), cli.datamodule
    scores = [step["rl/score_mean"] for step in module.history]
    assert len(scores) == 30 and _finite(module.history)
    first, last = sum(scores[:10]) / 10, sum(scores[-10:]) / 10
    assert last > first + 0.2, f"{config.stem}: training reward did not rise: first 10 {first:.2f}, last 10 {last:.2f}"
    # the low-noise check: 64 fresh samples from the trained policy against the initial policy (the reference)
    batch = dm.collate(dm.encoded["train"][:16])
    mean_reward = {}
    for role in ("reference", "policy"):
        torch.manual_seed(0)
        mean_reward[role] = float(module.score(module.generate(batch, module.sampling, role=role, k=4))[0].mean())
    assert (
        mean_reward["policy"] > 2 * mean_reward["reference"] and mean_reward["policy"] > mean_reward["reference"] + 0.6
    ), f"{config.stem}: {mean_reward}"
    assert (module.saved_adapters / "policy" / "adapter_config.json").is_file()


@pytest.mark.parametrize("kind", ["eos_at_once", "never_ends", "all_padding", "mixed"])
def test_degenerate_responses_do_not_break_the_step(reward_dir, tmp_path, kind):
    module = _policy(reward_dir, algorithm="ppo", update_epochs=1, normalize_rewards=True, length_penalty=0.01,
                     no_eos_penalty=1.0, kl_estimator="k3")  # fmt: skip
    eos, pad_id, width = module.tokenizer.eos_token_id, module.tokenizer.pad_token_id, 5

    def fake_generate(input_ids: torch.Tensor, attention_mask: torch.Tensor, generation_config) -> torch.Tensor:
        n = input_ids.shape[0]
        rows = {
            "eos_at_once": [eos] + [pad_id] * (width - 1),
            "never_ends": list(range(300, 300 + width)),
            "all_padding": [pad_id] * width,
        }
        kinds = ["eos_at_once", "never_ends", "all_padding"] if kind == "mixed" else [kind]
        response = torch.tensor([rows[kinds[i % len(kinds)]] for i in range(n)])
        return torch.cat([input_ids, response], dim=1)

    module.model.generate = fake_generate
    _trainer(tmp_path, 2, module).fit(module, _data())
    last = module.history[-1]
    assert _finite(module.history), module.history
    assert all(torch.isfinite(p).all() for p in module.parameters())
    expected = {"eos_at_once": (0.0, 1.0), "never_ends": (1.0, 5.0), "all_padding": (0.0, 1.0)}
    if kind in expected:
        assert (last["rl/no_eos_fraction"], last["rl/response_length"]) == expected[kind]


def test_separate_layout_full_finetuning(reward_dir, tmp_path):
    module = _policy(reward_dir, layout="separate", lora=None, algorithm="ppo", update_epochs=1, learning_rate=1e-3)
    assert module.reference_model is not None and module.value_model is not None
    assert [type(r) for r in module.reward_models] == [TextReward]
    with torch.no_grad():
        torch.testing.assert_close(
            module.reward_models[0](PROMPTS, RESPONSES), reward_dir.rm.reward(PROMPTS, RESPONSES)
        )
    ref_before = {n: p.clone() for n, p in module.reference_model.named_parameters()}
    policy_before = {n: p.clone() for n, p in module.model.named_parameters()}
    _trainer(tmp_path, 2, module).fit(module, _data())
    assert all(torch.equal(p, ref_before[n]) for n, p in module.reference_model.named_parameters())
    assert sum(not torch.equal(p, policy_before[n]) for n, p in module.model.named_parameters()) > 10
    assert _finite(module.history)
    assert (module.saved_adapters / "policy" / "model.safetensors").is_file()  # full model, saved whole


def test_init_policy_adapter_is_the_reference(trained, reward_dir, tmp_path):
    init = trained.module.saved_adapters / "policy"
    module = _policy(reward_dir, algorithm="reinforce", baseline="mean", init_policy_adapter=str(init))
    assert set(module.model.peft_config) == {"policy", "reference", "reward"}
    assert not any(p.requires_grad for n, p in module.named_parameters() if ".reference." in n)
    module.eval()
    rollout = _fixed_rollout(module)
    (ref,), (policy,) = module.logprobs(rollout, "reference"), module.logprobs(rollout, "policy")
    assert torch.equal(ref, policy), "at the start the policy is its frozen initial copy"
    with torch.no_grad(), module.role("policy") as m, m.disable_adapter():
        base_logits = m(input_ids=rollout.sequences, attention_mask=rollout.attention_mask).logits
    with torch.no_grad(), module.role("reference") as m:
        ref_logits = m(input_ids=rollout.sequences, attention_mask=rollout.attention_mask).logits
    assert not torch.allclose(base_logits, ref_logits), "the reference is the SFT adapter, not the bare base"
    _trainer(tmp_path, 2, module).fit(module, _data())
    module.eval()
    (ref_after,) = module.logprobs(rollout, "reference")
    assert torch.equal(ref_after, ref)


@pytest.mark.parametrize(
    "options",
    [
        dict(
            algorithm="rloo",
            samples_per_prompt=2,
            reward_fn="perl_lightning.rl.rollout:newline_reward",
            ensemble_reduce="mean_minus_std",
            ensemble_std_coef=0.5,
            kl_estimator="jensen_shannon",
        ),
        dict(
            algorithm="reinforce",
            baseline="mean",
            kl_in="loss",
            adaptive_kl=True,
            kl_target=0.01,
            kl_horizon=10,
            kl_estimator="k2",
            entropy_coef=0.01,
        ),
        dict(
            algorithm="ppo",
            num_minibatches=2,
            gradient_accumulation_steps=2,
            reward_clip=0.5,
            kl_estimator="clamped",
            gradient_checkpointing=True,
            sampling=SamplingConfig(max_new_tokens=6, temperature=0.8, top_p=0.9, top_k=50, stop_strings=["."]),
        ),
    ],
    ids=["rloo-ensemble-fn-js", "reinforce-mean-kl_in_loss-adaptive", "ppo-minibatch-accum-clip-stop-ckpting"],
)
def test_algorithm_and_reward_options_run(reward_dir, tmp_path, options):
    paths = [reward_dir.path, reward_dir.path] if options["algorithm"] == "rloo" else reward_dir.path
    module = _policy(reward_dir, reward_adapter=paths, update_epochs=1, **options)
    _trainer(tmp_path, 2, module).fit(module, _data())
    assert len(module.history) == 2 and _finite(module.history)
    assert STEP_KEYS <= set(module.history[-1])
    if options.get("adaptive_kl"):
        assert module.kl_ctl.value != 0.05, "the adaptive controller moves the KL coefficient"
    if options["algorithm"] == "rloo":
        assert len(module.reward_models) == 2 and "rl/value_loss" not in module.history[-1]


def test_rejects_inconsistent_settings(reward_dir):
    with pytest.raises(ValueError, match="hydra"):
        _policy(reward_dir, lora=None)
    with pytest.raises(ValueError, match="samples_per_prompt"):
        _policy(reward_dir, algorithm="rloo", samples_per_prompt=1)
    with pytest.raises(ValueError, match="no reward"):
        _policy(None)


@pytest.mark.parametrize("path", RL_CONFIGS, ids=lambda p: p.name)
def test_rl_configs_parse_and_are_documented(path: Path):
    class ParseOnly(PerlCLI):
        def instantiate_classes(self) -> None:
            return None

    text = path.read_text()
    assert text.startswith("# ") and f"--config conf/{path.name}" in text
    config = ParseOnly(args=["--config", str(path)], run=False).config
    assert config.model.class_path == "perl_lightning.modules.PolicyModule"
    assert config.data.class_path == "perl_lightning.data.PromptDataModule"


def test_help_documents_the_arguments(capsys):
    with pytest.raises(SystemExit):
        PerlCLI(args=["--model.help", "perl_lightning.modules.PolicyModule"], run=False)
    out = capsys.readouterr().out
    assert (
        "--model.kl_in" in out
        and "leave-one-" in out
        and "k3 added to the policy loss" in out
        and "--model.sampling.temperature" in out
    )
