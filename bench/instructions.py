"""Count the instructions each operation runs per event, with valgrind (run: make instructions).

The timings of this shared VM move by tens of percent between runs and within one (the same 700
durable appends: 0.29–0.49 ms of user CPU each over four runs of the same code); the
instructions an operation runs do not (only its random salts and the clock move them, by well
under 1%). So a change on a measured path can be weighed exactly, before and after: each
operation runs at two sizes under ``valgrind --tool=callgrind``, and the difference of the two
totals divided by the difference of the sizes is its instructions per event — the
interpreter's start, the imports and the set-up cancel out.

Only the operation's own process is counted: a caller stops its helpers as soon as it has their
last message, before valgrind could report theirs. So the bulk append's writer is counted as it
runs beside its two helpers, and the helpers' work on its own: one helper preparing every line
(``prepare``). The sizes stay below ``ops.helpers.PARALLEL_FROM``, so verify and rebuild do all
their work in one process here; the bulk append starts its helpers from
``bulkprep.PARALLEL_FROM`` lines, as its sizes do.

Read the figures as work, not time: valgrind runs no SHA instructions of the CPU, so SHA-256
weighs several times more here than on the CPU, and a cache miss costs nothing. Valgrind runs
~50× slower than the CPU.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import operations

HERE = Path(__file__).parent
# operation -> (smaller, larger) size in events; what is counted per event
OPS = {
    "bulk": ((6_000, 9_000), "`append --jsonl`: the writer, beside its two helpers"),
    "prepare": ((6_000, 9_000), "`append --jsonl`: the helpers' work, in one helper"),
    "single": ((100, 300), "durable single appends: addenda over 20 records"),
    "verify": ((2_000, 6_000), "`verify`, in one process"),
    "rebuild": ((2_000, 6_000), "`rebuild` of intact views (none written), in one process"),
    "rebuild-drop": ((2_000, 6_000), "`rebuild --drop` (every row written), in one process"),
}
_COLLECTED = re.compile(r"^==\d+== Collected : (\d+)$", re.MULTILINE)


def counted(argv: list[str]) -> int:
    """Return the instructions valgrind counts in a command's own process (not its children)."""
    done = subprocess.run(["valgrind", "--tool=callgrind", "--trace-children=no",
                           "--callgrind-out-file=/dev/null", *argv],
                          capture_output=True, text=True, cwd=HERE.parent,
                          env={**os.environ, "PYTHONHASHSEED": "0"})  # the same hashes each run
    totals = _COLLECTED.findall(done.stderr)
    if done.returncode != 0 or len(totals) != 1:
        raise RuntimeError(f"valgrind {' '.join(argv)} failed (exit {done.returncode}): "
                           f"{done.stderr.strip()[-500:]}")
    return int(totals[0])


def prepare(op: str, n: int, tmp: Path) -> Path:
    """Return what the counted run of ``op`` at ``n`` events works on, made beforehand (not
    counted): the input lines of a bulk append, a ledger of n bench events to verify or
    rebuild, a path for the single appends' new ledger."""
    from bench.bench import write_jsonl

    if op == "single":
        return tmp / f"single-{n}.db"
    source = tmp / f"in-{n}.jsonl"
    write_jsonl(source, n)
    if op in ("bulk", "prepare"):
        return source
    from ledger.api import Ledger

    db = tmp / f"{op}-{n}.db"
    with Ledger.create(db) as ledger, source.open("rb") as handle:
        ledger.append_jsonl(handle, "bench")
    return db


def run(op: str, path: Path, n: int) -> None:
    """The counted body of one operation (a process of its own, under valgrind)."""
    if op == "bulk":
        operations.bulk(path.with_suffix(".db"), path)
    elif op == "prepare":
        operations.prepare_every_line(path)
    elif op == "single":
        operations.single(path, n)
    elif op == "verify":
        operations.verify(path)
    elif op in ("rebuild", "rebuild-drop"):
        operations.rebuild(path, drop=op == "rebuild-drop")


def measure(op: str, small: int, large: int) -> float:
    """Return the instructions ``op`` runs per event between ``small`` and ``large`` events."""
    totals = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (small, large):
            path = prepare(op, n, Path(tmp))
            totals.append(counted([sys.executable, str(Path(__file__).resolve()), "--run", op,
                                   str(path), str(n)]))
    return (totals[1] - totals[0]) / (large - small)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ops", nargs="*", help=f"some of {', '.join(OPS)} (default: all)")
    parser.add_argument("--run", nargs=3, metavar=("OP", "PATH", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        run(args.run[0], Path(args.run[1]), int(args.run[2]))
        return
    ops = operations.chosen(args.ops, OPS)
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    print("| operation | events counted | instructions per event |\n|---|---:|---:|")
    for op in ops:
        (small, large), what = OPS[op]
        per_event = measure(op, small, large)
        print(f"| {what} | {small:,} → {large:,} | {per_event:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
