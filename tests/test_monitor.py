"""`ledger monitor` against a log published by `ledger tiles`, served from a folder and by Debian's
nginx on 127.0.0.1 (with the documented cache headers): it follows the log as it grows and after a
purge, keeps a mirror on which every command works, and refuses a forked and a rolled-back log."""

from __future__ import annotations

import io
import os
import shutil
import sqlite3
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest import MonkeyPatch

from ledger.api import Ledger
from ledger.storage import store
from tests.conftest import Cli, clock, manifest
from tests.servers import NGINX, ConnectProxy, RawServer, certificates, no_proxies, raw_answer
from tests.test_tamper import attack


def lines(n: int, start: int = 0, title: str = "A title") -> bytes:
    return b"".join(orjson.dumps({"contract": "paper-manifest-v1.1",
                                  "payload": manifest(f"SRCH:{start + i:08X}", title=title)}) + b"\n"
                    for i in range(n))


class Log:
    """A ledger, its key, and the folder its tiles are published to."""

    def __init__(self, tmp: Path, name: str = "log", title: str = "A title") -> None:
        self.db, self.out = tmp / f"{name}.db", tmp / f"{name}-tiles"
        with Ledger.create(self.db, clock) as ledger:
            ledger.append_jsonl(io.BytesIO(lines(300, title=title)), "ed")
        self.cli = Cli(self.db, tmp)
        self.key = tmp / "log.key"
        if not self.key.exists():
            (tmp / "log.vkey").write_text(self.cli("keygen", "example.org/log", "-o", str(self.key)).stdout)
        self.vkey = (tmp / "log.vkey").read_text().strip()

    def publish(self) -> None:
        result = self.cli("tiles", str(self.out), "--key", str(self.key))
        assert result.exit_code == 0, result.output

    def grow(self, n: int, start: int) -> None:
        with Ledger.open(self.db, clock) as ledger:
            ledger.append_jsonl(io.BytesIO(lines(n, start)), "ed")


Outcome = tuple[int, dict[str, object] | str]


def follow(cli: Cli, where: str, vkey: str, tmp: Path, mirror: bool = True) -> Outcome:
    args = ["monitor", where, "--vkey", vkey, "--state", str(tmp / "seen.json"), "--json"]
    if mirror:
        args += ["--mirror", str(tmp / "mirror.db")]
    result = cli(*args)
    return result.exit_code, (orjson.loads(result.stdout) if result.exit_code == 0 else result.stderr)


def test_a_mirror_follows_the_log_from_a_folder(tmp_path: Path) -> None:
    log = Log(tmp_path)
    log.publish()
    code, seen = follow(log.cli, str(log.out), log.vkey, tmp_path)
    assert code == 0 and seen["size"] == 300 and seen["new_events"] == 300, seen
    log.grow(40, 300)
    log.publish()
    code, seen = follow(log.cli, str(log.out), log.vkey, tmp_path)
    assert code == 0 and (seen["previous_size"], seen["size"], seen["new_events"]) == (300, 340, 40)
    mirror = Cli(tmp_path / "mirror.db", tmp_path)
    assert mirror.json("verify")["head_hash"] == log.cli.json("verify")["head_hash"]
    # the mirror keeps each checkpoint it was verified against, as the log served it
    status = mirror.json("status")
    assert (status["checkpoints"], status["checkpoint_problems"]) == (2, [])
    assert status["last_checkpoint"]["size"] == 340
    with sqlite3.connect(tmp_path / "mirror.db") as conn:
        assert conn.execute("SELECT note FROM checkpoints WHERE size = 340").fetchone()[0] == \
            (log.out / "checkpoint").read_text()
    assert mirror("audit").exit_code == 0
    attack(tmp_path / "mirror.db", "DELETE FROM checkpoints")  # as a mirror made before they were
    assert "No checkpoint yet: the next `ledger monitor … --mirror` run stores" in \
        mirror("status").stdout
    assert follow(log.cli, str(log.out), log.vkey, tmp_path)[0] == 0  # no new event: stored
    assert mirror.json("status")["last_checkpoint"]["size"] == 340
    assert mirror.json("show", "SRCH:00000007") == log.cli.json("show", "SRCH:00000007")
    assert mirror("export").stdout == log.cli("export").stdout
    refused = mirror("correct", "SRCH:00000007", "--kind", "retraction", "--reason", "x")
    assert refused.exit_code == 2 and "is a mirror of example.org/log" in refused.stderr
    # its operator may sign a checkpoint of their own: still a mirror of the log to audit
    assert mirror("keygen", "mirror.example/copy", "-o", str(tmp_path / "m.key")).exit_code == 0
    assert mirror("checkpoint", "--key", str(tmp_path / "m.key")).exit_code == 0
    assert mirror("audit").exit_code == 0


def test_a_mirror_publishes_the_log_again(tmp_path: Path) -> None:
    """With the monitor's state file as its checkpoint, a mirror writes the log's tiles again,
    under the publisher's signature, and a monitor of the copy follows it with the publisher's
    key and derives the same records (a purge included)."""
    log = Log(tmp_path)
    assert log.cli("correct", "SRCH:00000003", "--kind", "removal", "--reason", "Court order",
                   "--purge").exit_code == 0
    log.publish()
    assert follow(log.cli, str(log.out), log.vkey, tmp_path)[0] == 0
    mirror, again = Cli(tmp_path / "mirror.db", tmp_path), tmp_path / "again"
    result = mirror("tiles", str(again), "--checkpoint", str(tmp_path / "seen.json"))
    assert result.exit_code == 0, result.output
    assert (again / "checkpoint").read_bytes() == (log.out / "checkpoint").read_bytes()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code, seen = follow(log.cli, str(again), log.vkey, elsewhere)
    assert code == 0 and seen["purges"] == 1, seen
    assert seen["size"] == log.cli.json("verify")["events"]
    assert Cli(elsewhere / "mirror.db", tmp_path)("export").stdout == log.cli("export").stdout


def test_a_purge_reaches_the_mirror(tmp_path: Path) -> None:
    log = Log(tmp_path)
    log.publish()
    assert follow(log.cli, str(log.out), log.vkey, tmp_path)[0] == 0
    secret = manifest("SRCH:00000003")["abstract"]
    assert log.cli("correct", "SRCH:00000003", "--kind", "removal", "--reason", "Court order",
                   "--purge").exit_code == 0
    log.publish()
    code, seen = follow(log.cli, str(log.out), log.vkey, tmp_path)
    assert code == 0 and seen["purges"] == 1, seen
    mirror = Cli(tmp_path / "mirror.db", tmp_path)
    assert mirror.json("verify")["withheld"] and mirror("audit").exit_code == 0
    shown = mirror.json("show", "SRCH:00000003")
    assert shown["status"] == "REMOVED" and set(shown["manifest"]["abstract"]) == {"withheld"}
    assert mirror.json("show", "SRCH:00000004")["manifest"]["abstract"] == secret  # not purged


def test_a_fork_and_a_rollback_are_refused(tmp_path: Path) -> None:
    log = Log(tmp_path)
    log.publish()
    old_checkpoint = (log.out / "checkpoint").read_bytes()
    log.grow(10, 300)
    log.publish()
    assert follow(log.cli, str(log.out), log.vkey, tmp_path, mirror=False)[0] == 0
    rolled = tmp_path / "rolled"
    shutil.copytree(log.out, rolled)
    (rolled / "checkpoint").write_bytes(old_checkpoint)
    code, said = follow(log.cli, str(rolled), log.vkey, tmp_path, mirror=False)
    assert code == 1 and "rollback" in str(said), said
    # the first event the log no longer vouches for is named, not one it still covers
    assert "Error: seq 301: the log now serves a checkpoint of size 300, smaller than the size " \
        "310 this monitor saw before: a rollback, which no longer covers seqs 301 to 310" \
        in str(said), said
    forked = Log(tmp_path, "forked", title="Another history")  # same origin and key
    forked.grow(20, 300)
    forked.publish()
    code, said = follow(forked.cli, str(forked.out), log.vkey, tmp_path, mirror=False)
    assert code == 1 and "fork" in str(said) and "does not extend the history" in str(said), said


