"""Every YAML in conf/ parses through the real CLI (types checked against the signatures); tiny configs fit."""

from __future__ import annotations

from pathlib import Path

import pytest

from perl_lightning.cli import PerlCLI

CONF = Path(__file__).resolve().parents[1] / "conf"
TASKS = ("summarization", "harmlessness", "helpfulness", "dialogue", "ui_automation", "vqa")
#: Jobs beyond sft / rm / rl: the multi-step RL of tasks with an environment, the embedded VLM's alignment pre-stage.
EXTRA_STAGES = {"ui_automation": ("rl_multistep",), "vqa": ("align",)}
PIECE_DIRS = ("callbacks", "logger", "precision", "strategy")
TASK_JOBS = sorted(p for task in TASKS for p in (CONF / task).glob("*.yaml"))
JOBS = sorted(CONF.glob("*.yaml")) + TASK_JOBS
PIECES = sorted(p for d in PIECE_DIRS for p in (CONF / d).glob("*.yaml"))


class ParseOnlyCLI(PerlCLI):
    """Parses and validates a config like ``perl`` does, without instantiating models."""

    def instantiate_classes(self) -> None:
        return None


def parse(*args: str):
    return ParseOnlyCLI(args=list(args), run=False).config


def test_expected_configs_exist():
    names = {p.name for p in JOBS}
    assert {"rm_tiny.yaml", "rm_smollm2_lora.yaml", "rm_minilm.yaml", "rm_smollm2_full.yaml"} <= names
    assert {f"rl_tiny_{a}.yaml" for a in ("ppo", "reinforce", "rloo", "grpo", "reinforce_pp")} <= names
    assert {"rl_smollm2_lora.yaml", "rl_smollm2_grpo.yaml", "rl_smollm2_full_separate.yaml"} <= names
    assert {"wandb.yaml", "csv.yaml"} <= {p.name for p in PIECES}
    assert {p.parent.name for p in CONF.glob("*/*.yaml")} == set(TASKS) | set(PIECE_DIRS)
    for task in TASKS:
        stages = ("sft", "rm", "rl", *EXTRA_STAGES.get(task, ()))
        assert {p.name for p in (CONF / task).glob("*.yaml")} == {
            f"{stage}{size}.yaml" for stage in stages for size in ("", "_tiny")
        }


@pytest.mark.parametrize("path", JOBS, ids=lambda p: str(p.relative_to(CONF)))
def test_job_config_is_documented_and_parses(path: Path):
    text = path.read_text()
    assert text.startswith("# "), f"{path.name} must open with a comment saying what it trains"
    relative = path.relative_to(CONF.parent)
    assert f"--config {relative}" in text, f"{relative} must give its exact command"
    config = parse("--config", str(path))
    assert config.model.class_path.startswith("perl_lightning.")
    assert config.data.class_path.startswith("perl_lightning.")


