"""The perl_lightning side of the peer benchmark: the same LoRA job as ``trl_job.py``, timed the same way, as JSON.

Reads the same prepared ids (``run.py`` writes them), trains with perl_lightning's modules under a Lightning
``Trainer`` and reports wall time per optimizer step (step end to step end; median after warm-up), tokens per step,
peak RSS, and the update phase's model FLOP utilisation against a matmul ceiling measured in this process. For RL it
also measures one KV-cached decode step for the batch (8 rows) and the machine's ceiling for it.

    .venv/bin/python benchmarks/peers/ours_job.py --job rl --data prompts.jsonl --model smollm2-135m-instruct \
        --steps 5 --warmup 1 --threads 2 --out ours_rl.json
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback
from torch.utils.data import DataLoader

from perl_lightning.data.formatting import pad
from perl_lightning.data.preference import PreferenceBatch
from perl_lightning.data.prompts import PromptBatch
from perl_lightning.models.adapters import LoRAConfig
from perl_lightning.models.forward import transformers_model
from perl_lightning.modules.optim import OptimConfig
from perl_lightning.modules.policy import PolicyModule
from perl_lightning.modules.reward_model import RewardModelModule
from perl_lightning.rewards.layer import RewardSpec
from perl_lightning.rl.config import EvalConfig, KLConfig, SamplingConfig, UpdateConfig

GIB = 2**30


class StepClock(Callback):
    """Wall time of each optimizer step, from one step's end to the next (the first from its start)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.phases: list[dict[str, float]] = []
        self._last: float | None = None

    def on_train_batch_start(self, trainer: L.Trainer, *args: Any) -> None:
        if self._last is None:
            self._last = time.perf_counter()

    def on_train_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        now = time.perf_counter()
        self.times.append(now - self._last)
        self._last = now
        self.phases.append({k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("time/")})


def read_rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as err:
            sys.exit(f"{path}, row {i}: not JSON ({err})")
    return rows


def matmul_ceiling_gflops(dtype: torch.dtype = torch.float32) -> float:
    """Best GFLOP/s of large square GEMMs in this process (the machine's matmul ceiling for ``dtype``)."""
    best = 0.0
    for n in (1024, 2048):
        a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
        a @ b
        start = time.perf_counter()
        for _ in range(3):
            a @ b
        best = max(best, 3 * 2 * n**3 / (time.perf_counter() - start) / 1e9)
    return best


def matmul_params(model: torch.nn.Module) -> tuple[int, int, int]:
    """(non-embedding linear parameters of the body, LM-head parameters, layers x hidden) of a causal LM."""
    causal = transformers_model(model)
    head = causal.get_output_embeddings()
    body = sum(m.weight.numel() for m in causal.base_model.modules() if type(m) is torch.nn.Linear)
    config = causal.config.get_text_config(decoder=True)
    head_params = head.weight.numel() if head is not None else 0  # a reward model has a (tiny) score head instead
    return body, head_params, config.num_hidden_layers * config.hidden_size


def update_flops(model: torch.nn.Module, lengths: list[int], logit_positions: list[int]) -> float:
    """Model FLOPs of a LoRA update (forward + backward) over sequences of ``lengths`` tokens.

    Forward: ``2 N`` per token for the body's linear layers, ``2 L T d`` per token for causal attention (scores and
    values over ``T/2`` keys on average, two matmuls), ``2 V H`` per position whose logits are taken. Backward: the
    frozen base needs input gradients only, about the forward again (LoRA's own weight gradients are <1%), so an
    update is ~2x its forward; the usual ``6N`` per token is for training every weight.
    """
    body, head, layers_x_hidden = matmul_params(model)
    forward = sum(2 * body * t + 2 * layers_x_hidden * t * t for t in lengths) + 2 * head * sum(logit_positions)
    return 2.0 * forward


