"""Key files: written 0600, and refused when readable by others (as ssh does)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.errors import RefusedInput

if TYPE_CHECKING:  # ledger.note loads cryptography: imported only where keys are used
    from ledger.note import Signer, Verifier


def generate(name: str) -> tuple[str, str]:
    """Return a new (private key, verifier key) pair named ``name``."""
    from ledger.note import encode_keys

    return encode_keys(name, os.urandom(32))


def write_private_key(path: Path, skey: str) -> None:
    """Write a private key file with mode 0600; refuse to overwrite an existing file."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise RefusedInput(f"{path} already exists: refusing to overwrite a key") from None
    except OSError as exc:
        raise RefusedInput(f"cannot write {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(skey + "\n")


def read_signer(path: Path) -> Signer:
    """Return the signer in a private key file; refuse a file readable by group or others."""
    from ledger.note import parse_signer

    try:
        mode = path.stat().st_mode
        text = path.read_text()
    except OSError as exc:
        raise RefusedInput(f"cannot read key file {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise RefusedInput(f"key file {path} is accessible by others (mode "
                           f"{stat.S_IMODE(mode):04o}): run chmod 600 {path}")
    return parse_signer(text)


def read_verifier_text(value: str) -> str:
    """Return the verifier key string given directly, or read from a file holding one."""
    path = Path(value)
    if "+" not in value or path.is_file():
        try:
            return path.read_text().strip()
        except OSError as exc:
            raise RefusedInput(f"cannot read verifier key file {value}: {exc.strerror}") from None
    return value.strip()


def read_verifier(value: str) -> Verifier:
    """Return the verifier given as a key string, or as a file holding one."""
    from ledger.note import parse_verifier

    return parse_verifier(read_verifier_text(value))


def read_text(path: str) -> str:
    """Return the text of a file (checkpoint, bundle), or refuse clearly."""
    try:
        return Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise RefusedInput(f"cannot read {path}: {exc}") from None
