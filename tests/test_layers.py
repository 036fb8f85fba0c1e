"""The layers of the library, as its folders show them: a module never imports one of a higher
layer (an AST walk over every import, including those inside functions), click is imported only
by the CLI, and raw SQL runs only in the store."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LEDGER = ROOT / "ledger"

# Lowest first. A module may import its own layer and those below it. ``errors`` is shared by all.
LAYERS = ["errors", "core", "model", "storage", "ops", "pages", "api"]
LAYER_DOCS = {
    "core": "byte formats, hashing, proofs, signed notes: no I/O, no clock",
    "model": "contracts, rules, the fold, labels, the chain check: pure",
    "storage": "the only place SQL runs",
    "ops": "append, bulk, verify, audit, rebuild, export, proofs, bundles",
    "pages": "parsing, facts, import, render, site",
}


def layer_of(dotted: str) -> str:
    """Return the layer of a module named ``ledger.x`` or ``ledger.x.y``."""
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 else "api"


def modules() -> list[Path]:
    return sorted(p for p in LEDGER.rglob("*.py") if p.name != "__init__.py")


def dotted(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def imported(path: Path) -> set[str]:
    """Return every module ``path`` imports, anywhere in it (``from ledger.core import x`` gives
    ``ledger.core.x``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            if node.module.startswith("ledger"):
                found.update(f"{node.module}.{a.name}" for a in node.names
                             if (LEDGER.parent / node.module.replace(".", "/") / f"{a.name}.py").exists())
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_every_module_is_in_a_layer_folder() -> None:
    for path in modules():
        layer = layer_of(dotted(path))
        assert layer in LAYERS, f"{dotted(path)} is in no layer ({', '.join(LAYERS)})"
    for folder, doc in LAYER_DOCS.items():
        assert (LEDGER / folder / "__init__.py").read_text().strip(), f"ledger/{folder} says nothing"
        assert doc


@pytest.mark.parametrize("path", modules(), ids=dotted)
def test_no_module_imports_a_higher_layer(path: Path) -> None:
    own = LAYERS.index(layer_of(dotted(path)))
    for name in imported(path):
        assert not name.startswith(("cli", "click")), f"{dotted(path)} imports {name}: only cli/ may"
        if name.startswith("ledger.") and name.count(".") >= 1:
            other = layer_of(name)
            assert LAYERS.index(other) <= own, f"{dotted(path)} ({LAYERS[own]}) imports {name} ({other})"


SQL = re.compile(r"\.execute(many|script)?\(")


@pytest.mark.parametrize("path", modules(), ids=dotted)
def test_sql_runs_only_in_the_store(path: Path) -> None:
    if layer_of(dotted(path)) == "storage":
        return
    assert not SQL.search(path.read_text()), f"{dotted(path)} runs SQL: move it into ledger/storage"


def test_the_layer_test_sees_a_violation(tmp_path: Path) -> None:
    """The walk finds imports inside functions too (what a lazy import would hide)."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from ledger.ops.audit import audit\n    return audit\n")
    assert "ledger.ops.audit" in imported(module)


def test_a_ledger_without_signatures_never_loads_cryptography(tmp_path: Path) -> None:
    """cryptography (~10 ms of a command's start) is imported only where a key is made or used:
    `init`, `publish`, `correct`, `show` and `verify` of a ledger without signatures run without
    it, in a fresh interpreter."""
    import subprocess
    import sys

    record = ROOT / "examples" / "records" / "SRCH-03BE3A05.json"
    script = f"""
import sys
from ledger.cli.main import app
db = {str(tmp_path / "l.db")!r}
for args in (["init"], ["publish", {str(record)!r}],
             ["correct", "SRCH:03BE3A05", "--kind", "correction", "--reason", "typo",
              "--set", "/review_score=9.1"], ["show", "SRCH:03BE3A05"], ["verify"]):
    try:
        app.main(["--db", db, "--actor", "tester", *args], standalone_mode=False)
    except SystemExit as exit:
        assert not exit.code, (args, exit.code)
print(sorted(name for name in sys.modules if name.split(".")[0] == "cryptography"))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout
