"""Gate artifacts given on the command line: a local file (hashed here) or a URI."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from ledger.errors import RefusedInput

KIND_BY_SUFFIX = {
    ".lean": "lean4-proof", ".py": "repro-script", ".sh": "repro-script", ".ipynb": "repro-script",
    ".r": "repro-script", ".json": "repro-results", ".jsonl": "repro-results",
    ".csv": "repro-results", ".tsv": "repro-results", ".txt": "repro-results",
    ".log": "repro-results",
}
_URI_DIGEST = re.compile(r"(?P<uri>.+)#(?i:sha256)=(?P<sha>[0-9a-fA-F]{64})")  # fullmatch


def file_sha256(path: Path) -> str:
    """Return the hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
    except OSError as exc:
        raise RefusedInput(f"cannot read artifact {path}: {exc.strerror}") from None
    return digest.hexdigest()


def artifact_from(value: str, kind: str | None = None) -> dict[str, Any]:
    """Return the artifact object for ``--artifact VALUE``.

    A local file is hashed (its kind guessed from the suffix unless given) and named by its file
    name alone: the path on the editor's machine (``/home/alice/…``) would be published for good;
    anything else is taken as a URI, with an optional ``#sha256=HEX`` suffix giving its digest.
    """
    path = Path(value)
    if path.is_file():
        guessed = KIND_BY_SUFFIX.get(path.suffix.lower(), "file")
        return {"kind": kind or guessed, "uri": path.name, "sha256": file_sha256(path)}
    if path.exists():
        raise RefusedInput(f"artifact {value} is not a regular file")
    match = _URI_DIGEST.fullmatch(value)
    if match:
        return {"kind": kind or "uri", "uri": match["uri"], "sha256": match["sha"].lower()}
    if "#sha256=" in value.lower():
        given = value[value.lower().rindex("#sha256=") + 8:]
        raise RefusedInput(f"artifact {value}: #sha256= is followed by {given!r}, not the 64 hex "
                           "digits of the artifact's SHA-256")
    if "://" not in value and not value.startswith(("doi:", "urn:")):
        raise RefusedInput(f"artifact {value}: no such file, and not a URI")
    return {"kind": kind or "uri", "uri": value}
