"""PolicyModule: what trains and what must not, learning on held-out prompts, edge cases, artefacts, configs."""

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

from perl_lightning.callbacks.sample_table import COLUMNS
from perl_lightning.cli import PerlCLI
from perl_lightning.data.prompts import PromptDataModule
from perl_lightning.models.adapters import LoRAConfig
from perl_lightning.models.backbone import load_backbone
from perl_lightning.modules.optim import OptimConfig
from perl_lightning.modules.policy import PolicyModule
from perl_lightning.modules.reward_model import RewardModelModule
from perl_lightning.rewards import AdapterReward, RewardSpec, TextReward
from perl_lightning.rl.algorithms import ALGORITHMS
from perl_lightning.rl.config import KLConfig, SamplingConfig, ShapingConfig, UpdateConfig

CONF = Path(__file__).resolve().parents[2] / "conf"
RL_CONFIGS = sorted(CONF.glob("rl_*.yaml"))
TINY_CONFIGS = [CONF / f"rl_tiny_{a}.yaml" for a in ALGORITHMS]
STEP_KEYS = {
    "rl/reward_mean", "rl/reward_std", "rl/score_mean", "rl/kl", "rl/kl_k3", "rl/entropy", "rl/clipfrac",
    "rl/approx_kl", "rl/response_length", "rl/no_eos_fraction", "time/rollout_s", "time/scoring_s",
    "time/reference_s", "time/update_s", "time/tokens_per_s",
}  # fmt: skip
PROMPTS = ["How do I boil an egg?", "Name a prime number."]
RESPONSES = ["Put it in boiling water for eight minutes.", "Seven."]
NEWLINES = "perl_lightning.rewards.toy:newline_reward"


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: a second intra-op thread only adds sync


def _policy(reward_dir: SimpleNamespace | None, **kwargs) -> PolicyModule:
    kwargs.setdefault("sampling", SamplingConfig(max_new_tokens=6))
    kwargs.setdefault("lora", LoRAConfig(r=4, alpha=8, dropout=0.0))
    kwargs.setdefault("optim", OptimConfig(learning_rate=5e-3))
    if reward_dir is not None:
        kwargs.setdefault("rewards", [RewardSpec(reward_dir.path)])
    return _recorded(PolicyModule(model="tiny-llama", **kwargs))


def _recorded(module: PolicyModule) -> PolicyModule:
    """``module.history``: per training step, the ``rl/`` and ``time/`` metrics the step logged (exactly those)."""
    module.history = []
    log_dict = module.log_dict

    def record(metrics, *args, **kwargs):
        if module.trainer.training and kwargs.get("logger", True):
            module.history.append({k: float(v) for k, v in metrics.items()})
        return log_dict(metrics, *args, **kwargs)

    module.log_dict = record
    return module


def _data(**kwargs) -> PromptDataModule:
    kwargs = {"limit": 24, "batch_size": 4, "max_prompt_length": 48, "val_limit": 2, **kwargs}
    return PromptDataModule(**kwargs)


