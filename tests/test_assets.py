"""The site's CSS and JavaScript are real files, checked as what they are: every script parses
under Node (`node --check`), every stylesheet has balanced blocks and no empty rule, and the
wheel ships them."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ASSETS = Path(__file__).resolve().parents[1] / "ledger" / "pages" / "assets"


@pytest.mark.parametrize("script", sorted(ASSETS.glob("*.js")), ids=lambda p: p.name)
def test_scripts_parse(script: Path) -> None:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("Node.js is not installed")
    result = subprocess.run([node, "--check", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("sheet", sorted(ASSETS.glob("*.css")), ids=lambda p: p.name)
def test_stylesheets_are_well_formed(sheet: Path) -> None:
    text = re.sub(r"/\*.*?\*/", "", sheet.read_text(), flags=re.S)
    depth = 0
    for char in text:
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0, f"{sheet.name}: a '}}' closes nothing"
    assert depth == 0, f"{sheet.name}: a block is not closed"
    assert not re.search(r"\{\s*\}", text), f"{sheet.name}: an empty rule"


def test_the_assets_are_package_data() -> None:
    pyproject = (ASSETS.parents[2] / "pyproject.toml").read_text()
    assert '"ledger.pages.assets" = ["*.css", "*.js"]' in pyproject
    assert {p.suffix for p in ASSETS.iterdir()} >= {".css", ".js"}
