"""perl export: merged models equal base + adapter, reload without peft; adapter-only copies; bad input errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

from perl_lightning.cli import main as perl_main
from perl_lightning.export import export
from perl_lightning.models.adapters import LoRAConfig
from perl_lightning.models.backbone import load_backbone
from perl_lightning.modules.policy import PolicyModule
from perl_lightning.modules.reward_model import RewardModelModule
from perl_lightning.rewards import RewardSpec
from perl_lightning.rl.types import SamplingConfig

REPO = Path(__file__).resolve().parents[1]
PAD = 0  # <|endoftext|>, the tiny models' pad token: the HF classifier pools at the last non-pad id
IDS = torch.tensor([[1, 57, 903, 44, 12, PAD, PAD], [5, 6, 7, 8, 9, 10, 11]])  # (2, 7)
MASK = torch.tensor([[1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 1]])  # right padding: both poolings agree


def _perturb(module: torch.nn.Module, scale: float = 0.3) -> None:
    """Non-zero LoRA B (and head): otherwise the merge would be a no-op and every equality test trivially true."""
    with torch.no_grad():
        for p in module.parameters():
            if p.requires_grad:
                p.add_(scale * torch.randn_like(p))


@pytest.fixture(scope="module")
def policy_dir(tmp_path_factory) -> Path:
    """An RL output directory (policy/ and value/) of a tiny PPO policy with random LoRA weights."""
    torch.manual_seed(0)
    module = PolicyModule(
        model="tiny-llama",
        algorithm="ppo",
        lora=LoRAConfig(r=4, alpha=8, dropout=0.0),
        rewards=[RewardSpec("perl_lightning.rewards.toy:newline_reward")],
        sampling=SamplingConfig(max_new_tokens=4),
    )
    _perturb(module)
    return module.save_adapters(tmp_path_factory.mktemp("rl") / "rl_adapters")


@pytest.fixture(scope="module")
def reward(tmp_path_factory) -> SimpleNamespace:
    """A tiny LoRA reward adapter with random LoRA weights and score head, and the module's own rewards."""
    torch.manual_seed(1)
    rm = RewardModelModule(model="tiny-llama", lora=LoRAConfig(r=4, alpha=8, dropout=0.0))
    _perturb(rm)
    path = rm.save_adapters(tmp_path_factory.mktemp("rm") / "reward_adapter")
    with torch.no_grad():
        rewards = rm.eval()(IDS, MASK)
    return SimpleNamespace(path=path, rewards=rewards)


def _policy_logits_with_peft(adapter: Path) -> torch.Tensor:
    base = load_backbone("tiny-llama", "causal-lm", dtype="fp32")
    model = PeftModel.from_pretrained(base, str(adapter)).eval()
    with torch.no_grad():
        return model(input_ids=IDS, attention_mask=MASK).logits


def test_merged_policy_equals_base_plus_adapter(policy_dir, tmp_path):
    out = export(policy_dir, tmp_path / "merged")  # the RL output dir: its policy/ is picked
    merged, info = AutoModelForCausalLM.from_pretrained(out, output_loading_info=True)
    assert not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys")), info
    assert not (out / "adapter_config.json").exists()
    assert not [k for k in merged.state_dict() if "lora" in k or "base_layer" in k]
    with torch.no_grad():
        logits = merged.eval()(input_ids=IDS, attention_mask=MASK).logits
    reference = _policy_logits_with_peft(policy_dir / "policy")
    torch.testing.assert_close(logits, reference, atol=1e-5, rtol=1e-5)
    base = load_backbone("tiny-llama", "causal-lm", dtype="fp32")
    with torch.no_grad():
        base_logits = base.eval()(input_ids=IDS, attention_mask=MASK).logits
    assert (logits - base_logits).abs().max() > 1e-3  # the adapter really changed the outputs
    q_merged = merged.model.layers[0].self_attn.q_proj.weight
    assert not torch.equal(q_merged, base.model.layers[0].self_attn.q_proj.weight)
    for name in ("tokenizer_config.json", "generation_config.json"):
        assert (out / name).is_file(), name
    assert json.loads((out / "generation_config.json").read_text())["pad_token_id"] == merged.config.pad_token_id
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(out)
    assert tokenizer.chat_template, "chat template lost in the export"
    assert tokenizer.pad_token_id == merged.config.pad_token_id != tokenizer.eos_token_id


def test_merged_reward_model_gives_the_same_rewards(reward, tmp_path):
    out = export(reward.path, tmp_path / "rm")
    merged, info = AutoModelForSequenceClassification.from_pretrained(out, output_loading_info=True)
    assert not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys")), info
    with torch.no_grad():
        rewards = merged.eval()(input_ids=IDS, attention_mask=MASK).logits[:, 0]
    torch.testing.assert_close(rewards, reward.rewards, atol=1e-5, rtol=1e-5)
    saved_head = [v for k, v in load_file(str(reward.path / "adapter_model.safetensors")).items() if "score" in k]
    assert len(saved_head) == 1 and torch.equal(merged.score.weight, saved_head[0])  # the trained head, not random


