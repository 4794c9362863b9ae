"""The TRL side of the peer benchmark: one LoRA training job (reward model or RL) timed step by step, as JSON.

Why: perl_lightning's cost figures only mean something next to a well-known peer run on the same machine, the same
model and the same data. This script is that peer: TRL's own trainers (``RewardTrainer``, ``RLOOTrainer``,
``GRPOTrainer``) with a peft LoRA adapter, configured as close as TRL allows to the perl_lightning side, and timed the
same way (wall time per optimizer step, median after warm-up, tokens per step, peak RSS). The orchestrator runs it
once per configuration in a fresh process of TRL's own virtual environment and reads ``--out``:

    benchmarks/.venv-trl/bin/python benchmarks/peers/trl_job.py --job rm --data pairs.jsonl \
        --model ~/.cache/perl_lightning/smollm2-135m-instruct --steps 6 --warmup 1 --threads 2 --out rm.json
    benchmarks/.venv-trl/bin/python benchmarks/peers/trl_job.py --job rl --algo grpo --data prompts.jsonl \
        --model ~/.cache/perl_lightning/smollm2-135m-instruct --steps 3 --warmup 1 --threads 2 --out rl.json

What runs:

* ``--job rm``: ``RewardTrainer`` (Bradley-Terry loss, scalar head read at the last non-padding token).
  ``DATA.jsonl`` rows are ``{"chosen_input_ids": [...], "rejected_input_ids": [...]}``, already chat-templated and
  filtered; TRL trains on exactly these ids (see ``run_rm``). ``--batch-pairs`` pairs per optimizer step,
  rows taken in file order. LoRA on the attention projections plus the score head (peft ``task_type="SEQ_CLS"``
  puts ``score`` in ``modules_to_save``, as TRL's docs recommend, and as the perl_lightning reward model trains it).
* ``--job rl``: ``RLOOTrainer`` (``--algo rloo``) or ``GRPOTrainer`` (``--algo grpo``), transformers ``generate``
  (no vLLM). ``DATA.jsonl`` rows are ``{"prompt": "<chat-templated text>", "prompt_ids": [...]}``; the text is
  passed as a plain (non-conversational) prompt, TRL tokenizes it, and every row is checked to tokenize to exactly
  ``prompt_ids``. One generation round of ``--prompts`` x ``--k`` completions per optimizer step (on-policy:
  ``steps_per_generation=1``, ``num_iterations=1``, no gradient accumulation), exactly ``--new-tokens`` sampled
  tokens per completion (``min_new_tokens`` = ``max_new_tokens``; plain sampling: temperature 1, top-p 1, no
  top-k), a cheap deterministic Python reward (``length_reward``). KL coefficient: TRL's default for the algorithm
  unless ``--beta`` is given (the value used is reported).

Common: fp32 on CPU, ``torch.set_num_threads(--threads)``, seed 0, no evaluation, no checkpoints, logging every step,
``max_steps = warmup + steps``, gradient checkpointing on/off or TRL's default (reported). Step time is measured from
one optimizer step's end to the next (so it includes fetching and collating the batch, which the Trainer does before
``on_step_begin``, and, for RL, generation and scoring, which TRL does inside ``training_step``); the first step,
having no predecessor, is measured from its ``on_step_begin``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from peer_reward import length_reward  # the same reward function as the perl_lightning side (this directory)

LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj"]


class DataError(ValueError):
    """The data file is missing, unreadable, or a row does not have the expected shape (names file and row)."""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line (the interface the orchestrator calls).

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns:
        The parsed arguments.
    """
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--job", choices=["rm", "rl"], required=True, help="reward model or RL policy training")
    p.add_argument("--data", type=Path, required=True, help="JSONL rows (see the module docstring)")
    p.add_argument("--model", required=True, help="local Hugging Face model directory")
    p.add_argument("--steps", type=int, required=True, help="measured optimizer steps (after the warm-up)")
    p.add_argument("--warmup", type=int, default=1, help="optimizer steps run first and left out of the medians")
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    p.add_argument("--out", type=Path, required=True, help="result JSON path")
    p.add_argument("--algo", choices=["rloo", "grpo"], default="rloo", help="RL trainer (--job rl)")
    p.add_argument("--batch-pairs", type=int, default=8, help="preference pairs per optimizer step (--job rm)")
    p.add_argument("--prompts", type=int, default=4, help="prompts per optimizer step (--job rl)")
    p.add_argument("--k", type=int, default=2, help="completions per prompt (--job rl)")
    p.add_argument("--new-tokens", type=int, default=48, help="exact completion length in tokens (--job rl)")
    p.add_argument("--lora-r", type=int, default=8)
    p.add_argument("--lora-alpha", type=float, default=16)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--gradient-checkpointing", choices=["on", "off", "default"], default="default")
    p.add_argument("--beta", type=float, default=None, help="KL coefficient (--job rl); default: TRL's default")
    args = p.parse_args(argv)
    for name in ("steps", "threads", "batch_pairs", "prompts", "k", "new_tokens", "lora_r"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.warmup < 0:
        p.error("--warmup must be >= 0")
    if args.job == "rl" and args.k < 2:
        p.error("--k must be >= 2 (RLOO and GRPO compare completions of the same prompt)")
    return args


# ------------------------------------------------------------------------------------------------------------ data


def _int_list(row: dict[str, Any], key: str, where: str) -> list[int]:
    """Return ``row[key]`` as a non-empty list of non-negative ints, or raise ``DataError`` naming ``where``."""
    if key not in row:
        raise DataError(f"{where}: missing key {key!r} (has {sorted(row)})")
    value = row[key]
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(t, int) and not isinstance(t, bool) and t >= 0 for t in value)
    ):
        raise DataError(f"{where}: {key!r} must be a non-empty list of non-negative token ids")
    return value


