"""An attacker who can write the SQLite file edits one cell of the events table with plain
``sqlite3`` (triggers dropped and put back): another value, NULL, the bytes as a BLOB, a number
as text, a trailing NUL, a payload or salts text rewritten (a member changed, deleted or added, a
member repeated before the real one, a made-up withheld marker, spaces, upper case). Whatever
the edit, if `verify` still passes, every reading of the record — `show`, `history`, `export`,
`list`, SQLite's `json_extract` — says exactly what it said before: no edit gives the same file
two readings."""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from ledger.api import Ledger
from tests.attacker import unguarded
from tests.conftest import Cli, clock, manifest

RIDS = ("SRCH:03BE3A05", "SRCH:00000002")
MARKER = {"withheld": {"notice_id": "X", "notice_seq": 2, "purge_seq": 3,
                       "effective_date": "2026-01-01", "reason": "r"}}


def readings(cli: Cli) -> dict[str, tuple[int, str]]:
    out = {}
    for rid in RIDS:
        for command in ("show", "history"):
            result = cli(command, rid, "--json")
            out[f"{command} {rid}"] = (result.exit_code, result.stdout)
    for args in (("export",), ("list", "--json")):
        result = cli(*args)
        out[" ".join(args)] = (result.exit_code, result.stdout)
    # and SQLite's own reading of the stored payloads, as Datasette and any SQL reader make it
    with sqlite3.connect(cli.db) as conn:
        rows = conn.execute("SELECT seq, json_extract(payload, '$.title'), json_extract(payload, "
                            "'$.kind'), json_extract(payload, '$.notice_id'), json_extract("
                            "payload, '$.review_score') FROM events ORDER BY seq").fetchall()
    out["sqlite json_extract"] = (0, repr(rows))
    return out


def edited_json(text: str, rnd: random.Random) -> str:
    try:
        value = json.loads(text)
    except ValueError:
        return text + " "
    if not isinstance(value, dict) or not value:
        return text.replace("a", "b", 1)
    name, how = rnd.choice(sorted(value)), rnd.randrange(7)
    if how == 3:
        return json.dumps(value)  # spaces
    if how == 4:
        return "{" + json.dumps(name) + ':"Forged",' + text[1:]  # a member repeated first
    if how == 6:
        return text.upper()
    if how == 0:
        value[name] = "Forged"
    elif how == 1:
        del value[name]
    elif how == 2:
        value["zz"] = 1
    else:
        value[name] = MARKER
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def edited(old: Any, column: str, rnd: random.Random) -> Any:
    how = rnd.randrange(6)
    if column in ("payload", "salts", "commitments") and how < 4 and isinstance(old, str):
        return edited_json(old, rnd)
    if how == 0:
        return None
    if how == 1 and isinstance(old, str):
        return old.encode()
    if how == 2 and isinstance(old, int):
        return str(old)
    if how == 3 and isinstance(old, str):
        return old + "\u0000"
    if isinstance(old, str):
        return old.replace(old[:1], old[:1].swapcase(), 1) if old else "x"
    return (old or 0) + 1


@pytest.mark.parametrize("event_format", [1, 2])
def test_no_edit_of_one_cell_gives_a_second_reading(tmp_path: Path, event_format: int) -> None:
    db = tmp_path / "l.db"
    Ledger.create(db, clock, event_format=event_format).close()
    cli = Cli(db, tmp_path)
    cli("publish", cli.file(manifest()))
    cli("publish", cli.file(manifest("SRCH:00000002", title="Second")))
    cli("correct", RIDS[0], "--kind", "correction", "--reason", "typo", "--set",
        "/review_score=9.1", "--notice-id", "C-1")
    cli("gate", RIDS[0], "--gate", "2", "--status", "FAILED", "--reason", "no")
    cli("correct", RIDS[1], "--kind", "retraction", "--reason", "Fabricated", "--notice-id", "R-1")
    if event_format == 2:
        assert cli("correct", RIDS[1], "--kind", "removal", "--reason", "Court", "--purge",
                   "--purge-field", "abstract", "--purge-field", "reason").exit_code == 0
    before = readings(cli)
    with sqlite3.connect(db) as conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(events)")]
        rows = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    rnd = random.Random(17 + event_format)
    copy = tmp_path / "edited.db"
    passed = []
    for _ in range(150):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{copy}{suffix}").unlink(missing_ok=True)
        shutil.copy(db, copy)
        seq, column = rnd.randint(1, rows), rnd.choice(columns)
        with unguarded(copy) as conn:
            old = conn.execute(f"SELECT {column} FROM events WHERE seq = ?", (seq,)).fetchone()[0]
            new = edited(old, column, rnd)
            try:
                conn.execute(f"UPDATE events SET {column} = ? WHERE seq = ?", (new, seq))
            except sqlite3.Error:
                continue  # e.g. a second row with that seq
        edited_cli = Cli(copy, tmp_path)
        verdict = edited_cli("verify")
        assert verdict.exit_code in (0, 1), (seq, column, new, verdict.output)
        if verdict.exit_code == 0:
            passed.append((seq, column, new))
            assert readings(edited_cli) == before, (seq, column, new)
    assert len(passed) < 75, passed  # the edits were real: most are caught
