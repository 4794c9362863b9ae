"""The benchmark suite's smoke run, once for the tests that read it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")


@pytest.fixture(scope="session")
def suite_smoke(tmp_path_factory) -> SimpleNamespace:
    """``benchmarks/suite.py --smoke`` (every section, tiny model, built-in data): ``.out`` (its folder: results,
    tables, plots, and each section's work folder) and ``.stdout``."""
    out = tmp_path_factory.mktemp("suite")
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "suite.py"), "--smoke", "--out", str(out)],
                          env=ENV, capture_output=True, text=True, timeout=900)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return SimpleNamespace(out=out, stdout=proc.stdout)
