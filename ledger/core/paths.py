"""What a path given by a person means here, for the refusal that names it."""

from __future__ import annotations

from pathlib import Path


def unexpanded_home(path: str | Path) -> str:
    """Return a note for a path that starts with "~" (else ""): it names a folder called "~"
    here, since only a shell expands it, and only unquoted (LEDGER_DB='~/ledger.db' in a file of
    settings keeps it), with the path most likely meant."""
    if not str(path).startswith("~"):
        return ""
    try:
        meant = f"write {Path(path).expanduser()}"
    except RuntimeError:  # ~name of no user here
        meant = "write the folder out"
    return f"; '~' is not expanded here, only by a shell, and only unquoted: {meant}"
