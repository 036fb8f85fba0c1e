"""Key files: written 0600, refused when readable by others (as ssh does), optionally encrypted.

An encrypted key file is two lines::

    provenance-ledger encrypted key v1
    base64(salt[16] || nonce[12] || ChaCha20-Poly1305(scrypt(passphrase, salt), nonce, key text))

with scrypt n=2**15, r=8, p=1 and a 32-byte key.
"""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.core.escapes import PRIVATE_KEY_PREFIX
from ledger.errors import KeyFormatError, RefusedInput, SignatureError
from ledger.ops.files import ledger_kept, no_folder, read_bounded, without_bom
from ledger.storage.store import unexpanded_home

if TYPE_CHECKING:  # ledger.note loads cryptography: imported only where keys are used
    from ledger.core.cosignature import Cosigner
    from ledger.core.note import Signer, Verifier
    from ledger.core.policy import Policy


def generate(name: str) -> tuple[str, str]:
    """Return a new (private key, verifier key) pair named ``name``."""
    from ledger.core.note import encode_keys

    return encode_keys(name, os.urandom(32))


ENCRYPTED_HEADER = "provenance-ledger encrypted key v1"


def _kdf(passphrase: str, salt: bytes) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(passphrase.encode())


def encrypt_key(skey: str, passphrase: str) -> str:
    """Return the encrypted key file text for a private key string."""
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    if not passphrase:
        raise RefusedInput("the passphrase is empty")
    salt, nonce = os.urandom(16), os.urandom(12)
    sealed = ChaCha20Poly1305(_kdf(passphrase, salt)).encrypt(nonce, skey.encode(), ENCRYPTED_HEADER.encode())
    return ENCRYPTED_HEADER + "\n" + base64.b64encode(salt + nonce + sealed).decode()


