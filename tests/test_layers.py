"""The layers of the library: a module never imports one of a higher layer (an AST walk over
every import, including those inside functions), click is imported only by the CLI, and raw SQL
runs only in the store."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Lowest first. A module may import its own layer and those below it.
LAYERS: dict[str, set[str]] = {
    "core: byte formats, hashing, proofs, signed notes (no I/O, no clock)": {
        "errors", "canonical", "events", "merkle", "merkle_check", "note", "checkpoint", "clock",
        "progress",
    },
    "model: contracts, rules, the fold, labels, the chain check (pure)": {
        "contracts", "pointer", "state", "rules", "defaults", "keyring", "labels", "verify",
    },
    "store: the only place SQL runs": {"store", "views", "proofstore"},
    "operations": {
        "helpers", "verification", "batch", "bulk", "audit", "maintenance", "export", "proofs",
        "bundle", "artifacts", "keys", "schemas",
    },
    "pages: parsing, facts, import, render, site": {
        "pages", "page_facts", "importer", "render", "site", "assets", "text",
    },
    "facade": {"api"},
}
SQL_MODULES = LAYERS["store: the only place SQL runs"]
LAYER_OF = {module: n for n, modules in enumerate(LAYERS.values()) for module in modules}


def modules() -> list[Path]:
    return sorted(p for p in (ROOT / "ledger").glob("*.py") if p.name != "__init__.py")


def imported(path: Path) -> set[str]:
    """Return the ``ledger`` modules and top-level packages ``path`` imports, anywhere in it."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "ledger":
                found.update(f"ledger.{a.name}" for a in node.names)
            else:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_every_module_has_a_layer() -> None:
    names = {p.stem for p in modules()}
    assert names == set(LAYER_OF), f"unplaced: {names - set(LAYER_OF)}; gone: {set(LAYER_OF) - names}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.stem)
def test_no_module_imports_a_higher_layer(path: Path) -> None:
    own = LAYER_OF[path.stem]
    for name in imported(path):
        assert not name.startswith(("cli", "click")), f"{path.stem} imports {name}: only cli/ may"
        if name.startswith("ledger."):
            other = name.split(".")[1]
            assert LAYER_OF[other] <= own, (
                f"{path.stem} ({list(LAYERS)[own]}) imports {other} ({list(LAYERS)[LAYER_OF[other]]})")


SQL = re.compile(r"\.execute(many|script)?\(")


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.stem)
def test_sql_runs_only_in_the_store(path: Path) -> None:
    if path.stem in SQL_MODULES:
        return
    assert not SQL.search(path.read_text()), f"{path.stem} runs SQL: move it into the store"
