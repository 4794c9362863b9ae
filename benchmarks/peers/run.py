"""perl_lightning vs TRL on the same LoRA jobs, side by side in one invocation, on one machine.

Prepares the data once (the same token ids for both sides), then for each job runs our side
(``ours_job.py``, the project venv) and TRL's (``trl_job.py``, ``benchmarks/.venv-trl``), each configuration in a
fresh process, alternating, ``--repeats`` times; writes ``benchmarks/results/<device>-vs-trl.json`` and prints the
table of ``benchmarks/README.md``.

Jobs (SmolLM2-135M-Instruct fp32, LoRA r=8 alpha 16 dropout 0 on q/k/v/o, ``--threads`` torch threads):

* ``rm_lora``: Bradley-Terry reward model, 8 pairs a step, HH-RLHF harmless pairs whose chosen and rejected
  sequences both fit ``--max-length`` tokens (chat template applied; nothing truncated), in file order.
* ``rl_lora``: RLOO (or ``--algo grpo``), 4 prompts x k=2 samples, exactly 48 new tokens (min = max), the HH first
  human turns that fit 128 tokens, the Python reward of ``peer_reward.py``, each side's KL default for the
  algorithm (RLOO 0.05, GRPO 0).

``make bench-peers`` builds TRL's venv and runs this (~15 min on 2 cores). ``--smoke`` runs our side only, on the
tiny random model and the built-in data, in ~1 min (``tests/benchmarks/test_peers_smoke.py``).
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from perl_lightning.data.preference import PreferenceDataModule
from perl_lightning.models.backbone import load_tokenizer, resolve_model_path
from perl_lightning.sources import BUILTIN_DIR

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TRL_PYTHON = ROOT / "benchmarks" / ".venv-trl" / "bin" / "python"
HH = ROOT.parent / "shared" / "data" / "hh-rlhf" / "harmless-base-test.jsonl.gz"
TRL_BETA = {"rloo": 0.05, "grpo": 0.0}  # TRL 1.16's defaults, used on both sides


def device_name() -> str:
    """``cpu-<arch>`` (the results file's name)."""
    return f"cpu-{platform.machine()}"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def first_turn(transcript: str) -> str | None:
    """The first human turn of an HH-RLHF transcript (``\\n\\nHuman: ...\\n\\nAssistant:``)."""
    head, sep, rest = transcript.partition("Human:")
    turn = rest.split("\n\nAssistant:", 1)[0].strip() if sep else ""
    return turn or None


def prepare(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """Write ``rm_pairs.jsonl`` and ``rl_prompts.jsonl`` (token ids both sides train on); returns what was used."""
    model_dir = resolve_model_path(args.model)
    tokenizer = load_tokenizer(args.model)
    source = str(HH) if HH.exists() and not args.smoke else "builtin"
    dm = PreferenceDataModule(path=source, max_length=100_000, val_fraction=0.0, tokenizer=args.model,
                              bad_rows="skip")  # fmt: skip
    dm.setup()
    pairs = [(c, r) for c, r in dm.encoded["train"] if max(len(c), len(r)) <= args.max_length]
    with (out / "rm_pairs.jsonl").open("w") as f:
        for c, r in pairs:
            f.write(json.dumps({"chosen_input_ids": c, "rejected_input_ids": r}) + "\n")
    if source == "builtin":
        lines = (BUILTIN_DIR / "prompts.jsonl").read_text(encoding="utf-8").splitlines()
        turns = [json.loads(x)["prompt"] for x in lines if x.strip()]
    else:
        with gzip.open(HH, "rt", encoding="utf-8") as f:
            turns = [first_turn(json.loads(line)["chosen"]) for line in f]
    prompts = []
    for turn in filter(None, turns):
        prompt = tokenizer.apply_chat_template([{"role": "user", "content": turn}], tokenize=False,
                                               add_generation_prompt=True)  # fmt: skip
        ids = tokenizer(prompt, add_special_tokens=False).input_ids
        if len(ids) <= 128:
            prompts.append({"prompt": prompt, "prompt_ids": ids})
    with (out / "rl_prompts.jsonl").open("w") as f:
        for row in prompts:
            f.write(json.dumps(row) + "\n")
    return {"data": source, "pairs": len(pairs), "prompts": len(prompts), "model_dir": model_dir}


def run_side(side: str, job: str, args: argparse.Namespace, out: Path, model_dir: str, tag: str) -> dict[str, Any]:
    """One configuration in a fresh process; its JSON result."""
    model = args.model if side == "ours" else model_dir
    python = sys.executable if side == "ours" else str(TRL_PYTHON)
    script = HERE / ("ours_job.py" if side == "ours" else "trl_job.py")
    data = out / ("rm_pairs.jsonl" if job == "rm" else "rl_prompts.jsonl")
    result = out / f"{side}_{job}_{tag}.json"
    cmd = [python, str(script), "--job", job, "--data", str(data), "--model", model, "--steps", str(args.steps),
           "--warmup", str(args.warmup), "--threads", str(args.threads), "--out", str(result), "--algo", args.algo,
           "--new-tokens", str(args.new_tokens), "--beta", str(TRL_BETA[args.algo])]  # fmt: skip
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               WANDB_MODE="disabled", OMP_NUM_THREADS=str(args.threads))  # fmt: skip
    print(f"[{datetime.datetime.now():%H:%M:%S}] {side} {job} ...", flush=True)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0 or not result.exists():
        sys.exit(f"{side} {job} failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(result.read_text())


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def combine(job: str, ours: list[dict], trl: list[dict], args: argparse.Namespace) -> dict[str, Any]:
    """Per-job figures: medians over repeats of each side's median step, and the ratios ours / TRL."""

    def med(runs: list[dict], key: str) -> float | None:
        values = [r[key] for r in runs if r.get(key) is not None]
        return statistics.median(values) if values else None

    row = {
        "ours_s_per_step": med(ours, "s_per_step"), "trl_s_per_step": med(trl, "s_per_step"),
        "ours_peak_rss_gib": med(ours, "peak_rss_gib"), "trl_peak_rss_gib": med(trl, "peak_rss_gib"),
        "ours_tokens_per_s": med(ours, "tokens_per_s"), "trl_tokens_per_s": med(trl, "tokens_per_s"),
        "mfu_update": med(ours, "mfu_update"), "matmul_ceiling_gflops_per_s": med(ours, "matmul_ceiling_gflops_per_s"),
        "ours_update_s_per_step": med(ours, "update_s_per_step"), "steps": args.steps, "warmup": args.warmup,
        "repeats": len(ours), "date": datetime.date.today().isoformat(),
        "trl_gradient_checkpointing": trl[0].get("gradient_checkpointing") if trl else None,
        "trl_generate_s_per_step": med(trl, "generate_s_per_step"),
    }  # fmt: skip
    row["time_ratio"] = ratio(row["ours_s_per_step"], row["trl_s_per_step"])
    row["memory_ratio"] = ratio(row["ours_peak_rss_gib"], row["trl_peak_rss_gib"])
    if job == "rl":
        for key in ("decode_step_ms", "decode_ceiling_ms", "decode_weight_read_ms", "decode_matmul_ms",
                    "decode_flop_bound_ms", "decode_ratio_to_ceiling"):  # fmt: skip
            row[key] = med(ours, key)
        phases = [ph for r in ours for ph in r["phases"][args.warmup :]]
        row["ours_phases_s"] = {k: statistics.median(p[k] for p in phases) for k in phases[0]} if phases else {}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", nargs="+", choices=["rm", "rl"], default=["rm", "rl"])
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--algo", choices=["rloo", "grpo"], default="rloo")
    parser.add_argument("--steps", type=int, default=5, help="measured steps per run (after --warmup)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=1, help="alternating runs of each side per job")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=256, help="pairs whose sequences both fit are kept")
    parser.add_argument("--new-tokens", type=int, default=48)
    parser.add_argument("--peers", choices=["trl", "none"], default="trl")
    parser.add_argument("--smoke", action="store_true", help="tiny model, built-in data, 2 steps, ours only")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "peers")
    parser.add_argument("--result", type=Path, default=None, help="default: benchmarks/results/<device>-vs-trl.json")
    args = parser.parse_args()
    if args.smoke:
        args.model, args.steps, args.warmup, args.new_tokens, args.peers = "tiny-llama", 2, 1, 8, "none"
        args.result = args.result or args.work / "smoke-vs-trl.json"
    if args.peers == "trl" and not TRL_PYTHON.exists():
        sys.exit(f"{TRL_PYTHON} missing: run `make bench-peers` (it builds TRL's venv) or pass --peers none")
    args.work.mkdir(parents=True, exist_ok=True)
    used = prepare(args, args.work)
    model = used["model_dir"]
    jobs = {}
    for job in args.jobs:
        ours, trl = [], []
        for i in range(args.repeats):
            ours.append(run_side("ours", job, args, args.work, model, str(i)))
            if args.peers == "trl":
                trl.append(run_side("trl", job, args, args.work, model, str(i)))
        jobs[f"{job}_lora"] = combine(job, ours, trl, args) | {"ours_runs": ours, "trl_runs": trl}
    report = {"device": device_name(), "cpu": cpu_model(), "threads": args.threads, "model": args.model,
              "algo": args.algo, "date": datetime.date.today().isoformat(), **used,
              "trl_version": jobs[next(iter(jobs))]["trl_runs"][0].get("trl_version") if args.peers == "trl" else None,
              "jobs": jobs}  # fmt: skip
    result = args.result or ROOT / "benchmarks" / "results" / f"{device_name()}-vs-trl.json"
    tmp = result.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=1))
    tmp.replace(result)  # atomic: an interrupted run leaves the previous file intact
    print_table(report)
    print(f"\nwrote {result}")