def test_a_refused_checkpoint_is_kept_as_evidence(tmp_path: Path) -> None:
    """The signed checkpoint a run refuses is kept beside the state file, as the log served it
    (the log may serve another by the next run): with the one the state file holds, two roots
    signed at one size are a split view that ``verify --checkpoint`` names on the mirror."""
    log = Log(tmp_path)
    log.grow(10, 300)
    log.publish()
    assert follow(log.cli, str(log.out), log.vkey, tmp_path)[0] == 0
    forked = Log(tmp_path, "forked", title="Another history")  # same origin and key
    forked.grow(10, 300)
    forked.publish()
    served = (forked.out / "checkpoint").read_bytes()
    code, said = follow(forked.cli, str(forked.out), log.vkey, tmp_path)
    kept = sorted(tmp_path.glob("seen.json.refused-310-*.txt"))
    assert code == 1 and "a fork" in str(said) and len(kept) == 1, (said, kept)
    assert kept[0].read_bytes() == served
    assert f"(the checkpoint it served is kept, as signed, in {kept[0]}; the one seen" in str(said)
    result = forked.cli("monitor", str(forked.out), "--vkey", log.vkey, "--state",
                        str(tmp_path / "seen.json"), "--json")  # for a cron job: JSON too
    assert result.exit_code == 1 and result.stderr.startswith("Error: seq 310: "), result.output
    refusal = orjson.loads(result.stdout)
    assert (refusal["ok"], refusal["seq"], refusal["kept"]) == (False, 310, str(kept[0]))
    assert refusal["reason"] in result.stderr
    mirror = Cli(tmp_path / "mirror.db", tmp_path)
    result = mirror("verify", "--checkpoint", str(tmp_path / "seen.json"), "--checkpoint",
                    str(kept[0]), "--vkey", log.vkey)
    assert result.exit_code == 1 and "a split view" in result.stderr, result.output
    forked.grow(5, 310)  # a longer history that does not extend the one seen
    forked.publish()
    code, said = follow(forked.cli, str(forked.out), log.vkey, tmp_path)
    assert code == 1 and "does not extend the history" in str(said), said
    assert [p.read_bytes() for p in tmp_path.glob("seen.json.refused-315-*.txt")] == \
        [(forked.out / "checkpoint").read_bytes()]
    mixed = tmp_path / "mixed"  # the forked entries under the log's checkpoint
    shutil.copytree(forked.out, mixed)
    shutil.copy(log.out / "checkpoint", mixed / "checkpoint")
    before = sorted(tmp_path.iterdir())  # without a state file: nowhere to keep it
    result = forked.cli("monitor", str(mixed), "--vkey", log.vkey, "--check-only")
    assert result.exit_code == 1 and "does not extend" in result.stderr, result.output
    assert "kept" not in result.stderr and sorted(tmp_path.iterdir()) == before
    result = forked.cli("monitor", str(mixed), "--vkey", log.vkey, "--check-only", "--json")
    assert orjson.loads(result.stdout)["kept"] is None


def follow_as_it_grows(log: Log, url: str, tmp: Path) -> None:
    """Follow the published log (300 events), grow it by 300 and follow it again."""
    code, seen = follow(log.cli, url, log.vkey, tmp)
    assert code == 0 and seen["size"] == 300, seen
    log.grow(300, 300)
    log.publish()
    code, seen = follow(log.cli, url, log.vkey, tmp)
    assert code == 0 and (seen["size"], seen["new_events"]) == (600, 300), seen


def test_monitor_through_nginx(tmp_path: Path, nginx: tuple[str, Path]) -> None:
    url, served = nginx
    log = Log(tmp_path)
    log.out = served
    log.publish()
    with urllib.request.urlopen(url + "tile/0/000") as response:
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    with urllib.request.urlopen(url + "checkpoint") as response:
        assert response.headers["Cache-Control"] == "max-age=5"
    follow_as_it_grows(log, url, tmp_path)
    mirror = Cli(tmp_path / "mirror.db", tmp_path)
    assert mirror.json("verify")["ok"]
    (served / "tile" / "0" / "001").write_bytes(b"\0" * 8192)  # a tile changed on the host
    (tmp_path / "seen.json").unlink()
    code, said = follow(log.cli, url, log.vkey, tmp_path, mirror=False)
    assert code == 1 and "does not hash to its level-0 tile hash" in str(said), said


def serve(folder: Path, served: Path) -> None:
    """Replace what nginx serves by ``folder``'s files (as a host would be rewritten)."""
    for child in served.iterdir():
        shutil.rmtree(child) if child.is_dir() else child.unlink()
    shutil.copytree(folder, served, dirs_exist_ok=True)


def test_states_purge_fork_and_rollback_through_nginx(tmp_path: Path,
                                                       nginx: tuple[str, Path]) -> None:
    url, served = nginx
    log = Log(tmp_path)
    log.publish()
    serve(log.out, served)
    code, seen = follow(log.cli, url, log.vkey, tmp_path)
    assert code == 0 and seen["rederived"] and seen["statuses"] == {"CURRENT": 300}, seen
    assert seen["new_records"] == [r["record_id"] for r in seen["changed_records"]]
    assert len(seen["new_records"]) == 300
    first = (served / "checkpoint").read_bytes()
    assert log.cli("correct", "SRCH:00000003", "--kind", "retraction", "--reason", "Fabricated",
                   "--effective-date", "2026-11-01").exit_code == 0
    assert log.cli("correct", "SRCH:00000004", "--kind", "removal", "--reason", "Court order",
                   "--purge").exit_code == 0
    log.publish()
    serve(log.out, served)
    code, seen = follow(log.cli, url, log.vkey, tmp_path)
    assert code == 0 and seen["purges"] == 1 and seen["new_events"] == 3, seen
    assert seen["changed_records"] == [{"record_id": "SRCH:00000003", "status": "RETRACTED"},
                                       {"record_id": "SRCH:00000004", "status": "REMOVED"}], seen
    assert seen["new_records"] == []  # both were published before the last run
    assert seen["statuses"] == {"CURRENT": 298, "REMOVED": 1, "RETRACTED": 1}
    mirror = Cli(tmp_path / "mirror.db", tmp_path)
    for rid in ("SRCH:00000003", "SRCH:00000004", "SRCH:00000005"):
        assert mirror.json("show", rid) == log.cli.json("show", rid)
    assert mirror.json("verify")["ok"] and mirror("audit").exit_code == 0
    (served / "checkpoint").write_bytes(first)  # the host rolled back
    code, said = follow(log.cli, url, log.vkey, tmp_path)
    assert code == 1 and "rollback" in str(said), said
    forked = Log(tmp_path, "forked", title="Another history")  # same origin and key
    forked.grow(5, 300)
    forked.publish()
    serve(forked.out, served)
    code, said = follow(forked.cli, url, log.vkey, tmp_path)
    assert code == 1 and "fork" in str(said), said
    assert mirror.json("verify")["head_hash"] == log.cli.json("verify")["head_hash"]  # untouched


def test_without_a_mirror_the_first_run_rederives(tmp_path: Path) -> None:
    log = Log(tmp_path)
    log.publish()
    code, seen = follow(log.cli, str(log.out), log.vkey, tmp_path, mirror=False)
    assert code == 0 and seen["statuses"] == {"CURRENT": 300} and seen["mirror"] is None, seen
    assert not list(tmp_path.glob("mirror*"))
    log.grow(3, 300)
    log.publish()
    code, seen = follow(log.cli, str(log.out), log.vkey, tmp_path, mirror=False)
    assert code == 0 and seen["new_events"] == 3 and not seen["rederived"], seen
    text = log.cli("monitor", str(log.out), "--vkey", log.vkey)
    assert text.exit_code == 0 and "Records re-derived with the ledger's rules: 303 CURRENT" in text.stdout
    listed = [line for line in text.stdout.splitlines() if line.startswith("  ")]
    assert len(listed) == 21 and all(line.startswith("  new: SRCH:") for line in listed[:20])
    assert listed[20] == "  … and 283 more (303 record(s) touched, 303 of them new; --json lists all)"


