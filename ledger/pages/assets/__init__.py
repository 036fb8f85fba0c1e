"""Static assets of rendered pages and the site, kept as real files beside this module (so that
they are linted as what they are: ``tests/test_assets.py``): the page and site CSS; the record
page's scripts — the derivation rules (``fold.js``), the page model (``page.js``), the checks of
a bundle (``verify.js``) and what the page does with them (``record.js``); the index's search,
filter and sort (``index.js``)."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).parent


def _read(name: str) -> str:
    return (_HERE / name).read_text(encoding="utf-8")


PAGE_CSS = _read("page.css")  # inlined by `ledger render --format html` (a standalone page)
# The site's shared files, written to OUT_DIR/assets/ by `ledger site`.
ASSETS = ("page.css", "site.css", "fold.js", "page.js", "verify.js", "record.js", "index.js")


def asset_bytes(name: str) -> bytes:
    """Return the bytes of one of the site's shared files."""
    return (_HERE / name).read_bytes()
