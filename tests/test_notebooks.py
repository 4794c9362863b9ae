"""The notebooks run end to end (on a tiny random model: ``PERL_NOTEBOOK_TINY=1``), in order, with no error; the
committed copies carry the outputs of a real run."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ["01_reward_model.ipynb", "02_rl.ipynb", "03_ui_automation.ipynb", "04_vqa.ipynb"]


def _execute(nb: nbformat.NotebookNode, timeout: int = 600) -> None:
    """Run every cell in a fresh kernel, from the notebooks' folder (as a user would)."""
    NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()


def test_every_notebook_is_listed_and_committed_with_outputs():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == NAMES
    for name in NAMES:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        nbformat.validate(nb)
        cells = [c for c in nb.cells if c.cell_type == "code"]
        assert cells and all(c.execution_count for c in cells), f"{name}: not executed in full"
        errors = [o for c in cells for o in c.outputs if o.output_type == "error"]
        assert not errors, f"{name}: committed with an error: {errors[0].get('ename')}"
        images = [o for c in cells for o in c.outputs if "image/png" in o.get("data", {})]
        assert images, f"{name}: committed without its plots"


def test_notebooks_run_in_order_on_a_tiny_model(tmp_path, monkeypatch):
    monkeypatch.setenv("PERL_NOTEBOOK_TINY", "1")
    monkeypatch.setenv("PERL_NOTEBOOK_OUT", str(tmp_path / "runs"))
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "2"))
    for name in NAMES:  # 02 reads the reward model 01 trains
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        _execute(nb)
        outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
        assert any("image/png" in o.get("data", {}) for o in outputs), f"{name}: drew no plot"
    assert (tmp_path / "runs" / "reward_model" / "held_out_rewards.png").is_file()


def test_02_says_to_run_01_first(tmp_path, monkeypatch):
    monkeypatch.setenv("PERL_NOTEBOOK_TINY", "1")
    monkeypatch.setenv("PERL_NOTEBOOK_OUT", str(tmp_path / "empty"))
    nb = nbformat.read(NOTEBOOKS / "02_rl.ipynb", as_version=4)
    nb.cells = nb.cells[:2]  # the parameters cell checks for 01's reward model
    with pytest.raises(Exception, match="run 01_reward_model.ipynb first"):
        _execute(nb, timeout=120)
