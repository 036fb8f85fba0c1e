"""Witnesses (C2SP tlog-witness, tlog-cosignature, tlog-policy) with real servers: `ledger witness
serve` on uvicorn on 127.0.0.1, spoken to over HTTP by a client written here from the
specification (status codes, ``text/x.tlog.size``, the proof-line limit, the empty tree, concurrent
submissions), and three of them cosigning a log's checkpoints through `ledger checkpoint --policy`,
with a split view that cannot reach the quorum and is rejected by readers."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import io
import re
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import orjson
import pytest

from ledger.api import Ledger
from ledger.core.cosignature import check_cosignature, parse_cosigner_key
from tests.conftest import Cli, clock, manifest
from tests.servers import (
    DrippingServer,
    RawServer,
    WitnessProcess,
    certificates,
    no_proxies,
    raw_answer,
)

EMPTY = hashlib.sha256(b"").digest()


def lines(n: int, start: int = 0, title: str = "A title") -> bytes:
    return b"".join(orjson.dumps({"contract": "paper-manifest-v1.1",
                                  "payload": manifest(f"SRCH:{start + i:08X}", title=title)}) + b"\n"
                    for i in range(n))


class Log:
    """A ledger with its key (the same key for every Log made in one folder: a fork)."""

    def __init__(self, tmp: Path, name: str, events: int, title: str = "A title",
                 origin: str = "example.org/log") -> None:
        self.db = tmp / f"{name}.db"
        with Ledger.create(self.db, clock) as ledger:
            ledger.append_jsonl(io.BytesIO(lines(events, title=title)), "ed")
        self.cli = Cli(self.db, tmp)
        self.key = tmp / f"{origin.replace('/', '_')}.key"
        vkey = tmp / f"{origin.replace('/', '_')}.vkey"
        if not self.key.exists():
            vkey.write_text(self.cli("keygen", origin, "-o", str(self.key)).stdout)
        self.vkey = vkey.read_text().strip()

    def grow(self, n: int, start: int) -> None:
        with Ledger.open(self.db, clock) as ledger:
            ledger.append_jsonl(io.BytesIO(lines(n, start)), "ed")

    def note(self) -> str:
        """A checkpoint note of the whole log, signed by the log (stored like any)."""
        result = self.cli("checkpoint", "--key", str(self.key))
        assert result.exit_code == 0, result.output
        return result.stdout

    def proof(self, old: int, new: int) -> list[str]:
        return list(self.cli.json("consistency", str(old), str(new))["proof"])


def submit(url: str, old: int, proof: list[str], note: str) -> httpx.Response:
    body = f"old {old}\n" + "".join(p + "\n" for p in proof) + "\n" + note
    return httpx.post(url + "/add-checkpoint", content=body.encode(), timeout=20)


@pytest.fixture
def logs_and_witness(tmp_path: Path) -> tuple[Log, WitnessProcess]:
    log = Log(tmp_path, "log", 10)
    witness = WitnessProcess(tmp_path / "w", "w1", f"# the logs w1 witnesses\nlog {log.vkey}\n")
    yield log, witness
    if witness.proc is not None:
        assert witness.stop() == 0  # a graceful shutdown


def test_the_witness_protocol(tmp_path: Path, logs_and_witness: tuple[Log, WitnessProcess]) -> None:
    log, witness = logs_and_witness
    url, key = witness.url, parse_cosigner_key(witness.vkey)
    first = log.note()  # size 10
    body = first.split("\n\n")[0] + "\n"
    reply = submit(url, 0, [], first)
    assert reply.status_code == 200, reply.text
    name, raw = reply.text.rstrip("\n").split(" ")[1:]
    assert reply.text.startswith("\u2014 witness.example/w1 ") and name == "witness.example/w1"
    assert check_cosignature(key, body, base64.b64decode(raw)) > 1_600_000_000  # a timestamp
    stale = submit(url, 0, [], first)
    assert stale.status_code == 409 and stale.text == "10\n"
    assert stale.headers["content-type"] == "text/x.tlog.size"
    assert submit(url, 10, [], first).status_code == 200  # the same checkpoint again
    log.grow(5, 10)
    second = log.note()  # size 15
    assert submit(url, 10, log.proof(5, 15), second).status_code == 422  # a proof from elsewhere
    assert submit(url, 10, [], second).status_code == 422  # no proof
    assert submit(url, 11, log.proof(10, 15), second).status_code == 409
    assert submit(url, 16, [], second).status_code == 400  # old above the size
    assert submit(url, 10, log.proof(10, 15), second).status_code == 200
    forked = Log(tmp_path, "forked", 15, title="Another history")  # same origin and key
    assert submit(url, 15, [], forked.note()).status_code == 422  # another root at size 15
    other = Log(tmp_path, "other", 3, origin="other.example/log")
    assert submit(url, 0, [], other.note()).status_code == 404  # a log it does not witness
    unsigned = second.replace(second.split("\n\n")[1], other.note().split("\n\n")[1])
    assert submit(url, 15, [], unsigned).status_code == 403  # no signature of a trusted key
    sig = second.split("\n\n")[1]
    raw = bytearray(base64.b64decode(sig.split(" ")[2]))
    raw[10] ^= 1
    broken = second.replace(sig.split(" ")[2].strip(), base64.b64encode(bytes(raw)).decode())
    assert submit(url, 15, [], broken).status_code == 403  # a trusted key's signature fails
    for malformed in (b"", b"old 15\n", b"olds 15\n\n" + second.encode(), b"old 015\n\n" + second.encode(),
                      b"old 10\nnot-base64\n\n" + second.encode(), b"old 15\n\nexample.org/log\n15\n",
                      b"\xff\xfe"):
        assert httpx.post(url + "/add-checkpoint", content=malformed).status_code == 400, malformed
    too_many = "".join(base64.b64encode(bytes(32)).decode() + "\n" for _ in range(64))
    assert httpx.post(url + "/add-checkpoint",
                      content=f"old 10\n{too_many}\n{second}".encode()).status_code == 400
    assert httpx.post(url + "/add-checkpoint", content=b"x" * 70_000).status_code == 413
    assert httpx.get(url + "/add-checkpoint").status_code == 405
    origin_hash = hashlib.sha256(b"example.org/log").hexdigest()
    latest = httpx.get(f"{url}/{origin_hash}/checkpoint")
    assert latest.status_code == 200 and latest.text.startswith("example.org/log\n15\n")
    assert latest.text.count("\u2014 example.org/log ") == 1 and "\u2014 witness.example/w1 " in latest.text
    assert httpx.get(f"{url}/{'0' * 64}/checkpoint").status_code == 404
    for status in (400, 403, 404, 409, 413, 422):  # each logged
        assert f"refused add-checkpoint ({status})" in witness.said() or status == 413
    for _ in range(3):  # the forked note sent again, and junk: nothing more is kept
        assert submit(url, 15, [], forked.note()).status_code == 422
        assert httpx.post(url + "/add-checkpoint", content=b"x" * 60_000).status_code == 400
    with sqlite3.connect(witness.db) as conn:
        kept = conn.execute("SELECT status, reason FROM refusals").fetchall()
    # only the signed checkpoints refused as inconsistent are kept (anyone can send the others),
    # each note once: the proof from elsewhere and the fork (the no-proof one is the same note)
    assert [status for status, _ in kept] == [422, 422], kept
    assert "another root at the size last cosigned (15): a fork" in kept[1][1]
    check_the_evidence_it_kept(log, witness.db, forked.note(), witness.vkey)


def check_the_evidence_it_kept(log: Log, db: Path, forked: str, witness_vkey: str) -> None:
    """``ledger witness status`` (read while the witness serves) lists the log it cosigned and
    the refusals; ``--note ID`` gives the forked checkpoint as sent, which with the one it
    cosigned is a split view that ``verify --checkpoint`` names."""
    shown = log.cli.json("witness", "status", "--db", str(db))
    assert [(x["origin"], x["size"]) for x in shown["logs"]] == [("example.org/log", 15)]
    fork = next(r for r in shown["refusals"] if "another root" in r["reason"])
    assert fork["status"] == 422 and fork["origin"] == "example.org/log"
    assert fork["note"].split("\n")[:2] == forked.split("\n")[:2]  # the request's, as sent
    text = log.cli("witness", "status", "--db", str(db)).stdout
    assert "example.org/log: size 15, root " in text and f"{fork['id']}. " in text
    refused, cosigned = db.with_name("refused.txt"), db.with_name("cosigned.txt")
    refused.write_bytes(log.cli("witness", "status", "--db", str(db), "--note",
                                str(fork["id"])).stdout_bytes)
    assert refused.read_text() == fork["note"]
    cosigned.write_text(shown["logs"][0]["note"])
    result = log.cli("verify", "--checkpoint", str(refused), "--checkpoint", str(cosigned),
                     "--vkey", log.vkey)
    assert result.exit_code == 1 and "a split view" in result.stderr, result.output
    # the state file itself, as --checkpoint: its checkpoints of the log, the refused ones too
    whole = log.cli("verify", "--checkpoint", str(db), "--vkey", log.vkey, "--json")
    assert whole.exit_code == 1 and "a split view" in orjson.loads(whole.stdout)["reason"], whole.output
    audited = log.cli("audit", "--checkpoint", str(db), "--vkey", log.vkey)
    assert audited.exit_code == 1 and "a split view" in audited.stdout, audited.output
    other = Log(db.parent, "other2", 2, origin="other2.example/log")
    refused = log.cli("verify", "--checkpoint", str(db), "--vkey", other.vkey)
    assert refused.exit_code == 2 and refused.stderr == (
        f"Error: {db} is a witness's state file that holds no checkpoint signed by "
        f"{'+'.join(other.vkey.split('+')[:2])}: it has cosigned those of example.org/log\n")
    folder = db.parent.parent / "kept"  # a copy kept among an auditor's other checkpoints
    folder.mkdir()
    with sqlite3.connect(db) as source, sqlite3.connect(folder / "w1.db") as copy:
        source.backup(copy)
    (folder / "cosigned.txt").write_text(shown["logs"][0]["note"])
    in_folder = log.cli("verify", "--checkpoint", str(folder), "--vkey", log.vkey)
    assert in_folder.exit_code == 1 and "a split view" in in_folder.stderr, in_folder.output
    edited = db.with_name("edited.db")  # a copy whose cosigned note was edited with sqlite3
    with sqlite3.connect(db) as source, sqlite3.connect(edited) as copy:
        source.backup(copy)
        note = copy.execute("SELECT note FROM cosigned").fetchone()[0]
        lines = note.split("\n")
        lines[2] = base64.b64encode(bytes(32)).decode()  # another root, the signatures kept
        copy.execute("UPDATE cosigned SET note = ?", ("\n".join(lines),))
    bad = log.cli("verify", "--checkpoint", str(edited), "--vkey", log.vkey)
    assert bad.exit_code == 1 and bad.stderr == (
        f"Error: {edited} (the checkpoint it cosigned of example.org/log): the signature by "
        "example.org/log does not verify\n"), bad.output
    policy = db.with_name("one.policy")
    policy.write_text(f"log {log.vkey}\nwitness w1 {witness_vkey}\nquorum w1\n")
    refused = log.cli("verify", "--checkpoint", str(db), "--vkey", log.vkey, "--policy", str(policy))
    assert refused.exit_code == 2 and "none meets a policy's quorum" in refused.stderr, refused.output
    with sqlite3.connect(db) as conn:  # as a witness of an earlier version kept any refusal
        conn.execute("INSERT INTO refusals (at, origin, status, reason, request) "
                     "VALUES (1, NULL, 400, 'malformed', x'78787878')")
        junk = conn.execute("SELECT max(id) FROM refusals").fetchone()[0]
    for args, says in ((["--note", "999"], "keeps no refusal 999"),
                       (["--note", str(junk)], "carried no checkpoint note")):
        result = log.cli("witness", "status", "--db", str(db), *args)
        assert result.exit_code == 2 and says in result.stderr, result.output
    missing = log.cli("witness", "status", "--db", str(db.with_name("none.db")))
    assert missing.exit_code == 2 and "no witness state file at" in missing.stderr
    assert not db.with_name("none.db").exists()
    assert log.cli("witness", "status", "--db", str(log.db)).exit_code == 2  # not a witness's


def test_the_empty_tree_rule(tmp_path: Path) -> None:
    log = Log(tmp_path, "log", 1)
    witness = WitnessProcess(tmp_path / "w", "w1", f"log {log.vkey}\n")
    try:
        from ledger.core.note import sign_note
        from ledger.ops.keys import read_signer

        signer = read_signer(log.key)
        bad = sign_note(signer, f"example.org/log\n0\n{base64.b64encode(bytes(32)).decode()}\n")
        assert submit(witness.url, 0, [], bad).status_code == 422
        empty = sign_note(signer, f"example.org/log\n0\n{base64.b64encode(EMPTY).decode()}\n")
        assert submit(witness.url, 0, [], empty).status_code == 200
        assert submit(witness.url, 0, [base64.b64encode(EMPTY).decode()], log.note()).status_code == 422
    finally:
        witness.stop()


def test_of_concurrent_submissions_for_one_log_exactly_one_wins(
        tmp_path: Path, logs_and_witness: tuple[Log, WitnessProcess]) -> None:
    log, witness = logs_and_witness
    notes = [log.note()]
    for n in range(5):
        log.grow(1, 10 + n)
        notes.append(log.note())  # sizes 10 … 15, each submitted from 0 at once
    with ThreadPoolExecutor(len(notes)) as pool:
        codes = list(pool.map(lambda note: submit(witness.url, 0, [], note).status_code, notes))
    assert sorted(codes) == [200] + [409] * 5, codes


def write_policy(path: Path, log: Log, witnesses: list[WitnessProcess], quorum: str = "2") -> Path:
    path.write_text(f"log {log.vkey}\n" + "".join(
        f"witness {w.name} {w.vkey} {w.url}\n" for w in witnesses)
        + f"group three {quorum} " + " ".join(w.name for w in witnesses) + "\nquorum three\n")
    return path


def test_a_split_view_cannot_reach_the_quorum(tmp_path: Path) -> None:
    log = Log(tmp_path, "log", 10)
    forked = Log(tmp_path, "forked", 20, title="Another history")  # same origin and key
    witnesses = [WitnessProcess(tmp_path / n, n, f"log {log.vkey}\n") for n in ("w1", "w2", "w3")]
    try:
        policy = write_policy(tmp_path / "log.policy", log, witnesses)
        first = tmp_path / "first.txt"
        done = log.cli("checkpoint", "--key", str(log.key), "--policy", str(policy), "-o", str(first))
        assert done.exit_code == 0, done.output
        assert first.read_text().count("\u2014 witness.example/") == 3
        # An auditor's verify --policy says who cosigned and when, as verify-bundle does
        verified = log.cli("verify", "--checkpoint", str(first), "--vkey", log.vkey, "--policy",
                           str(policy))
        assert verified.exit_code == 0
        assert ("OK: the log extends the checkpoint of size 10 signed by example.org/log, "
                "cosigned as the policy's quorum requires (by w1, w2, w3), most recently at "
                "20") in verified.stdout, verified.stdout
        shown = log.cli.json("audit", "--checkpoint", str(first), "--vkey", log.vkey, "--policy",
                             str(policy))
        assert shown["cosigned_by"] == ["w1", "w2", "w3"], shown
        assert shown["witnessed_at"].endswith("Z") and shown["ok"], shown
        without = log.cli.json("verify", "--checkpoint", str(first), "--vkey", log.vkey)
        assert "cosigned_by" not in without and "witnessed_at" not in without
        # The publisher now shows another history under the same key: every witness refuses.
        split = forked.cli("checkpoint", "--key", str(log.key), "--policy", str(policy))
        assert split.exit_code == 1, split.output
        assert "the policy's quorum needs 2 of (w1, w2, w3)" in split.stderr
        assert "nothing was stored" in split.stderr and split.stderr.count("422 Unprocessable") == 3
        with sqlite3.connect(forked.db) as conn:
            assert conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0] == 0
        # Its checkpoint signed by the log alone, as shown to a reader: rejected in a sentence.
        alone = tmp_path / "alone.txt"
        forked.cli("checkpoint", "--key", str(log.key), "-o", str(alone))
        rid = "SRCH:00000003"
        bundle = tmp_path / "b.json"
        assert forked.cli("bundle", rid, "--checkpoint", str(alone), "-o", str(bundle)).exit_code == 0
        refused = forked.cli("verify-bundle", str(bundle), "--vkey", log.vkey, "--policy", str(policy))
        assert refused.exit_code == 1
        assert refused.stderr == ("Error: the checkpoint of example.org/log at size 20 is cosigned "
                                  "by none of its witnesses; the policy's quorum needs 2 of (w1, w2, "
                                  "w3)\n")
        # Without the policy, the same reader would have taken the split view.
        assert forked.cli("verify-bundle", str(bundle), "--vkey", log.vkey).exit_code == 0
        # The honest log goes on; a witness that is down is named, the quorum is still met.
        log.grow(5, 10)
        witnesses[2].stop()
        done = log.cli("checkpoint", "--key", str(log.key), "--policy", str(policy))
        assert done.exit_code == 0 and "witness w3" in done.stderr and "could not reach it" in done.stderr
        # Two witnesses down: quorum missed, nothing stored — but w1 has now cosigned size 16.
        witnesses[1].stop()
        log.grow(1, 15)
        short = log.cli("checkpoint", "--key", str(log.key), "--policy", str(policy))
        assert short.exit_code == 1 and "nothing was stored" in short.stderr, short.output
        witnesses[1].start()
        witnesses[2].start()
        # w1 answers 409 (it saw 16, the log's table says 15): the log sends again from 16.
        log.grow(2, 16)
        done = log.cli("checkpoint", "--key", str(log.key), "--policy", str(policy), "-o",
                       str(tmp_path / "last.txt"))
        assert done.exit_code == 0 and done.stderr.count("cosigned") == 3, done.output
        assert (tmp_path / "last.txt").read_text().count("\u2014 witness.example/") == 3
    finally:
        for w in witnesses:
            if w.proc is not None:
                assert w.stop() == 0


def test_a_witness_behind_https(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A witness deployed behind an HTTPS front (Debian's nginx with a test CA's certificate):
    its cosignature is asked over TLS, the certificate checked against the system's
    authorities or SSL_CERT_FILE's (as the monitor checks a log's host). One that no trusted
    authority signed is that witness's problem, named; the quorum is met by the others."""
    from bench.nginx import NGINX, fronting

    if NGINX is None:
        pytest.skip("Debian's nginx is not installed (.ci/run installs it)")
    certs = certificates(tmp_path)
    no_proxies(monkeypatch)
    log = Log(tmp_path, "log", 10)
    witnesses = [WitnessProcess(tmp_path / n, n, f"log {log.vkey}\n") for n in ("w1", "w2", "w3")]
    (tmp_path / "front").mkdir()
    try:
        with fronting(witnesses[0].url, tmp_path / "front", (certs["local"], certs["key"])) as url:
            witnesses[0].url = url.rstrip("/")
            policy = write_policy(tmp_path / "log.policy", log, witnesses)
            assert f"witness w1 {witnesses[0].vkey} https://127.0.0.1:" in policy.read_text()
            monkeypatch.setenv("SSL_CERT_FILE", str(certs["ca"]))
            done = log.cli("checkpoint", "--key", str(log.key), "--policy", str(policy))
            assert done.exit_code == 0 and done.stderr.count("cosigned") == 3, done.output
            assert f"witness w1 ({url}add-checkpoint): cosigned" in done.stderr
            log.grow(2, 10)
            monkeypatch.setenv("SSL_CERT_FILE", str(certs["stranger"]))
            done = log.cli("checkpoint", "--key", str(log.key), "--policy", str(policy))
            assert done.exit_code == 0 and done.stderr.count("cosigned") == 2, done.output
            assert f"witness w1 ({url}add-checkpoint): could not reach it" in done.stderr
            assert "CERTIFICATE_VERIFY_FAILED" in done.stderr
    finally:
        for w in witnesses:
            if w.proc is not None:
                assert w.stop() == 0


