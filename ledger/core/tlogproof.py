"""C2SP tlog-proof@v1 files: a checkpoint (with any cosignatures), an entry's index, its
inclusion proof, and optional extra data (here: the event's canonical bytes, the Merkle leaf).

    c2sp.org/tlog-proof@v1
    extra <base64>
    index <decimal>
    <base64 proof hash>…

    <signed checkpoint note>
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ledger.core.encoding import unb64
from ledger.errors import SignatureError

HEADER = "c2sp.org/tlog-proof@v1"
_INDEX = re.compile(r"index (0|[1-9][0-9]{0,18})")


@dataclass(frozen=True)
class TlogProof:
    extra: bytes | None
    index: int
    proof: list[bytes]
    note: str


def parse_tlog_proof(text: str) -> TlogProof:
    """Parse a tlog-proof; raise SignatureError naming what is malformed."""
    head, sep, note = text.partition("\n\n")
    lines = head.split("\n")
    if not sep or lines[0] != HEADER:
        raise SignatureError(f"not a tlog-proof: the first line must be {HEADER}, and the "
                             "checkpoint follow an empty line")
    rest, extra = lines[1:], None
    if rest and rest[0].startswith("extra "):
        try:
            extra = unb64(rest[0].removeprefix("extra "))
        except ValueError as exc:
            raise SignatureError(f"tlog-proof extra line: {exc}") from None
        rest = rest[1:]
    match = _INDEX.fullmatch(rest[0]) if rest else None
    if match is None:
        raise SignatureError("tlog-proof: expected an `index N` line (no leading zeros)")
    proof = []
    for n, line in enumerate(rest[1:], 1):
        try:
            digest = unb64(line)
        except ValueError:
            digest = b""
        if len(digest) != 32:
            raise SignatureError(f"tlog-proof: proof line {n} is not a base64 SHA-256 hash")
        proof.append(digest)
    return TlogProof(extra, int(match.group(1)), proof, note)
