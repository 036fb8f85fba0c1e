"""The bodies of the operations that `bench/profile.py` samples and `bench/instructions.py`
counts, each run in a process of its own; and the choice of operations on their command lines."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path

from ledger.api import Ledger

RECORDS = 20  # the durable single appends' records, as in bench.durable_appends


def bulk(db: Path, source: Path) -> None:
    """`append --jsonl` of ``source`` into a new ledger (with its helpers)."""
    with Ledger.create(db) as ledger, source.open("rb") as handle:
        ledger.append_jsonl(handle, "bench")


def prepare_every_line(source: Path) -> None:
    """One bulk helper's work on every line of ``source`` (its messages to /dev/null)."""
    from ledger.ops.bulkprep import run_prepare

    with open(os.devnull, "w") as sink:
        sys.stdout = sink  # what the helper sends to its writer
        run_prepare(str(source), "0", "1", "bench")
        sys.stdout = sys.__stdout__


def single(db: Path, appends: int) -> None:
    """The bench's durable appends into a new ledger: ``appends`` addenda over RECORDS records."""
    from bench.synth import addenda, published

    with Ledger.create(db) as ledger:
        published(ledger, RECORDS)
        for payload in addenda(appends, RECORDS):
            ledger.submit("correction-record-v1", payload, "bench")


def verify(db: Path) -> None:
    with Ledger.open(db) as ledger:
        assert ledger.verify().ok


def rebuild(db: Path, drop: bool = False) -> None:
    with Ledger.open(db) as ledger:
        ledger.rebuild(drop=drop)


def chosen(asked: list[str], known: Iterable[str]) -> list[str]:
    """Return the operations asked for on a command line (every one if none); exit naming one
    that is not known."""
    names = list(known)
    unknown = sorted(set(asked) - set(names))
    if unknown:
        sys.exit(f"unknown operation {unknown[0]!r}: choose from {', '.join(names)}")
    return asked or names