def decrypt_key(text: str, passphrase: str | None) -> str:
    """Return the private key string of an encrypted key file."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    if passphrase is None:
        raise RefusedInput("the key file is encrypted: set LEDGER_KEY_PASSPHRASE or run on a terminal")
    try:
        raw = base64.b64decode(text.split("\n", 1)[1].strip(), validate=True)
        plain = ChaCha20Poly1305(_kdf(passphrase, raw[:16])).decrypt(raw[16:28], raw[28:],
                                                                     ENCRYPTED_HEADER.encode())
    except (InvalidTag, ValueError, IndexError):
        raise RefusedInput("cannot decrypt the key file: wrong passphrase or damaged file") from None
    return plain.decode()


def write_private_key(path: Path, skey: str) -> None:
    """Write a private key file with mode 0600; refuse to overwrite an existing file."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.is_symlink() and not path.exists():  # O_EXCL never writes through a symlink
            raise RefusedInput(f"{path} is a symlink (to {os.readlink(path)}): a private key is "
                               "written only to a new file of that name, never through a "
                               "link; give the path it names") from None
        raise RefusedInput(f"{path} already exists: refusing to overwrite a key") from None
    except FileNotFoundError:
        raise no_folder(path) from None
    except OSError as exc:
        raise RefusedInput(f"cannot write {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(skey + "\n")


KEY_FILE_MOST = 1 << 16  # a key file: one line of about 100 bytes (300 encrypted)


def read_private_text(path: Path, passphrase: Callable[[], str | None] = lambda: None) -> str:
    """Return the text of a private key file (decrypted if it is encrypted); refuse a file
    readable by group or others. ``passphrase`` is asked only when the file is encrypted."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise RefusedInput(f"cannot read key file {path}: {exc.strerror}"
                           f"{unexpanded_home(path)}") from None
    try:
        text = without_bom(read_bounded(str(path), KEY_FILE_MOST, "key file"), str(path)).decode("utf-8")
    except UnicodeDecodeError:
        raise RefusedInput(f"{path} is not a key file: it is not UTF-8 text") from None
    if not text.startswith((PRIVATE_KEY_PREFIX, ENCRYPTED_HEADER)):
        raise KeyFormatError(f"{path} {_not_private(text)}, where a private key is wanted: give "
                             "the file `ledger keygen` (a witness's: `ledger witness keygen`) "
                             f"wrote, whose one line starts with {PRIVATE_KEY_PREFIX}")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise RefusedInput(f"key file {path} is accessible by others (mode "
                           f"{stat.S_IMODE(mode):04o}): run chmod 600 {path}")
    if text.startswith(ENCRYPTED_HEADER):
        text = decrypt_key(text, passphrase())
    return text


def _not_private(text: str) -> str:
    """Say what a file given for a private key holds instead (never showing its text)."""
    from ledger.core.note import parse_verifier

    try:
        parse_verifier(text.strip())
    except (KeyFormatError, SignatureError, ValueError):
        return "is not a private key file"
    return "holds a verifier key (the public half of a key pair)"


def read_signer(path: Path, passphrase: Callable[[], str | None] = lambda: None) -> Signer:
    """Return the signer in a private key file (see ``read_private_text``); refuse a witness's
    key, naming it."""
    from ledger.core.cosignature import parse_cosigner
    from ledger.core.note import parse_signer

    text = read_private_text(path, passphrase)
    try:
        return parse_signer(text)
    except KeyFormatError:
        if not _parses(parse_cosigner, text):
            raise
    raise KeyFormatError(f"{path} is a witness's key (`ledger witness keygen`), where a log's "
                         "signing key is wanted: give the file `ledger keygen NAME -o FILE` wrote")


def read_cosigner(path: Path) -> Cosigner:
    """Return the witness's cosigner in a private key file (see ``read_private_text``); refuse
    a file holding another kind of key."""
    from ledger.core.cosignature import parse_cosigner
    from ledger.core.note import parse_signer

    text = read_private_text(path)
    try:
        return parse_cosigner(text)
    except SignatureError as exc:
        if not _parses(parse_signer, text):
            raise KeyFormatError(f"{path}: {exc}") from None
    raise KeyFormatError(f"{path} is a log's signing key (`ledger keygen`), where a witness's "
                         "key is wanted: give the file `ledger witness keygen NAME -o FILE` wrote")


def _parses(parse: Callable[[str], object], text: str) -> bool:
    try:
        parse(text)
    except (KeyFormatError, SignatureError, ValueError):
        return False
    return True


def read_policy(path: str) -> Policy:
    """Return the C2SP tlog-policy in a file, or refuse it naming the line."""
    from ledger.core.policy import parse_policy

    return parse_policy(without_bom(read_bounded(path), path))


def read_verifier_text(value: str) -> str:
    """Return the verifier key string given directly, or read from a file holding one (never a
    private key: refused, without showing it; nor a witness's key, named as one)."""
    path = Path(value)
    named = f"{value} holds"
    if "+" not in value or path.is_file():
        try:
            data = read_bounded(value, KEY_FILE_MOST, "verifier key file")
            text = without_bom(data, value).decode("utf-8").strip()
        except UnicodeDecodeError:
            raise RefusedInput(f"{value} is not a verifier key file: it is not UTF-8 text") from None
    else:
        text, named = value.strip(), "the key given is"
    if text.startswith((PRIVATE_KEY_PREFIX, ENCRYPTED_HEADER)):
        raise RefusedInput(f"{named} a private key, where a verifier key is wanted: give the "
                           "verifier key `ledger keygen` printed (name+hexid+base64key), and keep "
                           "the private key to yourself")
    from ledger.core.cosignature import parse_cosigner_key
    from ledger.core.note import parse_verifier

    if not _parses(parse_verifier, text) and _parses(parse_cosigner_key, text):
        raise KeyFormatError(f"{named} a witness's verifier key (`ledger witness keygen`, "
                             "cosignature/v1), where one `ledger keygen` printed is wanted (a "
                             "witness's key goes in a --policy file)")
    return text


def read_verifier(value: str) -> Verifier:
    """Return the verifier given as a key string, or as a file holding one."""
    from ledger.core.note import parse_verifier

    return parse_verifier(read_verifier_text(value))


def read_text(path: str) -> str:
    """Return the text of a file (checkpoint, bundle), or refuse clearly."""
    try:
        return without_bom(read_bounded(path), path).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RefusedInput(f"{path} is not UTF-8 text (byte {exc.start})") from None


def exposed(out: Path, ledger: Path | None, most: int = 2000) -> list[str]:
    """Return what in the folder ``out`` (its own files, at most ``most`` looked at) a static host
    would serve with the site or tiles and should not: the ledger file (or one SQLite keeps
    beside it) and private key files. A command writes only its own files, but a host serves the
    whole folder: `ledger site .` where the keys live would publish the signing key."""
    import itertools

    kept = ledger_kept(ledger)
    marks = (PRIVATE_KEY_PREFIX.encode(), ENCRYPTED_HEADER.encode())
    found: list[str] = []
    try:
        with os.scandir(out) as entries:
            listed = sorted(itertools.islice(entries, most), key=lambda e: e.name)
    except OSError:
        return found
    for entry in listed:
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            info = entry.stat(follow_symlinks=False)
            if (info.st_dev, info.st_ino) in kept:
                found.append(f"{entry.name} (the ledger file, or one SQLite keeps beside it)")
            elif info.st_size <= KEY_FILE_MOST:
                with open(entry.path, "rb") as handle:
                    head = handle.read(KEY_FILE_MOST)
                if any(mark in head for mark in marks):
                    found.append(f"{entry.name} (a private key)")
        except OSError:
            continue
    return found