def fmt(x: float | None, spec: str = ".2f") -> str:
    return "-" if x is None else format(x, spec)


def print_table(report: dict[str, Any]) -> None:
    print(f"\n{report['model']}, {report['cpu']}, {report['threads']} threads, {report['date']}")
    print("| job | ours s/step | TRL s/step | time | ours GiB | TRL GiB | memory | ours tok/s | TRL tok/s "
          "| MFU update |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, j in report["jobs"].items():
        print(f"| {name} | {fmt(j['ours_s_per_step'])} | {fmt(j['trl_s_per_step'])} | {fmt(j['time_ratio'])}x "
              f"| {fmt(j['ours_peak_rss_gib'])} | {fmt(j['trl_peak_rss_gib'])} | {fmt(j['memory_ratio'])}x "
              f"| {fmt(j['ours_tokens_per_s'], '.0f')} | {fmt(j['trl_tokens_per_s'], '.0f')} "
              f"| {fmt(j['mfu_update'], '.1%')} |")  # fmt: skip
    rl = report["jobs"].get("rl_lora")
    if rl:
        print(f"decode step (8 rows): {fmt(rl['decode_step_ms'], '.1f')} ms; ceiling "
              f"{fmt(rl['decode_ceiling_ms'], '.1f')} ms (weight read {fmt(rl['decode_weight_read_ms'], '.1f')}, "
              f"bare matmuls {fmt(rl['decode_matmul_ms'], '.1f')}, "
              f"FLOP bound {fmt(rl['decode_flop_bound_ms'], '.1f')}): "
              f"{fmt(rl['decode_ratio_to_ceiling'])}x the ceiling")  # fmt: skip


if __name__ == "__main__":
    main()
