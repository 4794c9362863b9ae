"""FSDP2 (Lightning's ``ModelParallelStrategy``, ``fully_shard``) on 2 CPU processes over gloo, compared with DDP on
the same data: the base and the adapters are sharded (``DTensor``) during training, yet every step's statistics and
the written adapters equal the unsharded (DDP) run's; both ranks end with the same adapters; adapter switching
(reference = adapters off) and generation are correct under sharding; the adapters are written once, by rank zero.
Each run is a real 2-process Lightning launch of ``_fsdp2_run.py`` (~20 s)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

RUNNER = Path(__file__).with_name("_fsdp2_run.py")


def _run(strategy: str, kind: str, out: Path) -> list[dict]:
    out.mkdir(parents=True)
    proc = subprocess.run([sys.executable, str(RUNNER), strategy, kind, str(out)], capture_output=True, text=True,
                          timeout=600, cwd=out)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]


@pytest.mark.parametrize("kind", ["rm", "policy"])
def test_fsdp2_matches_ddp_on_two_cpu_processes(kind: str, tmp_path: Path):
    fsdp2, ddp = _run("fsdp2", kind, tmp_path / "fsdp2"), _run("ddp", kind, tmp_path / "ddp")
    assert all(r["sharded"] for r in fsdp2) and not any(r["sharded"] for r in ddp)  # FSDP2 really sharded
    for a, b in zip(fsdp2, ddp, strict=True):  # per rank, per step: the same (rank-reduced) statistics
        assert len(a["steps"]) == len(b["steps"]) == 3
        for sa, sb in zip(a["steps"], b["steps"], strict=True):
            assert sa.keys() == sb.keys() and sa
            for key in sa:
                assert sa[key] == pytest.approx(sb[key], abs=1e-5), key
    assert fsdp2[0]["trainable"] == fsdp2[1]["trainable"]  # both ranks hold the same (gathered) adapters
    assert fsdp2[0]["trainable"].keys() == ddp[0]["trainable"].keys()
    for name, value in fsdp2[0]["trainable"].items():
        assert value == pytest.approx(ddp[0]["trainable"][name], abs=1e-5), name
    assert "files" not in fsdp2[1]  # rank zero alone wrote, once
    assert fsdp2[0]["files"] == ddp[0]["files"] and fsdp2[0]["files"]
    for file, tensors in fsdp2[0]["saved"].items():  # the written adapters equal the unsharded run's
        for key, total in tensors.items():
            assert total == pytest.approx(ddp[0]["saved"][file][key], abs=1e-5), f"{file}: {key}"
    if kind == "policy":
        a, b = fsdp2[0], ddp[0]
        assert a["responses"] == b["responses"]  # generation under FSDP2 (ranks in step) = unsharded generation
        assert a["ref"] == pytest.approx(a["bare"], abs=1e-6)  # reference = the base with adapters off
        assert a["ref"] == pytest.approx(b["ref"], abs=1e-5) and a["policy"] == pytest.approx(b["policy"], abs=1e-5)
        assert max(abs(p - r) for p, r in zip(a["policy"], a["ref"], strict=True)) > 1e-3  # the policy moved
