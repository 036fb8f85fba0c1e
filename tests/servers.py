"""Real servers the tests start and stop on 127.0.0.1: Debian's nginx serving a folder with the
cache headers of docs/cli.md, ``ledger witness serve``, and a bare HTTP server that answers what
a test says (a misbehaving host or witness)."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.nginx import NGINX, free_port, serving, wait_for

__all__ = ["NGINX", "ConnectProxy", "RawServer", "certificates", "free_port", "no_proxies",
           "raw_answer", "wait_for"]


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Debian's nginx serving tmp_path/served at a free port on 127.0.0.1, with the cache
    headers of docs/cli.md; yields (URL, served folder)."""
    if NGINX is None:
        pytest.skip("Debian's nginx is not installed (.ci/run installs it)")
    served = tmp_path / "served"
    served.mkdir()
    with serving(served, tmp_path) as url:
        yield url, served


ROOT = Path(__file__).resolve().parents[1]


class WitnessProcess:
    """``ledger witness serve`` in a subprocess on 127.0.0.1 (uvicorn), with its own key, logs
    file and state file in ``folder``; ``stop`` sends SIGTERM (a graceful shutdown)."""

    def __init__(self, folder: Path, name: str, logs: str, prelude: str = "") -> None:
        import sys

        self.folder, self.name, self.prelude = folder, name, prelude  # prelude: Python run first
        folder.mkdir(parents=True, exist_ok=True)
        self.key, self.db = folder / f"{name}.key", folder / f"{name}.db"
        self.logs = folder / f"{name}.logs"
        self.logs.write_text(logs)
        self.python = sys.executable
        made = subprocess.run([self.python, "-c", "from cli.main import main; main()", "witness",
                               "keygen", f"witness.example/{name}", "-o", str(self.key)],
                              cwd=ROOT, capture_output=True, text=True, check=True)
        self.vkey = made.stdout.strip()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.log = (self.folder / f"{self.name}.log").open("ab")
        self.proc = subprocess.Popen(
            [self.python, "-c", f"{self.prelude}from cli.main import main; main()", "witness", "serve",
             "--key", str(self.key), "--logs", str(self.logs), "--db", str(self.db),
             "--listen", f"127.0.0.1:{self.port}"], cwd=ROOT, stdout=self.log, stderr=self.log)
        wait_for(self.port)

    def stop(self) -> int:
        """Send SIGTERM; return the exit status (0) if the witness stopped gracefully (uvicorn
        finishes what is in flight, then the app closes its state file), else non-zero."""
        assert self.proc is not None
        self.proc.terminate()
        code = self.proc.wait(timeout=20)
        self.log.close()
        self.proc = None
        graceful = "stopped: every request answered" in self.said().rsplit("for ", 1)[-1]
        return code if graceful else code or 1

    def said(self) -> str:
        return (self.folder / f"{self.name}.log").read_text()


class Listener:
    """A TCP server on 127.0.0.1 in a thread: ``handle(client)`` for each connection, one after
    another, or each in a thread of its own if ``threads``. ``port``: where it listens."""

    threads = False

    def __init__(self) -> None:
        import socket
        import threading

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import threading

        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            if self.threads:
                threading.Thread(target=self._serve, args=(client,), daemon=True).start()
            else:
                self._serve(client)

    def _serve(self, client: Any) -> None:
        with client:
            self.handle(client)

    def handle(self, client: Any) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.sock.close()


def request_head(client: Any, data: bytes = b"") -> tuple[bytes, bytes] | None:
    """Read from ``client`` (after ``data``) up to the end of a request's line and headers;
    return (them, what follows), or None if the client closed first."""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(4096)
        if not chunk:
            return None
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    return head, rest


class RawServer(Listener):
    """A bare HTTP/1.1 server on 127.0.0.1 in a thread, answering each request with
    ``answer(request number)``'s bytes, then closing the connection if ``close_after``."""

    def __init__(self, answer: Any, close_after: bool = False) -> None:
        self.answer, self.close_after, self.count = answer, close_after, 0
        self.requests: list[bytes] = []  # each request's line and headers
        super().__init__()
        self.url = f"http://127.0.0.1:{self.port}/log/"

    def handle(self, client: Any) -> None:
        data = b""
        while (read := request_head(client, data)) is not None:
            head, data = read
            self.requests.append(head)
            self.count += 1
            client.sendall(self.answer(self.count))
            if self.close_after:
                return


