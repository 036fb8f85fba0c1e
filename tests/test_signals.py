"""A reader that goes away, Ctrl-C and SIGTERM: never a false alarm (exit 1 means tampering).

Exit 0 when the reader of stdout closed the pipe (`ledger verify | head -0`), 130 with
`Error: interrupted` on SIGINT and 143 with `Error: terminated (SIGTERM)` on SIGTERM, with the
command's cleanup run: nothing half-written is left. Before, click turned a closed pipe into
exit 1 and Ctrl-C into `Error: aborted`, exit 1, and SIGTERM left `-o`'s temporary file behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from tests.conftest import manifest

LEDGER = str(Path(sys.executable).with_name("ledger"))


@pytest.fixture()
def env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "LEDGER_DB": str(tmp_path / "l.db"), "LEDGER_ACTOR": "ed"}
    doc = tmp_path / "m.json"
    doc.write_bytes(orjson.dumps(manifest()))
    subprocess.run([LEDGER, "init"], env=env, check=True, capture_output=True)
    subprocess.run([LEDGER, "publish", str(doc)], env=env, check=True, capture_output=True)
    subprocess.run([LEDGER, "correct", "SRCH:03BE3A05", "--kind", "addendum", "--reason", "r"],
                   env=env, check=True, capture_output=True)
    return env


@pytest.mark.parametrize("args", [
    ["verify"], ["status"], ["show", "SRCH:03BE3A05"], ["history", "SRCH:03BE3A05"],
    ["history", "SRCH:03BE3A05", "--json"], ["log"], ["log", "--jsonl"], ["export"], ["list"],
    ["diff", "SRCH:03BE3A05"], ["render", "SRCH:03BE3A05"], ["feed"], ["prove", "1"],
    ["search", "routing"], ["audit"],
])
def test_a_reader_that_closed_the_pipe_is_no_alarm(env: dict[str, str], args: list[str]) -> None:
    read, write = os.pipe()
    os.close(read)  # every write fails: EPIPE
    try:
        done = subprocess.run([LEDGER, *args], env=env, stdout=write, stderr=subprocess.PIPE,
                              timeout=120)
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (0, b"")


def _as_in_a_terminal() -> None:
    """Give the child SIGINT's default action, as a command typed at a terminal has: a test run
    started in the background by a shell without job control (`make test &` in a script, as a
    CI runner may start it) inherits SIGINT ignored, and Python then installs no Ctrl-C
    handler, rightly — the child would ignore the signal and the test wait for it forever."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize(("signum", "code", "said"), [
    (signal.SIGINT, 130, "Error: interrupted"),
    (signal.SIGTERM, 143, "Error: terminated (SIGTERM)"),
])
def test_a_signal_stops_a_command_with_its_cleanup(env: dict[str, str], tmp_path: Path,
                                                    signum: int, code: int, said: str) -> None:
    """A bulk append waits on its input (a FIFO) in the middle of its second batch: the first
    batch stays, nothing of the second is written, and the exit status and the message say
    what happened and what was kept."""
    fifo = tmp_path / "in.fifo"
    os.mkfifo(fifo)
    proc = subprocess.Popen([LEDGER, "append", "--jsonl", str(fifo), "--batch-size", "2"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=_as_in_a_terminal)
    lines = [orjson.dumps({"contract": "correction-record-v1", "payload": {
        "record_id": "SRCH:03BE3A05", "kind": "clarification", "notice_id": f"C{i}",
        "reason": "r"}}) + b"\n" for i in range(3)]
    with fifo.open("wb") as feed:
        feed.write(b"".join(lines))
        feed.flush()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            head = subprocess.run([LEDGER, "status", "--json"], env=env, capture_output=True)
            if head.returncode == 0 and orjson.loads(head.stdout)["head_seq"] == 4:
                break
            time.sleep(0.05)
        time.sleep(0.2)  # the third line is read; the process waits for the fourth
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    kept = ": 2 event(s) from earlier batches were kept; run the same input again to continue"
    assert (proc.returncode, err.decode().strip()) == (code, said + kept)
    verify = subprocess.run([LEDGER, "verify", "--json"], env=env, capture_output=True)
    assert orjson.loads(verify.stdout)["events"] == 4  # the first batch of two, not the third line


def test_sigterm_leaves_no_half_written_output(env: dict[str, str], tmp_path: Path) -> None:
    """`export -o` stopped while it writes: its temporary file is removed, nothing is left."""
    from bench.synth import items

    many = tmp_path / "many.jsonl"
    many.write_bytes(b"".join(orjson.dumps({"contract": c, "payload": p}) + b"\n"
                             for c, p in items(20_000)))
    subprocess.run([LEDGER, "append", "--jsonl", str(many)], env=env, check=True,
                   capture_output=True)
    out = tmp_path / "out"
    out.mkdir()
    for _ in range(5):
        proc = subprocess.Popen([LEDGER, "export", "--format", "jsonl", "-o", str(out / "x.jsonl")],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while not any(out.iterdir()) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.005)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        if proc.returncode == 143:
            break
        assert proc.returncode == 0, err  # it finished first: try again
        (out / "x.jsonl").unlink()
    assert (proc.returncode, err.decode().strip()) == (143, "Error: terminated (SIGTERM)")
    assert list(out.iterdir()) == []
