"""The static site: an index of every record and one self-verifying page per record.

No server and no build step: each record page embeds the record's bundle and the publisher's
verifier key, and a small script recomputes, in the reader's browser with WebCrypto, every event
hash and inclusion proof and checks the checkpoint signature.
"""

from __future__ import annotations

import html
import sqlite3
from pathlib import Path
from typing import Any

import orjson

from ledger.core.checkpoint import Checkpoint
from ledger.ops.bundle import make_bundle
from ledger.ops.maintenance import states_by_record
from ledger.pages.assets import INDEX_JS, PAGE_CSS, SITE_CSS, VERIFY_JS
from ledger.pages.render import GATE_WORDS, render_html, shown_value
from ledger.pages.text import event_summary
from ledger.storage import store, views
from ledger.storage.views import Shown

e = html.escape


def page_name(record_id: str) -> str:
    """Return the file name of a record's page (``SRCH-03BE3A05.html``)."""
    return record_id.replace(":", "-") + ".html"


def embed_json(value: Any) -> str:
    """Return JSON safe inside a <script> element (``</`` cannot close it)."""
    return orjson.dumps(value).decode().replace("</", "<\\/")


def timeline(conn: sqlite3.Connection, record_id: str) -> str:
    """Return the record's full history as an HTML timeline, oldest first."""
    items = []
    for event in store.record_events(conn, record_id):
        summary = event_summary(event)
        items.append(f'<li><div class="when">seq {event.seq} · {e(event.recorded_at)} · {e(event.actor)}</div>'
                     f'<div class="what">{e(event.type)}{" — " + e(summary) if summary else ""}</div>'
                     f'<div class="hash">{e(event.hash)}</div></li>')
    return '<section><h2>History</h2><ol class="timeline">' + "".join(items) + "</ol></section>"


def record_page(conn: sqlite3.Connection, record_id: str, shown: Shown,
                signed: tuple[str, Checkpoint, str] | None) -> str:
    """Return one record's HTML page, with its bundle and verifier when ``signed`` is given."""
    scripts, later = "", ""
    if signed is not None:
        note, checkpoint, vkey = signed
        after = [ev.seq for ev in store.record_events(conn, record_id) if ev.seq > checkpoint.size]
        if after:
            later = (f'<p class="later">{len(after)} later event(s) of this record (seq '
                     f'{", ".join(map(str, after))}) are shown but not yet covered by a signed checkpoint.</p>')
        if store.record_events(conn, record_id, checkpoint.size):
            scripts = (f'<script type="application/json" id="bundle">'
                       f"{embed_json(make_bundle(conn, record_id, note, checkpoint))}</script>"
                       f'<script type="text/plain" id="vkey">{e(vkey)}</script>')
    banner = ('<nav class="crumbs"><a href="index.html">← All records</a></nav>'
              '<div id="verify-status" class="verify">Verifying in your browser…</div>' + later)
    body = timeline(conn, record_id) + scripts + f"<script>{VERIFY_JS}</script>"
    return render_html(shown, extra_head=f"<style>{SITE_CSS}</style>", extra_body=body, top=banner)


def index_page(rows: list[Shown], head: tuple[int, str], checkpoint: Checkpoint | None) -> str:
    """Return the index: every record, sortable and filterable without a server."""
    statuses = sorted({r["status"] for r in rows})
    cells = []
    for r in rows:
        gate = next((g for g in r["gates"] if g["gate"] == 2), r["gates"][0])
        values = [(r["record_id"], f'<a href="{page_name(r["record_id"])}">{e(r["record_id"])}</a>', "rid"),
                  (shown_value(r["manifest"]["title"]), e(shown_value(r["manifest"]["title"])), ""),
                  (r["status"], f'<span class="status status-{e(r["status"].lower())}">{e(r["status"])}</span>', ""),
                  (r["provenance_level"], e(r["provenance_level"]), ""),
                  (r["verification_level"], e(r["verification_level"]), ""),
                  (r["quality_tier"] or "", e(r["quality_tier"] or "—"), ""),
                  (gate["status"], e(f"Gate {gate['gate']}: {GATE_WORDS[gate['status']]}"), ""),
                  (str(r["correction_count"]), str(r["correction_count"]), "")]
        cells.append(f'<tr data-status="{e(r["status"])}">' + "".join(
            f'<td data-key="{e(key)}" class="{cls}">{shown}</td>' for key, shown, cls in values) + "</tr>")
    signed = (f"Checkpoint of size {checkpoint.size} signed by {e(checkpoint.origin)}."
              if checkpoint else "No signed checkpoint embedded.")
    options = "".join(f'<option value="{e(s)}">{e(s)}</option>' for s in statuses)
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>Record ledger</title>'
            f'<style>{PAGE_CSS}{SITE_CSS}</style></head><body><main class="wide">'
            f"<h1>Research records and their correction history</h1>"
            f"<p>{len(rows)} records · ledger head seq {head[0]} · {signed}</p>"
            f'<div class="controls"><input id="q" type="search" placeholder="Filter by id, title, tier…">'
            f'<select id="status"><option value="">Any status</option>{options}</select>'
            f'<span id="count"></span></div>'
            f'<table class="index"><thead><tr><th>Record</th><th>Title</th><th>Status</th>'
            f"<th>Provenance</th><th>Verification</th><th>Tier</th><th>Gate verdict</th><th>Notices</th>"
            f'</tr></thead><tbody>{"".join(cells)}</tbody></table>'
            f"<script>{INDEX_JS}</script></main></body></html>\n")


def write_site(conn: sqlite3.Connection, out: Path,
               signed: tuple[str, Checkpoint, str] | None) -> int:
    """Write index.html and one page per record into ``out``; return the number of records."""
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for state in states_by_record(conn):  # folded from the events, never read from the views
        shown = views.show_of(state)
        (out / page_name(state.record_id)).write_text(record_page(conn, state.record_id, shown,
                                                                  signed))
        rows.append(shown)
    (out / "index.html").write_text(index_page(rows, store.head(conn),
                                               signed[1] if signed else None))
    return len(rows)
