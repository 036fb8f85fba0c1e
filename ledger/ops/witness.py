"""A witness (C2SP tlog-witness): cosigns a log's checkpoint only if it is consistent with the
latest checkpoint of that log it cosigned before, and remembers it.

    POST /add-checkpoint        old <size>\\n <proof lines> \\n <signed checkpoint>
    GET  /<sha256(origin) hex>/checkpoint

Status codes as the specification gives them: 400 for a malformed request (or an old size above
the checkpoint's), 404 for an unknown origin, 403 without a valid signature of a trusted key of
that origin (or with a trusted key's signature that fails), 409 with ``text/x.tlog.size`` when
the old size is not the size last cosigned, 422 for a failing consistency proof, a proof given
with old size 0, an empty tree whose root is not the empty hash, or another root at the same
size; 413 for a request over ``MAX_REQUEST`` bytes; 408 for a body not received in full within
``BODY_DEADLINE`` seconds; a connection without a whole request head for ``HEAD_DEADLINE``
seconds is closed. Every refusal is logged and kept in the
witness's SQLite file. The check of the old size and the update of the stored checkpoint are one
``BEGIN IMMEDIATE`` transaction (``storage.witnessdb``).

``app`` is an ASGI application; ``ledger witness serve`` runs it on uvicorn.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import socket
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.core.checkpoint import parse_checkpoint
from ledger.core.cosignature import Cosigner, cosign
from ledger.core.encoding import b64, unb64
from ledger.core.escapes import printable
from ledger.core.merkle import EMPTY_ROOT, ProofError
from ledger.core.merkle_check import check_consistency
from ledger.core.note import DASH, Verifier, key_label, open_note, signature_lines
from ledger.errors import RefusedInput, SignatureError
from ledger.storage import witnessdb

MAX_REQUEST = 64 * 1024  # 63 proof lines and a checkpoint with many signatures fit in 8 KiB
MAX_PROOF_LINES = 63
# The refusals kept in the state file, as evidence: a checkpoint signed by a key the log's
# origin trusts, refused as inconsistent with what the witness cosigned (a fork, a proof that
# fails). Every other refusal (a malformed request, an unknown log, a bad signature, a 409) is
# only logged: anyone can send one, and keeping each let any client fill the disk (2,000
# requests of 64 KB in 4 s made the file 127 MB).
EVIDENCE = 422
BODY_DEADLINE = 30.0  # seconds for a request's whole body (a few KiB)
HEAD_DEADLINE = 30.0  # seconds a connection may wait before a request's head is in, in full
_OLD = re.compile(r"old (0|[1-9][0-9]{0,18})")
log = logging.getLogger("ledger.witness")


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"


class Refused(Exception):
    def __init__(self, status: int, reason: str, origin: str | None = None,
                 body: bytes = b"", content_type: str = "text/plain; charset=utf-8") -> None:
        self.status, self.reason, self.origin = status, reason, origin
        self.body = body or (reason + "\n").encode()
        self.content_type = content_type
        super().__init__(reason)


class Witness:
    """The witness's logic over its state file; ``add_checkpoint`` and ``get_checkpoint`` are
    safe to call from many threads (one SQLite connection per thread)."""

    def __init__(self, cosigner: Cosigner, logs: dict[str, list[Verifier]], db: Path,
                 clock: Callable[[], float] = time.time) -> None:
        self.cosigner, self.logs, self.db, self.clock = cosigner, logs, db, clock
        self.local = threading.local()
        self.connections: list[Any] = []
        self.lock = threading.Lock()
        self._conn()  # opens the file now: a bad path fails at start-up, not at a request

    def _conn(self) -> Any:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = witnessdb.open_witness_db(self.db)
            with self.lock:
                self.connections.append(conn)
        return conn

    def close(self) -> None:
        with self.lock:
            for conn in self.connections:
                conn.close()
            self.connections.clear()

    def add_checkpoint(self, request: bytes) -> Reply:
        """Answer one add-checkpoint request body."""
        try:
            return self._add(request)
        except Refused as refusal:
            log.warning("refused add-checkpoint (%d) for %s: %s", refusal.status,  # as text:
                        printable(refusal.origin or "an unknown log"),  # anyone may send it
                        printable(refusal.reason))
            if refusal.status == EVIDENCE:
                try:
                    witnessdb.keep_refusal(self._conn(), int(self.clock()), refusal.origin,
                                           refusal.status, refusal.reason, request)
                except Exception:  # a busy file must not turn a refusal into a 500
                    log.exception("could not keep the refusal")
            return Reply(refusal.status, refusal.body, refusal.content_type)

    def _add(self, request: bytes) -> Reply:
        old, proof, note = _parse_request(request)
        try:
            body, _ = signature_lines(note)
            checkpoint = parse_checkpoint(body)
        except SignatureError as exc:
            raise Refused(400, f"malformed checkpoint: {exc}") from None
        origin = checkpoint.origin
        trusted = self.logs.get(origin)
        if trusted is None:
            raise Refused(404, f"unknown log origin {origin[:80]!r}", None)
        verified = []
        for verifier in trusted:
            try:
                open_note(note, verifier)
                verified.append(verifier)
            except SignatureError as exc:
                if "does not verify" in str(exc):
                    raise Refused(403, f"a signature by a trusted key fails: {exc}", origin) from None
        if not verified:
            raise Refused(403, "no signature by a key trusted for this origin", origin)
        if old > checkpoint.size:
            raise Refused(400, f"old size {old} is above the checkpoint size {checkpoint.size}",
                          origin)
        now = int(self.clock())
        line = cosign(self.cosigner, body, now)
        kept = body + "\n" + "".join(_lines_by(note, verified)) + line
        conn = self._conn()
        with witnessdb.transaction(conn):
            stored = witnessdb.latest(conn, origin)
            size, root = (stored[0], stored[1]) if stored else (0, EMPTY_ROOT)
            if size != old:  # checked first, as the specification orders its checks
                raise Refused(409, f"old size {old} is not the size last cosigned ({size})",
                              origin, f"{size}\n".encode(), "text/x.tlog.size")
            if checkpoint.size == 0 and checkpoint.root != EMPTY_ROOT:
                raise Refused(422, "a checkpoint of size 0 must have the empty tree's root", origin)
            if old == 0 and proof:
                raise Refused(422, "a consistency proof from size 0 must be empty", origin)
            if old == checkpoint.size:
                if old and root != checkpoint.root:
                    raise Refused(422, f"another root at the size last cosigned ({old}): a fork",
                                  origin)
            elif old:
                try:
                    check_consistency(old, checkpoint.size, root, checkpoint.root, proof)
                except ProofError as exc:
                    raise Refused(422, f"the consistency proof from {old} to {checkpoint.size} "
                                  f"fails: {exc}", origin) from None
            witnessdb.put(conn, origin, checkpoint.size, checkpoint.root, kept, now)
        log.info("cosigned %s at size %d", origin, checkpoint.size)
        return Reply(200, line.encode())

    def get_checkpoint(self, origin_hash: str) -> Reply:
        """Answer GET /<origin hash>/checkpoint: the latest cosigned checkpoint of that log."""
        conn = self._conn()
        for origin, note in witnessdb.latest_by_hash(conn):
            if hashlib.sha256(origin.encode()).hexdigest() == origin_hash:
                return Reply(200, note.encode())
        return Reply(404, b"this witness never cosigned a checkpoint of that log\n")


def _lines_by(note: str, verifiers: list[Verifier]) -> list[str]:
    """Return the signature lines of ``note`` by the given (verified) log keys."""
    keys = {(v.name, v.key_id) for v in verifiers}
    return [f"{DASH} {name} {b64(raw)}\n" for name, raw in signature_lines(note)[1]
            if (name, int.from_bytes(raw[:4], "big")) in keys]


@dataclass(frozen=True)
class CosignedLog:
    """The latest checkpoint a witness cosigned of one log."""

    origin: str
    size: int
    root: str  # base64, as the checkpoint writes it
    cosigned_at: str  # RFC 3339, to the second
    note: str  # the log's signed note with the witness's cosignature


@dataclass(frozen=True)
class KeptRefusal:
    """A submission the witness refused, kept as evidence: ``note`` is the checkpoint note the
    request carried, as sent (None if it carried none that reads as UTF-8 text)."""

    id: int
    at: str  # RFC 3339, to the second
    origin: str | None
    status: int
    reason: str
    note: str | None


def witness_state(path: Path) -> tuple[list[CosignedLog], list[KeptRefusal]]:
    """Return what a witness's state file holds: the latest checkpoint cosigned per log (by
    origin) and every refusal kept (oldest first). Read only: the witness may be serving."""
    conn = witnessdb.open_witness_db_to_read(path)
    try:
        cosigned = witnessdb.cosigned_rows(conn)
        refused = witnessdb.refusal_rows(conn)
    finally:
        conn.close()
    logs = [CosignedLog(str(origin), int(size), b64(bytes(root)), _when(at), str(note))
            for origin, size, root, note, at in cosigned]
    kept = []
    for id_, at, origin, status, reason, request in refused:
        _, sep, note = bytes(request).partition(b"\n\n")
        try:
            text: str | None = note.decode("utf-8") if sep and note else None
        except UnicodeDecodeError:
            text = None
        kept.append(KeptRefusal(int(id_), _when(at), None if origin is None else str(origin),
                                int(status), str(reason), text))
    return logs, kept


def checkpoints_signed_by(path: Path, verifier: Verifier) -> list[tuple[str, str]]:
    """Return (which, note) of each checkpoint note a witness's state file holds that carries a
    signature line by ``verifier`` (its name and key id; the caller checks the signature): the
    latest one the witness cosigned of that log, then each refusal it kept as evidence (a
    checkpoint of the log refused as inconsistent with the one it cosigned: beside it, a split
    view); ``which`` names it for a message. Refuse a file that holds none."""
    logs, kept = witness_state(path)
    notes = [(f"the checkpoint it cosigned of {printable(log.origin)}", log.note) for log in logs]
    notes += [(f"refusal {r.id}", r.note) for r in kept if r.note is not None]
    found = [(which, note) for which, note in notes if _signed_by(note, verifier)]
    if not found:
        label = key_label(verifier.name, verifier.key_id)
        cosigned = ", ".join(printable(log.origin) for log in logs)
        raise RefusedInput(f"{path} is a witness's state file that holds no checkpoint signed by "
                           f"{printable(label)}: "
                           + (f"it has cosigned those of {cosigned}" if cosigned else
                              "it has cosigned no log yet"))
    return found


def _signed_by(note: str, verifier: Verifier) -> bool:
    try:
        return bool(_lines_by(note, [verifier]))
    except SignatureError:  # not a note: a refusal kept of a request that carried another text
        return False


def _when(at: Any) -> str:
    """Return a stored Unix time as RFC 3339 to the second."""
    import datetime as dt

    from ledger.core.clock import rfc3339_seconds

    try:
        return rfc3339_seconds(dt.datetime.fromtimestamp(int(at), dt.UTC))
    except (ValueError, OverflowError, OSError, TypeError):
        return f"(not a time: {printable(repr(at))[:40]})"


def _parse_request(request: bytes) -> tuple[int, list[bytes], str]:
    """Return (old size, proof hashes, checkpoint note) of an add-checkpoint body."""
    try:
        text = request.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "the request is not UTF-8") from None
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise Refused(400, "expected the old size line, proof lines, a blank line, the checkpoint")
    lines = head.split("\n")
    match = _OLD.fullmatch(lines[0])
    if match is None:
        raise Refused(400, f"malformed old size line {lines[0][:40]!r}")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise Refused(400, f"{len(lines) - 1} proof lines (at most {MAX_PROOF_LINES})")
    proof = []
    for line in lines[1:]:
        try:
            digest = unb64(line)
        except ValueError:
            digest = b""
        if len(digest) != 32:
            raise Refused(400, f"proof line {line[:50]!r} is not a base64 SHA-256 hash")
        proof.append(digest)
    return int(match.group(1)), proof, note


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def app(witness: Witness) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """Return the witness as an ASGI application (the database work runs in worker threads)."""

    async def respond(send: Send, reply: Reply) -> None:
        await send({"type": "http.response.start", "status": reply.status,
                    "headers": [(b"content-type", reply.content_type.encode()),
                                (b"content-length", str(len(reply.body)).encode()),
                                (b"cache-control", b"no-store")]})
        await send({"type": "http.response.body", "body": reply.body})

    async def application(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":  # after in-flight requests
                    witness.close()
                    log.info("stopped: every request answered, the state file closed")
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if path == "/add-checkpoint":
            if method != "POST":
                await respond(send, Reply(405, b"add-checkpoint takes POST\n"))
                return
            declared = dict(scope["headers"]).get(b"content-length")
            if declared is not None and (not declared.isdigit() or int(declared) > MAX_REQUEST):
                log.warning("refused add-checkpoint (413): declared length %r", declared[:20])
                await respond(send, Reply(413, b"request too large\n"))
                return
            body, more = b"", True
            deadline = asyncio.get_running_loop().time() + BODY_DEADLINE
            while more:
                try:
                    message = await asyncio.wait_for(
                        receive(), max(0.0, deadline - asyncio.get_running_loop().time()))
                except TimeoutError:  # a client sending a byte now and then holds a connection
                    log.warning("refused add-checkpoint (408): the body did not arrive within "
                                "%g s", BODY_DEADLINE)
                    await respond(send, Reply(408, b"request body too slow\n"))
                    return
                if message["type"] == "http.disconnect":
                    return
                body += message.get("body", b"")
                more = message.get("more_body", False)
                if len(body) > MAX_REQUEST:
                    log.warning("refused add-checkpoint (413): over %d bytes", MAX_REQUEST)
                    await respond(send, Reply(413, b"request too large\n"))
                    return
            reply = await asyncio.to_thread(witness.add_checkpoint, body)
            await respond(send, reply)
            return
        parts = path.strip("/").split("/")
        if len(parts) == 2 and parts[1] == "checkpoint" and re.fullmatch(r"[0-9a-f]{64}", parts[0]):
            if method not in ("GET", "HEAD"):
                await respond(send, Reply(405, b"use GET\n"))
                return
            await respond(send, await asyncio.to_thread(witness.get_checkpoint, parts[0]))
            return
        await respond(send, Reply(404, b"not found\n"))

    return application


def _close_stalled(connections: Any, waiting: dict[Any, tuple[Any, float]], now: float) -> None:
    """Close each connection that has waited more than HEAD_DEADLINE seconds for a request's
    head to arrive in full: uvicorn times out only a connection idle after a response, so one
    opened and left silent, or sending its head a byte now and then, held a file descriptor for
    good (a thousand and the witness took no more connections). ``waiting``: per connection,
    the request it last finished (its cycle, held so that a new one is never taken for it) and
    since when it has waited."""
    for gone in [c for c in waiting if c not in connections]:
        del waiting[gone]
    for conn in list(connections):
        cycle = getattr(conn, "cycle", None)
        if cycle is not None and not getattr(cycle, "response_complete", False):
            waiting.pop(conn, None)  # a request under way (its body has its own deadline)
            continue
        last, since = waiting.setdefault(conn, (cycle, now))
        if last is not cycle:  # another request came and went since the last look
            waiting[conn] = (cycle, now)
        elif now - since > HEAD_DEADLINE:
            log.warning("closed a connection that sent no whole request within %g s",
                        HEAD_DEADLINE)
            transport = getattr(conn, "transport", None)
            if transport is not None:
                transport.close()
            del waiting[conn]


def serve(witness: Witness, host: str, port: int, ready: Callable[[str], None] | None = None) -> None:
    """Run the witness on uvicorn until SIGINT or SIGTERM (graceful: in-flight requests finish)."""
    import contextlib
    import signal

    import uvicorn  # loaded only by `ledger witness serve`

    waiting: dict[Any, tuple[Any, float]] = {}

    class Server(uvicorn.Server):
        """uvicorn's server, stopping gracefully on SIGINT or SIGTERM and then returning (uvicorn
        itself raises the signal again once it has stopped, so the process would end by it), and
        closing once a second the connections stalled before a request (``_close_stalled``)."""

        async def on_tick(self, counter: int) -> bool:
            if counter % 10 == 0:
                _close_stalled(self.server_state.connections, waiting, time.monotonic())
            return bool(await super().on_tick(counter))

        @contextlib.contextmanager
        def capture_signals(self) -> Any:
            signals = (signal.SIGINT, signal.SIGTERM)
            before = {s: signal.signal(s, self.handle_exit) for s in signals}
            try:
                yield
            finally:
                for s, handler in before.items():
                    signal.signal(s, handler)

    listening = _listen(host, port)  # before saying where it serves: a port taken is refused
    config = uvicorn.Config(app(witness), host=host, port=port, log_level="warning",
                            access_log=False, timeout_graceful_shutdown=10,
                            h11_max_incomplete_event_size=MAX_REQUEST, lifespan="on")
    server = Server(config)
    if ready is not None:
        shown = f"[{host}]" if ":" in host else host
        ready(f"http://{shown}:{listening.getsockname()[1]}/")
    with listening:
        server.run(sockets=[listening])


def _listen(host: str, port: int) -> socket.socket:
    """Return a socket listening on host:port (port 0: one the system picks); refuse a host that
    does not resolve or a port already taken, in one sentence."""
    listening: socket.socket | None = None
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        listening = socket.socket(family, kind, proto)
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind(address)
        listening.listen(2048)
    except OSError as exc:
        if listening is not None:
            listening.close()
        raise RefusedInput(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return listening


__all__ = ["MAX_REQUEST", "Reply", "Witness", "app", "serve"]