def test_an_edited_member_on_the_host_is_caught(tmp_path: Path) -> None:
    """Whoever writes the hosted folder (no key) edits one member value, one salt, or adds a
    member in a members file: the monitor names the seq and the member, and exits 1. A salt
    in upper case gives the same bytes to ``bytes.fromhex``, but not to the format (nor to
    ``verify`` and the browser): a mirror that took it would fail ``verify``."""
    log = Log(tmp_path)
    log.publish()
    path = log.out / "members" / "000.json"
    original = path.read_bytes()
    items = orjson.loads(original)
    edits = [("title", lambda m: m["payload"].__setitem__("title", "Forged")),
             ("title", lambda m: m["salts"].__setitem__("title", "00" * 16)),
             ("forged", lambda m: (m["payload"].__setitem__("forged", 1),
                                   m["salts"].__setitem__("forged", "00" * 16))),
             ("abstract", lambda m: m["salts"].__setitem__("abstract",
                                                           m["salts"]["abstract"].upper()))]
    for number, (member, edit) in enumerate(edits):
        changed = orjson.loads(original)
        edit(changed[41])
        path.write_bytes(orjson.dumps(changed))
        for mirror in (False, True):
            where = tmp_path / f"m-{number}-{mirror}"
            where.mkdir()
            code, said = follow(log.cli, str(log.out), log.vkey, where, mirror=mirror)
            assert code == 1, said
            assert f"seq {items[41]['seq']}" in str(said) and repr(member) in str(said)
            assert not (where / "mirror.db").exists()
    path.write_bytes(original)
    (tmp_path / "m-ok").mkdir()
    code, seen = follow(log.cli, str(log.out), log.vkey, tmp_path / "m-ok", mirror=False)
    assert code == 0 and seen["size"] == 300


def test_helpers_check_what_one_process_would(tmp_path: Path, monkeypatch: MonkeyPatch) -> None:
    """From PARALLEL_FROM new events two helper processes check the entry bundles: the same
    result and the same mirror as one process, following a log that grew from a seen size in
    the middle of a bundle; a member forged in a helper's window is refused with the message
    one process gives."""
    from ledger.core.note import parse_verifier
    from ledger.errors import LedgerError
    from ledger.ops import monitor as mon

    started: list[tuple[object, ...]] = []

    class Counted(mon.Helper):
        def __init__(self, *args: str) -> None:
            started.append(args)
            super().__init__(*args)

    monkeypatch.setattr(mon, "Helper", Counted)
    log = Log(tmp_path)
    log.publish()
    verifier = parse_verifier(log.vkey)
    for name in ("one", "two"):  # both saw the first 300 events (not a bundle boundary)
        mon.monitor(mon.DirSource(log.out), verifier, tmp_path / f"{name}.json", tmp_path / f"{name}.db")
    log.grow(2_700, 300)  # 3,000 events: twelve bundles, two helper windows
    log.publish()

    def run(parallel_from: int, name: str, mirror: bool = True) -> object:
        monkeypatch.setattr(mon, "PARALLEL_FROM", parallel_from)
        try:
            return mon.monitor(mon.DirSource(log.out), verifier,
                               tmp_path / f"{name}.json" if mirror else None,
                               tmp_path / f"{name}.db" if mirror else None).as_json()
        except LedgerError as exc:
            return f"{type(exc).__name__}: {exc}"

    one = run(10**9, "one")
    assert not started
    two = run(1, "two")
    assert len(started) == 2
    assert isinstance(one, dict) and isinstance(two, dict)
    assert {**one, "mirror": None} == {**two, "mirror": None}
    assert (one["previous_size"], one["size"], one["new_events"]) == (300, 3_000, 2_700)
    for table in ("events", "tree_hashes", "records", "notices"):
        with sqlite3.connect(tmp_path / "one.db") as a, sqlite3.connect(tmp_path / "two.db") as b:
            query = f"SELECT * FROM {table} ORDER BY 1"
            assert a.execute(query).fetchall() == b.execute(query).fetchall(), table

    path = log.out / "members" / "010.json"  # bundle 10: seq 2561..2816, the second window
    items = orjson.loads(path.read_bytes())
    items[5]["payload"]["title"] = "Forged"
    path.write_bytes(orjson.dumps(items))
    started.clear()
    refused_one, refused_two = run(10**9, "x", mirror=False), run(1, "x", mirror=False)
    assert len(started) == 2
    assert refused_one == refused_two
    assert "VerificationError: seq 2566" in str(refused_two) and "'title'" in str(refused_two)


def test_gzip_is_asked_for_except_from_this_machine() -> None:
    """A remote log's bundles may come gzipped (the documented nginx configuration compresses
    tiles); from a loopback address the monitor asks for identity: compressing costs both ends
    CPU there and saves no network."""
    from ledger.ops.monitor import HttpSource

    for url, wanted in [("http://127.0.0.1:8080/log/", "identity"), ("http://localhost/", "identity"),
                        ("http://[::1]:81/", "identity"), ("https://log.example/", "gzip, identity"),
                        ("http://10.1.2.3/", "gzip, identity")]:
        source = HttpSource(url)
        try:
            assert source.headers["Accept-Encoding"] == wanted, url
        finally:
            source.close()


def test_monitor_through_nginx_with_gzip(tmp_path: Path, nginx: tuple[str, Path],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """From a remote host the monitor asks for gzip, and the documented nginx configuration
    compresses the tiles: the monitor reads them as served (here the loopback address is taken
    for a remote one)."""
    import http.client

    from ledger.ops import monitor as monitor_module

    url, served = nginx
    log = Log(tmp_path)
    log.out = served
    log.publish()
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/tile/0/000", headers={"Accept-Encoding": "gzip, identity"})
    response = conn.getresponse()
    assert response.getheader("Content-Encoding") == "gzip" and response.read()
    conn.close()
    monkeypatch.setattr(monitor_module, "_loopback", lambda url: False)
    source = monitor_module.source_of(url)
    try:
        assert source.get("tile/0/000") == (served / "tile" / "0" / "000").read_bytes()
    finally:
        source.close()
    code, seen = follow(log.cli, url, log.vkey, tmp_path)
    assert code == 0 and seen["size"] == 300, seen


def test_the_http_source_keeps_no_more_connections_than_it_fetches_at_once(
        tmp_path: Path, nginx: tuple[str, Path]) -> None:
    """Each window is fetched by a new pool of FETCHERS threads: the connections are reused
    across windows, not left open per thread (a 10⁶-event log has ~500 windows; the file
    descriptors would run out)."""
    import contextlib
    import os

    from ledger.ops.monitor import FETCHERS, HttpSource

    def sockets() -> int:
        count = 0
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):  # the listing's own descriptor, closed by now
                count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        return count

    url, served = nginx
    for i in range(3 * FETCHERS):
        (served / f"f{i}").write_bytes(b"x" * i)
    before = sockets()
    source = HttpSource(url)
    try:
        for _ in range(20):
            got = source.get_many([f"f{i}" for i in range(3 * FETCHERS)])
            assert got == [b"x" * i for i in range(3 * FETCHERS)]
        assert 1 <= sockets() - before <= FETCHERS
    finally:
        source.close()
    assert sockets() == before


