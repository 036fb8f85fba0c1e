"""The wheel installs one top-level name, ``ledger`` (the CLI as ``ledger.cli``), ships
``py.typed`` and the site's assets, its console script points into the package, and it prints
the published JSON Schemas without the repository's ``schemas/``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out, src = tmp_path_factory.mktemp("wheel"), tmp_path_factory.mktemp("src")
    for name in ("ledger", "cli"):  # a clean copy: a stale build/ folder must not leak in
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out),
                            str(src)], capture_output=True, text=True, timeout=600)
    if built.returncode != 0 and "Could not" in built.stderr:  # no build backend reachable
        pytest.skip(f"cannot build a wheel here: {built.stderr.strip()[-200:]}")
    assert built.returncode == 0, built.stderr
    return zipfile.ZipFile(next(out.glob("*.whl")))


def test_one_top_level_name(wheel: zipfile.ZipFile) -> None:
    tops = {name.split("/")[0] for name in wheel.namelist() if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"ledger"}


def test_the_wheel_carries_the_cli_types_and_assets(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    assert {"ledger/cli/main.py", "ledger/py.typed", "ledger/pages/assets/verify.js",
            "ledger/pages/assets/page.css"} <= names
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "ledger = ledger.cli.main:main" in wheel.read(entry).decode()


def test_the_installed_package_prints_the_schemas(wheel: zipfile.ZipFile, tmp_path: Path) -> None:
    """`ledger schema` from the wheel alone (which ships no schemas/): the same bytes as the
    repository's schemas/ files."""
    unpacked, elsewhere = tmp_path / "site", tmp_path / "cwd"
    wheel.extractall(unpacked)
    elsewhere.mkdir()
    run = [sys.executable, "-c", "import sys, ledger; from ledger.cli.main import main; "
           "assert ledger.__file__.startswith(sys.argv[1]), ledger.__file__; "
           "sys.argv[1:] = sys.argv[2:]; main()", str(unpacked)]
    env = {**os.environ, "PYTHONPATH": str(unpacked)}
    for schema in sorted((ROOT / "schemas").glob("*.json")):
        made = subprocess.run([*run, "schema", schema.stem], cwd=elsewhere, env=env,
                              capture_output=True, timeout=60)
        assert made.returncode == 0, made.stderr.decode()
        assert made.stdout == schema.read_bytes(), schema.name
