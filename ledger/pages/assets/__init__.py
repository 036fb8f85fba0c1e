"""Static assets of rendered pages and the site, kept as real files beside this module (so that
they are linted as what they are: ``tests/test_assets.py``): the page and site CSS, the
in-browser verifier of record pages (``verify.js``) and the index's sort and filter
(``index.js``)."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).parent


def _read(name: str) -> str:
    return (_HERE / name).read_text(encoding="utf-8")


PAGE_CSS = _read("page.css")
SITE_CSS = _read("site.css")
VERIFY_JS = _read("verify.js")
INDEX_JS = _read("index.js")