def test_exports_reload_in_a_process_without_peft(policy_dir, reward, tmp_path):
    policy_out = export(policy_dir / "policy", tmp_path / "policy")
    rm_out = export(reward.path, tmp_path / "rm")
    code = f"""
import sys, torch
sys.modules["peft"] = None  # any import of peft now fails
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification
ids, mask = torch.tensor({IDS.tolist()}), torch.tensor({MASK.tolist()})
with torch.no_grad():
    lm = AutoModelForCausalLM.from_pretrained({str(policy_out)!r}).eval()
    rm = AutoModelForSequenceClassification.from_pretrained({str(rm_out)!r}).eval()
    torch.save({{"logits": lm(input_ids=ids, attention_mask=mask).logits,
                 "rewards": rm(input_ids=ids, attention_mask=mask).logits[:, 0]}}, {str(tmp_path / "out.pt")!r})
"""
    env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=tmp_path, timeout=300)
    got = torch.load(tmp_path / "out.pt", weights_only=True)
    torch.testing.assert_close(got["logits"], _policy_logits_with_peft(policy_dir / "policy"), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(got["rewards"], reward.rewards, atol=1e-5, rtol=1e-5)


def test_bf16_export_via_the_cli(reward, tmp_path, capsys):
    out = tmp_path / "rm_bf16"
    assert perl_main(["export", "--adapter", str(reward.path), "--out", str(out), "--dtype", "bf16"]) == 0
    assert "exported merged model" in capsys.readouterr().out
    assert {t.dtype for t in load_file(str(out / "model.safetensors")).values()} == {torch.bfloat16}
    model = AutoModelForSequenceClassification.from_pretrained(out, dtype=torch.float32).eval()
    with torch.no_grad():
        rewards = model(input_ids=IDS, attention_mask=MASK).logits[:, 0]
    torch.testing.assert_close(rewards, reward.rewards, atol=0.1, rtol=0.05)  # bf16 rounding only


def test_adapter_mode_copies_the_policy_only(policy_dir, tmp_path):
    out = export(policy_dir, tmp_path / "adapter", mode="adapter")
    names = {p.name for p in out.iterdir()}
    assert {"adapter_model.safetensors", "adapter_config.json", "tokenizer_config.json"} <= names
    assert "value_head.safetensors" not in names  # the policy was picked, not the value adapter
    saved = load_file(str(policy_dir / "policy" / "adapter_model.safetensors"))
    copied = load_file(str(out / "adapter_model.safetensors"))
    assert saved.keys() == copied.keys() and all(torch.equal(saved[k], copied[k]) for k in saved)
    torch.testing.assert_close(_policy_logits_with_peft(out), _policy_logits_with_peft(policy_dir / "policy"))


def test_value_adapter_exports_only_as_an_adapter_with_its_head(policy_dir, tmp_path):
    with pytest.raises(ValueError, match=rf"{policy_dir / 'value'}: a value adapter"):
        export(policy_dir / "value", tmp_path / "merged")  # merged: a value adapter is no servable model
    out = export(policy_dir / "value", tmp_path / "value", mode="adapter", dtype="bf16")
    head = load_file(str(out / "value_head.safetensors"))
    saved = load_file(str(policy_dir / "value" / "value_head.safetensors"))
    assert head.keys() == saved.keys() and all(torch.equal(head[k], saved[k].bfloat16()) for k in saved)
    assert {t.dtype for t in load_file(str(out / "adapter_model.safetensors")).values()} == {torch.bfloat16}


def test_fully_finetuned_save(tmp_path):
    rm = RewardModelModule(model="tiny-llama", lora=None)
    _perturb(rm, 0.01)
    full = rm.save_adapters(tmp_path / "full")
    with torch.no_grad():
        expected = rm.eval()(IDS, MASK)
    out = export(full, tmp_path / "merged")
    model = AutoModelForSequenceClassification.from_pretrained(out).eval()
    with torch.no_grad():
        torch.testing.assert_close(model(input_ids=IDS, attention_mask=MASK).logits[:, 0], expected)
    with pytest.raises(ValueError, match=rf"{full}.*fully fine-tuned.*--mode merged"):
        export(full, tmp_path / "adapter", mode="adapter")
    assert not (tmp_path / "adapter").exists()


def test_bad_input_errors_name_the_path(tmp_path, reward):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match=rf"{empty}: not an adapter directory"):
        export(empty, tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="no such directory"):
        export(tmp_path / "missing", tmp_path / "out")
    with pytest.raises(ValueError, match="overlaps the input"):
        export(reward.path, reward.path / "inside")
    with pytest.raises(SystemExit):
        perl_main(["export", "--adapter", str(reward.path), "--out", str(tmp_path / "x"), "--mode", "lora"])
    assert not (tmp_path / "out").exists()


def test_existing_export_is_replaced_atomically(reward, tmp_path):
    out = tmp_path / "rm"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    export(reward.path, out)
    assert not (out / "stale.txt").exists() and (out / "model.safetensors").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["rm"]  # no temporary directory left behind