def test_a_witness_url_that_cannot_be_used_is_named(tmp_path: Path) -> None:
    """A policy's witness URL that no HTTP request can be made to (an unclosed IPv6 bracket, a
    port out of range, another scheme, a host name with an empty label) is that witness's
    problem, named in one Error: line; the quorum is missed and nothing is stored."""
    from ledger.core.cosignature import encode_cosigner

    log = Log(tmp_path, "log", 10)
    urls = {"w1": "http://[::1", "w2": "http://127.0.0.1:99999/", "w3": "ftp://witness.example/",
            "w4": "http://witness..example/"}
    policy = tmp_path / "bad.policy"
    policy.write_text(f"log {log.vkey}\n" + "".join(
        f"witness {name} {encode_cosigner(f'witness.example/{name}', bytes([i]) * 32)[1]} {url}\n"
        for i, (name, url) in enumerate(urls.items())) + "group all 2 w1 w2 w3 w4\nquorum all\n")
    done = log.cli("checkpoint", "--key", str(log.key), "--policy", str(policy))
    assert done.exit_code == 1 and done.stderr.startswith("Error: "), done.output
    assert done.stderr.count("\n") == 1 and "nothing was stored" in done.stderr
    for name in ("w1", "w4"):
        url = urls[name].rstrip("/") + "/add-checkpoint"
        assert f"witness {name} ({url}): its URL in the policy cannot be used" in done.stderr
    assert all(f"witness {name} (" in done.stderr for name in urls)
    with sqlite3.connect(log.db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0] == 0


