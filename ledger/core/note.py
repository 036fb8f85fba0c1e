"""Ed25519 keys and signed notes in the Go sumdb/note and C2SP signed-note formats.

    private key:  PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || 32-byte seed)>
    verifier key: <name>+<hex key id>+<base64(0x01 || 32-byte public key)>
    key id:       first 4 bytes (big-endian) of SHA-256(name || 0x0A || 0x01 || public key)

A note is its text (non-empty lines, each ending in a newline), one blank line, then signature
lines ``— <name> <base64(key id || signature)>`` (U+2014). The signature is Ed25519 over the
text bytes, trailing newline included.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ledger.core.encoding import b64, unb64
from ledger.core.escapes import quoted
from ledger.errors import KeyFormatError, RefusedInput, SignatureError

# cryptography is imported where a key is made or used: a command on a ledger without signatures
# (most of them) never loads it (~10 ms of its start).
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

ALG_ED25519 = 0x01
DASH = "\u2014"


@dataclass(frozen=True)
class Signer:
    name: str
    key_id: int
    key: Ed25519PrivateKey


@dataclass(frozen=True)
class Verifier:
    name: str
    key_id: int
    key: Ed25519PublicKey


def check_name(name: str) -> str:
    """Return ``name`` if it is a valid key name (non-empty, no spaces, no '+')."""
    if not name or "+" in name or any(ch.isspace() for ch in name) or not name.isprintable():
        raise RefusedInput(f"key name {name!r} must be non-empty, without spaces or '+'")
    return name


def key_label(name: str, key_id: int) -> str:
    """Return how a key is named to people: ``name+hex id`` (``pub.example+80dbef5a``), the start
    of its verifier key, as a site page's badge names the key it checked."""
    return f"{name}+{key_id:08x}"


def key_id(name: str, public: bytes) -> int:
    """Return the 32-bit key id of an Ed25519 public key under ``name``."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public).digest()
    return int.from_bytes(digest[:4], "big")


def _unb64(text: str, what: str) -> bytes:
    try:
        return unb64(text)
    except ValueError as exc:
        raise SignatureError(f"{what} is {exc}") from None


def encode_keys(name: str, seed: bytes) -> tuple[str, str]:
    """Return (private key, verifier key) strings for a 32-byte Ed25519 seed."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    check_name(name)
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    kid = key_id(name, public)
    skey = f"PRIVATE+KEY+{name}+{kid:08x}+{b64(bytes([ALG_ED25519]) + seed)}"
    vkey = f"{name}+{kid:08x}+{b64(bytes([ALG_ED25519]) + public)}"
    return skey, vkey


def verifier_key(signer: Signer) -> str:
    """Return the verifier key string of a signer."""
    return encode_keys(signer.name, signer.key.private_bytes_raw())[1]


def parse_signer(text: str) -> Signer:
    """Return the signer of a ``PRIVATE+KEY+…`` string; raise KeyFormatError if malformed."""
    try:
        return _parse_signer(text)
    except SignatureError as exc:
        raise KeyFormatError(f"bad private key: {exc}") from None


def parse_verifier(text: str) -> Verifier:
    """Return the verifier of a ``name+id+key`` string; raise KeyFormatError if malformed."""
    try:
        return _parse_verifier(text)
    except SignatureError as exc:
        raise KeyFormatError(f"bad verifier key: {exc}") from None


def _parse_signer(text: str) -> Signer:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    body = text.strip()
    parts = body.removeprefix("PRIVATE+KEY+").split("+", 2)
    if not body.startswith("PRIVATE+KEY+") or len(parts) != 3:
        raise SignatureError("not a private key (expected PRIVATE+KEY+name+id+key)")
    name, hexid, raw = parts[0], parts[1], _unb64(parts[2], "private key")
    if len(raw) != 33 or raw[0] != ALG_ED25519:
        raise SignatureError("private key is not an Ed25519 key")
    key = Ed25519PrivateKey.from_private_bytes(raw[1:])
    kid = key_id(check_name(name), key.public_key().public_bytes_raw())
    if hexid != f"{kid:08x}":
        raise SignatureError(f"private key id {hexid} does not match its key ({kid:08x})")
    return Signer(name, kid, key)


def _parse_verifier(text: str) -> Verifier:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    parts = text.strip().split("+", 2)
    if len(parts) != 3 or text.startswith("PRIVATE+KEY+"):
        raise SignatureError("not a verifier key (expected name+hexid+base64key)")
    name, hexid, raw = parts[0], parts[1], _unb64(parts[2], "verifier key")
    if len(raw) != 33 or raw[0] != ALG_ED25519:
        raise SignatureError("verifier key is not an Ed25519 key")
    kid = key_id(check_name(name), raw[1:])
    if hexid != f"{kid:08x}":
        raise SignatureError(f"verifier key id {hexid} does not match its key ({kid:08x})")
    return Verifier(name, kid, Ed25519PublicKey.from_public_bytes(raw[1:]))


def signature_line(signer: Signer, text: str) -> str:
    """Return the signature line of ``signer`` over ``text`` (with its newline)."""
    signature = signer.key.sign(text.encode())
    return f"{DASH} {signer.name} {b64(signer.key_id.to_bytes(4, 'big') + signature)}\n"


def sign_note(signer: Signer, text: str) -> str:
    """Return the signed note: text, a blank line, one signature line."""
    if not text.endswith("\n") or "\n\n" in text or not text.strip():
        raise RefusedInput("note text must be non-empty lines, each ending in a newline")
    return text + "\n" + signature_line(signer, text)


def open_note(note: str, verifier: Verifier) -> str:
    """Return the text of ``note`` if it carries a valid signature by ``verifier``.

    Signature lines by other keys are ignored (they may be witnesses); a line by this key that
    does not verify is an error.
    """
    from cryptography.exceptions import InvalidSignature

    text, lines = signature_lines(note)
    found = False
    for name, raw in lines:
        if name != verifier.name or int.from_bytes(raw[:4], "big") != verifier.key_id:
            continue
        try:
            verifier.key.verify(raw[4:], text.encode())
        except InvalidSignature:
            raise SignatureError(f"the signature by {name} does not verify") from None
        found = True
    if not found:
        others = sorted({key_label(name[:100], int.from_bytes(raw[:4], "big"))  # names: anyone's
                         for name, raw in lines})
        signed = f" (it is signed by {', '.join(others[:3])}{', …' if len(others) > 3 else ''})" \
            if others else ""
        raise SignatureError(f"the note has no signature by "
                             f"{key_label(verifier.name, verifier.key_id)}{signed}")
    return text


def signature_lines(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    """Return (the note's text with its final newline, [(key name, key id || signature)] of
    every signature line); raise SignatureError if the note is malformed."""
    text, sep, sigs = note.rpartition("\n\n")
    if not sep or not text or not sigs.endswith("\n"):
        raise SignatureError("malformed note: expected text, a blank line, signature lines")
    return text + "\n", [parse_signature_line(line) for line in sigs[:-1].split("\n")]


def parse_signature_line(line: str) -> tuple[str, bytes]:
    """Return (key name, key id || signature) of one ``— name base64`` line."""
    prefix, _, rest = line.partition(" ")
    name, _, b64 = rest.partition(" ")
    if prefix != DASH or not name or not b64 or " " in b64:
        raise SignatureError(f"malformed signature line {quoted(line, 60)}")
    raw = _unb64(b64, "signature")
    if len(raw) < 5:
        raise SignatureError("signature line is too short")
    return name, raw