def run_rm(args: argparse.Namespace, rows: list[dict[str, Any]], tmp: str) -> dict[str, Any]:
    module = RewardModelModule(model=args.model, lora=LoRAConfig(r=args.lora_r, alpha=args.lora_alpha, dropout=0.0),
                               learning_rate=args.lr, save_dir=tmp)  # fmt: skip
    pad_id = module.tokenizer.pad_token_id
    n = args.batch_pairs
    batches = []
    for s in range(0, (args.warmup + args.steps) * n, n):
        chunk = [rows[i % len(rows)] for i in range(s, s + n)]
        ids, mask = pad([r["chosen_input_ids"] for r in chunk] + [r["rejected_input_ids"] for r in chunk], pad_id)
        batches.append(PreferenceBatch(ids, mask))
    clock = fit(module, batches, args)
    lengths = [[int(x) for x in b.attention_mask.sum(-1)] for b in batches]
    flops = [update_flops(module.model, seq, [0] * len(seq)) for seq in lengths]  # the score head only: no logits
    return summarise(args, clock, clock.times, [sum(seq) for seq in lengths], flops)


def run_rl(args: argparse.Namespace, rows: list[dict[str, Any]], tmp: str) -> dict[str, Any]:
    module = PolicyModule(
        model=args.model, algorithm=args.algo, lora=LoRAConfig(r=args.lora_r, alpha=args.lora_alpha, dropout=0.0),
        rewards=[RewardSpec("peer_reward:length_reward")], update=UpdateConfig(samples_per_prompt=args.k),
        sampling=SamplingConfig(max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens),
        kl=KLConfig(coef=args.beta), optim=OptimConfig(learning_rate=args.lr), evaluation=EvalConfig(num_samples=0),
        save_dir=tmp,
    )  # fmt: skip
    pad_id, p = module.tokenizer.pad_token_id, args.prompts
    batches = []
    for s in range(0, (args.warmup + args.steps) * p, p):
        chunk = [rows[i % len(rows)] for i in range(s, s + p)]
        ids, mask = pad([r["prompt_ids"] for r in chunk], pad_id, side="left")
        batches.append(PromptBatch(ids, mask, [r["prompt"] for r in chunk], [str(i) for i in range(s, s + p)],
                                   [{} for _ in chunk]))  # fmt: skip
    clock = fit(module, batches, args)
    r = args.new_tokens
    lengths = [[len(row["prompt_ids"]) + r for row in rows_of(b, rows, p) for _ in range(args.k)]
               for b in range(len(batches))]  # fmt: skip
    flops = [update_flops(module.model, seq, [r + 1] * len(seq)) for seq in lengths]
    update_times = [ph.get("time/update_s", float("nan")) for ph in clock.phases]
    result = summarise(args, clock, update_times, [sum(seq) for seq in lengths], flops)
    result.update(decode_figures(module, batches[0], args))
    return result


def rows_of(batch_index: int, rows: list[dict[str, Any]], p: int) -> list[dict[str, Any]]:
    return [rows[i % len(rows)] for i in range(batch_index * p, batch_index * p + p)]


def fit(module: L.LightningModule, batches: list[Any], args: argparse.Namespace) -> StepClock:
    clock = StepClock()
    trainer = L.Trainer(accelerator="cpu", max_steps=args.warmup + args.steps, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
                        num_sanity_val_steps=0, callbacks=[clock])  # fmt: skip
    trainer.fit(module, train_dataloaders=DataLoader(batches, batch_size=None, shuffle=False))
    return clock