def test_a_client_sending_its_request_too_slowly_is_answered_408(tmp_path: Path) -> None:
    """A client that sends an add-checkpoint body a byte now and then held its connection (and a
    file descriptor) for as long as it liked: a thousand of them and the witness took no more
    connections. A body not received in full within the deadline is answered 408 and logged;
    the witness goes on serving."""
    import socket

    log = Log(tmp_path, "log", 1)
    w = WitnessProcess(tmp_path / "w", "w", f"log {log.vkey}\n",
                       prelude="import ledger.ops.witness as w; w.BODY_DEADLINE = 1.0; ")
    try:
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", w.port), timeout=10) as client:
            client.sendall(b"POST /add-checkpoint HTTP/1.1\r\nHost: w\r\n"
                           b"Content-Length: 100\r\n\r\nold 0\n")
            answer = b""
            with contextlib.suppress(OSError):
                while b"\r\n\r\n" not in answer:
                    time.sleep(0.2)
                    client.sendall(b"x")
                    client.setblocking(False)
                    with contextlib.suppress(BlockingIOError):
                        answer += client.recv(4096)
                    client.setblocking(True)
                    assert time.monotonic() - started < 8, "no answer"
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        ok = httpx.get(f"{w.url}/{'0' * 64}/checkpoint", timeout=10)
        assert ok.status_code == 404  # still serving
    finally:
        assert w.stop() == 0
    assert "refused add-checkpoint (408)" in (tmp_path / "w" / "w.log").read_text()


