"""``ledger monitor URL|DIR --vkey VKEY``: follow a log published by ``ledger tiles``.

Each run: fetch the checkpoint and check its signature; refuse a checkpoint smaller than the last
one seen (a rollback); fetch only the entry bundles and level-0 tiles after what the state file
says was seen (in parallel, with timeouts and retries; from PARALLEL_FROM new events in helper
processes); check every entry against its tile hash, every format v2 payload member against
its commitment, and every withheld member against the purge among the new events that gives its
marker (``model.purge``: as for a bundle; one naming a purge after the checkpoint is taken only
without a mirror, which could not verify it); recompute the tree from the last
seen tree's compact range and the new leaves, and refuse a checkpoint whose root differs (a
fork: the history the monitor saw was rewritten). With a mirror, the verified events are
appended to a local ledger (tree, views), purges are carried into it (the withheld members of the
events a new purge lists are fetched again), and the mirror is verified like any ledger.
"""

from __future__ import annotations

import base64
import contextlib
import glob
import itertools
import json
import os
import secrets
import shlex
import sqlite3
import struct
import time
from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from ledger.core.canonical import canonical_bytes
from ledger.core.checkpoint import Checkpoint, open_checkpoint
from ledger.core.clock import rfc3339, utc_now
from ledger.core.escapes import printable, url_shown
from ledger.core.events import (
    MAX_PAYLOAD_BYTES,
    Event,
    canonical_of,
    check_members,
    event_hash,
    is_withheld,
    open_members,
)
from ledger.core.merkle import Frontier, leaf_hash, stored_count
from ledger.core.merkle_check import HASH_SIZE
from ledger.core.note import Verifier
from ledger.core.policy import Policy, open_witnessed
from ledger.core.progress import Progress
from ledger.errors import (
    CheckpointRefused,
    CorruptEvent,
    LedgerError,
    RefusedInput,
    VerificationError,
)
from ledger.model.purge import PURGE_TYPE, check_withheld_member, note_event, replay
from ledger.ops.files import (
    TooSlow,
    at_most,
    check_output,
    folder_moment,
    output_file,
    read_bounded,
    within,
)
from ledger.ops.helpers import HELPERS, Helper, HelperStopped, send
from ledger.ops.tiles import MAX_ENTRY, WIDTH, tile_index, tile_path
from ledger.storage import proofstore, store, views

if TYPE_CHECKING:
    from urllib.parse import SplitResult

FETCHERS = 8  # parallel fetches
TIMEOUT = 10.0  # seconds: connecting, and each wait for the server
DEADLINE = 120.0  # seconds: a whole request, answer read (a server sending a byte every few s)
PARALLEL_FROM = 20_000  # new events: from here, helper processes check the entries
CHUNK = 8  # entry bundles a helper checks and sends at once


class MonitorError(LedgerError):
    """The published log cannot be read (a missing file, a server error): not evidence."""


MAX_NOTE = 1 << 20  # a checkpoint with its signatures and cosignatures: far less in practice
STATE_MOST = 2 * MAX_NOTE  # a state file: the last checkpoint and at most 64 frontier hashes
ERROR_PAGE = 1 << 16  # the most of an error answer's body read (then its connection is reused)


def max_size(path: str) -> int:
    """Return the most bytes a file of a published log can hold at ``path``, from the formats'
    own limits (a host that serves more, or a gzip body that expands to more, is refused before
    it is held in memory): a hash tile 256 hashes, an entry bundle 256 entries of at most
    MAX_ENTRY bytes, a members file 256 payloads of at most MAX_PAYLOAD_BYTES, each allowed as
    much again for its salts and the markers a purge puts in (a member count is bounded by the
    commitments an entry holds), the checkpoint MAX_NOTE."""
    if path.startswith("tile/entries/"):
        return WIDTH * (2 + MAX_ENTRY)
    if path.startswith("tile/"):
        return WIDTH * HASH_SIZE
    if path.startswith("members/"):
        return WIDTH * 2 * MAX_PAYLOAD_BYTES
    return MAX_NOTE


def _too_large(url: str, limit: int) -> MonitorError:
    return MonitorError(f"{url}: more than {limit:,} bytes, more than such a file of a log can "
                        "hold: refused before it was read to the end")


class Source:
    """Where a published log is read from: ``get`` returns a file's bytes, or None if absent.
    ``where`` is what ``source_of`` opens it again from (a helper process does), if anything."""

    where: str | None = None

    def get(self, path: str) -> bytes | None:
        raise NotImplementedError

    def get_many(self, paths: Sequence[str]) -> list[bytes | None]:
        with ThreadPoolExecutor(FETCHERS) as pool:
            return list(pool.map(self.get, paths))

    def close(self) -> None:
        pass


class DirSource(Source):
    def __init__(self, root: Path) -> None:
        self.root = root
        self.where = str(root.absolute())

    def get(self, path: str) -> bytes | None:
        limit = max_size(path)
        try:
            with (self.root / path).open("rb") as handle:
                data = handle.read(limit + 1)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise MonitorError(f"cannot read {self.root / path}: {exc.strerror or exc}") from None
        if len(data) > limit:
            raise _too_large(str(self.root / path), limit)
        return data


