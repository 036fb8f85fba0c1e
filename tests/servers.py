"""Real servers the tests start and stop on 127.0.0.1: Debian's nginx serving a folder with the
cache headers of docs/cli.md."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(port: int, seconds: float = 10.0) -> None:
    """Wait until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Debian's nginx serving tmp_path/served at a free port on 127.0.0.1, with the cache
    headers of docs/cli.md; yields (URL, served folder)."""
    if NGINX is None:
        pytest.skip("Debian's nginx is not installed (.ci/run installs it)")
    served = tmp_path / "served"
    served.mkdir()
    port = free_port()
    conf = tmp_path / "nginx.conf"
    user = "user root;" if os.geteuid() == 0 else ""
    conf.write_text(f"""{user}
daemon off; worker_processes 1; pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;
events {{ worker_connections 64; }}
http {{
  access_log off; client_body_temp_path {tmp_path}/body; proxy_temp_path {tmp_path}/proxy;
  fastcgi_temp_path {tmp_path}/fcgi; uwsgi_temp_path {tmp_path}/uwsgi; scgi_temp_path {tmp_path}/scgi;
  server {{
    listen 127.0.0.1:{port};
    location / {{
      root {served};
      default_type application/octet-stream;
      location = /checkpoint {{ default_type "text/plain; charset=utf-8";
                               add_header Cache-Control "max-age=5"; }}
      location /tile/ {{ add_header Cache-Control "public, max-age=31536000, immutable";
                         gzip on; gzip_types application/octet-stream; }}
      location /members/ {{ default_type application/json; add_header Cache-Control "max-age=60"; }}
    }}
  }}
}}
""")
    proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(tmp_path)], stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/"
    wait_for(port)
    try:
        yield url, served
    finally:
        proc.terminate()
        proc.wait(timeout=10)


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
