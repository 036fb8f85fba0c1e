"""Base64 as every format of the ledger writes it: standard alphabet, padded (RFC 4648 §4).
Reading is strict: a text that is not the canonical encoding of its bytes (stray padding bits,
white space) is refused, so one value has one text."""

from __future__ import annotations

import base64
import binascii


def b64(data: bytes) -> str:
    """Return the standard, padded base64 text of ``data``."""
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def unb64(text: str) -> bytes:
    """Return the bytes of a canonical base64 text; raise ValueError otherwise."""
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ValueError("not valid base64") from None
    if b64(raw) != text:  # refuse non-canonical padding bits
        raise ValueError("not canonical base64")
    return raw