def _trainer(tmp_path: Path, rollouts: int, module: PolicyModule, **kwargs) -> L.Trainer:
    kwargs = {"logger": False, "enable_checkpointing": False, "limit_val_batches": 0, **kwargs}
    return L.Trainer(
        accelerator="cpu",
        max_steps=rollouts * module.cfg.update_epochs * module.cfg.num_minibatches,
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
    module = _policy(reward_dir, algorithm="ppo", update=UpdateConfig(update_epochs=2))
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
    assert module.models.reference_model is None and module.models.value_model is None
    assert [type(m) for s in module.rewards.model_sources for m in s.members] == [AdapterReward]
    base_numel = sum(p.numel() for p in load_backbone("tiny-llama", tokenizer=tiny_tokenizer).parameters())
    seen, numel = set(), 0
    for name, p in module.named_parameters():
        if "lora_" in name or "value_head" in name or name.startswith("rewards.") or p.data_ptr() in seen:
            continue
        seen.add(p.data_ptr())
        numel += p.numel()
    assert numel == base_numel, "the Hydra layout must hold exactly one copy of the base weights"


def test_update_trains_policy_and_value_only(trained):
    module, before = trained.module, trained.before
    changed = {"policy": 0, "value": 0, "head": 0}
    for name, p in module.named_parameters():
        if ".policy." in name or ".value." in name or "value_head." in name:
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
    assert STEP_KEYS | {"rl/value_loss", "rl/explained_variance", "rl/reward/rm"} <= set(module.history[-1])
    assert module.trainer.global_step == 6  # 3 rollout batches x 2 PPO epochs


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
    with torch.no_grad(), module.models.role("policy") as policy:
        ours = policy(input_ids=ids, attention_mask=mask).logits
        theirs = reloaded(input_ids=ids, attention_mask=mask).logits
    assert torch.equal(ours, theirs), "plain transformers + peft must reproduce the policy's logits exactly"
    head = load_file(str(saved / "value" / "value_head.safetensors"))
    assert torch.equal(head["summary.weight"], module.models.value_head.summary.weight)


def test_checkpoint_holds_only_trainable_parameters(trained, reward_dir):
    module = trained.module
    checkpoint = torch.load(trained.ckpt, map_location="cpu", weights_only=True)
    keys = set(checkpoint["state_dict"])
    trainable = {n for n, p in module.named_parameters() if p.requires_grad}
    assert keys == trainable and all(".policy." in k or ".value." in k or "value_head" in k for k in keys)
    assert checkpoint["perl_lightning"]["extra"]["kl_ctl"]["value"] == module.kl_ctl.value
    restored = PolicyModule.load_from_checkpoint(trained.ckpt)
    state = dict(restored.named_parameters())
    for name, p in module.named_parameters():
        assert torch.equal(state[name], p), name
    # resume: loop, optimizer and controller state come back and training continues from the saved step
    resumed = _policy(reward_dir, algorithm="ppo", update=UpdateConfig(update_epochs=2))
    trainer = _trainer(trained.tmp / "resume", 4, resumed)
    trainer.fit(resumed, _data(), ckpt_path=trained.ckpt)
    assert trainer.global_step == 8 and len(resumed.history) == 1 and _finite(resumed.history)


def test_evaluation_before_and_after(trained):
    before = trained.validated_before
    assert before["val/win_rate"] == 0.5 and before["val/kl"] == 0.0  # untrained policy == the initial policy
    assert before["val/reward"] == pytest.approx(before["val/reward_initial"])
    module = trained.module
    assert module._initial == trained.initial_cache, "the initial policy's responses are cached once per run"
    assert set(module._initial) == set(trained.dm.collate(trained.dm.encoded["val"]).row_ids)
    metrics = trained.trainer.callback_metrics
    assert {"val/reward", "val/reward_initial", "val/win_rate", "val/kl"} <= set(metrics)
    assert module.eval_samples and set(module.eval_samples[0]) == set(COLUMNS)
    tables = sorted((Path(trained.trainer.log_dir) / "samples").glob("step_*.csv"))
    assert tables, "the sample table goes to a CSV under the log dir without W&B"
    rows = list(csv.reader(tables[-1].open()))
    assert rows[0] == ["row_id", "prompt", "before", "after", "reward_before", "reward_after"] and len(rows) > 1
    assert {r[0] for r in rows[1:]} <= set(module._initial)
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
    path = rm.save_adapters(tmp_path / "minilm_reward")
    module = _policy(None, algorithm="rloo", rewards=[RewardSpec(str(path))]).eval()
    assert [type(m) for s in module.rewards.model_sources for m in s.members] == [TextReward]
    assert set(module.model.peft_config) == {"policy"}
    rollout = _fixed_rollout(module)
    result = module.score(rollout)
    expected = rm.eval().reward(rollout.prompts, rollout.responses)
    torch.testing.assert_close(result.total, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(result.sources["rm"], expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("config", TINY_CONFIGS, ids=lambda p: p.stem)
def test_tiny_config_learns_a_learnable_reward(config: Path, tmp_path):
    """Each algorithm raises a dense Python reward (line breaks in 8 tokens) within 30 rollout batches, on the
    training prompts and on the held-out ones it never trained on."""
    cli = PerlCLI(
        args=[
            "fit",
            "--config",
            str(config),
            f"--trainer.default_root_dir={tmp_path}",
            f"--trainer.logger.init_args.save_dir={tmp_path}",
            "--trainer.enable_progress_bar=false",
        ]
    )
    module, dm, trainer = cli.model.eval(), cli.datamodule, cli.trainer
    rows = list(csv.DictReader((Path(trainer.log_dir) / "metrics.csv").open()))
    history = [{k: float(v) for k, v in r.items() if v and k.startswith("rl/")} for r in rows if r["rl/score_mean"]]
    scores = [step["rl/score_mean"] for step in history]
    assert len(scores) == 30 and _finite(history)
    first, last = sum(scores[:10]) / 10, sum(scores[-10:]) / 10
    assert last > first + 0.2, f"{config.stem}: training reward did not rise: first 10 {first:.2f}, last 10 {last:.2f}"
    # held-out prompts: the trained policy against the initial one, on the same prompts with the same sampling seed
    val_ids = {e.row_id for e in dm.examples["val"]}
    assert len(val_ids) == 32 and not val_ids & {e.row_id for e in dm.examples["train"]}
    metrics = trainer.validate(module, dm, verbose=False)[0]
    assert set(module._initial) == val_ids, "every held-out row is evaluated (one batch)"
    reward, initial = metrics["val/reward"], metrics["val/reward_initial"]
    assert reward > initial + 0.25 and metrics["val/win_rate"] > 0.5, f"{config.stem}: {metrics}"
    logged_initial = {float(r["val/reward_initial"]) for r in rows if r.get("val/reward_initial")}
    assert logged_initial and all(v == pytest.approx(initial) for v in logged_initial), "one cached start"
    # the low-noise check: 4 fresh samples per held-out prompt (128) from the trained and the initial policy
    batch = dm.collate(dm.encoded["val"])
    mean_reward = {}
    for role in ("reference", "policy"):
        torch.manual_seed(0)
        mean_reward[role] = float(module.score(module.generate(batch, module.sampling, role=role, k=4)).total.mean())
    assert (
        mean_reward["policy"] > 2 * mean_reward["reference"] and mean_reward["policy"] > mean_reward["reference"] + 0.6
    ), f"{config.stem}: {mean_reward}"
    assert (module.saved_adapters / "policy" / "adapter_config.json").is_file()


@pytest.mark.parametrize("kind", ["eos_at_once", "never_ends", "all_padding", "mixed"])
def test_degenerate_responses_do_not_break_the_step(reward_dir, tmp_path, kind):
    module = _policy(
        reward_dir,
        algorithm="ppo",
        update=UpdateConfig(update_epochs=1),
        kl=KLConfig(estimator="k3"),
        shaping=ShapingConfig(normalize=True, length_penalty=0.01, no_eos_penalty=1.0),
        sampling=SamplingConfig(max_new_tokens=6, engine="generate"),
    )  # generate is faked below
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
    assert len(module.history) == 2 and _finite(module.history), module.history
    assert all(torch.isfinite(p).all() for p in module.parameters())
    expected = {"eos_at_once": (0.0, 1.0), "never_ends": (1.0, 5.0), "all_padding": (0.0, 1.0)}
    if kind in expected:
        assert (last["rl/no_eos_fraction"], last["rl/response_length"]) == expected[kind]


def test_separate_layout_full_finetuning(reward_dir, tmp_path):
    module = _policy(reward_dir, layout="separate", lora=None, algorithm="ppo", update=UpdateConfig(update_epochs=1),
                     optim=OptimConfig(learning_rate=1e-3))  # fmt: skip
    models = module.models
    assert models.reference_model is not None and models.value_model is not None
    members = [m for s in module.rewards.model_sources for m in s.members]
    assert [type(m) for m in members] == [TextReward]
    torch.testing.assert_close(members[0].score_texts(PROMPTS, RESPONSES), reward_dir.rm.reward(PROMPTS, RESPONSES))
    ref_before = {n: p.clone() for n, p in models.reference_model.named_parameters()}
    policy_before = {n: p.clone() for n, p in module.model.named_parameters()}
    _trainer(tmp_path, 2, module).fit(module, _data())
    assert all(torch.equal(p, ref_before[n]) for n, p in models.reference_model.named_parameters())
    assert sum(not torch.equal(p, policy_before[n]) for n, p in module.model.named_parameters()) > 10
    assert len(module.history) == 2 and _finite(module.history)
    assert (module.saved_adapters / "policy" / "model.safetensors").is_file()  # full model, saved whole


def test_init_policy_adapter_is_the_reference(trained, reward_dir, tmp_path):
    init = trained.module.saved_adapters / "policy"
    module = _policy(reward_dir, algorithm="reinforce", update=UpdateConfig(baseline="mean"),
                     init_policy_adapter=str(init))  # fmt: skip
    assert set(module.model.peft_config) == {"policy", "reference", "reward"}
    assert not any(p.requires_grad for n, p in module.named_parameters() if ".reference." in n)
    module.eval()
    rollout = _fixed_rollout(module)
    (ref,), (policy,) = module.logprobs(rollout, "reference"), module.logprobs(rollout, "policy")
    assert torch.equal(ref, policy), "at the start the policy is its frozen initial copy"
    with torch.no_grad(), module.models.role("policy") as m, m.disable_adapter():
        base_logits = m(input_ids=rollout.sequences, attention_mask=rollout.attention_mask).logits
    with torch.no_grad(), module.models.role("reference") as m:
        ref_logits = m(input_ids=rollout.sequences, attention_mask=rollout.attention_mask).logits
    assert not torch.allclose(base_logits, ref_logits), "the reference is the SFT adapter, not the bare base"
    _trainer(tmp_path, 2, module).fit(module, _data())
    module.eval()
    (ref_after,) = module.logprobs(rollout, "reference")
    assert torch.equal(ref_after, ref)


OPTIONS = {
    "rloo-ensemble-fn-js": dict(
        algorithm="rloo",
        update=UpdateConfig(samples_per_prompt=2),
        rewards="ensemble+fn",
        kl=KLConfig(estimator="jensen_shannon"),
    ),
    "reinforce-mean-kl_in_loss-adaptive": dict(
        algorithm="reinforce",
        update=UpdateConfig(baseline="mean", entropy_coef=0.01),
        kl=KLConfig(placement="loss", adaptive=True, target=0.01, horizon=10, estimator="k2"),
    ),
    "ppo-minibatch-accum-clip-stop-ckpting": dict(
        algorithm="ppo",
        update=UpdateConfig(update_epochs=1, num_minibatches=2, gradient_accumulation_steps=2),
        shaping=ShapingConfig(clip=0.5),
        kl=KLConfig(estimator="clamped"),
        gradient_checkpointing=True,
        sampling=SamplingConfig(max_new_tokens=6, temperature=0.8, top_p=0.9, top_k=50, stop_strings=["."]),
    ),
    "grpo-batch-scale-gspo-clip_higher-kl_in_loss": dict(
        algorithm="grpo",
        update=UpdateConfig(
            samples_per_prompt=2,
            scale_rewards="batch",
            importance_sampling_level="sequence",
            clip_eps_high=0.28,
            loss_agg="seq_mean_token_mean",
            zero_std="resample",
        ),
        kl=KLConfig(placement="loss", estimator="k3"),
    ),
    "reinforce_pp-dr_grpo_agg": dict(
        algorithm="reinforce_pp",
        update=UpdateConfig(samples_per_prompt=2, loss_agg="seq_mean_token_sum_norm"),
    ),
}


@pytest.mark.parametrize("name", OPTIONS)
def test_algorithm_and_reward_options_run(reward_dir, tmp_path, name):
    options = dict(OPTIONS[name])
    if options.get("rewards") == "ensemble+fn":
        options["rewards"] = [RewardSpec([reward_dir.path, reward_dir.path], reduce="mean_minus_std", std_coef=0.5),
                              RewardSpec(NEWLINES, weight=0.5)]  # fmt: skip
    module = _policy(reward_dir, **options)
    _trainer(tmp_path, 2, module).fit(module, _data())
    assert len(module.history) == 2 and _finite(module.history)
    last = module.history[-1]
    assert STEP_KEYS <= set(last)
    if module.kl.adaptive:
        assert module.kl_ctl.value != 0.05, "the adaptive controller moves the KL coefficient"
    if module.algo.value_model == "never":
        assert "rl/value_loss" not in last and module.models.value_head is None
    if name.startswith("rloo"):
        assert len(module.rewards.model_sources[0].members) == 2
        assert {"rl/reward/rm", "rl/reward/newline_reward", "rl/reward_ensemble_std"} <= set(last)
    if name.startswith("grpo"):
        assert {"rl/zero_std_fraction", "rl/dropped_groups"} <= set(last)


def test_rejects_inconsistent_settings(reward_dir):
    with pytest.raises(ValueError, match="hydra"):
        _policy(reward_dir, lora=None)
    with pytest.raises(ValueError, match="samples_per_prompt"):
        _policy(reward_dir, algorithm="rloo", update=UpdateConfig(samples_per_prompt=1))
    with pytest.raises(ValueError, match="samples_per_prompt"):
        _policy(reward_dir, algorithm="grpo", update=UpdateConfig(samples_per_prompt=1))
    with pytest.raises(ValueError, match="zero_std"):
        _policy(reward_dir, algorithm="ppo", update=UpdateConfig(zero_std="drop"))
    with pytest.raises(ValueError, match="unknown algorithm"):
        _policy(reward_dir, algorithm="a2c")
    with pytest.raises(ValueError, match="no reward"):
        _policy(None)


@pytest.mark.parametrize("path", RL_CONFIGS, ids=lambda p: p.name)
def test_rl_configs_parse_and_are_documented(path: Path):
    class ParseOnly(PerlCLI):
        def instantiate_classes(self) -> None:
            return None

    text = path.read_text()
    assert text.startswith("# ") and f"--config conf/{path.name}" in text
    assert "perl_lightning.rl.rollout" not in text, "the old reward-function path is gone"
    config = ParseOnly(args=["--config", str(path)], run=False).config
    assert config.model.class_path == "perl_lightning.modules.PolicyModule"
    assert config.data.class_path == "perl_lightning.data.PromptDataModule"
    init = config.model.init_args
    assert init.algorithm in text and init.rewards, f"{path.name}: one reward source at least"


def test_help_documents_the_arguments(capsys):
    with pytest.raises(SystemExit):
        PerlCLI(args=["--model.help", "perl_lightning.modules.PolicyModule"], run=False)
    out = capsys.readouterr().out
    assert "--model.rewards" in out and "REINFORCE++" in out
    assert "--model.kl.placement" in out and "k3`` added to" in out
    assert "--model.sampling.temperature" in out and "--model.update.samples_per_prompt" in out
    assert "--model.update.scale_rewards" in out and "Dr. GRPO" in out


def test_batches_whose_groups_all_tie_make_no_update_but_still_count(tmp_path):
    """With ``zero_std: drop`` and a constant reward every group is degenerate: no weight moves (bit-identical), yet
    each batch spends its optimizer steps, so the run ends at ``max_steps`` instead of drawing rollouts forever."""
    module = _policy(None, algorithm="grpo", rewards=[RewardSpec(NEWLINES, weight=0.0)],
                     update=UpdateConfig(samples_per_prompt=2, zero_std="drop", update_epochs=2))  # fmt: skip
    before = {n: p.detach().clone() for n, p in module.named_parameters()}
    trainer = _trainer(tmp_path, 3, module)
    with pytest.warns(UserWarning, match="equal rewards"):
        trainer.fit(module, _data())
    assert trainer.global_step == 6 and len(module.history) == 3  # 3 batches x 2 update epochs
    assert all(h["rl/update_skipped"] == 1.0 and h["rl/dropped_groups"] > 0 for h in module.history)
    assert all(torch.equal(p, before[n]) for n, p in module.named_parameters())