class HttpSource(Source):
    """An HTTP(S) prefix, read with the standard library's ``http.client``: kept-alive
    connections, reused (never more than the requests under way), 10 s timeouts, a request that
    fails on the way (a connection refused, reset or closed by the server, a body cut short)
    tried three more times on a new connection (not a certificate refused: it would be the
    same one); gzip accepted, except from a loopback address
    (where it costs both ends CPU and saves no network); no more of a body read than its file
    can hold (``max_size``). httpx's client, which this replaced, spent 0.4–0.9 ms more CPU per
    request (cookies, redirects, its protocol layers), and the monitor makes three requests per
    256 events. A log reached through a proxy named by the environment is read by
    ``ProxiedSource``."""

    def __init__(self, prefix: str) -> None:
        import threading
        from urllib.parse import unquote

        self.prefix = prefix.rstrip("/") + "/"
        self.where = self.prefix
        parts = _split(self.prefix)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RefusedInput(f"{prefix} is not an http(s) URL with a host")
        self.https, self.host = parts.scheme == "https", parts.hostname
        try:
            self.port = parts.port
        except ValueError:
            raise RefusedInput(f"{prefix}: the port is not a number from 0 to 65535") from None
        self.path = parts.path or "/"
        self.headers = {"Accept-Encoding": "identity" if _loopback(self.prefix) else "gzip, identity",
                        "User-Agent": "provenance-ledger monitor"}
        if parts.username is not None:  # user:password@host, as httpx sends it: basic auth
            user = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            self.headers["Authorization"] = "Basic " + base64.b64encode(user.encode()).decode()
        self.idle: list[Any] = []  # connections between requests, closed by ``close``
        self.lock = threading.Lock()
        self.deadline = _Deadline()

    def _connection(self, fresh: bool = False) -> Any:
        """Return an idle connection (unless ``fresh``) or a new one: a request holds one
        connection, so there are never more than requests at a time (FETCHERS per window)."""
        import http.client

        if not fresh:
            with self.lock:
                if self.idle:
                    return self.idle.pop()
        if self.https:
            import ssl

            return http.client.HTTPSConnection(self.host, self.port, timeout=TIMEOUT,
                                               context=ssl.create_default_context())
        return http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)

    def get(self, path: str) -> bytes | None:
        import http.client

        url, limit = url_shown(self.prefix) + path, max_size(path)  # for messages: no password
        failure: Exception | None = None
        for attempt in range(4):
            conn = self._connection(fresh=attempt > 0)
            cut = self.deadline.watch(conn)
            try:
                conn.request("GET", self.path + path, headers=self.headers)
                response = conn.getresponse()
                status, encoding = response.status, response.getheader("Content-Encoding")
                moved = response.getheader("Location")
                kept = _most_read(status, encoding, limit)  # past it: not kept, nor the connection
                body = response.read(kept + 1)
                reusable = len(body) <= kept and not response.read()
            except TimeoutError as exc:  # a slow server: say so at once, as one attempt
                conn.close()
                raise MonitorError(f"cannot fetch {url}: no answer within {TIMEOUT:g} s") from exc
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                if cut.is_set():
                    raise _Deadline.error(url) from None
                if self.https and _refused_certificate(exc):  # the same certificate every time
                    raise MonitorError(f"cannot fetch {url}: {exc}") from None
                failure = exc
                continue
            finally:
                self.deadline.done(cut)
            if cut.is_set():  # what was read when the connection was cut is not the file
                conn.close()
                raise _Deadline.error(url)
            if reusable:
                with self.lock:
                    self.idle.append(conn)
            else:
                conn.close()
            if status == 200 and not reusable:
                raise _too_large(url, limit)
            break
        else:
            raise MonitorError(f"cannot fetch {url}: {str(failure) or type(failure).__name__}")
        return _file_of(url, status, encoding, body, limit, moved)

    def close(self) -> None:
        self.deadline.close()
        with self.lock:
            for conn in self.idle:
                conn.close()
            self.idle.clear()


class _Deadline:
    """Cuts a connection whose request is not answered in full within DEADLINE seconds: each
    wait for the server is bounded by TIMEOUT, but a server sending a byte every few seconds
    (a hostile host, or a broken one) would hold a monitor run by cron for days. One watching
    thread per source looks at the requests under way a few times a second (a timer thread per
    request cost ~115 µs, three requests per 256 events)."""

    def __init__(self) -> None:
        import threading

        self.lock = threading.Lock()
        self.under_way: dict[int, tuple[Any, float, threading.Event]] = {}
        self.closed = threading.Event()
        self.thread: threading.Thread | None = None

    def watch(self, conn: Any) -> Any:
        """Start watching ``conn``'s request; return its event, set if the connection is cut."""
        import threading

        cut = threading.Event()
        with self.lock:
            self.under_way[id(cut)] = (conn, time.monotonic() + DEADLINE, cut)
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, daemon=True)
                self.thread.start()
        return cut

    def done(self, cut: Any) -> None:
        with self.lock:
            self.under_way.pop(id(cut), None)

    def _run(self) -> None:
        import socket

        while not self.closed.wait(min(0.5, DEADLINE / 4)):
            now = time.monotonic()
            with self.lock:
                late = [key for key, (_, deadline, _) in self.under_way.items() if deadline < now]
                for key in late:
                    conn, _, cut = self.under_way.pop(key)
                    cut.set()
                    sock = conn.sock
                    if sock is not None:
                        with contextlib.suppress(OSError):
                            sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.closed.set()

    @staticmethod
    def error(url: str) -> MonitorError:
        return MonitorError(f"cannot fetch {url}: the answer did not arrive in full within "
                            f"{DEADLINE:g} s (the server sends too slowly)")


def _refused_certificate(exc: BaseException) -> bool:
    """Return whether a TLS handshake failed on the host's certificate (not trusted, or not
    for this host name)."""
    import ssl

    return isinstance(exc, ssl.SSLCertVerificationError)


def _file_of(url: str, status: int, encoding: str | None, body: bytes, limit: int,
             moved: str | None = None) -> bytes | None:
    """Return the file an answer to a GET gives (decoded), None if it is absent (404), or
    raise MonitorError for any other status or an encoding the monitor did not ask for. A
    redirect is not followed (a log's files are where its URL says), but where it points is
    said (``moved``: its Location)."""
    if status == 404:
        return None
    if 300 <= status < 400 and moved:
        raise MonitorError(f"{url}: HTTP {status}, moved to {printable(moved[:200])}: the monitor "
                           "follows no redirect; give the log's URL where its files are")
    if status != 200:
        raise MonitorError(f"{url}: HTTP {status}")
    if encoding not in (None, "identity", "gzip"):
        raise MonitorError(f"{url}: the server sent a content encoding the monitor did not "
                           f"ask for ({encoding})")
    return _gunzip(url, body, limit) if encoding == "gzip" else bytes(body)


def _most_read(status: int, encoding: str | None, limit: int) -> int:
    """Return the most bytes of an answer's body worth reading: a file's ``limit`` (a gzip body
    of random bytes, such as hashes, is a little larger than they are; what it decodes to is
    bounded by ``_gunzip``), or ERROR_PAGE of an error's page (a 404 says the file is absent,
    whatever its page)."""
    if status != 200:
        return ERROR_PAGE
    return limit + limit // 16 + 4096 if encoding == "gzip" else limit


