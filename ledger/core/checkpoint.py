"""C2SP tlog-checkpoint bodies: the format, parsing, and opening a signed checkpoint note.

A checkpoint body is three lines (https://c2sp.org/tlog-checkpoint)::

    <origin>
    <tree size in decimal, no leading zeros>
    <base64 of the 32-byte RFC 6962 root>

signed as a C2SP signed note (see ``ledger.note``). The origin is the signing key's name.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from ledger.core.encoding import b64
from ledger.core.escapes import quoted
from ledger.core.note import Verifier, open_note
from ledger.errors import RefusedInput, SignatureError

_SIZE = re.compile(r"^(0|[1-9][0-9]{0,18})$")


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    @property
    def root_b64(self) -> str:
        return b64(self.root)


def format_checkpoint(checkpoint: Checkpoint) -> str:
    """Return the checkpoint body text."""
    return f"{checkpoint.origin}\n{checkpoint.size}\n{checkpoint.root_b64}\n"


def parse_checkpoint(text: str) -> Checkpoint:
    """Return the checkpoint in a note text; raise SignatureError if it is not one."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "" or not lines[0] or any(not line for line in lines[:-1]):
        raise SignatureError("malformed checkpoint: expected origin, size and root lines")
    if not _SIZE.match(lines[1]):
        raise SignatureError(f"malformed checkpoint size {quoted(lines[1], 30)}")
    try:
        root = base64.b64decode(lines[2], validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("malformed checkpoint root: not base64") from None
    if len(root) != 32 or b64(root) != lines[2]:
        raise SignatureError("malformed checkpoint root: not 32 bytes of canonical base64")
    return Checkpoint(lines[0], int(lines[1]), root)


def open_checkpoint(note: str, verifier: Verifier) -> Checkpoint:
    """Return the checkpoint of a signed note after checking its signature and origin."""
    checkpoint = parse_checkpoint(open_note(note, verifier))
    if checkpoint.origin != verifier.name:
        raise SignatureError(f"checkpoint origin {checkpoint.origin!r} is not the key name "
                             f"{verifier.name!r}")
    return checkpoint


def check_successor(where: str, served: Checkpoint, new: Checkpoint) -> None:
    """Refuse to replace the checkpoint ``where`` serves with ``new`` unless ``new`` is of the
    same log and at least as large, with the same root at the same size: anything else rolls
    the log back (every monitor that followed it refuses that), forks it, or puts another log's
    in its place, and readers would be shown less than they were. (Whether a larger checkpoint
    extends the served one is the log's consistency, which the caller verified.)"""
    if served.origin != new.origin:
        raise RefusedInput(f"{where} serves the log of {served.origin}, not of {new.origin}")
    if served.size > new.size:
        raise RefusedInput(f"{where} serves a checkpoint of size {served.size}: publishing one of "
                           f"size {new.size} would roll the log back for every reader (monitors "
                           "refuse it); publish that checkpoint or a later one")
    if served.size == new.size and served.root != new.root:
        raise RefusedInput(f"{where} serves another root at size {served.size} "
                           f"({served.root_b64}): this checkpoint is of another history")
