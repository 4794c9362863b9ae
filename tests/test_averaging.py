"""WARM adapter averaging (hand-computed means, plain peft reload, refusals, ``perl warm``) and reward ensembles
through PolicyModule's scoring path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import lightning as L
import pytest
import torch
from peft import PeftModel, set_peft_model_state_dict
from safetensors.torch import load_file, save_file
from transformers import AutoModelForSequenceClassification

from perl_lightning.averaging import average_adapters, normalise_weights
from perl_lightning.cli import main as cli_main
from perl_lightning.data.formatting import encode_prompt, encode_response, pad
from perl_lightning.data.preference import PreferenceDataModule
from perl_lightning.models.adapters import LoRAConfig
from perl_lightning.models.backbone import load_backbone
from perl_lightning.modules.policy import PolicyModule
from perl_lightning.modules.reward_model import RewardModelModule
from perl_lightning.rewards import AdapterReward, RewardSpec
from perl_lightning.rl.config import SamplingConfig, UpdateConfig
from perl_lightning.rl.shaping import reduce_ensemble
from perl_lightning.rl.types import Rollout

WEIGHTS = "adapter_model.safetensors"
TOPICS = ["bread", "rain", "chess", "tea", "maps", "bees", "glass", "jazz", "clay", "kites", "moss", "salt"]
HELD_OUT = [
    (f"What should I know about {t}?", f"A careful, kind answer about {t} with one example.", f"No. {t}?")
    for t in ("owls", "tides", "ink", "gears", "figs", "snow", "wool", "lamps")
]


@pytest.fixture(scope="module")
def members(tmp_path_factory) -> SimpleNamespace:
    """Three tiny LoRA reward models trained 3 steps each with different seeds, saved as the RM stage saves them."""
    tmp = tmp_path_factory.mktemp("warm")
    rows = [{"prompt": f"Tell me about {t}.", "chosen": f"Here is a helpful note on {t}.", "rejected": "Whatever."}
            for t in TOPICS]  # fmt: skip
    data = tmp / "pairs.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    modules, paths = [], []
    for seed in (1, 2, 3):
        L.seed_everything(seed, verbose=False)
        rm = RewardModelModule("tiny-llama", lora=LoRAConfig(r=4, alpha=8), learning_rate=2e-2,
                               save_dir=str(tmp / f"rm_{seed}"))  # fmt: skip
        dm = PreferenceDataModule(path=str(data), batch_size=4, max_length=64, seed=seed)
        L.Trainer(accelerator="cpu", max_steps=3, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                  enable_model_summary=False, limit_val_batches=0, num_sanity_val_steps=0,
                  default_root_dir=tmp).fit(rm, dm)  # fmt: skip
        modules.append(rm.eval())
        paths.append(rm.saved_adapters)
    return SimpleNamespace(modules=modules, paths=paths, tmp=tmp)


def _held_out(tokenizer) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: ANN001
    """Held-out pairs as the RM formats them: chosen rows then rejected rows, (2B, T) right-padded."""
    seqs = [encode_prompt(tokenizer, p, True) + encode_response(tokenizer, r, True)
            for i in (1, 2) for p, *responses in HELD_OUT for r in [responses[i - 1]]]  # fmt: skip
    return pad(seqs, tokenizer.pad_token_id)


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _edit_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


# ---- averaging ---------------------------------------------------------------------------------------------------
def test_average_equals_hand_mean_and_reloads_with_plain_peft(members, tmp_path, tiny_base_dir, tiny_tokenizer):
    out = average_adapters(members.paths, tmp_path / "warm")
    states = [load_file(str(Path(p) / WEIGHTS)) for p in members.paths]
    averaged = load_file(str(out / WEIGHTS))
    assert set(averaged) == set(states[0]) and any(".score." in k for k in averaged)  # LoRA A/B and the score head
    for key, tensor in averaged.items():
        torch.testing.assert_close(tensor, (states[0][key] + states[1][key] + states[2][key]) / 3, rtol=1e-6, atol=1e-7)
        assert not torch.equal(tensor, states[0][key]), f"{key}: members must differ for the test to mean anything"
    meta = json.loads((out / "perl_lightning.json").read_text())
    assert meta["model"] == "tiny-llama" and meta["stage"] == "reward_model"
    assert meta["averaging"]["sources"] == [str(Path(p).resolve()) for p in members.paths]
    assert meta["averaging"]["weights"] == pytest.approx([1 / 3] * 3)
    assert (out / "tokenizer_config.json").is_file() and (out / "adapter_config.json").is_file()

    ids, mask = _held_out(tiny_tokenizer)
    base = AutoModelForSequenceClassification.from_pretrained(tiny_base_dir, num_labels=1)
    plain = PeftModel.from_pretrained(base, out).eval()
    with torch.no_grad():
        theirs = plain(input_ids=ids, attention_mask=mask).logits[:, 0]
    # the same average put into a RewardModelModule by hand scores the pairs identically
    ours = RewardModelModule("tiny-llama", lora=LoRAConfig(r=4, alpha=8))
    hand = {k: sum(s[k] for s in states) / 3 for k in states[0]}
    result = set_peft_model_state_dict(ours.model, hand)
    assert not result.unexpected_keys
    with torch.no_grad():
        expected = ours.eval()(ids, mask)
        first_member = members.modules[0](ids, mask)
    torch.testing.assert_close(theirs, expected, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(theirs, first_member, atol=1e-4), "the average is not just one member"


def test_weighted_average(members, tmp_path):
    out = average_adapters(members.paths, tmp_path / "w", weights=[1, 3, 0])
    states = [load_file(str(Path(p) / WEIGHTS)) for p in members.paths]
    for key, tensor in load_file(str(out / WEIGHTS)).items():
        torch.testing.assert_close(tensor, 0.25 * states[0][key] + 0.75 * states[1][key], rtol=1e-6, atol=1e-8)
    assert json.loads((out / "perl_lightning.json").read_text())["averaging"]["weights"] == [0.25, 0.75, 0.0]
    with pytest.raises(ValueError, match="2 weights for 3 adapters"):
        average_adapters(members.paths, tmp_path / "x", weights=[1, 2])
    with pytest.raises(ValueError, match=">= 0"):
        normalise_weights([1, -1], 2)
    with pytest.raises(ValueError, match="at least one must be positive"):
        normalise_weights([0, 0], 2)
    with pytest.raises(ValueError, match="at least two"):
        average_adapters(members.paths[:1], tmp_path / "x")
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    ("what", "field"),
    [
        ("meta_model", "perl_lightning.json 'model'"),
        ("config_base", "adapter_config.json 'base_model_name_or_path'"),
        ("lora_alpha", "adapter_config.json 'lora_alpha'"),
        ("target_modules", "adapter_config.json 'target_modules'"),
        ("modules_to_save", "adapter_config.json 'modules_to_save'"),
        ("tensor_names", "tensor names of adapter_model.safetensors"),
        ("tensor_shape", "shape of tensor"),
    ],
)
def test_incompatible_adapters_are_refused_naming_field_and_paths(members, tmp_path, what, field):
    good = Path(members.paths[0])
    bad = _copy(Path(members.paths[1]), tmp_path / "bad")
    if what == "meta_model":
        _edit_json(bad / "perl_lightning.json", model="smollm2-135m-instruct")
    elif what == "config_base":
        _edit_json(bad / "adapter_config.json", base_model_name_or_path="/somewhere/else")
    elif what == "lora_alpha":
        _edit_json(bad / "adapter_config.json", lora_alpha=32)
    elif what == "target_modules":
        _edit_json(bad / "adapter_config.json", target_modules=["q_proj", "v_proj"])
    elif what == "modules_to_save":
        _edit_json(bad / "adapter_config.json", modules_to_save=["classifier"])
    else:
        state = load_file(str(bad / WEIGHTS))
        key = next(k for k in state if "lora_A" in k)
        if what == "tensor_names":
            del state[key]
        else:
            state[key] = torch.zeros(2, state[key].shape[1])
        save_file(state, str(bad / WEIGHTS))
    with pytest.raises(ValueError, match="cannot average") as err:
        average_adapters([good, bad], tmp_path / "out")
    message = str(err.value)
    assert field in message and str(good.resolve()) in message and str(bad.resolve()) in message, message
    assert not (tmp_path / "out").exists()


def test_target_module_order_does_not_matter(members, tmp_path):
    other = _copy(Path(members.paths[1]), tmp_path / "reordered")
    config = json.loads((other / "adapter_config.json").read_text())
    _edit_json(other / "adapter_config.json", target_modules=list(reversed(config["target_modules"])))
    assert (average_adapters([members.paths[0], other], tmp_path / "ok") / WEIGHTS).is_file()


def test_perl_warm_command(members, tmp_path, capsys):
    out = tmp_path / "cli_warm"
    args = ["warm", "--adapters", *map(str, members.paths[:2]), "--weights", "1", "1", "--out", str(out)]
    assert cli_main(args) == 0
    assert str(out) in capsys.readouterr().out
    states = [load_file(str(Path(p) / WEIGHTS)) for p in members.paths[:2]]
    for key, tensor in load_file(str(out / WEIGHTS)).items():
        torch.testing.assert_close(tensor, (states[0][key] + states[1][key]) / 2, rtol=1e-6, atol=1e-7)
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["warm", "--adapters", str(members.paths[0]), "--out", str(tmp_path / "nope")])
    assert exit_info.value.code == 2 and "at least two" in capsys.readouterr().err


# ---- ensembles in RL ---------------------------------------------------------------------------------------------
def test_reward_ensemble_through_the_policy_scoring_path(members, tiny_tokenizer):
    """Members are scored on the one shared backbone (one pass each), reduced exactly as computed by hand from the
    stand-alone reward models; the mean's margin ``r_chosen - r_rejected`` varies less across held-out pairs than
    the members' on average (Var(mean) <= mean Var; strict unless the members are perfectly correlated)."""
    paths = [str(p) for p in members.paths]
    policy = PolicyModule(model="tiny-llama", algorithm="rloo", update=UpdateConfig(samples_per_prompt=2),
                          lora=LoRAConfig(r=4, alpha=8), rewards=[RewardSpec(paths)],
                          sampling=SamplingConfig(max_new_tokens=4))  # fmt: skip
    policy.eval()
    (ensemble,) = policy.rewards.model_sources  # the three members are one source
    assert [type(r) for r in ensemble.members] == [AdapterReward] * 3
    assert {"reward", "reward_1", "reward_2"} <= set(policy.model.peft_config)
    base_numel = sum(p.numel() for p in load_backbone("tiny-llama", tokenizer=tiny_tokenizer).parameters())
    seen, numel = set(), 0
    for name, p in policy.named_parameters():
        if "lora_" in name or name.startswith("rewards.") or p.data_ptr() in seen:
            continue
        seen.add(p.data_ptr())
        numel += p.numel()
    assert numel == base_numel, "an ensemble on the shared backbone must not copy the base"

    ids, mask = _held_out(tiny_tokenizer)
    b = len(HELD_OUT)
    rollout = Rollout(sequences=ids, attention_mask=mask, response_mask=mask, ended=torch.ones(2 * b, dtype=torch.bool),
                      prompt_length=0, prompts=[""] * 2 * b, responses=[""] * 2 * b)  # fmt: skip
    body = policy.model.get_base_model().model
    calls = []
    hook = body.register_forward_hook(lambda *_: calls.append(1))
    result = policy.score(rollout)
    raw, stacked = result.total, result.members["rm"]
    hook.remove()
    assert len(calls) == 3, "one backbone pass per reward adapter"
    with torch.no_grad():
        manual = torch.stack([rm(ids, mask) for rm in members.modules])  # (3, 2B) stand-alone reward models
    torch.testing.assert_close(stacked, manual, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(raw, manual.mean(0), atol=1e-5, rtol=1e-5)
    for how in ("min", "mean_minus_std"):
        ensemble.reduce = how
        torch.testing.assert_close(policy.score(rollout).total, reduce_ensemble(manual, how, 1.0), atol=1e-5, rtol=1e-5)

    margins = manual[:, :b] - manual[:, b:]  # (3, B) each member's r_chosen - r_rejected
    ensemble_margin = raw[:b] - raw[b:]  # (B,)
    assert margins.var(1).min() > 0 and not torch.allclose(margins[0], margins[1], atol=1e-4)
    assert ensemble_margin.var() < margins.var(1).mean()

    # a training step logs the members' disagreement (std over the ensemble, mean over responses)
    from perl_lightning.data.prompts import PromptDataModule

    dm = PromptDataModule(limit=4, batch_size=2, max_prompt_length=32, val_limit=2)
    trainer = L.Trainer(accelerator="cpu", max_steps=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
                        num_sanity_val_steps=0)  # fmt: skip
    trainer.fit(policy, dm)
    assert float(trainer.callback_metrics["rl/reward_ensemble_std"]) > 0