def summarise(args: argparse.Namespace, clock: StepClock, update_times: list[float], tokens: list[int],
              flops: list[float]) -> dict[str, Any]:  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # before any ceiling measurement below
    w = args.warmup
    s_per_step = statistics.median(clock.times[w:])
    ceiling = matmul_ceiling_gflops()
    achieved = statistics.median(f / t for f, t in zip(flops[w:], update_times[w:], strict=True)) / 1e9
    return {
        "job": args.job, "algo": args.algo if args.job == "rl" else None, "steps": args.steps, "warmup": w,
        "s_per_step": s_per_step, "step_times": clock.times, "tokens_per_step": statistics.median(tokens[w:]),
        "tokens_per_s": statistics.median(tokens[w:]) / s_per_step, "peak_rss_gib": peak,
        "update_s_per_step": statistics.median(update_times[w:]), "update_gflops_per_s": achieved,
        "matmul_ceiling_gflops_per_s": ceiling, "mfu_update": achieved / ceiling,
        "phases": clock.phases, "torch_threads": torch.get_num_threads(), "torch_version": torch.__version__,
    }  # fmt: skip


def decode_figures(module: PolicyModule, batch: PromptBatch, args: argparse.Namespace, repeats: int = 3) -> dict:
    """One KV-cached decode step for the batch (prompts x k rows) and this machine's ceiling for it.

    ``decode_step_ms``: (time for 33 new tokens - time for 1) / 32, median of ``repeats``, the policy adapter merged
    as in training. Ceiling: the larger of reading every weight once (a flat copy, summed) and the step's linear
    layers run as bare matmuls on the batch's rows, back to back, in the faster of the two orientations.
    """
    models = module.models
    times = {}
    for length in (1, 33):
        cfg = SamplingConfig(max_new_tokens=length, min_new_tokens=length)
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            models.generate(batch.input_ids, batch.attention_mask, batch.prompts, cfg, k=args.k)
            runs.append(time.perf_counter() - start)
        times[length] = statistics.median(runs)
    step_ms = (times[33] - times[1]) / 32 * 1e3
    causal = transformers_model(models.model)
    params = {id(p): p for p in causal.parameters() if p.dtype.is_floating_point and not p.requires_grad}
    flat = torch.cat([p.detach().reshape(-1) for p in params.values()])
    flat.sum()
    start = time.perf_counter()
    for _ in range(5):
        flat.sum()
    read_ms = (time.perf_counter() - start) / 5 * 1e3
    del flat
    rows = batch.input_ids.shape[0] * args.k
    linears = [m for n, m in causal.named_modules() if type(m) is torch.nn.Linear and "lora_" not in n]
    xs = {m.weight.shape[1]: torch.randn(rows, m.weight.shape[1]) for m in linears}
    best = float("inf")
    for orient in ("linear", "weight_major"):
        for _ in range(3):
            start = time.perf_counter()
            for m in linears:
                x = xs[m.weight.shape[1]]
                torch.nn.functional.linear(x, m.weight) if orient == "linear" else torch.matmul(m.weight, x.T)
            best = min(best, (time.perf_counter() - start) * 1e3)
    body, head, _ = matmul_params(models.model)
    flops_ms = 2 * (body + head) * rows / (matmul_ceiling_gflops() * 1e9) * 1e3
    return {"decode_step_ms": step_ms, "decode_ceiling_ms": max(read_ms, best), "decode_weight_read_ms": read_ms,
            "decode_matmul_ms": best, "decode_flop_bound_ms": flops_ms, "decode_rows": rows,
            "decode_ratio_to_ceiling": step_ms / max(read_ms, best)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--job", choices=["rm", "rl"], required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--algo", choices=["rloo", "grpo"], default="rloo")
    parser.add_argument("--batch-pairs", type=int, default=8)
    parser.add_argument("--prompts", type=int, default=4)
    parser.add_argument("--k", type=int, default=2)
    parser.add_argument("--new-tokens", type=int, default=48)
    parser.add_argument("--lora-r", type=int, default=8)
    parser.add_argument("--lora-alpha", type=float, default=16)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--beta", type=float, default=0.05, help="KL coefficient (RL)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    L.seed_everything(0, verbose=False)
    rows = read_rows(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        result = (run_rm if args.job == "rm" else run_rl)(args, rows, tmp)
    args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
