"""Debian's nginx serving a folder on 127.0.0.1 with the cache headers docs/cli.md gives for a
tiles folder: the local server of the tests (``tests/servers.py``) and of ``make bench``; and
as a forward HTTP proxy (``proxying``), for the monitor's test through a proxy."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

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


@contextlib.contextmanager
def serving(served: Path, work: Path, tls: tuple[Path, Path] | None = None) -> Iterator[str]:
    """Run nginx (NGINX must exist) serving ``served`` at a free port, its configuration, pid
    and logs in ``work``; yield the URL; stop it. ``tls``: (certificate chain, private key) in
    PEM: HTTPS, each handshake a client refuses logged in ``work``/nginx-error.log."""
    with _running(work, "nginx", "access_log off;", f"""
    location / {{
      root {served};
      default_type application/octet-stream;
      location = /checkpoint {{ default_type "text/plain; charset=utf-8";
                               add_header Cache-Control "max-age=5"; }}
      location /tile/ {{ add_header Cache-Control "public, max-age=31536000, immutable";
                         gzip on; gzip_types application/octet-stream; }}
      location /members/ {{ default_type application/json; add_header Cache-Control "max-age=60"; }}
    }}""", tls) as port:
        yield f"{'http' if tls is None else 'https'}://127.0.0.1:{port}/"


@contextlib.contextmanager
def fronting(upstream: str, work: Path, tls: tuple[Path, Path]) -> Iterator[str]:
    """Run nginx (NGINX must exist) as an HTTPS front of the HTTP server at ``upstream`` (a
    reverse proxy, as a witness is deployed), its files in ``work``; yield its URL; stop it."""
    with _running(work, "front", "access_log off;",
                  f"location / {{ proxy_pass {upstream.rstrip('/')}; }}", tls) as port:
        yield f"https://127.0.0.1:{port}/"


@contextlib.contextmanager
def proxying(work: Path) -> Iterator[tuple[str, Path]]:
    """Run nginx (NGINX must exist) as a forward HTTP proxy at a free port (for plain http URLs
    whose host is an address: no resolver), each request line it takes logged; its files in
    ``work``; yield (the proxy's URL, its log); stop it."""
    log = work / "proxied.log"
    with _running(work, "proxy", f"log_format line '$request'; access_log {log} line;",
                  "location / { proxy_pass http://$http_host$request_uri; }") as port:
        yield f"http://127.0.0.1:{port}", log


@contextlib.contextmanager
def _running(work: Path, name: str, logging: str, locations: str,
             tls: tuple[Path, Path] | None = None) -> Iterator[int]:
    """Run nginx with one server on a free port of 127.0.0.1 (``locations`` inside it), its
    configuration, pid and error log in ``work`` under ``name``; yield the port; stop it.
    ``tls``: (certificate chain, private key) in PEM: the server speaks HTTPS, and its error
    log keeps ``info`` lines (failed handshakes)."""
    assert NGINX is not None
    port = free_port()
    conf = work / f"{name}.conf"
    user = "user root;" if os.geteuid() == 0 else ""
    conf.write_text(f"""{user}
daemon off; worker_processes 1; pid {work}/{name}.pid;
error_log {work}/{name}-error.log{"" if tls is None else " info"};
events {{ worker_connections 64; }}
http {{
  {logging} client_body_temp_path {work}/body; proxy_temp_path {work}/proxy;
  fastcgi_temp_path {work}/fcgi; uwsgi_temp_path {work}/uwsgi; scgi_temp_path {work}/scgi;
  server {{
    listen 127.0.0.1:{port}{"" if tls is None else " ssl"};
    {"" if tls is None else f"ssl_certificate {tls[0]}; ssl_certificate_key {tls[1]};"}
    {locations}
  }}
}}
""")
    proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(work)], stderr=subprocess.PIPE)
    try:
        wait_for(port)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
