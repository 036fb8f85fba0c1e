"""`make demo`, the README's first command, end to end: the demo script on a copy of the
examples, with the real CLI and three real witness servers on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_demo_runs_end_to_end(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for name in ("LEDGER_DB", "LEDGER_ACTOR", "LEDGER_KEY"):
        env.pop(name, None)
    done = subprocess.run(["sh", str(tmp_path / "examples" / "demo.sh")], env=env,
                          capture_output=True, text=True, timeout=600)
    said = done.stdout + done.stderr
    assert done.returncode == 0, said[-3000:]
    assert "Traceback" not in said
    for line in ("audit: OK", "Imported 3 page(s), 8 event(s) appended",
                 "<stdin>: SRCH:BF3DD431: unchanged", "(refused with exit status 2)",
                 "most recently at", "provenance-ledger-export-v1  `export --format json`",
                 "Done: the ledger is demo.db", "the checkpoint of size 14 by demo.assignee.example",
                 "3 of 3 bundle(s) verified"):
        assert line in said, line
    assert (tmp_path / "demo.db").exists() and (tmp_path / "demo-out" / "site" / "index.html").exists()