@pytest.mark.parametrize("piece", PIECES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_pieces_compose_with_a_job(piece: Path):
    assert piece.read_text().startswith("# ")
    config = parse("--config", str(CONF / "rm_tiny.yaml"), "--config", str(piece))
    assert config.trainer is not None


def test_full_finetuning_is_one_switch():
    config = parse("--config", str(CONF / "rm_smollm2_full.yaml"))
    assert config.model.init_args.lora is None
    lora = parse("--config", str(CONF / "rm_smollm2_lora.yaml")).model.init_args.lora
    assert lora.r == 8
    assert parse("--config", str(CONF / "rl_smollm2_full_separate.yaml")).model.init_args.lora is None


def test_rl_configs_use_the_grouped_arguments():
    """RL settings sit in their groups (``model.init_args.kl.coef``) and override one field at a time."""
    init = parse("--config", str(CONF / "rl_smollm2_grpo.yaml"), "--model.init_args.kl.coef=0.1").model.init_args
    assert init.algorithm == "grpo" and init.kl.coef == 0.1 and init.kl.placement == "loss"
    update = init["update"]  # (a Namespace's .update is its method)
    assert update.samples_per_prompt == 4 and update.clip_eps_high == 0.28
    assert [r.source for r in init.rewards] == ["runs/rm_smollm2_lora/reward_adapter"]
    tiny = parse("--config", str(CONF / "rl_tiny_rloo.yaml")).model.init_args
    assert [r.source for r in tiny.rewards] == ["perl_lightning.rewards.toy:newline_reward"]
    assert tiny.optim.learning_rate == 0.003 and tiny.evaluation.sampling.do_sample


def test_tiny_reward_config_fits(tmp_path):
    cli = PerlCLI(
        args=[
            "fit",
            "--config",
            str(CONF / "rm_tiny.yaml"),
            "--trainer.max_steps=2",
            "--trainer.val_check_interval=2",
            f"--trainer.default_root_dir={tmp_path}",
            f"--trainer.logger.init_args.save_dir={tmp_path}",
            f"--model.init_args.save_dir={tmp_path / 'adapter'}",
            "--trainer.enable_progress_bar=false",
        ],
    )
    assert cli.trainer.global_step == 2
    assert "val/accuracy" in cli.trainer.callback_metrics
    assert (tmp_path / "adapter" / "adapter_model.safetensors").is_file()


def test_help_documents_arguments(capsys):
    with pytest.raises(SystemExit):
        PerlCLI(args=["--model.help", "perl_lightning.modules.RewardModelModule"], run=False)
    out = capsys.readouterr().out
    assert "--model.center_coef" in out and "reward-centering" in out and "full fine-tuning" in out


@pytest.mark.parametrize("piece", sorted(CONF.glob("strategy/*.yaml")) + [CONF / "precision" / "bf16.yaml"], ids=str)
@pytest.mark.parametrize("job", ["rm_tiny.yaml", "rl_tiny_ppo.yaml"])
def test_scaling_pieces_only_add_to_the_job(piece: Path, job: str):
    """A strategy / precision file changes the strategy (and accelerator, device count or precision), never the job's
    other keys."""
    alone = parse("--config", str(CONF / job)).trainer
    merged = parse("--config", str(CONF / job), "--config", str(piece)).trainer
    changed = {k for k in vars(alone) if alone[k] != merged[k]}
    assert changed <= {"strategy", "accelerator", "devices", "precision"}, changed
    assert merged.max_steps == alone.max_steps and merged.logger == alone.logger
    if piece.parent.name == "strategy":
        assert merged.strategy.class_path.startswith("lightning.pytorch.strategies.")
    else:
        assert merged.precision == "bf16-mixed"


def test_vqa_configs_run_on_the_aligned_embedded_vlm():
    """align.yaml writes smollm2-135m-vlm into the cache (its default save_dir); the stages load it by that name."""
    align = parse("--config", str(CONF / "vqa" / "align.yaml")).model
    assert align.class_path == "perl_lightning.modules.VisionAlignModule"
    assert align.init_args.save_dir is None and align.init_args.language_model == "smollm2-135m-instruct"
    for stage in ("sft", "rm", "rl"):
        assert parse("--config", str(CONF / "vqa" / f"{stage}.yaml")).model.init_args.model == "smollm2-135m-vlm"
        assert parse("--config", str(CONF / "vqa" / f"{stage}_tiny.yaml")).model.init_args.model == "tiny-llava"


def test_task_configs_chain_the_stages():
    """RL starts from the SFT adapter and scores with the RM adapter the task's own configs write."""
    for task in TASKS:
        sft = parse("--config", str(CONF / task / "sft.yaml")).model.init_args
        rm = parse("--config", str(CONF / task / "rm.yaml")).model.init_args
        rl = parse("--config", str(CONF / task / "rl.yaml"))
        assert rl.model.init_args.init_policy_adapter == sft.save_dir == f"runs/{task}/sft_adapter"
        models = [r.source for r in rl.model.init_args.rewards if "/" in r.source]
        if task in ("ui_automation", "vqa"):  # the measured setting: the programmatic reward alone (the RM: one line)
            assert models == [] and f"runs/{task}/reward_adapter" in (CONF / task / "rl.yaml").read_text()
        else:
            assert models == [rm.save_dir] == [f"runs/{task}/reward_adapter"]
        assert rm.objective == ("pointwise" if task == "dialogue" else "pairwise")
    ui = parse("--config", str(CONF / "ui_automation" / "rl.yaml"))
    assert [(r.source, r.weight, r.args) for r in ui.model.init_args.rewards] == [
        ("perl_lightning.tasks.ui_automation:action_reward", 1.0, {"credit": {"element": 0.0, "kind": 0.0}}),
    ]
    assert ui["model.init_args.update.zero_std"] == "resample" and ui.data.init_args.task.init_args.prompts == "start"
    multistep = parse("--config", str(CONF / "ui_automation" / "rl_multistep.yaml"))
    assert multistep.model.init_args.episodes.task == "ui_automation"
    assert multistep.model.init_args.init_policy_adapter == "runs/ui_automation/sft_adapter"
    assert multistep.data.init_args.task.init_args.prompts == "episodes"
    helpfulness = parse("--config", str(CONF / "helpfulness" / "rm.yaml")).data.init_args.task
    assert helpfulness.class_path == "perl_lightning.tasks.Helpfulness"
    assert helpfulness.init_args.min_score_ratio == 2.0


@pytest.mark.slow
@pytest.mark.parametrize(
    "path", [p for p in TASK_JOBS if p.stem.endswith("_tiny")], ids=lambda p: p.parent.name + p.stem
)
def test_tiny_task_configs_fit(tmp_path, path: Path):
    cli = PerlCLI(
        args=[
            "fit",
            "--config",
            str(path),
            "--trainer.max_steps=2",
            f"--trainer.default_root_dir={tmp_path}",
            f"--model.init_args.save_dir={tmp_path / 'adapter'}",
            "--trainer.enable_progress_bar=false",
        ],
    )
    assert cli.trainer.global_step == 2
    assert (tmp_path / "adapter").is_dir()


def test_fit_help_lists_the_modules_and_data_modules_to_pick(capsys):
    """`perl fit --help` names the classes a newcomer can pick for --model and --data ("known subclasses")."""
    with pytest.raises(SystemExit) as done:
        PerlCLI(args=["fit", "--help"], run=False)
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for name in (
        "modules.RewardModelModule",
        "modules.PolicyModule",
        "modules.SFTModule",
        "data.PreferenceDataModule",
        "data.PromptDataModule",
        "data.SFTDataModule",
        "data.RatedDataModule",
    ):
        assert f"perl_lightning.{name}" in text, name