def _gunzip(url: str, body: bytes, limit: int) -> bytes:
    """Return a gzip body decoded (every gzip member of it, as ``gzip.decompress`` reads it),
    refusing one that is cut short, cannot be read, or decodes to more than ``limit`` bytes
    (a small body can expand a thousandfold: it is refused as it expands, not after)."""
    import zlib

    out: list[bytes] = []
    size, rest = 0, body
    try:
        while rest:
            decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
            chunk = decoder.decompress(rest, limit + 1 - size)
            size += len(chunk)
            if size > limit or decoder.unconsumed_tail:
                raise _too_large(url + " (decoded)", limit)
            if not decoder.eof:
                raise MonitorError(f"{url}: its gzip body cannot be read (cut short)")
            out.append(chunk)
            rest = decoder.unused_data.lstrip(b"\0")  # gzip.decompress skips trailing zeros too
    except zlib.error as exc:
        raise MonitorError(f"{url}: its gzip body cannot be read ({exc})") from None
    return b"".join(out)


class ProxiedSource(Source):
    """An HTTP(S) prefix reached through ``proxy`` (the one the environment names for it:
    ``_proxy_for``), read with httpx: 10 s timeouts, three retries of a failed connection, gzip
    accepted; each body read as sent, bounded and decoded as ``HttpSource`` does (httpx would
    decode only the first member of a gzip body)."""

    def __init__(self, prefix: str, proxy: str) -> None:
        import httpx  # loaded only by the monitor

        self.prefix = prefix.rstrip("/") + "/"
        self.where = self.prefix
        # The proxy is given to the transport: httpx reads the environment's proxies only for a
        # client that makes its own transport. An https host's certificate is checked against
        # the same authorities as ``HttpSource`` checks it: the system's (or SSL_CERT_FILE's),
        # where httpx would take certifi's bundle (a proxy that inspects TLS has its own
        # authority in the system's store).
        import ssl

        try:
            transport = httpx.HTTPTransport(proxy=proxy, retries=3,
                                            verify=ssl.create_default_context())
        except (httpx.HTTPError, httpx.InvalidURL, ValueError, ImportError) as exc:
            raise RefusedInput(f"the proxy {url_shown(proxy)} that the environment names for "
                               f"{url_shown(self.prefix)} "
                               f"cannot be used: {exc}") from None
        self.client = httpx.Client(timeout=TIMEOUT, transport=transport,
                                   headers={"Accept-Encoding": "gzip, identity",
                                            "User-Agent": "provenance-ledger monitor"})
        self.errors = (httpx.HTTPError,)

    def get(self, path: str) -> bytes | None:
        url, limit = url_shown(self.prefix) + path, max_size(path)  # for messages: no password
        try:
            with self.client.stream("GET", self.prefix + path) as response:
                status = response.status_code
                encoding = response.headers.get("Content-Encoding")
                moved = response.headers.get("Location")
                body: bytes | None = b""
                if status == 200:  # read as sent, and decoded as ``HttpSource`` decodes it
                    body = at_most(within(response.iter_raw(), DEADLINE),
                                   _most_read(status, encoding, limit))
        except self.errors as exc:
            raise MonitorError(f"cannot fetch {url}: {exc}") from None
        except TooSlow:
            raise _Deadline.error(url) from None
        if body is None:
            raise _too_large(url, limit)
        return _file_of(url, status, encoding, body, limit, moved)

    def close(self) -> None:
        self.client.close()


def _proxy_for(url: str) -> str | None:
    """Return the proxy the environment names for this URL (``http_proxy``, ``https_proxy``,
    ``all_proxy``, less the hosts ``no_proxy`` exempts, as urllib reads them), or None."""
    from urllib.request import getproxies, proxy_bypass

    parts = _split(url)
    proxies = getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or proxy_bypass(parts.netloc):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"  # a bare host:port is plain http


def _split(url: str) -> SplitResult:
    """Return ``urlsplit(url)``; refuse a URL it cannot read (an unclosed IPv6 bracket)."""
    from urllib.parse import urlsplit

    try:
        return urlsplit(url)
    except ValueError as exc:
        raise RefusedInput(f"{url} is not a URL that can be read ({exc})") from None


def _check_host(url: str, what: str) -> None:
    """Refuse a URL whose host name no resolver can be asked for: an empty label, or one of
    more than 63 characters (its IDNA encoding fails, deep in the socket's address lookup)."""
    from urllib.parse import urlsplit

    try:
        host = urlsplit(url).hostname or ""
    except ValueError:  # not a URL at all: the source that reads it says so
        return
    try:
        host.encode("idna")
    except UnicodeError:
        raise RefusedInput(f"{what}: the host name {host[:70]!r} is not a DNS name (an empty "
                           "label, or a label over 63 characters)") from None