def test_connections_stalled_before_a_request_are_closed(tmp_path: Path) -> None:
    """uvicorn times out only a connection idle after a response: one opened and left silent,
    or sending its request's head a byte now and then, held a file descriptor for good (seen
    open after 12 s; a thousand and the witness took no more connections). Each is closed once
    it has waited past the deadline; a client making request after request on one connection is
    not, and the witness goes on serving."""
    import socket

    log = Log(tmp_path, "log", 1)
    w = WitnessProcess(tmp_path / "w", "w", f"log {log.vkey}\n",
                       prelude="import ledger.ops.witness as w; w.HEAD_DEADLINE = 1.0; ")

    def closed_within(client: socket.socket, seconds: float, drip: bytes = b"") -> bool:
        client.settimeout(0.2)
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            with contextlib.suppress(OSError):
                if drip:
                    client.sendall(drip)
            try:
                if client.recv(100) == b"":
                    return True
            except TimeoutError:
                continue
            except OSError:
                return True
        return False

    try:
        with socket.create_connection(("127.0.0.1", w.port), timeout=10) as silent, \
                socket.create_connection(("127.0.0.1", w.port), timeout=10) as dripping:
            dripping.sendall(b"GET /" + b"0" * 10)
            assert closed_within(silent, 6)
            assert closed_within(dripping, 6, drip=b"0")
        with httpx.Client(timeout=10) as client:  # one kept-alive connection, 4 s of requests
            started = time.monotonic()
            while time.monotonic() - started < 4:
                assert client.get(f"{w.url}/{'0' * 64}/checkpoint").status_code == 404
                time.sleep(0.3)
    finally:
        assert w.stop() == 0
    said = (tmp_path / "w" / "w.log").read_text()  # the silent one and the dripping one only
    assert said.count("closed a connection that sent no whole request within 1 s") == 2, said


