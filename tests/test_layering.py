"""The package's layering holds: ``rl/`` is torch-only math, nothing imports upward, no import hides in a function.

Layers, lowest first (a module may import its own layer and those below)::

    rl  <  io, checkpointing, profiling, sources, console, report  <  models  <  tasks  <  data  <  rewards
        <  callbacks  <  modules  <  stages  <  pipeline, cli, export, averaging

``sources`` (raw rows with row-level errors) sits low so that tasks, which parse those rows, can sit below the
DataModules that take a task.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "perl_lightning"
LAYERS = {
    "rl": 0,
    "io": 1,
    "checkpointing": 1,
    "profiling": 1,
    "sources": 1,
    "console": 1,
    "report": 1,
    "models": 2,
    "tasks": 3,
    "data": 4,
    "rewards": 5,
    "callbacks": 6,
    "modules": 7,
    "stages": 8,
    "pipeline": 9,
    "cli": 9,
    "export": 9,
    "averaging": 9,
}
SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if "builtin" not in p.parts)


def _part(module: str) -> str:
    """``perl_lightning.models.backbone`` -> ``models``."""
    return module.split(".")[1] if module.count(".") else ""


def _own_part(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.append((node.lineno, node.module))
            out += [(node.lineno, f"{node.module}.{a.name}") for a in node.names if node.module == "perl_lightning"]
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
    return out


def test_every_package_part_has_a_layer():
    parts = {_own_part(p) for p in SOURCES} - {"__init__"}
    assert parts <= set(LAYERS), f"give these a layer in tests/test_layering.py: {sorted(parts - set(LAYERS))}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_nothing_imports_upward(path: Path):
    own = _own_part(path)
    if own == "__init__":
        return
    upward = [
        f"line {line}: {name}"
        for line, name in _imports(ast.parse(path.read_text()))
        if name.startswith("perl_lightning.") and LAYERS.get(_part(name), -1) > LAYERS[own]
    ]
    assert not upward, f"{path.relative_to(PACKAGE)} ({own}) imports a higher layer: {upward}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_inside_a_function(path: Path):
    """Imports inside functions hide cycles and layering breaks; every import sits at module level."""
    hidden = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            hidden += [
                f"line {s.lineno}: {ast.unparse(s)}"
                for s in ast.walk(node)
                if isinstance(s, ast.Import | ast.ImportFrom)
            ]
    assert not hidden, f"{path.relative_to(PACKAGE)} imports inside a function: {hidden}"


def test_rl_imports_only_torch(tmp_path):
    """Every module of ``rl/`` imports in a process where peft, transformers, lightning and the package's other
    parts cannot be imported."""
    modules = [f"perl_lightning.rl.{p.stem}" for p in sorted((PACKAGE / "rl").glob("*.py")) if p.stem != "__init__"]
    parts = ("models", "data", "modules", "callbacks", "rewards", "checkpointing", "tasks", "sources")
    blocked = ["peft", "transformers", "lightning", "pytorch_lightning", "datasets", "torchmetrics", "wandb",
               *(f"perl_lightning.{p}" for p in parts)]  # fmt: skip
    script = f"""
import importlib, importlib.abc, sys
BLOCKED = {blocked!r}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in BLOCKED):
            raise ImportError(f"blocked import of {{name}}")
sys.meta_path.insert(0, Block())
for m in {modules!r}:
    importlib.import_module(m)
leaked = sorted(n for n in sys.modules if any(n == b or n.startswith(b + ".") for b in BLOCKED))
assert not leaked, leaked
print("imported", len({modules!r}), "modules")
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"imported {len(modules)} modules" in out.stdout