def _loopback(url: str) -> bool:
    """Return whether the URL's host is this machine (localhost or a loopback address)."""
    import ipaddress
    host = (_split(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def source_of(where: str) -> Source:
    """Return the source for a URL (http/https) or a local folder."""
    if where.startswith(("http://", "https://")):
        _check_host(where, url_shown(where))
        proxy = _proxy_for(where)
        if proxy is None:
            return HttpSource(where)
        _check_host(proxy, f"the proxy {url_shown(proxy)} that the environment names for "
                           f"{url_shown(where)}")
        return ProxiedSource(where, proxy)
    path = Path(where)
    if not path.is_dir():
        hint = ""
        if path.is_file() and path.name == "checkpoint":
            hint = f": give the folder that holds it, {path.parent}"
        elif path.is_file() and store.is_ledger_file(path):
            hint = (": it is a ledger file; monitor follows the log `ledger tiles` published from "
                    f"one, and `ledger --db {shlex.quote(where)} verify` checks the file itself")
        raise RefusedInput(f"{where} is neither an http(s) URL nor a folder{hint}")
    return DirSource(path)


@dataclass
class MonitorState:
    """What the monitor saw last (its state file): the checkpoint and the tree's compact range."""

    origin: str = ""
    size: int = 0
    root: str = ""
    frontier: list[tuple[int, str]] = field(default_factory=list)
    note: str = ""

    @classmethod
    def load(cls, path: Path | None) -> MonitorState:
        if path is None or not path.exists():
            return cls()
        return cls.parse(read_bounded(str(path), STATE_MOST, "state file"), str(path))

    @classmethod
    def parse(cls, text: bytes | str, name: str,
              refusal: str = "the state file {name} is not one `ledger monitor` wrote") -> MonitorState:
        """Return the state a state file's text gives; refuse one ``save`` did not write, in the
        words of ``refusal`` followed by what is wrong."""
        try:
            doc = orjson.loads(text)  # nesting beyond 1,024 levels is a ValueError, not a RecursionError
            return cls(str(doc["origin"]), int(doc["size"]), str(doc["root"]),
                       [(int(level), str(h)) for level, h in doc["frontier"]], str(doc["note"]))
        except (ValueError, KeyError, TypeError) as exc:
            why = f"it has no member {exc}" if isinstance(exc, KeyError) else str(exc)
            raise RefusedInput(f"{refusal.format(name=name)}: {why}") from None

    def save(self, path: Path | None, over: MonitorState) -> None:
        """Save this state to ``path`` if it still holds ``over`` (what this run loaded): another
        run that saved a state meanwhile is never overwritten — it may have seen more of the log,
        and a state set back lets a history rewritten after it pass."""
        if path is None:
            return
        try:
            with folder_moment(path.absolute().parent):
                now = MonitorState.load(path)
                if now != over:
                    raise RefusedInput(
                        f"another `ledger monitor` saved the state file {path} (size {now.size}) "
                        f"while this run followed the log from size {over.size}: this run's "
                        f"checkpoint (size {self.size}) was not saved over it; run it again")
                with output_file(str(path)) as handle:
                    handle.write(json.dumps({"origin": self.origin, "size": self.size,
                                             "root": self.root, "frontier": self.frontier,
                                             "note": self.note}, indent=1).encode() + b"\n")
        except OSError as exc:
            raise RefusedInput(f"cannot write the state file {path}: {exc.strerror or exc}") from None


@dataclass
class MonitorResult:
    origin: str
    size: int
    previous: int
    new_events: int
    withheld: int
    purges: int
    mirror: str | None = None
    statuses: dict[str, int] | None = None  # every record's status, re-derived (None: not)
    changed: list[tuple[str, str]] = field(default_factory=list)  # (record, status) touched
    new: list[str] = field(default_factory=list)  # of those, the records first published now
    witnessed_at: str | None = None  # with a policy: the latest time a witness cosigned

    def as_json(self) -> dict[str, Any]:
        return {"ok": True, "origin": self.origin, "size": self.size, "previous_size": self.previous,
                "witnessed_at": self.witnessed_at,
                "new_events": self.new_events, "withheld_members": self.withheld,
                "purges": self.purges, "mirror": self.mirror, "rederived": self.statuses is not None,
                "statuses": self.statuses,
                "changed_records": [{"record_id": r, "status": s} for r, s in self.changed],
                "new_records": self.new}


@dataclass
class Follow:
    """One run of the monitor, after its checkpoint was fetched and checked against the state:
    ``pending`` events are to be fetched and verified by ``run``."""

    source: Source
    note: str
    checkpoint: Checkpoint
    state: MonitorState
    state_path: Path | None
    mirror: Path | None
    rederive: bool = True
    witnessed: str | None = None  # ``policy.witnessed_at`` of the checkpoint, with a policy

    @property
    def pending(self) -> int:
        return self.checkpoint.size - self.state.size

    def run(self, progress: Progress | None = None) -> MonitorResult:
        """Fetch and verify the new events; keep the mirror (or, on a first run without one, a
        temporary one) and re-derive every record's state from it; save the state."""
        import tempfile

        try:
            if self.mirror is not None or self.state.size or not self.rederive:
                return _run(self, self.mirror, progress)
            with tempfile.TemporaryDirectory(prefix="ledger-monitor-") as folder:
                return _run(self, Path(folder) / "rederive.db", progress, keep=False)
        except CheckpointRefused as exc:
            raise keep_refused(exc, self.note, self.checkpoint, self.state_path) from None


def refused_name(state_path: Path, checkpoint: Checkpoint) -> Path:
    """Return where ``keep_refused`` keeps a checkpoint refused by a run with this state file:
    beside it, named by the checkpoint's size and the first 16 hex digits of its root."""
    return state_path.with_name(
        f"{state_path.name}.refused-{checkpoint.size}-{checkpoint.root.hex()[:16]}.txt")


def keep_refused(exc: CheckpointRefused, note: str, checkpoint: Checkpoint,
                 state_path: Path | None) -> CheckpointRefused:
    """Keep the signed checkpoint a run refused (``refused_name``), as the log served it: the
    log may serve another one by the next run, and with the one the state file holds it is the
    evidence — two roots signed at one size are a split view, which ``ledger verify --checkpoint``
    names. Return the refusal, saying where it is kept (or why it could not be)."""
    if state_path is None:
        return exc
    kept: Path | None = refused_name(state_path, checkpoint)
    try:
        with output_file(str(kept)) as handle:
            handle.write(note.encode())
    except (OSError, RefusedInput) as why:
        said, kept = f" (the checkpoint it served could not be kept beside the state file: {why})", None
    else:
        said = (f" (the checkpoint it served is kept, as signed, in {kept}; the one seen "
                f"before is in the state file {state_path})")
    return CheckpointRefused(exc.seq, exc.reason + said, exc.expected, exc.computed,
                             None if kept is None else str(kept))


def prepare(source: Source, verifier: Verifier, state_path: Path | None,
            mirror: Path | None, policy: Policy | None = None, rederive: bool = True) -> Follow:
    """Fetch the checkpoint, check its signature (and with ``policy``, that its witness
    cosignatures meet the quorum) and that it does not go back on the state (a rollback, or
    another root at the same size: VerificationError); return the run to make. A state file
    that could not be written (its folder missing or not writable) is refused first, not after
    the whole log."""
    if state_path is not None:
        check_output(str(state_path))
    note_bytes = source.get("checkpoint")
    if note_bytes is None:
        where = url_shown(source.where) if source.where is not None else "the log"
        raise MonitorError(f"{where} serves no checkpoint (no file `checkpoint` there): give the "
                           "folder or URL `ledger tiles` wrote, the one that holds `checkpoint` and "
                           "`tile/`")
    note = note_bytes.decode("utf-8", errors="replace")
    checkpoint = open_checkpoint(note, verifier)
    witnessed = None
    if policy is not None:
        witnessed = open_witnessed(note, policy, verifier)[2]
    state = MonitorState.load(state_path)
    try:
        _check_not_back(state, checkpoint)
    except CheckpointRefused as exc:
        raise keep_refused(exc, note, checkpoint, state_path) from None
    return Follow(source, note, checkpoint, state, state_path, mirror, rederive, witnessed)


def monitor(source: Source, verifier: Verifier, state_path: Path | None, mirror: Path | None,
            progress: Progress | None = None, rederive: bool = True) -> MonitorResult:
    """Follow the log once (see the module); raise VerificationError for a fork or rollback.
    ``rederive`` False: check the log only (without a mirror, fold no record)."""
    return prepare(source, verifier, state_path, mirror, rederive=rederive).run(progress)


def _run(job: Follow, mirror: Path | None, progress: Progress | None,
         keep: bool = True) -> MonitorResult:
    checkpoint, state = job.checkpoint, job.state
    building: Path | None = None  # a new mirror is made here, and put in place once complete
    windows = _windows(job.source, state.size, checkpoint.size, mirror is not None)
    # A mirror holding no event yet takes the format of the log's first new event: a v1 log's
    # events have no commitments (a v2 mirror would refuse them)
    first = next(windows, None) if mirror is not None else None
    version = (None if first is None or not first.events
               else 1 if first.events[0].commitments is None else 2)
    conn: sqlite3.Connection | None = None
    done = False
    try:
        if mirror is not None:
            conn, building = _open_mirror(_followed(mirror), checkpoint.origin, version)
        if conn is not None and store.head(conn)[0] != state.size:
            raise RefusedInput(f"the mirror {mirror} holds {store.head(conn)[0]} events but the "
                               f"state file says {state.size} were seen: give the state file it "
                               "was kept with")
        frontier = Frontier([(level, bytes.fromhex(h)) for level, h in state.frontier])
        tally = _Tally()

        def checked() -> Iterator[tuple[Event, bytes]]:
            """The new events as they arrive (one fetch window held at a time); at the end,
            raise unless they give the checkpoint's root (a mirror's transaction then rolls
            back: it keeps only what was verified)."""
            for window in itertools.chain([first] if first is not None else [], windows):
                for leaf in window.leaves:
                    frontier.append(leaf)
                tally.merge(window.tally)
                if progress is not None:
                    progress(len(window.leaves))
                if conn is not None:
                    yield from zip(window.events, window.leaves, strict=True)
            if frontier.root() != checkpoint.root:
                raise CheckpointRefused(checkpoint.size, (
                    f"the log's checkpoint of size {checkpoint.size} does not extend the history "
                    f"this monitor saw up to size {state.size}: the entries it now serves give "
                    "another root (a fork, or a rewritten history); refusing it"),
                    checkpoint.root_b64, base64.b64encode(frontier.root()).decode())
            tally.check_covered()
            if conn is not None and keep and tally.later:
                raise MonitorError(
                    f"the log at size {checkpoint.size} serves {tally.later} payload member(s) "
                    "withheld by a purge after that checkpoint, which it cannot show: a mirror "
                    "takes them only with a checkpoint that covers the purge (the mirror and the "
                    "state file are left as they were; run again when the log publishes one)")

        statuses, changed, new = None, [], []
        if conn is None:
            for _ in checked():
                pass
        else:
            _extend_mirror(conn, job.source, checked(), tally, state.size, checkpoint.origin,
                           job.note)
            statuses, changed = views.status_counts(conn), views.statuses(conn, tally.records)
            new = sorted(tally.first)
        done = True
    finally:
        windows.close()
        if conn is not None:
            if done and building is not None:  # the whole new mirror in its one file, named next
                store.truncate_wal(conn)
            conn.close()
        if building is not None:  # not a half-made mirror: none at all
            try:
                if done and mirror is not None:
                    _put_in_place(building, _followed(mirror))
            finally:
                _remove(building)
    result = MonitorResult(checkpoint.origin, checkpoint.size, state.size, tally.events,
                           tally.withheld, len(tally.purges),
                           str(mirror) if mirror and keep else None, statuses, changed, new,
                           job.witnessed)
    MonitorState(checkpoint.origin, checkpoint.size, checkpoint.root.hex(),
                 [(level, h.hex()) for level, h in frontier.nodes], job.note).save(job.state_path,
                                                                                   state)
    return result


@dataclass
class _Tally:
    """What a run's new events add up to, kept as they stream past: their number, the members
    withheld in them, the purges among them, and (for a mirror) the records they touch."""

    events: int = 0
    withheld: int = 0
    purges: list[Event] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)
    notes: list[tuple[Any, ...]] = field(default_factory=list)  # for purge.replay
    later: int = 0  # members withheld by a purge after the checkpoint (which it cannot show)
    first: set[str] = field(default_factory=set)  # records whose first version is among them

    @property
    def records(self) -> list[str]:
        """The records the new events touch, by id."""
        return sorted(self.touched - {""})

    def add(self, event: Event, size: int) -> None:
        """Count one checked event of a log of ``size`` events; check what it withholds."""
        self.events += 1
        self.touched.add(event.record_id)
        if event.type == "record.published":
            self.first.add(event.record_id)
        if event.commitments is None:
            return
        withheld: dict[str, Any] = {}
        if '"withheld"' in event.payload_json:
            payload = event.payload
            withheld = {name: value for name, value in payload.items() if is_withheld(value)}
            self.withheld += len(withheld)
            later = {name for name, value in withheld.items()
                     if check_withheld_member(event.seq, event.contract, payload, name, value, size)}
            self.later += len(later)
            withheld = {name: value for name, value in withheld.items() if name not in later}
        if withheld or event.type == PURGE_TYPE or (
                event.type == "notice.issued" and '"removal"' in event.payload_json):
            note_event(self.notes, event.seq, event.type, event.record_id, event.payload, withheld)
        if event.type == PURGE_TYPE:
            self.purges.append(event)

    def check_covered(self) -> None:
        """Raise VerificationError for the first member withheld in these events that no purge
        among them covers with exactly its marker (a purge is always after what it withholds,
        so one this run fetched covers each; a purge whose removal notice was seen in an
        earlier run covers only members seen then, which are not fetched again)."""
        removals = {(note[2], note[3].get("notice_id")) for note in self.notes
                    if note[0] == "removal"}
        notes = [note for note in self.notes
                 if note[0] != "purge" or (note[2], note[3].get("notice_id")) in removals]
        replay(sorted(notes, key=lambda note: int(note[1]))).finish()

    def merge(self, other: _Tally) -> None:
        self.events += other.events
        self.withheld += other.withheld
        self.purges += other.purges
        self.touched |= other.touched
        self.notes += other.notes
        self.later += other.later
        self.first |= other.first

    def message(self) -> tuple[Any, ...]:
        """This tally as a helper's message (``marshal``: plain tuples, lists and strings)."""
        return (self.events, self.withheld, [tuple(e) for e in self.purges], list(self.touched),
                self.notes, self.later, list(self.first))

    @classmethod
    def of_message(cls, message: Sequence[Any]) -> _Tally:
        events, withheld, purges, touched, notes, later, first = message
        return cls(events, withheld, [Event(*e) for e in purges], set(touched),
                   [tuple(note) for note in notes], later, set(first))


def _check_not_back(state: MonitorState, checkpoint: Checkpoint) -> None:
    if not state.size:
        return
    if checkpoint.origin != state.origin:
        raise RefusedInput(f"the checkpoint is of {checkpoint.origin}, the state file of "
                           f"{state.origin}: use another state file")
    if checkpoint.size < state.size:
        gone = (f"seq {state.size}" if checkpoint.size + 1 == state.size
                else f"seqs {checkpoint.size + 1} to {state.size}")
        raise CheckpointRefused(checkpoint.size + 1, (
            f"the log now serves a checkpoint of size {checkpoint.size}, smaller than the size "
            f"{state.size} this monitor saw before: a rollback, which no longer covers {gone}; "
            "refusing it"), str(state.size),
            str(checkpoint.size))
    if checkpoint.size == state.size and checkpoint.root.hex() != state.root:
        raise CheckpointRefused(checkpoint.size, (
            f"the log serves a checkpoint of size {checkpoint.size} with another root than the one "
            "this monitor saw at that size: a fork; refusing it"), state.root, checkpoint.root.hex())


@dataclass
class _Window:
    """The checked new entries of a run of consecutive entry bundles: their leaf hashes, their
    events (only when a mirror keeps them) and what they add up to."""

    leaves: list[bytes]
    events: list[Event]
    tally: _Tally


def _windows(source: Source, seen: int, size: int, keep: bool) -> Generator[_Window, None, None]:
    """Yield, in order, the checked entries with seen < seq <= size, one window of bundles at
    a time (memory does not grow with the log): each entry checked against its level-0 tile
    hash and (format v2) its members against their commitments.

    From PARALLEL_FROM new events, and for a source a helper can open again, ``HELPERS`` helper
    processes check windows of CHUNK bundles (helper i takes windows i, i + HELPERS, …) while
    this process reads their results in order. A helper that finds anything wrong, or stops,
    hands its window back: from there this process checks every window itself, so a refusal
    is exactly the one a single process gives."""
    last = -(-size // WIDTH)  # one past the last bundle
    bundles = last - seen // WIDTH
    done = 0  # windows of CHUNK bundles read from helpers
    if source.where is not None and size - seen >= PARALLEL_FROM:
        running = [Helper(window_worker, source.where, str(seen), str(size), str(i),
                          str(HELPERS), str(int(keep))) for i in range(HELPERS)]
        try:
            streams = [h.messages() for h in running]
            while done * CHUNK < bundles:
                message = next(streams[done % HELPERS], None)
                if message is None or message[0] != "ok" or message[1] != done:
                    break  # this window (and every later one) is checked here
                _, _, leaves, events, tally = message
                yield _Window([leaves[i:i + 32] for i in range(0, len(leaves), 32)],
                              [Event(*e) for e in events], _Tally.of_message(tally))
                done += 1
        except HelperStopped:
            pass
        finally:
            for helper in running:
                helper.close()
    first = seen // WIDTH + done * CHUNK
    for start in range(first, last, FETCHERS * 4):
        yield _window(source, seen, size, start, min(start + FETCHERS * 4, last), keep)


def _window(source: Source, seen: int, size: int, first: int, end: int, keep: bool,
            files: list[bytes | None] | None = None) -> _Window:
    """Fetch (unless ``files`` holds them, in ``_window_paths`` order) and check entry bundles
    first..end-1; return their new entries."""
    numbers = range(first, end)
    widths = [min(WIDTH, size - n * WIDTH) for n in numbers]
    paths = _window_paths(size, first, end)
    if files is None:
        files = source.get_many(paths)
    window = _Window([], [], _Tally())
    for i, (n, width) in enumerate(zip(numbers, widths, strict=True)):
        entries, tile, members = files[3 * i:3 * i + 3]
        if entries is None or tile is None:
            missing = paths[3 * i] if entries is None else paths[3 * i + 1]
            raise MonitorError(f"the log serves no {missing} although its checkpoint (size "
                               f"{size}) needs it")
        for seq, event, leaf in _bundle(n, width, entries, tile, members):
            if seq > seen:
                window.leaves.append(leaf)
                window.tally.add(event, size)
                if keep:
                    window.events.append(event)
    return window


def _window_paths(size: int, first: int, end: int) -> list[str]:
    """The entry bundle, level-0 tile and members file of each bundle first..end-1."""
    return [p for n in range(first, end) for w in (min(WIDTH, size - n * WIDTH),)
            for p in (tile_path("entries", n, w), tile_path(0, n, w), f"members/{tile_index(n)}.json")]


def window_worker(where: str, seen: str, size: str, first: str, step: str, keep: str) -> None:
    """The helper of ``_windows``: check windows first, first + step, … of CHUNK bundles and
    send each (its leaves, its events if kept, its tally); at anything wrong, say "bad" and
    stop (the caller checks that window itself and names the problem)."""
    low, high = int(seen), int(size)
    source = source_of(where)
    last = -(-high // WIDTH)
    numbers = range(int(first), -(-(last - low // WIDTH) // CHUNK), int(step))
    spans = [(low // WIDTH + n * CHUNK, min(low // WIDTH + (n + 1) * CHUNK, last)) for n in numbers]
    # The next window is fetched while this one is checked (the fetch mostly waits on I/O).
    ahead = ThreadPoolExecutor(1)

    def fetch(k: int) -> Future[list[bytes | None]] | None:
        return ahead.submit(source.get_many, _window_paths(high, *spans[k])) if k < len(spans) else None

    try:
        pending = fetch(0)
        for k, (number, span) in enumerate(zip(numbers, spans, strict=True)):
            try:
                files = pending.result() if pending is not None else None
                pending = fetch(k + 1)
                window = _window(source, low, high, *span, keep == "1", files)
            except LedgerError:
                send(("bad", number))
                return
            send(("ok", number, b"".join(window.leaves), [tuple(e) for e in window.events],
                  window.tally.message()))
    finally:
        ahead.shutdown(cancel_futures=True)
        source.close()
    send(("done",))


def _bundle(n: int, width: int, entries: bytes, tile: bytes,
            members: bytes | None) -> list[tuple[int, Event, bytes]]:
    """Return (seq, event, leaf hash) of a bundle's entries, each checked against its tile."""
    leaves, i = [], 0
    while i < len(entries):
        if i + 2 > len(entries):
            raise CorruptEvent(f"entry bundle {n}: truncated")
        (length,) = struct.unpack(">H", entries[i:i + 2])
        leaves.append(entries[i + 2:i + 2 + length])
        i += 2 + length
    if len(leaves) != width or len(tile) != 32 * width:
        raise CorruptEvent(f"entry bundle {n} holds {len(leaves)} entries and its tile "
                           f"{len(tile) // 32} hashes; the checkpoint needs {width}")
    by_seq = _members_by_seq(n, members) if members is not None else {}
    out = []
    for j, canonical in enumerate(leaves):
        seq = n * WIDTH + j + 1
        leaf = tile[32 * j:32 * j + 32]
        if leaf_hash(canonical) != leaf:
            raise VerificationError(seq, f"entry {seq - 1} does not hash to its level-0 tile "
                                    "hash: the entries or the tiles were changed", "", "")
        event = _event(seq, canonical, by_seq.get(seq))
        out.append((seq, event, leaf))
    return out


def _members_by_seq(n: int, members: bytes) -> dict[int, Any]:
    """Return the items of members file ``n`` by seq; raise CorruptEvent unless it is a JSON
    array of objects, each with an integer ``seq`` (what is in them, ``_event`` checks)."""
    by_seq: dict[int, Any] = {}
    try:
        for item in orjson.loads(members):
            if type(item.get("seq")) is not int:
                raise TypeError(f"an item's seq is {item.get('seq')!r:.20}")
            by_seq[item["seq"]] = item
    except (orjson.JSONDecodeError, TypeError, AttributeError) as exc:
        raise CorruptEvent(f"members file {tile_index(n)}.json is not a JSON array of "
                           f'{{"seq", "payload", "salts"}} objects ({exc})') from None
    return by_seq


def _event(seq: int, canonical: bytes, members: Any) -> Event:
    """Return the stored event an entry (and its members) stand for, its hash checked."""
    opened, plain = None, False
    try:
        env = orjson.loads(canonical)
        if env.get("seq") != seq:
            raise VerificationError(seq, f"entry {seq - 1} is seq {env.get('seq')}", str(seq), "")
        if "commitments" in env:
            if members is None:
                raise MonitorError(f"the log serves no members for seq {seq} (format v2)")
            # The common case in one pass: every member present and matching its commitment,
            # its canonical text made once; anything else takes check_members below. A plain
            # envelope's salts and commitments are objects of strings with the payload's ASCII
            # names (as open_members found them): their sorted text is their JCS text.
            opened = open_members(members["payload"], members["salts"], env["commitments"])
            plain = opened is not None and _plain_envelope(env, canonical)
            text = _sorted_text if plain else _jcs
            event = Event(seq, env["type"], env["record_id"], env["contract"],
                          opened if opened is not None else _jcs(members["payload"]),
                          env["actor"], env["recorded_at"], env["prev_hash"],
                          event_hash(canonical, True), text(members["salts"]),
                          text(env["commitments"]))
        else:
            event = Event(seq, env["type"], env["record_id"], env["contract"],
                          _jcs(env["payload"]), env["actor"], env["recorded_at"],
                          env["prev_hash"], event_hash(canonical))
        if not plain and canonical_of(event) != canonical:
            raise VerificationError(seq, "the entry is not in canonical form", "", "")
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise CorruptEvent(f"seq {seq}: the entry is not an event envelope ({exc!r})") from None
    except RefusedInput as exc:  # a served value JSON has no canonical text for (2**60)
        raise CorruptEvent(f"seq {seq}: the entry or its members hold a value with no "
                           f"canonical form: {exc}") from None
    if event.commitments is not None and opened is None:
        check_members(event)
    return event


_ENVELOPE_V2 = frozenset(("actor", "commitments", "contract", "prev_hash", "record_id", "recorded_at",
                          "seq", "type"))
_TEXT_FIELDS = ("actor", "contract", "prev_hash", "record_id", "recorded_at", "type")


def _plain_envelope(env: dict[str, Any], canonical: bytes) -> bool:
    """Return whether ``canonical`` is the JCS text of a v2 envelope of exactly its fields:
    strings, an integer seq, the commitments (checked by the caller), and orjson's sorted
    compact text of it equal to the bytes — JCS for these ASCII keys, since orjson escapes a
    string exactly as JCS does (``tests/test_monitor.py`` compares them over every code point
    below U+3000). Anything else (False) is rebuilt field by field by ``canonical_of``."""
    return (env.keys() == _ENVELOPE_V2 and type(env["seq"]) is int
            and all(type(env[name]) is str for name in _TEXT_FIELDS)
            and orjson.dumps(env, option=orjson.OPT_SORT_KEYS) == canonical)


def _jcs(value: Any) -> str:
    """JCS text of a value: orjson's sorted-key text for an object of strings with ASCII names
    (salts, commitments), which is exactly JCS for it; ``canonical_bytes`` for anything else."""
    if (type(value) is dict and all(type(v) is str for v in value.values())
            and "".join(value).isascii()):
        return _sorted_text(value)
    return canonical_bytes(value).decode("utf-8")


def _sorted_text(value: Any) -> str:
    """orjson's sorted-key compact text of a value (JCS for objects of strings, ASCII names)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode("utf-8")


# -- the mirror --------------------------------------------------------------------------------


def _remove(path: Path) -> None:
    """Remove a mirror ledger file and the files SQLite keeps beside it."""
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        name.unlink(missing_ok=True)


def _open_mirror(path: Path, origin: str,
                 version: int | None) -> tuple[sqlite3.Connection, Path | None]:
    """Return the mirror ledger, and where it is being built if it is new: a new one (of event
    format ``version``, or 2 if the log has not said) is made in a temporary file beside
    ``path``, put in place only once complete (``_put_in_place``), so a run that fails, or runs
    beside another, never removes or half-writes a mirror at ``path``. One that holds no event
    yet is made anew in the log's format."""
    if path.exists() and version is not None:
        conn = store.open_ledger(path)
        anew = (store.head(conn)[0] == 0 and store.event_format(conn) != version
                and store.meta(conn, "mirror_of") == origin)  # an earlier run's, still empty
        conn.close()
        if anew:
            _remove(path)
    if not path.exists():
        store.check_creatable(path)  # named as the mirror, not as the file it is built in
        _remove_abandoned(path)
        building = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        return store.create(building, rfc3339(utc_now()), version or store.FORMAT_VERSION), building
    conn = store.open_ledger(path)
    mirrored = store.meta(conn, "mirror_of")
    if mirrored != origin:
        conn.close()
        raise RefusedInput(f"{path} is not a mirror of {origin} (it is "
                           f"{'a mirror of ' + mirrored if mirrored else 'a ledger of its own'})")
    return conn, None


def _followed(path: Path) -> Path:
    """Return the file a mirror named through a symlink is: a new mirror is built beside it and
    given its name (the symlink's own name is taken: before, a symlink to a mirror not yet made
    read as `another run made mirror.db while this one built it`)."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _remove_abandoned(path: Path) -> None:
    """Remove the new mirrors that runs since killed (SIGKILL, a power cut) left half-built
    beside ``path``: those whose process is gone. One of a process still running is left."""
    for found in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        pid = found.name[len(path.name) + 2:].split(".", 1)[0]
        if not pid.isdigit() or int(pid) in (0, os.getpid()) or not found.is_file():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                _remove(found)
        except OSError:  # it exists (another user's) or cannot be asked: left
            continue


def _put_in_place(building: Path, path: Path) -> None:
    """Give the complete new mirror (closed: SQLite has folded its write-ahead log into it) its
    name, unless a file of that name appeared meanwhile (another monitor's mirror): never
    replaced."""
    taken = RefusedInput(f"another run made {path} while this one built it: it is left as it "
                         "is, and this run's mirror and state file are not kept; run again "
                         "(with the state file kept with that mirror)")
    try:
        os.link(building, path)
    except FileExistsError:
        if path.is_symlink():  # one ``_followed`` could not follow: a loop
            raise RefusedInput(f"{path} is a symlink that leads to no file (a loop?): give the "
                               "mirror's own path") from None
        raise taken from None
    except OSError:  # a file system without hard links: renamed, if the name is still free
        if path.exists():
            raise taken from None
        os.rename(building, path)


def _extend_mirror(conn: sqlite3.Connection, source: Source,
                   events: Iterator[tuple[Event, bytes]], tally: _Tally, seen: int,
                   origin: str, note: str) -> None:
    """Append the verified events to the mirror as they stream in, in one transaction (which
    rolls back if the stream ends in a refusal), carry purges into it, store the checkpoint they
    were verified against (``note``, as the log served it: `status`, `audit` and the indexers'
    exports of the mirror name it), and bring its views up to date: rebuilt on the first run,
    else only the records the new events touch."""
    from ledger.ops.maintenance import rebuild
    from ledger.ops.proofs import store_cosigned

    first = store.head(conn)[0] == 0
    with store.write_transaction(conn):
        if store.head(conn)[0] != seen:  # another run extended it since this one looked
            raise RefusedInput(f"the mirror was extended to {store.head(conn)[0]} events by "
                               f"another run while this one verified from {seen}: this run's "
                               "events and state file are not kept; run again with the state "
                               "file kept with the mirror")
        if first:
            views.create_views(conn)
            store.set_meta(conn, "mirror_of", origin)
        frontier = _frontier(conn)
        v2 = store.event_format(conn) >= 2
        for event, leaf in events:
            if event.commitments is None and v2:
                raise RefusedInput("the log is format v1 but the mirror file is format v2: give "
                                   "a new mirror file")
            if event.seq == 1 and event.type == "key.added":
                raise RefusedInput("the log is a signed ledger: its batch signatures are not "
                                   "published with the tiles, so a mirror could not verify")
            try:
                store.insert_event(conn, event)
            except sqlite3.IntegrityError:  # it does not extend the mirror's chain: a fork,
                for _ in events:  # which the stream's end names (its root check); else this
                    pass
                raise
            proofstore.insert_hashes(conn, stored_count(event.seq - 1),
                                     frontier.append(leaf))
        for purge in tally.purges:  # carry each purge into events mirrored before it
            for entry in purge.payload.get("purged", []):
                seq = int(entry["seq"])
                if seq <= seen:
                    _withhold(conn, source, seq)
        store_cosigned(conn, note, rfc3339(utc_now()))  # the events gave its root
        if not first and tally.events:
            from ledger.model.state import fold

            for rid in tally.records:
                state = fold(store.record_events(conn, rid))
                if state is None:
                    continue
                views.write_rows(conn, views.read_rows(conn, rid), views.rows_for(state))
            views.set_applied(conn, *store.head(conn))
    if first:
        rebuild(conn)


def _frontier(conn: sqlite3.Connection) -> Frontier:
    from ledger.ops.batch import load_frontier

    return load_frontier(conn, store.head(conn)[0])


def _withhold(conn: sqlite3.Connection, source: Source, seq: int) -> None:
    n = (seq - 1) // WIDTH
    members = source.get(f"members/{tile_index(n)}.json")
    item = _members_by_seq(n, members).get(seq) if members is not None else None
    if item is None:
        raise MonitorError(f"the log serves no members for seq {seq}")
    stored = next(store.iter_events(conn, seq - 1, seq))
    try:
        event = stored._replace(payload_json=_jcs(item.get("payload")),
                                salts=_jcs(item.get("salts")))
    except RefusedInput as exc:
        raise CorruptEvent(f"seq {seq}: its members hold a value with no canonical form: "
                           f"{exc}") from None
    check_members(event)
    store.withhold(conn, seq, event.payload_json, event.salts or "{}")


__all__ = ["DirSource", "Follow", "HttpSource", "MonitorError", "MonitorResult", "Source", "monitor",
           "prepare", "source_of"]
