"""Helper processes: this interpreter running one function of this package, talking over a pipe.

``rebuild`` and ``verify`` share their work with helpers on a large ledger. A helper is started
as ``python -c "…run_helper()" MODULE:FUNCTION ARGS…`` with this package first on its path, so it
runs exactly this code. It writes length-prefixed ``marshal`` messages (tuples) to its stdout;
both ends run the same interpreter, so the format is the same. A helper that cannot start or
stops without a last message raises ``HelperStopped``: the caller then does the work itself.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import marshal
import os
import struct
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import subprocess

PARALLEL_FROM = 50_000  # events: below this, starting helper processes costs more than they save
HELPERS = 2  # helper processes: both cores (verify's blocks; rebuild's folds beside its inserts)
# Each helper's pipe holds this much (Linux's default is 64 KiB, and 1 MiB the most an
# unprivileged process may ask for unless /proc/sys/fs/pipe-max-size says more): a helper then
# runs that far ahead of its reader instead of waiting on a full pipe while the reader is busy
# with another helper's message or its own work (timed in docs/performance-history.md, the
# stop of 2026-12-02 from 01:50).
PIPE_BYTES = 1 << 20
_LENGTH = struct.Struct("<Q")
Message = tuple[Any, ...]


class HelperStopped(Exception):
    """A helper could not start or stopped without saying why."""


def send(message: Message, out: IO[bytes] | None = None) -> None:
    """Write one message (to this process's stdout: a helper's channel)."""
    out = sys.stdout.buffer if out is None else out
    data = marshal.dumps(message)
    out.write(_LENGTH.pack(len(data)))
    out.write(data)
    out.flush()


def receive(source: IO[bytes]) -> Message | None:
    """Read one message; None at the end of the stream (or a message cut short)."""
    head = source.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (size,) = _LENGTH.unpack(head)
    data = source.read(size)
    if len(data) < size:
        return None
    message: Message = marshal.loads(data)  # our own helper's output
    return message


def run_helper() -> None:
    """The helper's entry point: ``sys.argv`` is [-c, MODULE:FUNCTION, ARGS…]."""
    with contextlib.suppress(OSError):  # the process that started us is the critical path
        os.nice(5)
    module, _, function = sys.argv[1].partition(":")
    work = getattr(importlib.import_module(module), function)
    # What is loaded now (modules, the contract models) lives as long as the process: the
    # collector need not scan it again at every full collection of the objects the work makes.
    gc.freeze()
    work(*sys.argv[2:])


def _widen(pipe: IO[bytes]) -> None:
    """Ask the kernel to make ``pipe`` hold PIPE_BYTES; where it cannot (not Linux, or past the
    user's limit on pipe memory), the pipe stays as it was: only slower, never wrong."""
    import fcntl

    grow = getattr(fcntl, "F_SETPIPE_SZ", None)
    if grow is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(pipe.fileno(), grow, PIPE_BYTES)


class Helper:
    """A running helper process; ``messages`` yields what it sends until it ends."""

    def __init__(self, function: Callable[..., None], *args: str) -> None:
        import subprocess  # loaded only by the commands that start helpers

        target = f"{function.__module__}:{function.__qualname__}"  # a module-level function
        root = str(Path(__file__).resolve().parents[2])  # so the helper imports this very code
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (root, os.environ.get("PYTHONPATH", "")) if p)}
        self.proc: subprocess.Popen[bytes] | None = None
        if not sys.executable:
            return
        with contextlib.suppress(OSError):  # no helper: the caller does the work
            self.proc = subprocess.Popen(
                [sys.executable, "-c", "from ledger.ops.helpers import run_helper\nrun_helper()",
                 target, *args],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
            if self.proc.stdout is not None:
                _widen(self.proc.stdout)

    def messages(self) -> Iterator[Message]:
        """Yield every message; raise HelperStopped if the stream ends without ("done",)."""
        if self.proc is None or self.proc.stdout is None:
            raise HelperStopped
        while True:
            message = receive(self.proc.stdout)
            if message is None:
                raise HelperStopped
            if message[0] == "done":
                return
            yield message

    def close(self) -> None:
        """Stop the helper if it still runs, and reap it."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self.proc.wait()