def test_the_http_source_tries_again_then_names_the_failure() -> None:
    """A kept-alive connection the server closed is opened again; a body cut short, a server
    error and nothing listening are each one clear error naming the URL; a 404 is an absent
    file."""
    from ledger.ops.monitor import HttpSource, MonitorError

    closing = RawServer(lambda n: raw_answer("200 OK", b"x" * n), close_after=True)
    source = HttpSource(closing.url)
    try:  # each answer closes the connection without saying so: the next request opens again
        assert [source.get("checkpoint") for _ in range(3)] == [b"x", b"xx", b"xxx"]
    finally:
        source.close()
        closing.close()
    cases = [(lambda n: raw_answer("200 OK", b"short", 100), "IncompleteRead", 4),  # then closes
             (lambda n: raw_answer("500 Internal Server Error", b"oops"), "HTTP 500", 1),
             (lambda n: raw_answer("302 Found", b""), "HTTP 302", 1)]
    for answer, says, tries in cases:
        server = RawServer(answer, close_after=tries > 1)
        source = HttpSource(server.url)
        try:
            with pytest.raises(MonitorError) as caught:
                source.get("tile/0/000")
            assert says in str(caught.value) and server.url + "tile/0/000" in str(caught.value)
            assert server.count == tries
        finally:
            source.close()
            server.close()
    moved = RawServer(lambda n: b"HTTP/1.1 301 Moved Permanently\r\nLocation: "
                      b"https://log.example/log/checkpoint\r\nContent-Length: 0\r\n\r\n")
    try:  # a redirect is not followed, but where it points is said
        with pytest.raises(MonitorError) as caught:
            HttpSource(moved.url).get("checkpoint")
        assert str(caught.value) == (
            f"{moved.url}checkpoint: HTTP 301, moved to https://log.example/log/checkpoint: the "
            "monitor follows no redirect; give the log's URL where its files are")
    finally:
        moved.close()
    missing = RawServer(lambda n: raw_answer("404 Not Found", b"no"))
    try:
        assert HttpSource(missing.url).get("members/000.json") is None
    finally:
        missing.close()
    from bench.nginx import free_port

    nothing = f"http://127.0.0.1:{free_port()}/"
    with pytest.raises(MonitorError, match=f"cannot fetch {nothing}checkpoint: .*refused"):
        HttpSource(nothing).get("checkpoint")


def _gzipped(status: str, body: bytes) -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Encoding: gzip\r\nContent-Length: {len(body)}"
            "\r\n\r\n").encode() + body


def test_a_file_larger_than_its_format_allows_is_refused(tmp_path: Path) -> None:
    """A hostile host cannot make the monitor hold more than a file of a log can be: a hash
    tile over 256 hashes, and a gzip body that expands past an entry bundle's limit (16 MB of
    zeros in 16 KB), are refused as they are read, over HTTP, through a proxy and from a
    folder; files at their limit, and a gzip body of two members, are read; a 404 with a
    large page is still an absent file."""
    import gzip

    from bench.nginx import NGINX, proxying
    from ledger.ops.monitor import (
        DirSource,
        HttpSource,
        MonitorError,
        ProxiedSource,
        Source,
        max_size,
    )

    tile, bundle = max_size("tile/0/000"), max_size("tile/entries/000")
    assert (tile, bundle, max_size("tile/0/001.p/7")) == (8192, 256 * 65537, 8192)
    bomb = gzip.compress(b"\0" * (bundle + 1), 9)
    assert len(bomb) < 100_000
    answers = {"tile/0/000": raw_answer("200 OK", b"h" * tile),
               "tile/0/001": raw_answer("200 OK", b"h" * (tile + 1)),
               "tile/entries/000": _gzipped("200 OK", gzip.compress(b"a") + gzip.compress(b"b")),
               "tile/entries/001": _gzipped("200 OK", bomb),
               "tile/0/002": raw_answer("404 Not Found", b"<p>no such page</p>" * 2000)}
    server = RawServer(lambda n: b"")
    server.answer = lambda n: answers[server.requests[-1].split(b" ")[1].decode().split("/log/")[1]]

    def check(source: Source, where: str) -> None:
        try:
            assert source.get("tile/0/000") == b"h" * tile
            assert source.get("tile/entries/000") == b"ab"
            assert source.get("tile/0/002") is None  # absent, whatever the size of its page
            for path, limit in (("tile/0/001", tile), ("tile/entries/001", bundle)):
                with pytest.raises(MonitorError, match=f"more than {limit:,} bytes") as caught:
                    source.get(path)
                assert where + path in str(caught.value)
        finally:
            source.close()

    try:
        check(HttpSource(server.url), server.url)
        if NGINX is not None:  # the same through Debian's nginx as a forward proxy (httpx)
            work = tmp_path / "forward"
            work.mkdir()
            with proxying(work) as (proxy, _):
                check(ProxiedSource(server.url, proxy), server.url)
    finally:
        server.close()
    folder = tmp_path / "log"
    (folder / "tile" / "0").mkdir(parents=True)
    (folder / "tile" / "0" / "000").write_bytes(b"h" * tile)
    (folder / "tile" / "0" / "001").write_bytes(b"h" * (tile + 1))
    source = DirSource(folder)
    assert source.get("tile/0/000") == b"h" * tile
    with pytest.raises(MonitorError, match=f"more than {tile:,} bytes"):
        source.get("tile/0/001")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=3000), min_size=1, max_size=3), st.integers(0, 40),
       st.sampled_from(["whole", "cut", "zeros", "garbage", "flipped"]))
def test_gzip_bodies_decode_as_the_standard_library_decodes_them(
        parts: list[bytes], at: int, edit: str) -> None:
    """The monitor's bounded gzip decoder reads any body as ``gzip.decompress`` does: the same
    bytes (every member, trailing zeros skipped), or a refusal where it fails; and it refuses a
    body that decodes to more than its limit."""
    import gzip
    import zlib

    from ledger.ops.monitor import MonitorError, _gunzip

    body = b"".join(gzip.compress(part) for part in parts)
    at = at % len(body)
    body = {"whole": body, "cut": body[:max(1, len(body) - 1 - at)], "zeros": body + b"\0" * at,
            "garbage": body + b"junk", "flipped": body[:at] + bytes([body[at] ^ 1]) + body[at + 1:]
            }[edit]
    try:
        wanted: bytes | None = gzip.decompress(body)
    except (OSError, EOFError, zlib.error):
        wanted = None
    try:
        got: bytes | None = _gunzip("u", body, 10_000)
    except MonitorError:
        got = None
    assert got == wanted
    if wanted:
        with pytest.raises(MonitorError, match="more than"):
            _gunzip("u", body, len(wanted) - 1)


def test_a_url_with_a_user_is_read_with_basic_auth() -> None:
    """``https://user:password@host/`` sends the user and password as HTTP basic auth (as the
    monitor did with httpx), percent-escapes decoded."""
    import base64

    from ledger.ops.monitor import HttpSource

    server = RawServer(lambda n: raw_answer("200 OK", b"ok"))
    source = HttpSource(server.url.replace("http://", "http://mon%40itor:s3cr%3At@"))
    try:
        assert source.get("checkpoint") == b"ok"
        wanted = b"Authorization: Basic " + base64.b64encode(b"mon@itor:s3cr:t")
        assert wanted in server.requests[0].split(b"\r\n"), server.requests
    finally:
        source.close()
        server.close()


@pytest.mark.parametrize("url", ["http://", "http://[::1", "http:///tile", "http://host:99999/",
                                 "https://[fe80::1%]/", "http://log..example/",
                                 f"https://{'x' * 64}.example/"])
def test_a_url_the_monitor_cannot_read_is_refused(cli: Cli, url: str) -> None:
    """A URL no request can be made to is one Error line, exit 2 (a host name with an empty
    label or one over 63 characters was a traceback from the socket's address lookup)."""
    from ledger.core.note import encode_keys

    vkey = encode_keys("log.example", bytes(range(32)))[1]
    result = cli("monitor", url, "--vkey", vkey, "--check-only")
    assert any(w in result.stderr for w in ("URL", "port", "not a DNS name")), result.output
    assert result.exit_code == 2 and result.stderr.startswith("Error: "), result.output
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output


