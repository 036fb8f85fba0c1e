"""Every command on ledgers of every shape no one tampered with: never a finding.

Exit status 1 says a verification or audit problem was found. On a ledger written only by the
ledger itself that is a false alarm, the worst a trust tool can raise. Four were found this way:
`tiles --key` on a new ledger (the empty tree's root), `site --checkpoint` with a checkpoint of
size 0, `rebuild` of every signed ledger (its keyring's events), and `diff` or `bundle` of a
keyring id (`KEY:…`: `seq 1: unknown event type 'key.added'`); and one refusal, `monitor
--mirror` of a format v1 log. Shapes: empty (format v1 and v2, signed), signed with records, a
corrected, retracted, reinstated and purged ledger in both formats, a tile's worth of events and
one more, and a mirror made by the monitor.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from cli.main import app
from ledger.api import Ledger
from tests.conftest import clock, manifest, provenance

SHAPES = ["empty", "empty-v1", "signed-empty", "signed", "v1", "v2", "tile", "tile+1", "mirror"]


class Shell:
    def __init__(self, folder: Path) -> None:
        self.folder, self.runner = folder, CliRunner()

    def __call__(self, *args: str) -> tuple[int, str, str]:
        result = self.runner.invoke(app, list(args), catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    def ok(self, *args: str) -> str:
        code, out, err = self(*args)
        assert code == 0, (args, out, err)
        return out

    def file(self, name: str, doc: object) -> str:
        path = self.folder / name
        path.write_text(json.dumps(doc))
        return str(path)


def history(sh: Shell, db: str, *key: str) -> None:
    """Three records: one corrected, one retracted, one under a concern then reinstated."""
    for i in range(3):
        rid = f"SRCH:0000000{i}"
        sh.ok("--db", db, *key, "publish", sh.file(f"m{i}.json", manifest(rid, title=f"Routing {i}")))
        sh.ok("--db", db, *key, "provenance", sh.file(f"p{i}.json", provenance(rid)))
    sh.ok("--db", db, *key, "correct", "SRCH:00000000", "--kind", "correction", "--reason", "typo",
          "--set", "/review_score=7.5")
    sh.ok("--db", db, *key, "correct", "SRCH:00000001", "--kind", "retraction", "--reason", "r")
    sh.ok("--db", db, *key, "correct", "SRCH:00000002", "--kind", "expression_of_concern",
          "--reason", "c", "--notice-id", "E1")
    sh.ok("--db", db, *key, "correct", "SRCH:00000002", "--kind", "reinstatement",
          "--reason", "ok", "--lifts", "E1")


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Path]]]:
    folder = tmp_path_factory.mktemp("shapes")
    sh = Shell(folder)
    admin, pub = str(folder / "admin.key"), str(folder / "pub.key")
    sh.ok("keygen", "admin", "-o", admin)
    (folder / "pub.vkey").write_text(sh.ok("keygen", "pub.example", "-o", pub))
    dbs = {name: folder / f"{name}.db" for name in SHAPES}
    sh.ok("--db", str(dbs["empty"]), "init")
    sh.ok("--db", str(dbs["empty-v1"]), "init", "--event-format", "1")
    sh.ok("--db", str(dbs["signed-empty"]), "init", "--require-signatures", "--admin-key", admin)
    sh.ok("--db", str(dbs["signed"]), "init", "--require-signatures", "--admin-key", admin)
    history(sh, str(dbs["signed"]), "--key", admin)
    sh.ok("--db", str(dbs["v1"]), "init", "--event-format", "1")
    history(sh, str(dbs["v1"]))
    sh.ok("--db", str(dbs["v2"]), "init")
    history(sh, str(dbs["v2"]))
    sh.ok("--db", str(dbs["v2"]), "correct", "SRCH:00000001", "--kind", "removal", "--reason",
          "court order", "--purge")
    for name, n in (("tile", 256), ("tile+1", 257)):
        lines = b"".join(orjson.dumps({"contract": "paper-manifest-v1.1",
                                       "payload": manifest(f"SRCH:{i:08X}")}) + b"\n"
                         for i in range(n))
        with Ledger.create(dbs[name], clock) as ledger:
            ledger.append_jsonl(io.BytesIO(lines), "ed")
    sh.ok("--db", str(dbs["v2"]), "checkpoint", "--key", pub, "-o", str(folder / "v2.cp"))
    sh.ok("--db", str(dbs["v2"]), "tiles", str(folder / "v2-tiles"), "--checkpoint",
          str(folder / "v2.cp"))
    sh.ok("monitor", str(folder / "v2-tiles"), "--vkey", str(folder / "pub.vkey"), "--mirror",
          str(dbs["mirror"]))
    yield folder, dbs


def commands(folder: Path, out: Path, rid: str) -> list[list[str]]:
    cp, vkey, pub = str(out / "cp"), str(folder / "pub.vkey"), str(folder / "pub.key")
    return [["verify"], ["audit"], ["status"], ["list"], ["log"], ["export"],
            *(["export", "--format", f] for f in ("jsonl", "csv", "crossref-xml", "crossref-json",
                                                   "retraction-watch-csv")),
            ["export", "--as-of", "1"], ["export", "--since", "1"], ["feed"], ["metadata"],
            ["key", "list"], ["search", "routing"], ["show", rid], ["history", rid], ["diff", rid],
            ["render", rid], ["render", rid, "--format", "html"], ["render", rid, "--format", "md"],
            ["prove", "1"], ["consistency", "1"], ["checkpoint", "--key", pub, "-o", cp],
            ["verify", "--checkpoint", cp, "--vkey", vkey],
            ["bundle", rid, "--checkpoint", cp, "-o", str(out / "b.json")],
            ["verify-bundle", str(out / "b.json"), "--vkey", vkey],
            ["prove", "1", "--format", "tlog-proof", "--checkpoint", cp, "-o", str(out / "p")],
            ["verify-proof", str(out / "p"), "--vkey", vkey],
            ["tiles", str(out / "tiles"), "--checkpoint", cp],
            ["monitor", str(out / "tiles"), "--vkey", vkey, "--check-only"],
            ["monitor", str(out / "tiles"), "--vkey", vkey, "--mirror", str(out / "m.db")],
            ["site", str(out / "site"), "--checkpoint", cp, "--vkey", vkey],
            ["site", str(out / "site-unsigned")], ["rebuild"], ["audit"], ["verify"]]


@pytest.mark.parametrize("shape", SHAPES)
def test_no_command_finds_a_problem_in_a_ledger_no_one_tampered_with(
        shapes: tuple[Path, dict[str, Path]], shape: str, tmp_path: Path) -> None:
    folder, dbs = shapes
    db = tmp_path / "ledger.db"
    db.write_bytes(dbs[shape].read_bytes())
    sh = Shell(tmp_path)
    (tmp_path / "out").mkdir()
    listed = json.loads(sh.ok("--db", str(db), "list", "--json"))
    rid = listed[0]["record_id"] if listed else "SRCH:00000000"
    keys = json.loads(sh.ok("--db", str(db), "key", "list", "--json"))
    keyring = [f"KEY:{k['key_id'].upper()}" for k in keys]  # ids of no record: never a finding
    extra = [[c, kid] for kid in keyring for c in ("show", "history", "diff", "render")]
    extra += [["bundle", kid, "--checkpoint", str(tmp_path / "out" / "cp")] for kid in keyring]
    for args in [*commands(folder, tmp_path / "out", rid), *extra]:
        code, out, err = sh("--db", str(db), *args)
        assert code in (0, 2), (shape, args, out[-500:], err)
        assert "Traceback" not in err
        if code == 2:
            assert err.startswith("Error: ") and len(err.strip().splitlines()) == 1, (args, err)
