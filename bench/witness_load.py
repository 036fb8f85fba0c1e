"""Load on one witness: LOGS logs × PER_LOG checkpoints each, every request sent at once.

Each log's checkpoints grow (sizes 10, 20, …), and each request is sent as a log would send it:
from the size before it, with the consistency proof; on 409 it is sent again from the size the
witness returned if that is smaller than its own (else it is stale, and done). Afterwards: no
request may have failed (no 5xx, no connection error, no status other than 200 and 409), every
cosignature returned must verify, and the witness's latest checkpoint of every log must be its
largest (no lost update). Reports the latency of the requests and the throughput.

    python -m bench.witness_load [LOGS PER_LOG]
"""

from __future__ import annotations

import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from ledger.core.checkpoint import Checkpoint, format_checkpoint, parse_checkpoint
from ledger.core.cosignature import check_cosignature, parse_cosigner_key
from ledger.core.encoding import b64, unb64
from ledger.core.merkle import leaf_hash, prove_consistency, stored_index, tree_root
from ledger.core.note import encode_keys, parse_signer, sign_note, verifier_key

ROOT = Path(__file__).resolve().parents[1]
STEP = 10


class Tree:
    """An in-memory RFC 6962 tree of made-up leaves (the witness sees only hashes)."""

    def __init__(self, label: str, size: int) -> None:
        self.hashes: dict[int, bytes] = {}
        levels = [[leaf_hash(f"{label}/{i}".encode()) for i in range(size)]]
        while len(levels[-1]) > 1:
            below = levels[-1]
            levels.append([hashlib.sha256(b"\x01" + below[i] + below[i + 1]).digest()
                           for i in range(0, len(below) - 1, 2)])
        for level, row in enumerate(levels):
            for index, digest in enumerate(row):
                self.hashes[stored_index(level, index)] = digest

    def read(self, positions: Any) -> list[bytes]:
        return [self.hashes[p] for p in positions]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(logs: int = 20, per_log: int = 10, folder: Path | None = None) -> dict[str, float]:
    """Start a witness, send logs × per_log requests at once, check, stop; return the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        where = folder or Path(tmp)
        keys = [parse_signer(encode_keys(f"log{n}.example", os.urandom(32))[0]) for n in range(logs)]
        (where / "logs.txt").write_text("".join(f"log {verifier_key(k)}\n" for k in keys))
        made = subprocess.run([sys.executable, "-c", "from cli.main import main; main()", "witness",
                               "keygen", "bench.example/w", "-o", str(where / "w.key")],
                              cwd=ROOT, capture_output=True, text=True, check=True)
        witness = parse_cosigner_key(made.stdout.strip())
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-c", "from cli.main import main; main()", "witness", "serve",
             "--key", str(where / "w.key"), "--logs", str(where / "logs.txt"), "--db",
             str(where / "w.db"), "--listen", f"127.0.0.1:{port}"], cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            _wait(url)
            return _load(url, keys, witness, per_log)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _wait(url: str) -> None:
    for _ in range(200):
        try:
            httpx.get(url + "/", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise TimeoutError(url)


def _load(url: str, keys: list[Any], witness: Any, per_log: int) -> dict[str, float]:
    sizes = [STEP * (k + 1) for k in range(per_log)]
    jobs = []
    for signer in keys:
        tree = Tree(signer.name, sizes[-1])
        roots = {s: tree_root(s, tree.read) for s in [0, *sizes]}
        notes = {s: sign_note(signer, format_checkpoint(Checkpoint(signer.name, s, roots[s])))
                 for s in sizes}
        proofs = {(old, new): [b64(h) for h in prove_consistency(old, new, tree.read)]
                  for new in sizes for old in [0, *sizes] if 0 < old < new}
        for k, size in enumerate(sizes):
            jobs.append((notes[size], [0, *sizes][k], size, proofs))
    latencies: list[float] = []
    problems: list[str] = []
    cosigned: list[tuple[str, str]] = []
    limits = httpx.Limits(max_connections=len(jobs), max_keepalive_connections=len(jobs))

    def send(client: httpx.Client, job: Any) -> None:
        note, old, size, proofs = job
        while True:
            body = (f"old {old}\n" + "".join(p + "\n" for p in proofs.get((old, size), []))
                    + "\n" + note)
            start = time.perf_counter()
            try:
                reply = client.post(url + "/add-checkpoint", content=body.encode())
            except httpx.HTTPError as exc:
                problems.append(f"{type(exc).__name__}: {exc}")
                return
            latencies.append(time.perf_counter() - start)
            if reply.status_code == 200:
                cosigned.append((note, reply.text))
                return
            if reply.status_code == 409 and int(reply.text) < size:
                old = int(reply.text)  # the witness is further on: send from its size
                continue
            if reply.status_code == 409:
                return  # stale: a larger checkpoint of this log was cosigned first
            problems.append(f"HTTP {reply.status_code}: {reply.text[:100]}")
            return

    with httpx.Client(timeout=60, limits=limits) as client, ThreadPoolExecutor(len(jobs)) as pool:
        start = time.perf_counter()
        list(pool.map(lambda job: send(client, job), jobs))
        wall = time.perf_counter() - start
    for note, line in cosigned:
        body = note.split("\n\n")[0] + "\n"
        check_cosignature(witness, body, unb64(line.strip().split(" ")[2]))
    lost = 0
    for signer in keys:
        origin_hash = hashlib.sha256(signer.name.encode()).hexdigest()
        latest = httpx.get(f"{url}/{origin_hash}/checkpoint", timeout=10).text
        if parse_checkpoint(latest.split("\n\n")[0] + "\n").size != sizes[-1]:
            lost += 1
    if problems or lost:
        raise AssertionError(f"{len(problems)} failed request(s) ({problems[:3]}), {lost} lost update(s)")
    ordered = sorted(latencies)
    return {"witness_requests": len(jobs), "witness_http_calls": len(latencies),
            "witness_cosigned": len(cosigned), "witness_wall_s": wall,
            "witness_rps": len(latencies) / wall,
            "witness_p50_ms": 1000 * statistics.median(ordered),
            "witness_p95_ms": 1000 * ordered[int(0.95 * (len(ordered) - 1))],
            "witness_max_ms": 1000 * ordered[-1]}


if __name__ == "__main__":
    logs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    per_log = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    print(run(logs, per_log))