def test_a_witness_that_answers_too_slowly_is_cut_off(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A witness that sends its answer a byte every 0.2 s — each within the 10 s timeout — held
    `ledger checkpoint --policy` for as long as it liked. Its whole answer must arrive within
    the deadline: past it, that witness's problem, named; the quorum is missed, nothing stored."""
    from ledger.core.cosignature import encode_cosigner
    from ledger.ops import witnessing

    monkeypatch.setattr(witnessing, "DEADLINE_S", 1.0)
    log = Log(tmp_path, "log", 10)
    slow = DrippingServer(raw_answer("200 OK", b"x" * 100))
    try:
        policy = tmp_path / "slow.policy"
        policy.write_text(f"log {log.vkey}\nwitness w1 "
                          f"{encode_cosigner('witness.example/w1', bytes(32))[1]} {slow.url}\n"
                          "quorum w1\n")
        started = time.monotonic()
        done = log.cli("checkpoint", "--key", str(log.key), "--policy", str(policy))
    finally:
        slow.close()
    assert time.monotonic() - started < 10
    assert done.exit_code == 1 and done.stderr.count("\n") == 1, done.output
    assert (f"witness w1 ({slow.url}add-checkpoint): its answer did not arrive in full within "
            "1 s") in done.stderr
    with sqlite3.connect(log.db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0] == 0


def test_a_witness_that_redirects_or_times_the_request_out_is_named(tmp_path: Path) -> None:
    """A witness URL answered with a redirect (an http:// URL moved to https://) said only
    `HTTP 301`: where it points is named (it is not followed: the policy names the witness's
    URL). A 408 from a witness (the request did not reach it in full in time) is said in words."""
    from ledger.core.cosignature import encode_cosigner

    log = Log(tmp_path, "log", 10)
    moved = RawServer(lambda n: b"HTTP/1.1 301 Moved Permanently\r\nLocation: "
                      b"https://w1.example/add-checkpoint\r\nContent-Length: 0\r\n\r\n")
    slow = RawServer(lambda n: raw_answer("408 Request Timeout", b"request body too slow\n"))
    try:
        policy = tmp_path / "moved.policy"
        policy.write_text(f"log {log.vkey}\n" + "".join(
            f"witness {name} {encode_cosigner(f'witness.example/{name}', bytes([i]) * 32)[1]} "
            f"{server.url}\n" for i, (name, server) in enumerate((("w1", moved), ("w2", slow))))
            + "group both 2 w1 w2\nquorum both\n")
        done = log.cli("checkpoint", "--key", str(log.key), "--policy", str(policy))
    finally:
        moved.close()
        slow.close()
    assert done.exit_code == 1 and done.stderr.count("\n") == 1, done.output
    assert (f"witness w1 ({moved.url}add-checkpoint): HTTP 301: it redirects to "
            "https://w1.example/add-checkpoint, which is not followed (give that URL for it in "
            "the policy)") in done.stderr
    assert (f"witness w2 ({slow.url}add-checkpoint): 408: it did not receive the request in "
            "full in time (a slow network?) — it said: request body too slow") in done.stderr


def test_a_password_in_a_witness_url_is_never_printed(tmp_path: Path) -> None:
    """A policy's witness URL with basic-auth credentials: the password is sent, never printed
    (`witness w1 (http://ops:***@127.0.0.1:…/add-checkpoint): …`)."""
    from ledger.core.cosignature import encode_cosigner

    log = Log(tmp_path, "log", 10)
    server = RawServer(lambda n: raw_answer("403 Forbidden", b"no"))
    try:
        url = server.url.replace("http://", "http://ops:hunter2@")
        policy = tmp_path / "auth.policy"
        policy.write_text(f"log {log.vkey}\nwitness w1 "
                          f"{encode_cosigner('witness.example/w1', bytes(32))[1]} {url}\n"
                          "quorum w1\n")
        done = log.cli("checkpoint", "--key", str(log.key), "--policy", str(policy))
    finally:
        server.close()
    assert done.exit_code == 1 and "hunter2" not in done.output
    shown = server.url.replace("http://", "http://ops:***@")
    assert f"witness w1 ({shown}add-checkpoint): 403 Forbidden" in done.stderr
    assert b"Authorization: Basic b3BzOmh1bnRlcjI=" in server.requests[0]


def test_a_witness_that_answers_too_much_is_not_read(tmp_path: Path) -> None:
    """A witness whose answer is longer than any a witness has to say (here 200 OK with
    100 KB, and a 409 with an endless stream of digits) is that witness's problem: its answer is
    not read past MAX_ANSWER, the quorum is missed and nothing is stored."""
    from ledger.core.cosignature import encode_cosigner
    from ledger.ops.witnessing import MAX_ANSWER

    log = Log(tmp_path, "log", 10)
    long = RawServer(lambda n: raw_answer("200 OK", b"x" * 100_000), close_after=True)
    digits = RawServer(lambda n: raw_answer("409 Conflict", b"9" * (4 * MAX_ANSWER)),
                       close_after=True)
    try:
        policy = tmp_path / "talkative.policy"
        policy.write_text(f"log {log.vkey}\n" + "".join(
            f"witness {name} {encode_cosigner(f'witness.example/{name}', bytes([i]) * 32)[1]} "
            f"{server.url}\n" for i, (name, server) in enumerate((("w1", long), ("w2", digits))))
            + "group both 2 w1 w2\nquorum both\n")
        done = log.cli("checkpoint", "--key", str(log.key), "--policy", str(policy))
    finally:
        long.close()
        digits.close()
    assert done.exit_code == 1 and done.stderr.startswith("Error: "), done.output
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.output
    for name, status in (("w1", 200), ("w2", 409)):
        assert (f"witness {name} (") in done.stderr
        assert (f"its answer (HTTP {status}) is longer than {MAX_ANSWER:,} bytes") in done.stderr
    with sqlite3.connect(log.db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0] == 0


def test_a_tlog_proof_with_cosignatures(tmp_path: Path) -> None:
    log = Log(tmp_path, "log", 10)
    witnesses = [WitnessProcess(tmp_path / n, n, f"log {log.vkey}\n") for n in ("w1", "w2", "w3")]
    try:
        policy = write_policy(tmp_path / "log.policy", log, witnesses, quorum="all")
        cosigned = tmp_path / "cp.txt"
        assert log.cli("checkpoint", "--key", str(log.key), "--policy", str(policy), "-o",
                       str(cosigned)).exit_code == 0
        proof = tmp_path / "seq7.tlog-proof"
        assert log.cli("prove", "7", "--format", "tlog-proof", "--checkpoint", str(cosigned),
                       "-o", str(proof)).exit_code == 0
        seen = log.cli.json("verify-proof", str(proof), "--vkey", log.vkey, "--policy", str(policy))
        assert seen["index"] == 6 and seen["cosigned_by"] == ["w1", "w2", "w3"]
        assert seen["event"]["seq"] == 7 and seen["size"] == 10
        # the latest cosignature's time: how recent the checkpoint a reader holds is
        at = dt.datetime.fromisoformat(str(seen["witnessed_at"]).replace("Z", "+00:00"))
        assert abs((dt.datetime.now(dt.UTC) - at).total_seconds()) < 300, seen
        said = log.cli("verify-proof", str(proof), "--vkey", log.vkey, "--policy", str(policy))
        assert f"cosigned by w1, w2, w3, most recently at {seen['witnessed_at']}" in said.stdout
        text = proof.read_text()
        dropped = "".join(line + "\n" for line in text.splitlines() if "witness.example/w3" not in line)
        (tmp_path / "two.tlog-proof").write_text(dropped)
        refused = log.cli("verify-proof", str(tmp_path / "two.tlog-proof"), "--vkey", log.vkey,
                          "--policy", str(policy))
        assert refused.exit_code == 1 and "is cosigned by w1, w2; the policy's quorum needs 3 of " \
            "(w1, w2, w3)" in refused.stderr, refused.output
        lines_ = text.split("\n")
        lines_[3] = base64.b64encode(bytes(32)).decode()  # a proof hash changed
        (tmp_path / "bad.tlog-proof").write_text("\n".join(lines_))
        bad = log.cli("verify-proof", str(tmp_path / "bad.tlog-proof"), "--vkey", log.vkey)
        assert bad.exit_code == 1 and "inclusion proof" in bad.stderr, bad.output
    finally:
        for w in witnesses:
            w.stop()


def test_a_witness_under_concurrent_load() -> None:
    """bench/witness_load.py at a small scale: every request sent at once, the 409s re-sent as
    a log would; it raises on any failed request or lost update, and checks every cosignature."""
    from bench import witness_load

    done = witness_load.run(logs=5, per_log=8)
    assert done["witness_requests"] == 40 and done["witness_cosigned"] >= 5


def test_pages_require_the_policy_in_node_and_chromium(tmp_path: Path) -> None:
    """verify.js checks the cosignatures and the quorum (Node, on the bundle; Chromium, on the
    page `ledger site --policy` writes); a cosignature removed or changed fails, in a sentence."""
    from ledger.core.policy import parse_policy
    from ledger.pages.site import bundle_script, policy_json
    from tests.test_site_browser import CHROMIUM, bundle_of, dom
    from tests.test_verify_js import NODE, run_js

    log = Log(tmp_path, "log", 10)
    witnesses = [WitnessProcess(tmp_path / n, n, f"log {log.vkey}\n") for n in ("w1", "w2", "w3")]
    try:
        policy = write_policy(tmp_path / "log.policy", log, witnesses)
        cosigned = tmp_path / "cp.txt"
        assert log.cli("checkpoint", "--key", str(log.key), "--policy", str(policy), "-o",
                       str(cosigned)).exit_code == 0
    finally:
        for w in witnesses:
            w.stop()
    embedded = policy_json(parse_policy(policy.read_bytes()))
    rid = "SRCH:00000004"
    bundle = orjson.loads(log.cli("bundle", rid, "--checkpoint", str(cosigned)).stdout)
    (tmp_path / "b.json").write_bytes(orjson.dumps(bundle))
    said = log.cli.json("verify-bundle", str(tmp_path / "b.json"), "--vkey", log.vkey,
                        "--policy", str(policy))
    assert said["cosigned_by"] == ["w1", "w2", "w3"], said
    shown_at = str(said["witnessed_at"]).replace("T", " ").replace("Z", " UTC")
    note = bundle["checkpoint"]
    w3 = next(line for line in note.splitlines() if "witness.example/w3" in line)
    w2 = next(line for line in note.splitlines() if "witness.example/w2" in line)
    flipped = w2[:-6] + ("A" if w2[-6] != "A" else "B") + w2[-5:]
    cases = {"good": (note, None),
             "one-dropped": (note.replace(w3 + "\n", ""), None),
             "two-dropped": (note.replace(w3 + "\n", "").replace(w2 + "\n", ""),
                             "the checkpoint is cosigned by w1; the policy's quorum needs 2 of (w1, w2, w3)"),
             "changed": (note.replace(w2, flipped), "the cosignature by w2 does not verify")}
    if NODE is not None:
        (tmp_path / "policy.json").write_text(embedded)
        for name, (text, says) in cases.items():
            seen = run_js({**bundle, "checkpoint": text}, log.vkey, tmp_path, rid)
            seen_policy = subprocess_js(bundle | {"checkpoint": text}, log.vkey, tmp_path, rid)
            assert seen["verified"] == "yes", (name, seen)  # without the policy: the log's signature
            if says is None:
                assert seen_policy["verified"] == "yes", (name, seen_policy)
            else:
                assert seen_policy["verified"] == "no" and seen_policy["text"] == says, (name, seen_policy)
        seen = subprocess_js(bundle, log.vkey, tmp_path, rid)
        assert seen["witnesses"] == ["w1", "w2", "w3"]
        assert seen["witnessed_at"] == shown_at, (seen, said)
    if CHROMIUM is not None:
        out = tmp_path / "site"
        built = log.cli("site", str(out), "--checkpoint", str(cosigned), "--vkey", log.vkey,
                        "--policy", str(policy))
        assert built.exit_code == 0, built.output
        page = dom(out / "SRCH-00000004.html")
        assert 'data-verified="yes"' in page, page[-2000:]
        assert ("Cosigned by the witnesses w1, w2, w3 (the policy needs 2 of (w1, w2, w3)), most "
                f"recently on {shown_at}, when that witness knew of no later checkpoint") in page
        script = bundle_of(out / "SRCH-00000004.html")
        served = orjson.loads(script.read_text().split(" = ", 1)[1].rstrip(";\n"))
        served["checkpoint"] = cases["two-dropped"][0]  # as a host serving the split view would
        script.write_bytes(bundle_script(served))
        failed = dom(out / "SRCH-00000004.html")
        assert 'data-verified="no"' in failed
        assert "the policy's quorum needs 2 of (w1, w2, w3)" in failed
    refused = log.cli("site", str(tmp_path / "s2"), "--checkpoint", str(tmp_path / "alone.txt"),
                      "--vkey", log.vkey, "--policy", str(policy))
    assert refused.exit_code == 2  # no such file: refused before anything is written


def subprocess_js(bundle: object, vkey: str, tmp: Path, rid: str) -> dict[str, object]:
    import subprocess

    from tests.test_verify_js import HARNESS, NODE, VERIFY_JS

    path = tmp / "bundle-policy.json"
    path.write_bytes(orjson.dumps(bundle))
    out = subprocess.run([str(NODE), str(HARNESS), str(VERIFY_JS), str(path), vkey, rid,
                          str(tmp / "policy.json")], capture_output=True, text=True, check=True)
    result: dict[str, object] = orjson.loads(out.stdout)
    return result


def test_monitor_requires_the_policy(tmp_path: Path) -> None:
    """The tiles published with a cosigned checkpoint satisfy `monitor --policy`; the same log
    published with the log's signature alone does not, in a sentence."""
    log = Log(tmp_path, "log", 10)
    witnesses = [WitnessProcess(tmp_path / n, n, f"log {log.vkey}\n") for n in ("w1", "w2", "w3")]
    try:
        policy = write_policy(tmp_path / "log.policy", log, witnesses)
        cosigned = tmp_path / "cp.txt"
        assert log.cli("checkpoint", "--key", str(log.key), "--policy", str(policy), "-o",
                       str(cosigned)).exit_code == 0
    finally:
        for w in witnesses:
            w.stop()
    out = tmp_path / "tiles"
    assert log.cli("tiles", str(out), "--checkpoint", str(cosigned)).exit_code == 0
    seen = log.cli("monitor", str(out), "--vkey", log.vkey, "--policy", str(policy), "--json")
    assert seen.exit_code == 0 and orjson.loads(seen.stdout)["size"] == 10, seen.output
    # how recent the log it follows is: the latest time a witness of the policy cosigned
    at = str(orjson.loads(seen.stdout)["witnessed_at"])
    assert abs((dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(at.replace("Z", "+00:00")))
               .total_seconds()) < 300, at
    said = log.cli("monitor", str(out), "--vkey", log.vkey, "--policy", str(policy))
    assert f"Witnessed: the policy's quorum cosigned it, most recently at {at}" in said.stdout
    unwitnessed = log.cli("monitor", str(out), "--vkey", log.vkey, "--json")
    assert orjson.loads(unwitnessed.stdout)["witnessed_at"] is None
    log.grow(1, 10)
    alone = tmp_path / "alone"  # size 11, signed by the log alone
    assert log.cli("tiles", str(alone), "--key", str(log.key)).exit_code == 0
    refused = log.cli("monitor", str(alone), "--vkey", log.vkey, "--policy", str(policy))
    assert refused.exit_code == 1
    assert ("at size 11 is cosigned by none of its witnesses; the policy's quorum needs 2 of (w1, "
            "w2, w3)") in refused.stderr


def test_a_key_that_is_not_a_witness_key_is_refused(tmp_path: Path) -> None:
    """`witness serve --key` given the log's own key (an Ed25519 note key, type 0x01), or a file
    that is no key at all: refused input (exit 2, one line), and no state file made; it was
    exit 1, the status of a verification failure."""
    log = Log(tmp_path, "log", 1)
    (tmp_path / "logs.txt").write_text(f"log {log.vkey}\n")
    text = tmp_path / "text.key"
    text.write_text("hello\n")
    text.chmod(0o600)
    for key, says in ((log.key, "is a log's signing key (`ledger keygen`), where a witness's key "
                                "is wanted: give the file `ledger witness keygen NAME -o FILE` wrote"),
                      (text, "is not a private key file, where a private key is wanted")):
        result = log.cli("witness", "serve", "--key", str(key), "--logs",
                         str(tmp_path / "logs.txt"), "--db", str(tmp_path / "w.db"))
        assert result.exit_code == 2, result.output
        [line] = result.stderr.splitlines()
        assert line.startswith(f"Error: {key} ") and says in line, line
        assert not (tmp_path / "w.db").exists()


def test_a_port_taken_or_a_host_unknown_is_refused_before_serving(tmp_path: Path) -> None:
    """`witness serve --listen` on a port another server holds printed `Witness … at http://…`,
    then uvicorn's own `ERROR: [Errno 98] …` and exit 3, a status the CLI does not have. The
    socket is now bound first: one `Error:` line, exit 2, nothing announced."""
    import socket

    log = Log(tmp_path, "log", 1)
    (tmp_path / "logs.txt").write_text(f"log {log.vkey}\n")
    key = tmp_path / "w.key"
    assert log.cli("witness", "keygen", "witness.example/w", "-o", str(key)).exit_code == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        for listen, says in ((f"127.0.0.1:{port}", "Address already in use"),
                             ("no-such-host.invalid:80", "cannot listen on no-such-host.invalid:80")):
            result = log.cli("witness", "serve", "--key", str(key), "--logs",
                             str(tmp_path / "logs.txt"), "--db", str(tmp_path / "w.db"),
                             "--listen", listen)
            assert result.exit_code == 2, result.output
            [line] = result.stderr.splitlines()
            assert line.startswith("Error: cannot listen on ") and says in line, line
    for listen in ("[::1:80", "::1:80", "[]:80", "127.0.0.1", "127.0.0.1:99999"):
        # an IPv6 address without its closing bracket listened on [::1]:80 (the bracket dropped)
        result = log.cli("witness", "serve", "--key", str(key), "--logs",
                         str(tmp_path / "logs.txt"), "--db", str(tmp_path / "w.db"),
                         "--listen", listen)
        assert result.exit_code == 2 and result.stderr == (
            f"Error: --listen {listen!r} is not HOST:PORT (an IPv6 address in brackets: "
            "[::1]:7380)\n"), result.output


def test_what_anyone_sends_is_logged_as_text(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A witness logs every refusal on its operator's terminal; the request is anyone's, so an
    escape sequence or a line feed in it (an origin, a proof line, a signature line) is logged
    as a visible escape, never acted on or made a log line of its own."""
    import logging
    import os

    from ledger.core.cosignature import encode_cosigner, parse_cosigner
    from ledger.core.note import parse_verifier
    from ledger.ops.keys import generate
    from ledger.ops.witness import Witness

    _, vkey = generate("log.example")
    private, _ = encode_cosigner("w1", os.urandom(32))
    witness = Witness(parse_cosigner(private), {"log.example": [parse_verifier(vkey)]},
                      tmp_path / "w.db")
    bodies = [b"old 0\n\nlog.example\x1b[2J\n1\nAAAA\n\n\xe2\x80\x94 log.example\x1b[31m AAAA\n",
              b"old 1\nzz\x1b[2J\r\n\nlog.example\n1\n" + b"A" * 43 + b"=\n\n\xe2\x80\x94 x AAAA\n",
              b"old 0\n\nlog.example\n1\n" + b"A" * 43 + b"=\n\n\xe2\x80\x94 log.example "
              + base64.b64encode(b"\x00" * 68) + b"\n"]
    with caplog.at_level(logging.WARNING, logger="ledger.witness"):
        for body in bodies:
            assert witness.add_checkpoint(body).status >= 400
    witness.close()
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == len(bodies)
    assert all(m.isprintable() for m in said), said


def test_a_logs_file_of_bare_verifier_keys_says_what_to_write(tmp_path: Path) -> None:
    """A logs file holding the log's verifier key alone (as `ledger keygen` printed it) said
    only `expected log <vkey> [<url>]`."""
    log = Log(tmp_path, "log", 1)
    (tmp_path / "logs.txt").write_text(f"{log.vkey}\n")
    key = tmp_path / "w.key"
    assert log.cli("witness", "keygen", "witness.example/w", "-o", str(key)).exit_code == 0
    result = log.cli("witness", "serve", "--key", str(key), "--logs", str(tmp_path / "logs.txt"),
                     "--db", str(tmp_path / "w.db"))
    assert result.exit_code == 2 and result.stderr == (
        "Error: logs line 1: expected `log <vkey> [<url>]` (a verifier key alone: write `log ` "
        "before it)\n"), result.output
    assert not (tmp_path / "w.db").exists()


def test_a_site_signed_now_is_cosigned_first(tmp_path: Path) -> None:
    """``site --key --policy`` has the policy's witnesses cosign the checkpoint it signs, as
    ``checkpoint --policy`` does, and the pages require their quorum; with the quorum missed it
    exits 1 naming each witness's answer, stores no checkpoint and writes no page."""
    log = Log(tmp_path, "log", 10)
    witnesses = [WitnessProcess(tmp_path / n, n, f"log {log.vkey}\n") for n in ("w1", "w2", "w3")]
    try:
        policy = write_policy(tmp_path / "log.policy", log, witnesses)
        out = tmp_path / "site"
        built = log.cli("site", str(out), "--key", str(log.key), "--policy", str(policy))
        assert built.exit_code == 0, built.output
        assert built.stderr.count("): cosigned") == 3, built.stderr
        assert "Signed and stored the checkpoint of size 10 by example.org/log" in built.stderr
        page = (out / "SRCH-00000004.html").read_text()
        script = out / re.findall(r'<script src="(bundles/[^"]+)">', page)[0]
        said = log.cli.json("verify-bundle", str(script), "--vkey", log.vkey, "--policy", str(policy))
        assert said["cosigned_by"] == ["w1", "w2", "w3"], said
        assert '<script type="application/json" id="policy">' in page  # what the pages require
        # an auditor who runs a witness gives its state file, as it serves: what it cosigned
        kept = log.cli("verify", "--checkpoint", str(witnesses[0].db), "--vkey", log.vkey)
        assert kept.exit_code == 0 and "OK: the log extends the checkpoint of size 10 signed " \
            "by example.org/log" in kept.stdout, kept.output
        other = Log(tmp_path, "other", 1, origin="other.example/log")  # its key, another log's
        asked = [w.said() for w in witnesses]
        refused = log.cli("site", str(out), "--key", str(other.key), "--policy", str(policy))
        assert refused.exit_code == 2 and "serves the log of example.org/log" in refused.stderr
        assert [w.said() for w in witnesses] == asked  # refused before any witness was asked
        witnesses[1].stop()
        witnesses[2].stop()
        log.grow(1, 10)
        missed = log.cli("site", str(tmp_path / "site2"), "--key", str(log.key), "--policy", str(policy))
        assert missed.exit_code == 1 and "nothing was stored" in missed.stderr, missed.output
        assert "witness w2" in missed.stderr and "could not reach it" in missed.stderr
        assert not (tmp_path / "site2").exists()
        assert log.cli.json("status")["last_checkpoint"]["size"] == 10
    finally:
        for w in witnesses:
            if w.proc is not None:
                assert w.stop() == 0
