"""A record's HTML: the page model (banner, header, sections, timeline) and the elements made
from it. ``assets/page.js`` makes the same model and the same elements in the reader's browser
from the verified events, so that the two can be compared (``tests/test_fold_js.py``)."""

from __future__ import annotations

import html
from typing import Any

from ledger.core.escapes import bidi_visible
from ledger.core.events import Event
from ledger.pages.assets import PAGE_CSS
from ledger.pages.render import header_rows, sections, shown_value, tables
from ledger.pages.story import banner, timeline
from ledger.storage.views import Shown


def escape(text: str, _escape: Any = html.escape) -> str:
    """Return ``text`` as ``html.escape`` does (quotes too), each bidirectional embedding,
    override and isolate written as a visible escape (``escapes.bidi_visible``): most text on a
    page has none of the five characters, and five scans for them cost less than its five
    replacements."""
    if not text.isascii() and not text.isprintable():  # each bidirectional control is a Cf
        text = bidi_visible(text)
    if "&" in text or "<" in text or ">" in text or '"' in text or "'" in text:
        return str(_escape(text))
    return text


e = escape


def page_model(shown: Shown, events: list[Event]) -> dict[str, Any]:
    """Return what a record page says, as plain data (the JSON that page.js also makes)."""
    return {"banner": banner(shown), "header": [list(r) for r in header_rows(shown)],
            "sections": [[heading, [list(r) for r in rows]] for heading, rows in sections(shown)],
            "timeline": timeline(events)}


def banner_html(model: dict[str, Any]) -> str:
    """Return the status banner's element ('' without one): exactly what page.js builds."""
    b = model["banner"]
    if b is None:
        return ""
    return (f'<section class="banner banner-{e(b["status"].lower())}" role="note">'
            f'<h2>{e(b["title"])}</h2>' + "".join(f"<p>{e(line)}</p>" for line in b["lines"])
            + "</section>")


def status_pill(status: str, stale: bool) -> tuple[str, str]:
    """Return (the class, the text) of a record's status pill, as page.js's ``statusPill``: a
    ``stale`` one (a site's page whose later events give another status) says it is the
    status at the checkpoint, in a neutral colour, not a green CURRENT under a removal."""
    if stale:
        return "status status-stale", f"Status at the checkpoint: {status}"
    return f"status status-{status.lower()}", f"Status: {status}"


def record_html(shown: Shown, model: dict[str, Any], stale: bool = False) -> tuple[str, str]:
    """Return (the banner, the ``<div id="record">``) of a page: exactly the elements page.js
    builds (``stale``: see ``status_pill``)."""
    parts = ['<div id="record">']
    pill, said = status_pill(shown["status"], stale)
    parts.append(f'<header><p class="rid">{e(shown["record_id"])}</p>'
                 f'<h1>{e(shown_value(shown["manifest"]["title"]))}</h1>'
                 f'<p class="{e(pill)}">{e(said)}</p><dl class="head">'
                 + "".join(f"<dt>{e(label)}</dt><dd>{e(value)}</dd>" for label, value in model["header"])
                 + "</dl></header>")
    for heading, rows in model["sections"]:
        parts.append(f"<section><h2>{e(heading)}</h2>")
        parts += [f"<p>{e(para)}</p>" for label, value in rows if not label
                  for para in value.split("\n\n")]
        table = [(label, value) for label, value in rows if label]
        parts += ["<table>" + "".join(f'<tr><th scope="row">{e(label)}</th><td>{e(value)}</td></tr>'
                                      for label, value in group) + "</table>"
                  for group in tables(table)]
        parts.append("</section>")
    if model["timeline"]:
        parts.append('<section><h2>History</h2><ol class="timeline">' + "".join(
            f'<li><div class="when">seq {i["seq"]} · {e(i["when"])} · {e(i["actor"])}</div>'
            f'<div class="what">{e(i["text"])}</div><details class="hash"><summary>Event hash'
            f'</summary><code>{e(i["hash"])}</code></details></li>' for i in model["timeline"])
            + "</ol></section>")
    parts.append("</div>")
    return banner_html(model), "".join(parts)


def page_title(shown: Shown) -> str:
    """Return a record page's title (its browser tab, bookmark and history entry), as
    ``page.js`` makes it from the verified events (``pageTitle``): the site's pages say so if
    the served one differs."""
    return f"{shown['record_id']} — {shown_value(shown['manifest']['title'])}"


def render_html(shown: Shown, events: list[Event] | None = None, note: str | None = None) -> str:
    """Return the page as a standalone HTML document (no external resources, no script);
    ``note``, if any, stands above the record (a page as of an earlier seq says so)."""
    top = f'<p class="asof">{e(note)}</p>\n' if note else ""
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(page_title(shown))}</title><style>{PAGE_CSS}</style></head>\n<body><main>\n"
            f"{top}{''.join(record_html(shown, page_model(shown, events or [])))}\n"
            "</main></body></html>\n")