def test_a_proxy_the_environment_names_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a proxy in the environment (as urllib and httpx read it), a log is read through it,
    unless no_proxy names its host."""
    from ledger.ops.monitor import HttpSource, ProxiedSource, source_of

    no_proxies(monkeypatch)
    assert type(source_of("https://log.example/")) is HttpSource
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    monkeypatch.setenv("no_proxy", "log.internal")
    assert type(source_of("https://log.example/")) is ProxiedSource
    assert type(source_of("https://log.internal/")) is HttpSource
    assert type(source_of("http://log.example/")) is HttpSource  # no proxy for plain http
    monkeypatch.setenv("all_proxy", "proxy.example:3128")  # a bare host:port is plain http
    assert type(source_of("http://log.example/")) is ProxiedSource


@pytest.mark.parametrize("proxy", ["http://[::1", "ftp://proxy.example:21", "http://proxy..example:3128"])
def test_a_proxy_that_cannot_be_used_is_refused(cli: Cli, monkeypatch: pytest.MonkeyPatch,
                                                proxy: str) -> None:
    from ledger.core.note import encode_keys

    no_proxies(monkeypatch)
    monkeypatch.setenv("http_proxy", proxy)
    vkey = encode_keys("log.example", bytes(range(32)))[1]
    result = cli("monitor", "http://127.0.0.1:1/", "--vkey", vkey, "--check-only")
    assert result.exit_code == 2 and result.stderr.startswith(f"Error: the proxy {proxy} "), \
        result.output
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output


def test_monitor_through_a_real_proxy(tmp_path: Path, nginx: tuple[str, Path],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``http_proxy`` set, the monitor reads the log through that proxy (Debian's nginx as
    a forward proxy): it follows the log as it grows, the proxy took every request in the form a
    proxy is sent (the whole URL), and a log the proxy cannot reach is one clear error."""
    from bench.nginx import free_port, proxying

    url, served = nginx
    log = Log(tmp_path)
    log.out = served
    log.publish()
    no_proxies(monkeypatch)
    work = tmp_path / "forward"
    work.mkdir()
    with proxying(work) as (proxy, proxied):
        monkeypatch.setenv("http_proxy", proxy)
        follow_as_it_grows(log, url, tmp_path)
        nowhere = f"http://127.0.0.1:{free_port()}/"
        code, said = follow(log.cli, nowhere, log.vkey, work, mirror=False)
        assert code == 2 and f"{nowhere}checkpoint: HTTP 502" in str(said), said  # not evidence
    assert Cli(tmp_path / "mirror.db", tmp_path).json("verify")["ok"]
    taken = proxied.read_text().splitlines()
    assert taken.count(f"GET {url}checkpoint HTTP/1.1") == 2, taken
    assert any(line.startswith(f"GET {url}tile/0/") for line in taken), taken
    assert any(line.startswith(f"GET {url}members/") for line in taken), taken


def https_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Log, Path, dict[str, Path]]:
    """A published log in a folder for nginx to serve over HTTPS, the certificates of a test CA
    (``tests.servers.certificates``), that CA trusted (``SSL_CERT_FILE``), no proxy."""
    if NGINX is None:
        pytest.skip("Debian's nginx is not installed (.ci/run installs it)")
    certs = certificates(tmp_path)
    log = Log(tmp_path)
    log.out = tmp_path / "served"
    log.publish()
    no_proxies(monkeypatch)
    monkeypatch.setenv("SSL_CERT_FILE", str(certs["ca"]))
    return log, log.out, certs


def logged_handshakes(log: Path, seconds: float = 10.0) -> str:
    """The text of nginx's error log once it names a refused handshake, and a moment more (the
    worker logs the client's alert after the client has gone, so a read at once can miss it;
    the moment lets a second handshake, if there was one, show too)."""
    deadline = time.monotonic() + seconds
    while "SSL_do_handshake() failed" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    return log.read_text()


