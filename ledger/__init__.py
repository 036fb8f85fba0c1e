"""provenance-ledger: a hash-chained, append-only provenance and correction ledger in one SQLite
file. The facade is ``ledger.api.Ledger``; the byte formats are specified in docs/format.md."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    """``ledger.__version__``, read from the installed package's metadata when first asked for
    (importlib.metadata costs milliseconds that every CLI start-up would otherwise pay)."""
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("provenance-ledger")
        except PackageNotFoundError:
            return "0+unknown"
    raise AttributeError(f"module 'ledger' has no attribute {name!r}")
