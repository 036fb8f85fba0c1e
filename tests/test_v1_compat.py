"""A ledger made before event format v2 keeps opening, verifying, appending and exporting, and
its checkpoint and proofs stay valid (tests/fixtures/v1, made by the previous version)."""

from __future__ import annotations

import base64
import hashlib
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
import rfc8785

from ledger.core.checkpoint import open_checkpoint
from ledger.core.merkle_check import check_consistency
from ledger.core.note import parse_verifier
from tests import attacker
from tests.conftest import Cli, manifest
from tests.test_proofs_cli import independent_root

FIXTURE = Path(__file__).parent / "fixtures" / "v1"


@pytest.fixture
def old(tmp_path: Path) -> Cli:
    shutil.copy(FIXTURE / "ledger.db", tmp_path / "v1.db")
    return Cli(tmp_path / "v1.db", tmp_path)


def test_every_command_works_on_a_v1_ledger(old: Cli, tmp_path: Path) -> None:
    vkey = (FIXTURE / "publisher.vkey").read_text().strip()
    checkpoint = FIXTURE / "checkpoint-6.txt"
    assert old.json("verify")["ok"] and old.json("verify")["events"] == 6
    assert old("verify", "--checkpoint", str(checkpoint), "--vkey", vkey).exit_code == 0
    assert old("audit").exit_code == 0
    log = old.json("log")
    assert all("salts" not in e for e in log)
    cp = open_checkpoint(checkpoint.read_text(), parse_verifier(vkey))
    assert independent_root(log) == cp.root
    assert old.json("show", "SRCH:7BAC9D19")["status"] == "RETRACTED"
    assert old.json("show", "SRCH:03BE3A05")["manifest"]["review_score"] == 9.1
    for args in (("export",), ("export", "--format", "csv"), ("export", "--as-of", "3"),
                 ("history", "SRCH:03BE3A05"), ("render", "SRCH:03BE3A05", "--format", "html"),
                 ("rebuild",), ("site", str(tmp_path / "site"))):
        result = old(*args)
        assert result.exit_code == 0, (args, result.output)
    # appending: v1 events, v1 hashes
    assert old("publish", old.file(manifest("SRCH:03BE3A05", title="Revised"))).exit_code == 0
    assert old("correct", "SRCH:03BE3A05", "--kind", "removal", "--reason", "Court order").exit_code == 0
    log = old.json("log")
    assert len(log) == 8 and all("salts" not in e for e in log)
    assert independent_root(log) == base64.b64decode(old.json("verify")["root"])
    c = old.json("consistency", "6")
    check_consistency(6, 8, cp.root, base64.b64decode(c["root"]),
                      [base64.b64decode(h) for h in c["proof"]])
    key = tmp_path / "publisher.key"
    shutil.copy(FIXTURE / "publisher.key", key)
    key.chmod(0o600)
    assert old("checkpoint", "--key", str(key), "-o", str(tmp_path / "cp8.txt")).exit_code == 0
    assert old("bundle", "SRCH:03BE3A05", "--checkpoint", str(tmp_path / "cp8.txt"), "-o",
               str(tmp_path / "b.json")).exit_code == 0
    assert old("verify-bundle", str(tmp_path / "b.json"), "--vkey", vkey).exit_code == 0
    refused = old("correct", "SRCH:7BAC9D19", "--kind", "removal", "--reason", "x", "--purge")
    assert refused.exit_code == 2 and "format v1" in refused.stderr
    assert old("audit").exit_code == 0
    with sqlite3.connect(old.db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1


@pytest.mark.parametrize("rewrite", [
    lambda text: '{"title":"Forged title",' + text[1:],  # SQLite reads the first, orjson the last
    lambda text: text.replace('":', '": '),
    lambda text: text.replace('"review_score":9.1', '"review_score":9.10'),
    lambda text: "not JSON at all",
    lambda text: "[" + text + "]",
], ids=["a repeated member", "spaces", "a number not in its shortest form", "not JSON",
        "not an object"])
def test_a_v1_event_written_with_a_payload_text_not_in_canonical_form_is_caught(
        tmp_path: Path, rewrite: Callable[[str], str]) -> None:
    """A v1 event's hash is over its stored payload text: whoever writes the event (the
    publisher too) can hash bytes that are not canonical(e), the JCS of the envelope — two
    readings of one event, or one that no reader can parse. verify refuses them, as a verifier
    that re-serialises the values (the browser's, the monitor's) does."""
    cli = Cli(tmp_path / "v1.db", tmp_path)
    assert cli("init", "--event-format", "1").exit_code == 0
    assert cli("publish", cli.file(manifest("SRCH:03BE3A05", review_score=9.1))).exit_code == 0
    with attacker.unguarded(cli.db) as conn:
        [env] = attacker.rows(conn)
        text = rewrite(rfc8785.dumps(env["payload"]).decode())
        mark = rfc8785.dumps("\x00payload").decode()  # the payload's place in the envelope
        written = rfc8785.dumps({**{k: v for k, v in env.items() if k != "hash"},
                                 "payload": "\x00payload"}).decode().replace(mark, text).encode()
        digest = hashlib.sha256(attacker.EVENT_PREFIX + written).hexdigest()
        conn.execute("UPDATE events SET payload = ?, hash = ? WHERE seq = 1", (text, digest))
        attacker.rebuild_tree(conn, {1: written})
        if "Forged" in text:
            assert conn.execute("SELECT json_extract(payload, '$.title') FROM events").fetchone()[0] \
                == "Forged title"
    result = cli("verify", "--json")
    report = orjson.loads(result.stdout)
    assert result.exit_code == 1 and report["first_bad_seq"] == 1, report
    assert "not a JSON object in canonical form" in report["reason"], report
    assert cli("audit").exit_code == 1
