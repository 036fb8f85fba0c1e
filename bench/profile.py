"""Sample where the time goes (run: make profile): py-spy over bulk append, durable single
appends, verify and rebuild; writes bench/profiles/OP.txt (self time and time under each
function, in % of samples).

Bulk append, verify and rebuild share their work with helper processes. py-spy loses most
samples of a process tree (``--subprocesses`` kept ~1,000 of ~5,000 samples here), so each
process is sampled on its own: OP.txt is the main process as it runs, beside its helpers (the
critical path); OP-one-process.txt is the same operation with no helper started (Python's
``sys.executable`` emptied: the caller then does every part of the work itself, as it does when
a helper cannot start); bulk-helper.txt is one bulk helper preparing every line of the input.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import operations
from ledger.api import Ledger

HERE = Path(__file__).parent
OPS = ("bulk", "single", "verify", "rebuild")
SHARED = ("bulk", "verify", "rebuild")  # ops that start helpers
SINGLE = 2_000  # durable appends sampled


def run(op: str, db: Path, source: Path) -> None:
    """The profiled body of one operation (``OP-one-process``: with no helper)."""
    op, _, alone = op.partition("-")
    if alone == "one-process":
        sys.executable = ""  # ops.helpers.Helper starts nothing: the caller does all the work
    start = time.perf_counter()
    if alone == "helper":
        operations.prepare_every_line(source)
    elif op == "bulk":
        operations.bulk(db, source)
    elif op == "single":  # the bench's durable appends, ours only (no ceiling between them)
        operations.single(db, SINGLE)
    elif op == "verify":
        operations.verify(db)
    elif op == "rebuild":
        operations.rebuild(db)
    print(f"{op}: {time.perf_counter() - start:.2f} s", file=sys.stderr)


def summarise(raw: Path, title: str, top: int = 30) -> str:
    """Return the self and inclusive time per function of a py-spy raw (collapsed) file."""
    own: collections.Counter[str] = collections.Counter()
    under: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():  # a process's command line can span lines: not a sample
            continue
        n = int(count)
        total += n
        frames = [f for f in stack.split(";") if f]
        if frames:
            own[frames[-1]] += n
        for name in {f.split(" (")[0] + " (" + f.rpartition("(")[2].split(":")[0] + ")"
                     for f in frames}:
            under[name] += n
    out = [f"# {title}: {total} samples", "", "## self time (function and line)", ""]
    out += [f"{100 * n / total:5.1f}%  {f}" for f, n in own.most_common(top)]
    out += ["", "## time under each function (inclusive)", ""]
    out += [f"{100 * n / total:5.1f}%  {f}" for f, n in under.most_common(top)]
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("ops", nargs="*", help=f"some of {', '.join(OPS)} (default: all)")
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--run", nargs=3, metavar=("OP", "DB", "SOURCE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        run(args.run[0], Path(args.run[1]), Path(args.run[2]))
        return
    ops = operations.chosen(args.ops, OPS)
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        sys.exit("py-spy is not installed: run `make profile` (it installs it)")
    (HERE / "profiles").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        db, source = Path(tmp) / "p.db", Path(tmp) / "in.jsonl"
        from bench.bench import write_jsonl

        write_jsonl(source, args.events)
        with Ledger.create(db) as ledger, source.open("rb") as handle:  # for verify and rebuild
            ledger.append_jsonl(handle, "bench")
        for op in ops:
            for variant, how in variants(op):
                raw, target = Path(tmp) / f"{variant}.raw", Path(tmp) / f"{variant}.db"
                subprocess.run([spy, "record", "--rate", "500", "--format", "raw", "--output",
                                str(raw), "--", sys.executable, __file__, "--run", variant,
                                str(target if op in ("bulk", "single") else db), str(source)],
                               check=True, capture_output=True)
                title = (f"{op}, {args.events:,} events, {how}" if op != "single"
                         else f"{SINGLE:,} durable appends (addenda over 20 records)")
                (HERE / "profiles" / f"{variant}.txt").write_text(summarise(raw, title))
                print(f"wrote bench/profiles/{variant}.txt")


def variants(op: str) -> list[tuple[str, str]]:
    """Return (name, what it samples) of each profile made of ``op``."""
    if op not in SHARED:
        return [(op, "")]
    out = [(op, "the main process beside its helpers"),
           (f"{op}-one-process", "no helper: all the work in one process")]
    if op == "bulk":
        out.append(("bulk-helper", "one helper preparing every line"))
    return out


if __name__ == "__main__":
    main()
