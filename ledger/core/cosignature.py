"""Witness cosignatures (C2SP tlog-cosignature, the Ed25519 ``cosignature/v1`` type).

    cosigner private key:  PRIVATE+KEY+<name>+<hex key id>+<base64(0x04 || 32-byte seed)>
    cosigner verifier key: <name>+<hex key id>+<base64(0x04 || 32-byte public key)>
    key id:                first 4 bytes of SHA-256(name || 0x0A || 0x04 || public key)

A cosignature is a note signature line ``— <name> base64(key id || timestamp || signature)``
on a checkpoint, where ``timestamp`` is a big-endian u64 (POSIX seconds) and ``signature`` is
Ed25519 over::

    cosignature/v1
    time <timestamp>
    <the checkpoint's note body, with its final newline>
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.core.encoding import b64, unb64
from ledger.core.note import DASH, check_name
from ledger.errors import SignatureError

ALG_COSIGNATURE_V1 = 0x04
HEADER = "cosignature/v1\n"
MAX_TIMESTAMP = 2**63 - 1


@dataclass(frozen=True)
class Cosigner:
    """A witness's private key."""

    name: str
    key_id: int
    key: Ed25519PrivateKey


@dataclass(frozen=True)
class CosignerKey:
    """A witness's verifier key."""

    name: str
    key_id: int
    key: Ed25519PublicKey

    @property
    def public(self) -> bytes:
        return self.key.public_bytes_raw()

    def vkey(self) -> str:
        return f"{self.name}+{self.key_id:08x}+{b64(bytes([ALG_COSIGNATURE_V1]) + self.public)}"


def cosigner_key_id(name: str, public: bytes) -> int:
    """Return the 32-bit key id of an Ed25519 cosigner key under ``name`` (algorithm 0x04)."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([ALG_COSIGNATURE_V1]) + public).digest()
    return int.from_bytes(digest[:4], "big")


def encode_cosigner(name: str, seed: bytes) -> tuple[str, str]:
    """Return (private key, verifier key) texts of a cosigner from a 32-byte seed."""
    key = Ed25519PrivateKey.from_private_bytes(seed)
    public = key.public_key().public_bytes_raw()
    kid = cosigner_key_id(check_name(name), public)
    return (f"PRIVATE+KEY+{name}+{kid:08x}+{b64(bytes([ALG_COSIGNATURE_V1]) + seed)}",
            f"{name}+{kid:08x}+{b64(bytes([ALG_COSIGNATURE_V1]) + public)}")


def _parts(text: str, what: str) -> tuple[str, str, bytes]:
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise SignatureError(f"not a {what} (expected name+hexid+base64key)")
    try:
        raw = unb64(parts[2])
    except ValueError as exc:
        raise SignatureError(f"the {what} is {exc}") from None
    if len(raw) != 33 or raw[0] != ALG_COSIGNATURE_V1:
        raise SignatureError(f"the {what} is not an Ed25519 cosignature/v1 key (type 0x04)")
    return check_name(parts[0]), parts[1], raw[1:]


def parse_cosigner(text: str) -> Cosigner:
    """Parse a cosigner private key."""
    body = text.strip()
    if not body.startswith("PRIVATE+KEY+"):
        raise SignatureError("not a witness private key (expected PRIVATE+KEY+name+id+key)")
    name, hexid, seed = _parts(body.removeprefix("PRIVATE+KEY+"), "witness private key")
    key = Ed25519PrivateKey.from_private_bytes(seed)
    kid = cosigner_key_id(name, key.public_key().public_bytes_raw())
    if hexid != f"{kid:08x}":
        raise SignatureError(f"witness private key id {hexid} does not match its key ({kid:08x})")
    return Cosigner(name, kid, key)


def parse_cosigner_key(text: str) -> CosignerKey:
    """Parse a cosigner verifier key (vkey with algorithm 0x04)."""
    name, hexid, public = _parts(text.strip(), "witness verifier key")
    kid = cosigner_key_id(name, public)
    if hexid != f"{kid:08x}":
        raise SignatureError(f"witness verifier key id {hexid} does not match its key ({kid:08x})")
    return CosignerKey(name, kid, Ed25519PublicKey.from_public_bytes(public))


def cosigned_message(body: str, timestamp: int) -> bytes:
    """Return the bytes a cosignature/v1 signs: header, time line, the checkpoint body."""
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise SignatureError(f"cosignature timestamp {timestamp} is out of range")
    return f"{HEADER}time {timestamp}\n{body}".encode()


def cosign(cosigner: Cosigner, body: str, timestamp: int) -> str:
    """Return the cosignature line (with its newline) of ``cosigner`` on a checkpoint body."""
    signature = cosigner.key.sign(cosigned_message(body, timestamp))
    raw = cosigner.key_id.to_bytes(4, "big") + timestamp.to_bytes(8, "big") + signature
    return f"{DASH} {cosigner.name} {b64(raw)}\n"


def check_cosignature(key: CosignerKey, body: str, raw: bytes) -> int:
    """Return the timestamp of a cosignature's bytes (key id || timestamp || signature) by
    ``key`` on ``body``; raise SignatureError if it is not one."""
    if len(raw) != 4 + 8 + 64 or int.from_bytes(raw[:4], "big") != key.key_id:
        raise SignatureError(f"the cosignature by {key.name} is not {4 + 8 + 64} bytes with key "
                             f"id {key.key_id:08x}")
    timestamp = int.from_bytes(raw[4:12], "big")
    try:
        key.key.verify(raw[12:], cosigned_message(body, timestamp))
    except (InvalidSignature, SignatureError):
        raise SignatureError(f"the cosignature by {key.name} does not verify") from None
    if timestamp == 0:
        raise SignatureError(f"the cosignature by {key.name} has no timestamp")
    return timestamp