def test_monitor_over_https_checks_the_certificate(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """An https:// log is read over TLS (Debian's nginx with a certificate of a test CA, which
    ``SSL_CERT_FILE`` names): the monitor follows it as it grows. A certificate that no trusted
    CA signed, or one for another host, is one Error line, exit 2 (the host's certificate is
    no evidence about the log), after one handshake (asking again cannot change the
    certificate), and the state file is left as it was."""
    from bench.nginx import serving

    log, served, certs = https_log(tmp_path, monkeypatch)
    work = tmp_path / "tls"
    work.mkdir()
    with serving(served, work, tls=(certs["local"], certs["key"])) as url:
        assert url.startswith("https://127.0.0.1:")
        follow_as_it_grows(log, url, tmp_path)
        state = (tmp_path / "seen.json").read_bytes()
        monkeypatch.setenv("SSL_CERT_FILE", str(certs["stranger"]))
        code, said = follow(log.cli, url, log.vkey, tmp_path, mirror=False)
        assert code == 2 and "certificate verify failed" in str(said), said
        assert str(said).startswith(f"Error: cannot fetch {url}checkpoint: ") and \
            str(said).count("\n") == 1, said
        logged = logged_handshakes(work / "nginx-error.log")
        assert logged.count("SSL_do_handshake() failed") == 1, logged
    monkeypatch.setenv("SSL_CERT_FILE", str(certs["ca"]))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with serving(served, elsewhere, tls=(certs["elsewhere"], certs["key"])) as url:
        code, said = follow(log.cli, url, log.vkey, tmp_path, mirror=False)
        assert code == 2 and "certificate is not valid for '127.0.0.1'" in str(said), said
    assert (tmp_path / "seen.json").read_bytes() == state


def test_monitor_over_https_through_a_proxy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``https_proxy`` set, an https:// log is read through the proxy's tunnel (CONNECT),
    and the host's certificate is checked end to end against the same authorities as without
    a proxy (those of ``SSL_CERT_FILE`` here; httpx alone would take only certifi's)."""
    from bench.nginx import serving

    log, served, certs = https_log(tmp_path, monkeypatch)
    work = tmp_path / "tls"
    work.mkdir()
    proxy = ConnectProxy()
    try:
        monkeypatch.setenv("https_proxy", proxy.url)
        with serving(served, work, tls=(certs["local"], certs["key"])) as url:
            follow_as_it_grows(log, url, tmp_path)
            host = url.removeprefix("https://").rstrip("/")
            assert proxy.targets and set(proxy.targets) == {host}, proxy.targets
            monkeypatch.setenv("SSL_CERT_FILE", str(certs["stranger"]))
            code, said = follow(log.cli, url, log.vkey, tmp_path, mirror=False)
            assert code == 2 and "CERTIFICATE_VERIFY_FAILED" in str(said), said
            assert str(said).startswith(f"Error: cannot fetch {url}checkpoint: ") and \
                str(said).count("\n") == 1, said
    finally:
        proxy.close()


def test_orjson_escapes_strings_as_jcs_does() -> None:
    """The monitor's fast path takes orjson's sorted compact text of an envelope for its JCS
    text: every character below U+3000 (and some beyond) is written alike."""
    from ledger.core.canonical import canonical_bytes

    for code in [*range(0x3000), 0xFEFF, 0xFFFF, 0x10000, 0x1F600, 0x10FFFF]:
        text = f"a{chr(code)}b"
        assert orjson.dumps(text) == canonical_bytes(text), hex(code)


def test_an_entry_is_taken_only_in_its_canonical_form(tmp_path: Path) -> None:
    """Whatever path the monitor's check takes, an entry whose bytes are not the JCS text of
    its envelope (keys out of order, an extra key, a number as text, spaces) is refused, and a
    canonical one gives the event the ledger stored."""
    import struct

    from ledger.errors import CorruptEvent, VerificationError
    from ledger.ops.monitor import _event

    log = Log(tmp_path)
    log.publish()
    bundle = (log.out / "tile" / "entries" / "000").read_bytes()
    (length,) = struct.unpack(">H", bundle[:2])
    canonical = bundle[2:2 + length]
    members = orjson.loads((log.out / "members" / "000.json").read_bytes())[0]
    with Ledger.open(log.db) as ledger:
        stored = next(store.iter_events(ledger.conn, 0, 1))
    assert _event(1, canonical, members) == stored
    env = orjson.loads(canonical)
    variants = [orjson.dumps(dict(reversed(list(env.items())))),
                orjson.dumps({**env, "extra": 1}, option=orjson.OPT_SORT_KEYS),
                orjson.dumps({**env, "actor": 7}, option=orjson.OPT_SORT_KEYS),
                canonical.replace(b'":', b'": ', 1)]
    for variant in variants:
        with pytest.raises((VerificationError, CorruptEvent)):
            _event(1, variant, members)


def test_a_member_hidden_behind_a_made_up_marker_is_caught(tmp_path: Path,
                                                          monkeypatch: MonkeyPatch) -> None:
    """Whoever writes the hosted folder replaces a member no purge may withhold (a retraction's
    kind), or one no purge in the log covers (a manifest's abstract), with a withheld marker and
    drops its salt: the monitor names the seq and the member and exits 1, with a mirror or
    without. A genuine purge still passes, checked in this process or by helpers."""
    from ledger.ops import monitor as mon

    log = Log(tmp_path)
    assert log.cli("correct", "SRCH:00000007", "--kind", "retraction", "--notice-id", "RET-1",
                   "--reason", "Fabricated").exit_code == 0
    log.publish()
    path = log.out / "members" / "001.json"
    original = path.read_bytes()
    seqs = {item["seq"]: i for i, item in enumerate(orjson.loads(original))}
    for seq, member, notice_seq, purge_seq in ((301, "kind", 302, 303),  # "later": unchecked
                                               (260, "abstract", 270, 271)):  # no such purge
        marker = {"withheld": {"notice_id": "REM-1", "notice_seq": notice_seq,
                               "purge_seq": purge_seq, "effective_date": "2026-11-25",
                               "reason": "Court order"}}
        changed = orjson.loads(original)
        item = changed[seqs[seq]]
        item["payload"][member] = marker
        del item["salts"][member]
        path.write_bytes(orjson.dumps(changed))
        for parallel_from, mirror in ((10**9, False), (10**9, True), (1, False)):
            monkeypatch.setattr(mon, "PARALLEL_FROM", parallel_from)
            where = tmp_path / f"m-{member}-{parallel_from}-{mirror}"
            where.mkdir()
            code, said = follow(log.cli, str(log.out), log.vkey, where, mirror=mirror)
            assert code == 1, said
            assert f"seq {seq}" in str(said) and repr(member) in str(said), said
    path.write_bytes(original)
    assert log.cli("correct", "SRCH:00000003", "--kind", "removal", "--reason", "Court order",
                   "--purge").exit_code == 0
    log.publish()
    for parallel_from in (10**9, 1):
        monkeypatch.setattr(mon, "PARALLEL_FROM", parallel_from)
        for mirror in (False, True):
            where = tmp_path / f"ok-{parallel_from}-{mirror}"
            where.mkdir()
            code, seen = follow(log.cli, str(log.out), log.vkey, where, mirror=mirror)
            assert code == 0 and seen["size"] == 303 and seen["purges"] == 1, seen
            assert seen["withheld_members"], seen


def test_a_mirror_waits_for_a_checkpoint_that_covers_a_purge(tmp_path: Path) -> None:
    """The log publishes its tiles at a checkpoint signed before a purge: the purged members
    are gone from the host, withheld by a purge the checkpoint cannot show. Without a mirror
    the run checks the log (such a marker is taken as for a bundle); a mirror cannot take them
    (it would no longer verify), so the run is refused, exit 2, and no mirror or state file is
    left; once the log publishes a checkpoint that covers the purge, the mirror follows it."""
    log = Log(tmp_path)
    assert log.cli("checkpoint", "--key", str(log.key), "-o", str(tmp_path / "cp.txt")).exit_code == 0
    assert log.cli("correct", "SRCH:00000003", "--kind", "removal", "--reason", "Court order",
                   "--purge").exit_code == 0
    assert log.cli("tiles", str(log.out), "--checkpoint", str(tmp_path / "cp.txt")).exit_code == 0
    (tmp_path / "plain").mkdir()
    code, seen = follow(log.cli, str(log.out), log.vkey, tmp_path / "plain", mirror=False)
    assert code == 0 and seen["size"] == 300 and seen["withheld_members"], seen
    code, said = follow(log.cli, str(log.out), log.vkey, tmp_path)
    assert code == 2 and "withheld by a purge after that checkpoint" in str(said), said
    assert not list(tmp_path.glob("mirror.db*")) and not (tmp_path / "seen.json").exists()
    log.publish()  # a new checkpoint, at the head: it covers the purge
    code, seen = follow(log.cli, str(log.out), log.vkey, tmp_path)
    assert code == 0 and seen["size"] == 302 and seen["purges"] == 1, seen
    mirror = Cli(tmp_path / "mirror.db", tmp_path)
    assert mirror("verify").exit_code == 0 and mirror("audit").exit_code == 0
    assert mirror.json("show", "SRCH:00000003")["status"] == "REMOVED"


@pytest.fixture(scope="module")
def small_log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict[str, object]]:
    """A published log of 24 versions and notices (scores with fractions, a correction), its
    vkey, and what `show` says of each record."""
    tmp = tmp_path_factory.mktemp("small")
    items = [{"contract": "paper-manifest-v1.1",
              "payload": manifest(f"SRCH:{i:08X}", title=f"Title {i} é", review_score=5 + i / 4)}
             for i in range(20)]
    items += [{"contract": "correction-record-v1",
               "payload": {"record_id": f"SRCH:{i:08X}", "notice_id": f"C{i}", "kind": "correction",
                           "reason": "typo", "changes": [{"path": "/review_score", "value": 9.5}]}}
              for i in range(4)]
    with Ledger.create(tmp / "l.db", clock) as ledger:
        ledger.append_jsonl(io.BytesIO(b"".join(orjson.dumps(i) + b"\n" for i in items)), "ed")
    cli = Cli(tmp / "l.db", tmp)
    vkey = cli("keygen", "example.org/small", "-o", str(tmp / "k")).stdout.strip()
    assert cli("tiles", str(tmp / "t"), "--key", str(tmp / "k")).exit_code == 0
    shown = {f"SRCH:{i:08X}": cli.json("show", f"SRCH:{i:08X}") for i in range(20)}
    return tmp, vkey, shown


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_whatever_the_monitor_takes_its_mirror_verifies_and_shows(
        small_log: tuple[Path, str, dict[str, object]], data: st.DataObject) -> None:
    """One edit of a served members file (a value, a salt's case or spacing, a marker, a
    member dropped or added, another order, another text of the same numbers, a stray
    character, a huge number, an item's seq, its payload or salts dropped, another shape):
    whenever `monitor --mirror` says OK, the mirror passes `verify` and `show` reads exactly
    what the publisher's ledger shows; otherwise it says why, with no traceback. (A salt in
    upper case was taken, and the mirror then failed `verify`; a members file that was not
    JSON stopped the monitor with a traceback.)"""
    tmp, vkey, shown = small_log
    with tempfile.TemporaryDirectory() as work:  # one per example (tmp_path is per test)
        _follow_edited(Path(work), tmp, vkey, shown, data)


def _follow_edited(tmp_path: Path, tmp: Path, vkey: str, shown: dict[str, object],
                   data: st.DataObject) -> None:
    served = tmp_path / "t"
    shutil.copytree(tmp / "t", served)
    path = served / "members" / "000.json"
    items = orjson.loads(path.read_bytes())
    item = data.draw(st.sampled_from(items))
    part = data.draw(st.sampled_from(["payload", "salts"]))
    name = data.draw(st.sampled_from(sorted(item[part])))
    value = item[part][name]
    edit = data.draw(st.sampled_from(["upper", "space", "marker", "drop", "add", "reverse",
                                      "float", "stray", "huge", "seq", "unkeyed", "shape"]))
    if edit == "upper" and isinstance(value, str):
        item[part][name] = value.upper()
    elif edit == "space" and isinstance(value, str):
        item[part][name] = value[:2] + " " + value[2:]
    elif edit == "marker":
        item[part][name] = {"withheld": {"by_seq": 30}}
    elif edit == "drop":
        del item[part][name]
    elif edit == "add":
        item[part][name + "_"] = value
    elif edit == "reverse":
        item[part] = dict(reversed(item[part].items()))
    elif edit == "float" and isinstance(value, int | float) and not isinstance(value, bool):
        item[part][name] = float(value)
    elif edit == "huge":  # a number JSON has no canonical text for
        item[part][name] = 2**60
    elif edit == "seq":
        item["seq"] = data.draw(st.sampled_from([str(item["seq"]), item["seq"] + 0.5, None]))
    elif edit == "unkeyed":
        del item[part]
    text = orjson.dumps(items if edit != "shape" else {"items": items}).decode()
    if edit == "stray":
        at = data.draw(st.integers(0, len(text)))
        text = text[:at] + data.draw(st.sampled_from([" ", "0", ".0", "e0", "\\u0041"])) + text[at:]
    path.write_text(text)
    cli = Cli(tmp_path / "mirror.db", tmp_path)
    result = cli("monitor", str(served), "--vkey", vkey, "--mirror", str(tmp_path / "mirror.db"))
    if result.exit_code != 0:
        assert result.exit_code in (1, 2) and "Traceback" not in result.output
        return
    assert cli("verify").exit_code == 0, cli("verify").output
    for rid, want in shown.items():
        assert cli.json("show", rid) == want


def test_a_mirror_of_a_format_v1_log(tmp_path: Path) -> None:
    """A new mirror was always made in format v2, so following a format v1 log with `--mirror`
    was refused at once (`the log is format v1 but the mirror file is format v2: give a new
    mirror file`, for a file that did not exist). A mirror holding no event takes the format of
    the log's first event, including one made by a run that saw an empty log."""
    db, out = tmp_path / "v1.db", tmp_path / "v1-tiles"
    key, vkey = tmp_path / "v1.key", tmp_path / "v1.vkey"
    Ledger.create(db, clock, event_format=1).close()
    log = Cli(db, tmp_path)
    vkey.write_text(log("keygen", "example.org/v1", "-o", str(key)).stdout)
    assert log("tiles", str(out), "--key", str(key)).exit_code == 0  # the empty log
    code, seen = follow(log, str(out), str(vkey), tmp_path)
    assert code == 0 and seen["size"] == 0, seen
    with Ledger.open(db, clock) as ledger:
        ledger.append_jsonl(io.BytesIO(lines(20)), "ed")
    assert log("tiles", str(out), "--key", str(key)).exit_code == 0
    code, seen = follow(log, str(out), str(vkey), tmp_path)
    assert code == 0 and seen["new_events"] == 20, seen
    mirror = Cli(tmp_path / "mirror.db", tmp_path)
    assert mirror.json("status")["event_format"] == 1
    assert mirror.json("verify")["head_hash"] == log.json("verify")["head_hash"]
    assert mirror("export").stdout == log("export").stdout and mirror("audit").exit_code == 0


def test_two_runs_making_one_new_mirror_never_remove_the_good_one(tmp_path: Path) -> None:
    """Run B starts a new mirror; before it opens the file, run A makes the same mirror whole.
    B must leave A's mirror as it is and say so. Before, B removed the mirror on its way out
    (`ledger verify` on it: no ledger), though A had reported it updated and saved its state."""
    from ledger.core.note import parse_verifier
    from ledger.ops import monitor as mon

    log = Log(tmp_path)
    log.publish()
    verifier, mirror = parse_verifier(log.vkey), tmp_path / "mirror.db"
    other_ran: list[object] = []

    class Raced(mon.DirSource):
        def get(self, path: str) -> bytes | None:
            if path.startswith("tile/entries") and not other_ran:
                other_ran.append(mon.monitor(mon.DirSource(log.out), verifier,
                                             tmp_path / "a.json", mirror))
            return super().get(path)

    with pytest.raises(mon.RefusedInput, match=r"another run made .*mirror\.db while this one"):
        mon.monitor(Raced(log.out), verifier, tmp_path / "b.json", mirror)
    assert other_ran and not (tmp_path / "b.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if "mirror" in p.name) == ["mirror.db"]
    shown = Cli(mirror, tmp_path)
    assert shown.json("verify")["events"] == 300
    assert follow(log.cli, str(log.out), log.vkey, tmp_path)[0] == 2  # seen.json: none kept


def test_two_runs_extending_one_mirror_at_once(tmp_path: Path) -> None:
    """Two `ledger monitor` processes on one mirror at once: both find it at 300 events, one
    extends it to 2,300, the other is refused in words (by the check before it verifies, or, when
    both got past it, by the same check inside its write transaction) and keeps nothing. Before:
    `Error: SQLite: events must extend the chain: wrong seq or prev_hash`."""
    import subprocess
    import sys

    from ledger.ops import monitor as mon

    log = Log(tmp_path)
    log.publish()
    assert follow(log.cli, str(log.out), log.vkey, tmp_path)[0] == 0
    log.grow(2000, 300)
    log.publish()
    ledger_bin = str(Path(sys.executable).with_name("ledger"))
    args = [ledger_bin, "monitor", str(log.out), "--vkey", log.vkey, "--state",
            str(tmp_path / "seen.json"), "--mirror", str(tmp_path / "mirror.db")]
    runs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in "ab"]
    said = [(run.wait(timeout=300), run.stderr.read().decode()) for run in runs if run.stderr]
    assert sorted(code for code, _ in said) in ([0, 0], [0, 2]), said
    for code, err in said:
        assert code == 0 or (err.count("\n") == 1 and ("another run" in err or "state file" in err))
    assert Cli(tmp_path / "mirror.db", tmp_path).json("verify")["events"] == 2300
    assert follow(log.cli, str(log.out), log.vkey, tmp_path)[1]["new_events"] == 0  # type: ignore[index]
    # the check inside the transaction, on its own: the mirror holds 2,300, the run saw 300
    conn = store.open_ledger(tmp_path / "mirror.db")
    try:
        with pytest.raises(mon.RefusedInput, match="extended to 2300 events by another run while "
                                                   "this one verified from 300"):
            mon._extend_mirror(conn, mon.DirSource(log.out), iter([]), mon._Tally(), 300,
                               "example.org/log", (log.out / "checkpoint").read_text())
    finally:
        conn.close()


def test_a_mirror_in_a_folder_that_does_not_exist_is_named(tmp_path: Path) -> None:
    """The refusal names the mirror asked for, not the temporary file it is built in."""
    log = Log(tmp_path)
    log.publish()
    mirror = tmp_path / "no" / "such" / "mirror.db"
    result = log.cli("monitor", str(log.out), "--vkey", log.vkey, "--state",
                     str(tmp_path / "seen.json"), "--mirror", str(mirror))
    assert result.exit_code == 2
    assert result.stderr == f"Error: cannot create {mirror}: there is no folder {mirror.parent}\n"
    assert not (tmp_path / "seen.json").exists()


def test_two_runs_on_one_state_file_never_roll_it_back(tmp_path: Path) -> None:
    """Run A (no mirror) follows the log from its state file to size 300; meanwhile the log grows
    and run B follows it with the same state file to 340. A, finishing last, saved 300 over 340:
    the next run then checked the log only from 300, so a history rewritten from 301 on — which B
    had seen — passed. Now a run saves only over the state it loaded, else it is refused (exit 2)
    and the newer state stays."""
    from ledger.core.note import parse_verifier
    from ledger.ops import monitor as mon

    log = Log(tmp_path)
    log.publish()
    verifier, state = parse_verifier(log.vkey), tmp_path / "seen.json"
    other: list[Outcome] = []
    once = threading.Lock()  # the monitor fetches in threads

    class Raced(mon.DirSource):
        def get(self, path: str) -> bytes | None:
            with once:
                if path.startswith("tile/entries") and not other:
                    log.grow(40, 300)
                    log.publish()
                    other.append(follow(log.cli, str(log.out), log.vkey, tmp_path, mirror=False))
            return super().get(path)

    with pytest.raises(mon.RefusedInput) as refused:
        mon.monitor(Raced(log.out), verifier, state, None, rederive=False)
    assert other[0][0] == 0 and other[0][1]["size"] == 340  # type: ignore[index]
    assert str(refused.value) == (
        f"another `ledger monitor` saved the state file {state} (size 340) while this run followed "
        "the log from size 0: this run's checkpoint (size 300) was not saved over it; run it again")
    assert orjson.loads(state.read_bytes())["size"] == 340
    assert follow(log.cli, str(log.out), log.vkey, tmp_path, mirror=False)[0] == 0


def test_a_new_mirror_left_half_built_by_a_killed_run_is_removed(tmp_path: Path) -> None:
    """A run killed while it built a new mirror (SIGKILL) left `.mirror.db.PID.HEX.tmp` (and its
    -wal) behind for good. The next run that builds the mirror removes those of a process that is
    gone; one of a process still running (another run building it now) is left."""
    import subprocess
    import sys

    log = Log(tmp_path)
    log.publish()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    abandoned = tmp_path / f".mirror.db.{gone}.0a1b2c3d.tmp"
    for name in (abandoned, Path(f"{abandoned}-wal")):
        name.write_bytes(b"half a mirror")
    running = tmp_path / f".mirror.db.{os.getppid()}.0a1b2c3d.tmp"
    running.write_bytes(b"being built")
    assert follow(log.cli, str(log.out), log.vkey, tmp_path)[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir() if "mirror" in p.name) == [
        running.name, "mirror.db"]


def test_a_server_that_sends_too_slowly_is_cut_off(monkeypatch: MonkeyPatch) -> None:
    """Each wait for the server is bounded (10 s), but a server sending a byte every few
    seconds held a request — and a monitor run by cron — for as long as it liked (a tile of 8 KB
    at a byte every 9 s: 20 hours). A request not answered in full within the deadline is cut
    off, named, and not tried again; its bytes so far are not taken for the file. Through a
    proxy (httpx), the body is cut off the same way."""
    import threading
    import time

    from ledger.ops import monitor as mon
    from tests.servers import DrippingServer

    monkeypatch.setattr(mon, "DEADLINE", 1.0)
    for head_too, proxied in ((False, False), (True, False), (False, True)):
        server = DrippingServer(raw_answer("200 OK", b"h" * 64), head_too)  # a proxy too: it
        # answers an absolute URL as any other
        source: mon.Source = (mon.ProxiedSource(server.url, f"http://127.0.0.1:{server.port}")
                              if proxied else mon.HttpSource(server.url))
        started = time.monotonic()
        try:
            with pytest.raises(mon.MonitorError) as caught:
                source.get("tile/0/000.p/2")
        finally:
            source.close()
            server.close()
        assert time.monotonic() - started < 4 and server.count == 1
        assert str(caught.value) == (f"cannot fetch {server.url}tile/0/000.p/2: the answer did not "
                                     "arrive in full within 1 s (the server sends too slowly)")
    assert threading.active_count() < 50


def test_a_mirror_named_through_a_symlink(tmp_path: Path) -> None:
    """A mirror named through a symlink to a file not yet made (a link into a data volume) was
    refused as `another run made mirror.db while this one built it`. The new mirror is built
    beside the file the link names and given that name; a link that leads nowhere (a loop) is
    named as such. Nothing is left behind."""
    log = Log(tmp_path)
    log.publish()
    (tmp_path / "volume").mkdir()
    (tmp_path / "mirror.db").symlink_to(tmp_path / "volume" / "m.db")
    code, seen = follow(log.cli, str(log.out), log.vkey, tmp_path)
    assert code == 0 and seen["size"] == 300, seen
    assert (tmp_path / "mirror.db").is_symlink()
    assert Cli(tmp_path / "volume" / "m.db", tmp_path).json("verify")["events"] == 300
    log.grow(5, 300)
    log.publish()
    code, seen = follow(log.cli, str(log.out), log.vkey, tmp_path)  # extended through the link
    assert code == 0 and seen["new_events"] == 5, seen
    (tmp_path / "mirror.db").unlink()
    (tmp_path / "seen.json").unlink()
    (tmp_path / "loop").symlink_to(tmp_path / "mirror.db")
    (tmp_path / "mirror.db").symlink_to(tmp_path / "loop")
    code, said = follow(log.cli, str(log.out), log.vkey, tmp_path)
    assert code == 2 and "is a symlink that leads to no file (a loop?)" in str(said), said
    assert not [p for p in tmp_path.rglob("*.tmp*")]


def test_a_password_in_the_log_url_or_the_proxy_is_never_printed(tmp_path: Path,
                                                                 monkeypatch: MonkeyPatch) -> None:
    """`monitor https://user:secret@host/log/` (basic auth) printed the password in every error:
    `cannot fetch http://alice:s3cret@…/checkpoint: …`, mailed or logged by the cron job that
    runs it; a proxy's likewise. The password is written as ***; the request still sends it."""
    from bench.nginx import free_port

    log = Log(tmp_path)
    log.publish()
    no_proxies(monkeypatch)
    port = free_port()
    refused = log.cli("monitor", f"http://alice:s3cret@127.0.0.1:{port}/log/", "--vkey", log.vkey)
    assert refused.exit_code == 2 and "s3cret" not in refused.output
    assert f"cannot fetch http://alice:***@127.0.0.1:{port}/log/checkpoint: " in refused.stderr
    monkeypatch.setenv("https_proxy", "http://bob:pw123@exa..mple:3128")
    proxied = log.cli("monitor", "https://example.org/log/", "--vkey", log.vkey)
    assert proxied.exit_code == 2 and "pw123" not in proxied.output
    assert "the proxy http://bob:***@exa..mple:3128 that the environment names" in proxied.stderr
    server = RawServer(lambda n: raw_answer("401 Unauthorized", b"no"))
    try:  # the credentials go in the request, as before, and not in what is said of it
        said = log.cli("monitor", server.url.replace("http://", "http://alice:s3cret@"),
                       "--vkey", log.vkey)
        assert said.exit_code == 2 and "s3cret" not in said.output and "HTTP 401" in said.stderr
        assert b"Authorization: Basic YWxpY2U6czNjcmV0" in server.requests[0]
    finally:
        server.close()


def test_a_folder_or_url_without_a_checkpoint_is_named(tmp_path: Path) -> None:
    """`monitor` pointed at an empty folder, or at the site instead of the tiles, said only
    `the log serves no checkpoint`. It names where it looked and what to give."""
    log = Log(tmp_path)
    (tmp_path / "empty").mkdir()
    said = log.cli("monitor", str(tmp_path / "empty"), "--vkey", log.vkey)
    assert said.exit_code == 2 and said.stderr == (
        f"Error: {tmp_path / 'empty'} serves no checkpoint (no file `checkpoint` there): give the "
        "folder or URL `ledger tiles` wrote, the one that holds `checkpoint` and `tile/`\n")
    server = RawServer(lambda n: raw_answer("404 Not Found", b"no"))
    try:
        said = log.cli("monitor", server.url.replace("http://", "http://a:pw@"), "--vkey", log.vkey)
    finally:
        server.close()
    assert said.exit_code == 2 and "pw" not in said.stderr.replace("http://a:***@", "")
    assert said.stderr.startswith(f"Error: {server.url.replace('http://', 'http://a:***@')} "
                                  "serves no checkpoint")


def test_the_checkpoint_file_or_the_ledger_file_given_names_what_to_give(tmp_path: Path) -> None:
    """`monitor` given the published `checkpoint` file, or the ledger file itself, said only
    `is neither an http(s) URL nor a folder`."""
    log = Log(tmp_path)
    log.publish()
    said = log.cli("monitor", str(log.out / "checkpoint"), "--vkey", log.vkey)
    assert said.exit_code == 2 and said.stderr == (
        f"Error: {log.out / 'checkpoint'} is neither an http(s) URL nor a folder: give the folder "
        f"that holds it, {log.out}\n")
    said = log.cli("monitor", str(log.db), "--vkey", log.vkey)
    assert said.exit_code == 2 and said.stderr == (
        f"Error: {log.db} is neither an http(s) URL nor a folder: it is a ledger file; monitor "
        f"follows the log `ledger tiles` published from one, and `ledger --db {log.db} verify` "
        "checks the file itself\n")
    assert not list(tmp_path.glob("*.state*")) and not list(tmp_path.glob("*mirror*"))


def test_a_state_file_in_a_folder_that_does_not_exist_is_refused_first(tmp_path: Path) -> None:
    """`--state out/state.json` where `out` does not exist was refused only once the whole log
    had been fetched and verified: `cannot write the state file …: No such file or directory`."""
    log = Log(tmp_path)
    log.publish()
    state = tmp_path / "out" / "state.json"
    said = log.cli("monitor", str(log.out), "--vkey", log.vkey, "--state", str(state))
    assert said.exit_code == 2 and said.stdout == "" and said.stderr == (
        f"Error: cannot write {state}: there is no folder {state.parent}\n")