def read_rows(path: Path, job: str) -> list[dict[str, Any]]:
    """Read and validate the job's JSONL data file.

    Args:
        path: The JSONL file; blank lines are skipped.
        job: ``rm`` (rows with ``chosen_input_ids``/``rejected_input_ids``) or ``rl`` (``prompt``/``prompt_ids``).

    Returns:
        The rows, in file order, with only the fields this job uses.

    Raises:
        DataError: The file is missing or unreadable, a line is not a JSON object, or a field is missing or
            malformed. The message names the file and the row (1-based, with its line number).
    """
    if not path.is_file():
        raise DataError(f"{path}: data file not found")
    rows: list[dict[str, Any]] = []
    try:
        with path.open(encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                where = f"{path}, row {len(rows) + 1} (line {lineno})"
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as e:
                    raise DataError(f"{where}: not valid JSON ({e})") from None
                if not isinstance(row, dict):
                    raise DataError(f"{where}: expected a JSON object, got {type(row).__name__}")
                if job == "rm":
                    rows.append(
                        {
                            "chosen_ids": _int_list(row, "chosen_input_ids", where),
                            "rejected_ids": _int_list(row, "rejected_input_ids", where),
                        }
                    )
                else:
                    prompt = row.get("prompt")
                    if not isinstance(prompt, str) or not prompt:
                        raise DataError(f"{where}: 'prompt' must be a non-empty string (the chat-templated text)")
                    rows.append({"prompt": prompt, "prompt_ids": _int_list(row, "prompt_ids", where)})
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read ({e})") from None
    if not rows:
        raise DataError(f"{path}: no rows")
    return rows


def check_prompt_tokenization(rows: list[dict[str, Any]], tokenizer: Any, path: Path) -> None:
    """Check that TRL's tokenisation of every prompt text gives exactly the row's ``prompt_ids``.

    TRL tokenizes a non-conversational prompt with ``processing_class(text=prompts)["input_ids"]`` (default special
    tokens; ``_tokenize_prompts`` in both RL trainers); this does the same.

    Args:
        rows: The RL rows (``prompt``, ``prompt_ids``).
        tokenizer: The tokenizer passed to TRL as ``processing_class``.
        path: The data file, for the error message.

    Raises:
        DataError: A row's text tokenizes differently (names the row and the first differing position).
    """
    ids = tokenizer(text=[r["prompt"] for r in rows])["input_ids"]
    for i, (row, got) in enumerate(zip(rows, ids, strict=True), 1):
        want = row["prompt_ids"]
        if list(got) != want:
            pos = next((j for j, (a, b) in enumerate(zip(got, want, strict=False)) if a != b), min(len(got), len(want)))
            raise DataError(
                f"{path}, row {i}: TRL tokenizes the prompt text to {len(got)} ids, prompt_ids has {len(want)}; "
                f"first difference at position {pos} (TRL {list(got[pos : pos + 3])}, file {want[pos : pos + 3]}). "
                "TRL would not train on these ids."
            )


def make_step_timer() -> Any:
    """Build the ``TrainerCallback`` that times each optimizer step (imported lazily: transformers is heavy).

    Returns:
        A callback instance with ``wall`` (end-of-previous-step to end-of-step, seconds; the first step from its
        ``on_step_begin``), ``inner`` (``on_step_begin`` to ``on_step_end``) and ``begins``/``ends``
        (``time.perf_counter`` stamps) lists, one entry per optimizer step.
    """
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        """Wall time per optimizer step."""

        def __init__(self) -> None:
            self.wall: list[float] = []
            self.inner: list[float] = []
            self.begins: list[float] = []
            self.ends: list[float] = []

        def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.begins.append(time.perf_counter())

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            now = time.perf_counter()
            start = self.ends[-1] if self.ends else self.begins[-1]
            self.wall.append(now - start)
            self.inner.append(now - self.begins[-1])
            self.ends.append(now)

    return StepTimer()


def _median(values: Sequence[float]) -> float | None:
    """Median, or ``None`` for an empty sequence."""
    return statistics.median(values) if values else None


# -------------------------------------------------------------------------------------------------------- training


def _common_config(args: argparse.Namespace, output_dir: str) -> dict[str, Any]:
    """``TrainingArguments`` fields shared by every job (fp32 CPU, no eval/saving, log every step, seed 0)."""
    cfg: dict[str, Any] = {
        "output_dir": output_dir,
        "max_steps": args.warmup + args.steps,
        "gradient_accumulation_steps": 1,
        "learning_rate": args.lr,
        "logging_steps": 1,
        "save_strategy": "no",
        "eval_strategy": "no",
        "report_to": "none",
        "use_cpu": True,
        "bf16": False,
        "fp16": False,
        "dataloader_num_workers": 0,
        "seed": 0,
        "data_seed": 0,
        "disable_tqdm": True,
        "model_init_kwargs": {"dtype": "float32"},
    }
    if args.gradient_checkpointing != "default":
        # transformers 5.24 renamed the field (`gradient_checkpointing` is now a mirrored alias TRL still reads)
        cfg["activation_checkpointing"] = cfg["gradient_checkpointing"] = args.gradient_checkpointing == "on"
    return cfg


def _lora_config(args: argparse.Namespace, task_type: str) -> Any:
    """The peft ``LoraConfig``: r, alpha, dropout 0, attention projections."""
    from peft import LoraConfig

    return LoraConfig(
        r=args.lora_r,
        lora_alpha=args.lora_alpha,
        lora_dropout=0.0,
        target_modules=LORA_TARGETS,
        bias="none",
        task_type=task_type,
    )


def _trainable_params(model: Any) -> int:
    """Number of parameters that receive gradients."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _checkpointing_active(model: Any) -> bool | None:
    """Whether the (base) model really runs with activation checkpointing, as transformers reports it."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    for name in ("is_activation_checkpointing", "is_gradient_checkpointing"):
        if hasattr(type(base), name) or hasattr(base, name):
            return bool(getattr(base, name))
    return None


def run_rm(args: argparse.Namespace, rows: list[dict[str, Any]], output_dir: str) -> dict[str, Any]:
    """Train the reward model with TRL's ``RewardTrainer`` and time it.

    Exact ids: the rows are given to TRL as an already-processed dataset with columns ``chosen_ids``/``rejected_ids``
    (TRL 1.16's names; the legacy ``*_input_ids`` names would only be renamed, with a FutureWarning). For a processed
    dataset ``RewardTrainer._prepare_dataset`` skips its EOS-appending and tokenizing steps entirely (``add_eos`` only
    runs on untokenized text), and it never truncates: its only length handling is to *drop* pairs longer than
    ``max_length`` (default 1024), which is disabled here (``max_length=None``) because the data is already filtered.
    ``DataCollatorForPreference`` then right-pads the ids as they are (pad id ``tokenizer.pad_token_id``; no padding to
    a multiple on CPU). The pad token is the tokenizer's own (SmolLM2: ``<|endoftext|>``, id 0, distinct from EOS), and
    the sequence-classification head reads the last non-padding token.

    Order: ``train_sampling_strategy="sequential"`` (transformers' own option), so batches are consecutive file rows,
    as on the perl_lightning side; if ``warmup + steps`` batches need more rows than the file has, a new epoch starts
    over from the first row.

    Args:
        args: Parsed command line.
        rows: Validated rows (``chosen_ids``, ``rejected_ids``).
        output_dir: Scratch directory for the Trainer (nothing is saved to it).

    Returns:
        The job-specific part of the result.
    """
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import RewardConfig, RewardTrainer
    from trl.trainer.reward_trainer import DataCollatorForPreference

    if len(rows) < args.batch_pairs:
        raise DataError(f"{args.data}: {len(rows)} rows, fewer than --batch-pairs {args.batch_pairs}")
    config = RewardConfig(
        **_common_config(args, output_dir),
        per_device_train_batch_size=args.batch_pairs,
        max_length=None,  # no filtering: the data is pre-filtered, and TRL never truncates
        train_sampling_strategy="sequential",
        center_rewards_coefficient=None,
    )
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    dataset = Dataset.from_dict(
        {"chosen_ids": [r["chosen_ids"] for r in rows], "rejected_ids": [r["rejected_ids"] for r in rows]}
    )

    batch_tokens: list[int] = []  # real (unpadded) tokens of each collated batch, in order
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    collator = DataCollatorForPreference(pad_token_id=pad_id, pad_to_multiple_of=None)

    def counting_collator(examples: list[dict[str, Any]]) -> dict[str, Any]:
        batch_tokens.append(sum(len(e["chosen_ids"]) + len(e["rejected_ids"]) for e in examples))
        return collator(examples)

    timer = make_step_timer()
    trainer = RewardTrainer(
        model=args.model,
        args=config,
        data_collator=counting_collator,
        train_dataset=dataset,
        processing_class=tokenizer,
        callbacks=[timer],
        peft_config=_lora_config(args, "SEQ_CLS"),
    )
    if trainer.processing_class.pad_token_id != collator.pad_token_id:  # RewardTrainer may have set a pad token
        collator.pad_token_id = trainer.processing_class.pad_token_id
    if len(trainer.train_dataset) != len(rows):
        raise RuntimeError(f"TRL kept {len(trainer.train_dataset)} of {len(rows)} pairs; expected all of them")
    trainer.train()

    n = len(timer.wall)
    tokens = batch_tokens[:n]
    total_seen = getattr(trainer, "_total_train_tokens", None)  # TRL's own count (attention-mask sum)
    if total_seen is not None and total_seen != sum(tokens):
        print(f"trl_job: warning: token count {sum(tokens)} != TRL's {total_seen}", file=sys.stderr)
    return {
        "algo": None,
        "beta": None,
        "batch_pairs": args.batch_pairs,
        "step_tokens": tokens,
        "trainable_params": _trainable_params(trainer.model),
        "checkpointing_active": _checkpointing_active(trainer.model),
        "loss_type": "bradley_terry",
        "pad_token_id": trainer.processing_class.pad_token_id,
        "timer": timer,
        "config": config,
    }


def run_rl(args: argparse.Namespace, rows: list[dict[str, Any]], output_dir: str) -> dict[str, Any]:
    """Train the policy with TRL's ``RLOOTrainer`` or ``GRPOTrainer`` and time it.

    Batch layout: ``per_device_train_batch_size = prompts * k`` with ``steps_per_generation=1``,
    ``num_iterations=1`` and no gradient accumulation, so each optimizer step is exactly one generation round of
    ``prompts`` distinct prompts x ``k`` completions (TRL's ``RepeatSampler`` repeats each prompt ``k`` times inside
    the batch), generated by the current policy and used for one update. ``shuffle_dataset=False``: prompts in file
    order. Generation goes through ``_generate_single_turn`` (transformers ``generate``), which is wrapped to time it
    and to count the prompt and completion tokens it actually saw.

    Args:
        args: Parsed command line.
        rows: Validated rows (``prompt``, ``prompt_ids``).
        output_dir: Scratch directory for the Trainer (nothing is saved to it).

    Returns:
        The job-specific part of the result.
    """
    from datasets import Dataset
    from transformers import AutoTokenizer

    if args.algo == "rloo":
        from trl import RLOOConfig as Config
        from trl import RLOOTrainer as Trainer
    else:
        from trl import GRPOConfig as Config
        from trl import GRPOTrainer as Trainer

    if len(rows) < args.prompts:
        raise DataError(f"{args.data}: {len(rows)} rows, fewer than --prompts {args.prompts}")
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    check_prompt_tokenization(rows, tokenizer, args.data)
    known_ids = {tuple(r["prompt_ids"]) for r in rows}

    beta_default = Config.__dataclass_fields__["beta"].default
    extra: dict[str, Any] = {} if args.beta is None else {"beta": args.beta}
    config = Config(
        **_common_config(args, output_dir),
        **extra,
        per_device_train_batch_size=args.prompts * args.k,
        num_generations=args.k,
        steps_per_generation=1,
        num_iterations=1,
        max_completion_length=args.new_tokens,
        generation_kwargs={"min_new_tokens": args.new_tokens},  # with max_new_tokens: exactly new-tokens tokens
        temperature=1.0,
        top_p=1.0,
        top_k=0,
        min_p=None,
        repetition_penalty=1.0,
        use_vllm=False,
        shuffle_dataset=False,
        log_completions=False,
    )
    if config.generation_batch_size != args.prompts * args.k:
        raise RuntimeError(f"generation batch {config.generation_batch_size} != prompts*k {args.prompts * args.k}")
    dataset = Dataset.from_dict({"prompt": [r["prompt"] for r in rows]})

    timer = make_step_timer()
    trainer = Trainer(
        model=args.model,
        reward_funcs=length_reward,
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
        callbacks=[timer],
        peft_config=_lora_config(args, "CAUSAL_LM"),
    )

    gen: dict[str, list[Any]] = {"seconds": [], "start": [], "end": [], "tokens": [], "completion_lens": []}
    original: Callable[..., Any] = trainer._generate_single_turn
    mismatches: list[str] = []

    def timed_generate(*a: Any, **kw: Any) -> Any:
        prompt_ids = a[0] if a else kw["prompt_ids"]
        start = time.perf_counter()
        out = original(*a, **kw)
        end = time.perf_counter()
        completion_ids = out[0] if isinstance(out, tuple) else out  # GRPO returns (ids, logprobs), RLOO ids
        gen["seconds"].append(end - start)
        gen["start"].append(start)
        gen["end"].append(end)
        gen["completion_lens"].extend(len(c) for c in completion_ids)
        gen["tokens"].append(sum(len(p) for p in prompt_ids) + sum(len(c) for c in completion_ids))
        if len(prompt_ids) != args.prompts * args.k:
            mismatches.append(f"generation call with {len(prompt_ids)} sequences, expected {args.prompts * args.k}")
        if any(tuple(p) not in known_ids for p in prompt_ids):
            mismatches.append("TRL generated from prompt ids that are not any row's prompt_ids")
        return out

    trainer._generate_single_turn = timed_generate
    trainer.train()

    n = len(timer.wall)
    if len(gen["seconds"]) != n:
        mismatches.append(f"{len(gen['seconds'])} generation rounds for {n} optimizer steps (expected one each)")
    inside = all(
        b <= s and e <= t for b, s, e, t in zip(timer.begins, gen["start"], gen["end"], timer.ends, strict=False)
    )
    if not inside:
        mismatches.append("generation fell outside on_step_begin..on_step_end")
    lens = gen["completion_lens"]
    exact = bool(lens) and min(lens) == max(lens) == args.new_tokens
    if not exact:
        mismatches.append(f"completion lengths {min(lens, default=0)}..{max(lens, default=0)} != {args.new_tokens}")
    for m in mismatches:
        print(f"trl_job: warning: {m}", file=sys.stderr)
    grad_accum, spg, iters = config.gradient_accumulation_steps, config.steps_per_generation, config.num_iterations
    if args.algo == "grpo":
        # GRPOTrainer skips the no-grad "old" log-prob forward when generation and optimizer steps are aligned
        old_logprob_pass = grad_accum % (spg * iters) != 0 or bool(config.use_vllm)
        loss_type = config.loss_type
    else:
        old_logprob_pass = True  # RLOOTrainer always runs it (ratio is 1 on-policy, but the pass is still made)
        loss_type = "rloo (sequence-level clipped ratio, leave-one-out baseline)"
    return {
        "algo": args.algo,
        "beta": config.beta,
        "beta_default": beta_default,
        "reference_pass": config.beta != 0.0,  # with peft: a no-grad forward with the adapter disabled
        "old_logprob_pass": old_logprob_pass,
        "loss_type": loss_type,
        "prompts": args.prompts,
        "k": args.k,
        "new_tokens": args.new_tokens,
        "step_tokens": gen["tokens"][:n],
        "generate_times": gen["seconds"][:n],
        "completion_tokens_min": min(lens, default=None),
        "completion_tokens_max": max(lens, default=None),
        "completion_tokens_exact": exact,
        "generation_inside_step": inside,
        "warnings": mismatches,
        "trainable_params": _trainable_params(trainer.model),
        "checkpointing_active": _checkpointing_active(trainer.model),
        "timer": timer,
        "config": config,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run one job and write its result JSON.

    Args:
        argv: Command-line arguments without the program name; ``None`` reads ``sys.argv``.

    Returns:
        The exit status: 0 on success, 2 on a data error.
    """
    args = parse_args(argv)
    for key, value in (
        ("HF_HUB_OFFLINE", "1"),
        ("HF_DATASETS_OFFLINE", "1"),
        ("TRANSFORMERS_OFFLINE", "1"),
        ("WANDB_MODE", "disabled"),
        ("TOKENIZERS_PARALLELISM", "false"),
        ("HF_HUB_DISABLE_TELEMETRY", "1"),
    ):
        os.environ.setdefault(key, value)

    try:
        rows = read_rows(args.data, args.job)  # before the heavy imports: a bad file fails fast
    except DataError as e:
        print(f"trl_job: error: {e}", file=sys.stderr)
        return 2

    import torch

    torch.set_num_threads(args.threads)

    import peft
    import transformers
    import trl
    from transformers import set_seed

    set_seed(0)
    try:
        with tempfile.TemporaryDirectory(prefix="trl_job_") as output_dir:
            t0 = time.perf_counter()
            res = (run_rm if args.job == "rm" else run_rl)(args, rows, output_dir)
            total_s = time.perf_counter() - t0
    except DataError as e:
        print(f"trl_job: error: {e}", file=sys.stderr)
        return 2

    timer, config = res.pop("timer"), res.pop("config")
    step_tokens: list[int] = res.pop("step_tokens")
    w = args.warmup
    measured = timer.wall[w:]
    s_per_step = _median(measured)
    tokens_per_step = _median(step_tokens[w:])
    generate_times = res.pop("generate_times", None)
    result: dict[str, Any] = {
        "job": args.job,
        "algo": res.pop("algo"),
        "steps": args.steps,
        "warmup": args.warmup,
        "steps_run": len(timer.wall),
        "s_per_step": s_per_step,
        "step_times": timer.wall,
        "step_times_begin_to_end": timer.inner,
        "tokens_per_step": tokens_per_step,
        "step_tokens": step_tokens,
        "tokens_per_s": tokens_per_step / s_per_step if s_per_step and tokens_per_step is not None else None,
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "gradient_checkpointing": bool(config.gradient_checkpointing),
        "gradient_checkpointing_active": res.pop("checkpointing_active"),
        "gradient_checkpointing_requested": args.gradient_checkpointing,
        "beta": res.pop("beta"),
        "trl_version": trl.__version__,
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "peft_version": peft.__version__,
        "torch_threads": torch.get_num_threads(),
        "lora": {"r": args.lora_r, "alpha": args.lora_alpha, "dropout": 0.0, "target_modules": LORA_TARGETS},
        "lr": args.lr,
        "lr_scheduler": getattr(config.lr_scheduler_type, "value", str(config.lr_scheduler_type)),
        "max_grad_norm": config.max_grad_norm,
        "total_s": total_s,
        "model": args.model,
        "data": str(args.data),
        "rows": len(rows),
        **res,
    }
    if generate_times is not None:
        result["generate_s_per_step"] = _median(generate_times[w:])
        result["generate_times"] = generate_times
    if len(timer.wall) != w + args.steps:
        print(f"trl_job: warning: {len(timer.wall)} steps timed, expected {w + args.steps}", file=sys.stderr)
    if s_per_step is not None and not math.isfinite(s_per_step):
        print("trl_job: warning: non-finite step time", file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    summary = {k: result.get(k) for k in ("job", "algo", "s_per_step", "tokens_per_step", "tokens_per_s")}
    print(f"trl_job: {json.dumps(summary)} peak_rss_gib={result['peak_rss_gib']:.2f} -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