class DrippingServer(Listener):
    """An HTTP/1.1 server on 127.0.0.1 that sends ``answer`` a byte every 0.2 s (its head at
    once, unless ``head_too``), each byte within any per-read timeout; ``count``: requests."""

    def __init__(self, answer: bytes, head_too: bool = False) -> None:
        self.answer, self.head_too, self.count = answer, head_too, 0
        super().__init__()
        self.url = f"http://127.0.0.1:{self.port}/log/"

    def handle(self, client: Any) -> None:
        import contextlib
        import time

        if request_head(client) is None:
            return
        self.count += 1
        start = 0 if self.head_too else self.answer.index(b"\r\n\r\n") + 4
        with contextlib.suppress(OSError):
            client.sendall(self.answer[:start])
            for byte in self.answer[start:]:
                client.sendall(bytes([byte]))
                time.sleep(0.2)


def raw_answer(status: str, body: bytes, length: int | None = None) -> bytes:
    """An HTTP/1.1 answer with ``body`` (and a Content-Length of ``length``, if given)."""
    return (f"HTTP/1.1 {status}\r\nContent-Length: {len(body) if length is None else length}"
            f"\r\n\r\n").encode() + body


def certificates(folder: Path) -> dict[str, Path]:
    """Write a test CA and certificates it signs, in PEM, to ``folder``: ``ca`` (the CA's own
    certificate, for ``SSL_CERT_FILE``), ``local`` (127.0.0.1's chain), ``elsewhere`` (a chain
    for another host name only), ``stranger`` (another CA, which signed neither) and ``key``
    (the one private key of both chains)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def name(text: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    def certificate(subject: str, key: Any, issuer: str, issuer_key: Any,
                    names: list[x509.GeneralName] | None) -> x509.Certificate:
        made = (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(name(issuer))
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + dt.timedelta(days=2))
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                               critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    issuer_key.public_key()), critical=False))
        if names is None:  # a CA
            made = (made.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
                    .add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                                 False, False), critical=True))
        else:
            made = (made.add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
                    .add_extension(x509.SubjectAlternativeName(names), critical=False)
                    .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False))
        return made.sign(issuer_key, hashes.SHA256())

    def pem(*made: x509.Certificate) -> bytes:
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in made)

    ca_key, stranger_key, key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = certificate("Test CA", ca_key, "Test CA", ca_key, None)
    stranger = certificate("Another CA", stranger_key, "Another CA", stranger_key, None)
    local = certificate("127.0.0.1", key, "Test CA", ca_key,
                        [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    elsewhere = certificate("log.example", key, "Test CA", ca_key, [x509.DNSName("log.example")])
    paths = {name: folder / f"{name}.pem" for name in ("ca", "local", "elsewhere", "stranger", "key")}
    paths["ca"].write_bytes(pem(ca))
    paths["stranger"].write_bytes(pem(stranger))
    paths["local"].write_bytes(pem(local, ca))
    paths["elsewhere"].write_bytes(pem(elsewhere, ca))
    paths["key"].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return paths


class ConnectProxy(Listener):
    """A forward proxy on 127.0.0.1, in threads, that takes only ``CONNECT host:port`` (the
    tunnel an https URL is fetched through) and pipes the bytes both ways; ``targets`` lists
    each tunnel's host:port."""

    threads = True

    def __init__(self) -> None:
        self.targets: list[str] = []
        super().__init__()
        self.url = f"http://127.0.0.1:{self.port}"

    def handle(self, client: Any) -> None:
        import selectors
        import socket

        read = request_head(client)
        if read is None:
            return
        method, target, _ = read[0].split(b"\r\n", 1)[0].decode().split(" ", 2)
        if method != "CONNECT":
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        self.targets.append(target)
        host, port = target.rsplit(":", 1)
        try:
            upstream = socket.create_connection((host, int(port)), timeout=10)
        except OSError:
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        with upstream, selectors.DefaultSelector() as selector, \
                contextlib.suppress(OSError):  # either end reset the tunnel: it is over
            client.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            selector.register(client, selectors.EVENT_READ, upstream)
            selector.register(upstream, selectors.EVENT_READ, client)
            while events := selector.select(timeout=30):
                for key, _ in events:
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    key.data.sendall(data)


def no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clear the environment's proxies (as urllib and httpx read them)."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
