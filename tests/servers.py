"""Real servers the tests start and stop on 127.0.0.1: Debian's nginx serving a folder with the
cache headers of docs/cli.md, ``ledger witness serve``, and a bare HTTP server that answers what
a test says (a misbehaving host or witness)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.nginx import NGINX, free_port, serving, wait_for

__all__ = ["NGINX", "RawServer", "free_port", "raw_answer", "wait_for"]


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

    def __init__(self, folder: Path, name: str, logs: str) -> None:
        import sys

        self.folder, self.name = folder, name
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
            [self.python, "-c", "from cli.main import main; main()", "witness", "serve",
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


class RawServer:
    """A bare HTTP/1.1 server on 127.0.0.1 in a thread, answering each request with
    ``answer(request number)``'s bytes, then closing the connection if ``close_after``."""

    def __init__(self, answer: Any, close_after: bool = False) -> None:
        import socket
        import threading

        self.answer, self.close_after, self.count = answer, close_after, 0
        self.requests: list[bytes] = []  # each request's line and headers
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/log/"
        threading.Thread(target=self.run, daemon=True).start()

    def run(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            with client:
                data = b""
                while True:
                    while b"\r\n\r\n" not in data:
                        chunk = client.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    if b"\r\n\r\n" not in data:
                        break
                    head, data = data.split(b"\r\n\r\n", 1)
                    self.requests.append(head)
                    self.count += 1
                    client.sendall(self.answer(self.count))
                    if self.close_after:
                        break

    def close(self) -> None:
        self.sock.close()


def raw_answer(status: str, body: bytes, length: int | None = None) -> bytes:
    """An HTTP/1.1 answer with ``body`` (and a Content-Length of ``length``, if given)."""
    return (f"HTTP/1.1 {status}\r\nContent-Length: {len(body) if length is None else length}"
            f"\r\n\r\n").encode() + body
