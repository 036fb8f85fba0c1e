"""The static site: paginated index pages, a compact JSON index for search, and one
self-verifying page per record, with the CSS and scripts as shared files in ``assets/``.

No server and no build step. A record page loads the record's bundle (events up to a signed
checkpoint, with inclusion proofs: ``bundles/<id>.<digest>.js``, named by its bytes) and embeds
the publisher's verifier key; its scripts check every hash,
proof and the checkpoint signature in the reader's browser, fold the verified events into the
record's state with the ledger's rules (``assets/fold.js``), and show *that*, saying so if the
text the page was served with differs. The HTML is the no-script fallback, marked as not verified
in this browser. Status comes first: a banner with the notice that gave it.

Safe by construction: embedded JSON escapes ``<``, ``>``, ``&``, U+2028 and U+2029; there are no
inline scripts, styles or event handlers, and a Content-Security-Policy allows only the site's own
files. Every file is written to a temporary name in its folder and renamed over the old one (so a
symlink planted at a page's name is replaced, never followed), only inside the output folder, and
only when its bytes changed (a second run after one correction rewrites only that record's page
and the index files).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import operator
import os
import sqlite3
import stat
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ledger.core.checkpoint import Checkpoint, check_successor, format_checkpoint, parse_checkpoint
from ledger.core.events import KEY_TYPES, Event
from ledger.core.policy import Policy
from ledger.core.progress import Progress
from ledger.errors import CorruptEvent, LedgerError, RefusedInput, VerificationError
from ledger.model.purge import as_checkable
from ledger.model.state import fold
from ledger.ops.bundle import make_bundle
from ledger.ops.editor import check_events
from ledger.ops.files import FolderWriter, folder_held, ledger_kept
from ledger.ops.helpers import HELPERS, Helper, HelperStopped, send
from ledger.ops.proofs import Prover
from ledger.pages.assets import ASSETS, asset_bytes
from ledger.pages.render import GATE_WORDS, shown_value
from ledger.pages.text import event_summary
from ledger.pages.webpage import escape, page_model, page_title, record_html, status_pill
from ledger.storage import store, views
from ledger.storage.views import Shown

e = escape
INDEX_PAGE_ROWS = 200  # rows per index page: the first page stays far below 200 KB
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'")
_JSON_ESCAPES = {b"<": b"\\u003c", b">": b"\\u003e", b"&": b"\\u0026",
                 "\u2028".encode(): b"\\u2028", "\u2029".encode(): b"\\u2029"}
INDEX_COLUMNS = ("record_id", "title", "status", "provenance_level", "verification_level",
                 "quality_tier", "gate", "notices")
INDEX_LABELS = ("Record", "Title", "Status", "Provenance", "Verification", "Tier", "Gate verdict",
                "Notices")


NAME_MOST = 100  # characters of a record's file names: far under the 255 bytes a file system takes


def _stem(record_id: str) -> str:
    """Return the stem of a record's file names (``SRCH-03BE3A05``). A record id of more than
    NAME_MOST characters (its prefix is not bounded) would make a file name no file system
    takes, and one such record stopped the whole site: its prefix is cut to 40 characters and
    followed by 32 hex digits of the SHA-256 of the whole id, so two records never share one."""
    stem = record_id.replace(":", "-")
    if len(stem) <= NAME_MOST:
        return stem
    prefix, _, tail = stem.rpartition("-")
    return f"{prefix[:40]}-{hashlib.sha256(record_id.encode()).hexdigest()[:32]}-{tail}"


def page_name(record_id: str) -> str:
    """Return the file name of a record's page (``SRCH-03BE3A05.html``)."""
    return _stem(record_id) + ".html"


def bundle_name(record_id: str, script: bytes) -> str:
    """Return the path of a record's bundle script, named by the SHA-256 of its bytes
    (``bundles/SRCH-03BE3A05.1f0c2a9be4d37a58.js``). A page names the very bundle it was built
    with: a page kept by a cache, or read just before a run replaced it, is never checked
    against another run's bundle (it said its served text "differs"), and a new page is never
    given a bundle a cache kept from before."""
    return f"bundles/{_stem(record_id)}.{hashlib.sha256(script).hexdigest()[:16]}.js"


@functools.cache
def asset_url(name: str) -> str:
    """Return the URL pages give one of the shared files, with its digest as the query
    (``assets/verify.js?v=…``): a browser never runs a script a cache kept from an older
    version of the site beside a page of this one."""
    return f"assets/{name}?v={hashlib.sha256(asset_bytes(name)).hexdigest()[:12]}"


SCRIPT_HEAD, SCRIPT_TAIL = "globalThis.LedgerBundle = ", ";"  # around a bundle script's JSON


def bundle_script(bundle: dict[str, Any]) -> bytes:
    """Return a record's bundle as a script that hands it to the page (its own file, so that
    pages stay small; loaded by a ``<script src>``, which works from ``file://`` too)."""
    return (SCRIPT_HEAD + embed_json(bundle) + SCRIPT_TAIL + "\n").encode("utf-8")


def script_json(text: str) -> str | None:
    """Return the bundle JSON of a site's bundle script (``bundle_script``), or None if ``text``
    is not one: `ledger verify-bundle` takes the script a page loads as it is."""
    text = text.rstrip()
    if text.startswith(SCRIPT_HEAD) and text.endswith(SCRIPT_TAIL):
        return text[len(SCRIPT_HEAD):-len(SCRIPT_TAIL)]
    return None


def policy_json(policy: Policy) -> str:
    """Return a witness policy as the JSON a page embeds for verify.js: the witnesses' names and
    vkeys, the groups, the quorum, and the quorum in words."""
    return embed_json({"witnesses": [[w.name, w.key.vkey()] for w in policy.witnesses.values()],
                       "groups": [[g.name, g.threshold, list(g.members)]
                                  for g in policy.groups.values()],
                       "quorum": policy.quorum, "describe": policy.describe()})


def index_name(page: int) -> str:
    """Return the file name of index page ``page`` (1: ``index.html``)."""
    return "index.html" if page == 1 else f"index-{page}.html"


def embed_json(value: Any) -> str:
    """Return JSON that is inert inside a ``<script type="application/json">`` element: ``<``,
    ``>``, ``&``, U+2028 and U+2029 escaped (so neither ``</script>`` nor ``<!--`` can end it)."""
    data = orjson.dumps(value)
    for raw, escaped in _JSON_ESCAPES.items():
        data = data.replace(raw, escaped)
    return data.decode("utf-8")


def _head(title: str, extra: str = "") -> str:
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f'<meta name="referrer" content="no-referrer">'
            f"<title>{e(title)}</title>"
            f'<link rel="stylesheet" href="{asset_url("page.css")}"><link rel="stylesheet" '
            f'href="{asset_url("site.css")}">{extra}</head>\n')


def record_page(record_id: str, events: list[Event], shown: Shown,
                bundle: str | None, vkey: str | None, later: list[Event],
                policy: str = "", since: str = "") -> str:
    """Return one record's HTML page. ``events``/``shown`` are what the page states (with a
    checkpoint: as of it, exactly what the bundle proves); ``bundle`` the path of its bundle
    script (``bundle_name``); ``later`` the events after it, named (kind and id of a notice) but
    neither verified nor applied; ``since`` the status they give the record, when it is not the
    one the page states (a retraction issued after the checkpoint is said first, not hidden)."""
    model = page_model(shown, events)
    if bundle is None and vkey is not None:
        badge = ("<strong>Not yet verifiable.</strong> <small>This record's events came after the "
                 "signed checkpoint this site was published with.</small>")
        data = ""
    elif bundle is not None:
        badge = ("<strong>Not verified in this browser.</strong> <small>This is the publisher's "
                 "copy of the record. With scripts on, this page checks every event against the "
                 "signed log and shows what it verified.</small>")
        data = (f'<script type="application/json" id="vkey">{embed_json(vkey)}</script>'
                + (f'<script type="application/json" id="policy">{policy}</script>' if policy else "")
                + f'<script src="{bundle}"></script>')
    else:
        badge = ("<strong>Not verifiable.</strong> <small>This site was published without a signed "
                 "checkpoint, so this page cannot be checked against the log.</small>")
        data = ""
    check = (f'<p class="self-check"><small>To check this record without this page\'s scripts, '
             f'save <a href="{e(bundle)}">its bundle</a> and run <code>ledger verify-bundle FILE '
             f"--vkey KEY</code> with the publisher's verifier key, got from the publisher, not "
             f"from this site (it starts {e(key_label_of(vkey))}). It proves each event it "
             "holds is in the signed log, not that none of the record's events was left out: "
             "with a copy of the log (the publisher's file, or a mirror <code>ledger monitor "
             "--mirror</code> keeps), add <code>--against LEDGER</code>.</small></p>"
             ) if bundle is not None and vkey is not None else ""
    changed = (f"<strong>Since the checkpoint, this record's status is {e(since)}</strong>, "
               f"not yet verified: the status below is as of the checkpoint. ") if since else ""
    note = (f'<p class="later">{changed}<strong>{len(later)} later event(s) of this record are '
            "not yet covered by a signed checkpoint</strong>, so this page neither verifies nor "
            "shows them: " + "; ".join(e(f"seq {ev.seq}, {ev.type} {event_summary(ev)}".rstrip())
                                       for ev in later)
            + ".</p>") if later and bundle is not None else ""
    banner, body = record_html(shown, model, stale=bool(since))
    mark = f' data-since="{e(since)}"' if since else ""  # record.js builds the same stale pill
    return (_head(page_title(shown)) + f'<body><main data-record-id="{e(record_id)}"{mark}>'
            '<nav class="crumbs"><a href="index.html">← All records</a></nav>'
            f'<div id="record-banner">{banner}</div>'
            f'<div id="verify-status" class="verify pending" role="status">{badge}</div>{note}'
            f"{body}{check}{data}"
            + "".join(f'<script src="{asset_url(name)}"></script>'
                      for name in ("fold.js", "page.js", "verify.js", "record.js"))
            + "</main></body></html>\n")


@functools.lru_cache(maxsize=4)
def key_label_of(vkey: str) -> str:
    """Return how a verifier key is named to people (``note.key_label``), as the pages' badge and
    the index name the key they check (parsed once per process: every page names the same)."""
    from ledger.core.note import key_label, parse_verifier

    verifier = parse_verifier(vkey)
    return key_label(verifier.name, verifier.key_id)


def later_words(since: str, new: bool = False) -> str:
    """What an index row says of a record with events after the checkpoint (index.js says the
    same): the status they give it, when it is another; of a ``new`` record, one whose every
    event is after it (its row states it as of now, unverified), that none is covered yet."""
    if new:
        return "published after the checkpoint, not yet covered"
    return (f"since: {since}, not yet covered" if since else "later events not yet covered")


def index_row(shown: Shown) -> list[Any]:
    """Return a record's row of the index (the columns of ``INDEX_COLUMNS``)."""
    gate = next((g for g in shown["gates"] if g["gate"] == 2), shown["gates"][0])
    return [shown["record_id"], shown_value(shown["manifest"]["title"]), shown["status"],
            shown["provenance_level"], shown["verification_level"], shown["quality_tier"] or "",
            f"Gate {gate['gate']}: {GATE_WORDS[gate['status']]}", shown["correction_count"]]


def index_page(rows: list[list[Any]], page: int, pages: int, total: int, head: tuple[int, str],
               checkpoint: Checkpoint | None, later: Mapping[str, str] | None = None,
               key: str = "", new: frozenset[str] = frozenset()) -> str:
    """Return index page ``page`` of ``pages``: its rows, links to the others, and a search
    box that reads the compact ``index.json``. ``later``: the records with events after the
    checkpoint (their rows state them as of it, and say so), each with the status those events
    give it when it is another ("" otherwise); ``new``: those of them with no event before it;
    ``key``: the id (``key_label``) of the verifier key the record pages embed, named for
    readers to compare."""
    later = later or {}
    cells = []
    for r in rows:
        pending = (f'<small class="pending"> · {e(later_words(later[r[0]], r[0] in new))}</small>'
                   if r[0] in later else "")
        values = [f'<a href="{page_name(r[0])}">{e(r[0])}</a>', e(r[1]),
                  f'<span class="{e(status_pill(r[2], bool(later.get(r[0])))[0])}">{e(r[2])}</span>'
                  + pending,
                  e(r[3]), e(r[4]), e(r[5] or "—"), e(r[6]), str(r[7])]
        cells.append(f'<tr data-status="{e(r[2])}">' + "".join(
            f'<td data-key="{e(str(key))}" data-label="{label}">{shown}</td>'
            for key, shown, label in zip(r, values, INDEX_LABELS, strict=True)) + "</tr>")
    signed = (f"Checkpoint of size {checkpoint.size} signed by {e(checkpoint.origin)}"
              + (f" (key {e(key)})" if key else "") + ". This list is the publisher's "
              "copy: each record's page verifies itself in your browser and names the key it "
              "checked."
              if checkpoint else "No signed checkpoint embedded.")
    links = _page_links(page, pages)
    first = (page - 1) * INDEX_PAGE_ROWS + 1
    return (_head("Record ledger" + (f" — page {page}" if page > 1 else ""))
            + '<body><main class="wide">'
            "<h1>Research records and their correction history</h1>"
            + (f"<p>{total} records · ledger head seq {head[0]} · {signed}</p>" if page == 1
               else f"<p>{total} records · {signed}</p>")
            + '<form class="controls" role="search"><label for="q">Search all records</label>'
            '<input id="q" type="search" placeholder="id, title, status, tier…">'
            '<label for="status">Status</label><select id="status"><option value="">Any</option>'
            + "".join(f'<option value="{s}">{s}</option>' for s in
                      ("CURRENT", "CORRECTED", "UNDER_CONCERN", "WITHDRAWN", "RETRACTED", "REMOVED"))
            + '</select><span id="count" role="status"></span></form>'
            f'<p class="range">Records {first}–{first + len(rows) - 1} of {total}</p>'
            '<table class="index"><thead><tr>'
            + "".join(f'<th scope="col">{label}</th>' for label in INDEX_LABELS)
            + f'</tr></thead><tbody>{"".join(cells)}</tbody></table>'
            + (f'<nav class="pages" aria-label="Index pages">Pages: {links}</nav>' if links else "")
            + f'<script src="{asset_url("index.js")}"></script></main></body></html>\n')


def _page_links(page: int, pages: int) -> str:
    """Return links to the first, previous, nearby, next and last index pages ('' for one)."""
    if pages <= 1:
        return ""
    near = sorted({1, pages, *range(max(1, page - 3), min(pages, page + 3) + 1)})
    parts = [f'<a href="{index_name(page - 1)}" rel="prev">← Previous</a>'] if page > 1 else []
    last = 0
    for n in near:
        if n > last + 1:
            parts.append("…")
        parts.append(f'<a href="{index_name(n)}"' + (' aria-current="page"' if n == page else "")
                     + f">{n}</a>")
        last = n
    if page < pages:
        parts.append(f'<a href="{index_name(page + 1)}" rel="next">Next →</a>')
    return " ".join(parts)


@dataclass(frozen=True)
class SiteResult:
    """What ``ledger site`` did: the records its pages cover, the files it wrote, those already
    as they should be, and the bundle scripts it removed (no page named them for two runs)."""

    records: int
    written: int
    unchanged: int
    removed: int


STATE = "ledger-site-state.json"  # what the last run built: lets the next skip unchanged records


def write_site(conn: sqlite3.Connection, out: Path,
               signed: tuple[str, Checkpoint, str] | None,
               progress: Progress | None = None, full: bool = False,
               policy: str = "", checking: Progress | None = None,
               verify: bool = True) -> FolderWriter:
    """Write the site into ``out`` (see the module); return the writer with its counts.

    Incremental: ``out/ledger-site-state.json`` records, per record, the last event its page states
    (and the last event of all), the index row, and the ``_stamp`` of its page and bundle as
    written. A record whose events, checkpoint, key, scripts and files are all as
    recorded is not folded, proved or rendered again; anything else is (``full``: every record).
    ``policy``: the witness policy every page requires the checkpoint's cosignatures to meet, as
    embedded JSON (``policy_json``), or ''. Another run into ``out`` meanwhile is refused.

    Every page is made of its record's events, checked (``check_events``), and no record is
    left short of an event: a build of every page verifies the whole log first (``checking``
    counts its events), as ``export`` does, since a record's own events cannot show that one
    of them was given another record id (which would leave a retraction off its page, and
    the page would verify in the browser all the same); an incremental run refuses a record
    whose events are not those of the last run and the ones appended since
    (``_appended_only``), before its page is written. ``verify=False``: the caller has just
    verified the log (it signed the checkpoint)."""
    with folder_held(out, "ledger site"):
        return _write_site(conn, out, signed, progress, full, policy, checking, verify)


def _write_site(conn: sqlite3.Connection, out: Path, signed: tuple[str, Checkpoint, str] | None,
                progress: Progress | None, full: bool, policy: str,
                checking: Progress | None, verify: bool) -> FolderWriter:
    last_run = _read_state(out)
    served = _served_checkpoint(last_run)
    if served is not None and signed is None:
        raise RefusedInput(f"{out} was built with the checkpoint of size {served.size} of "
                           f"{served.origin}: without one its pages would no longer verify in "
                           "their readers' browsers; give --checkpoint and --vkey (or build into "
                           "a new folder)")
    if served is not None and signed is not None:
        check_successor(str(out), served, signed[1])  # never roll the readers back
    key = _fingerprint(signed, policy)
    size = signed[1].size if signed is not None else None
    before, index_before, then = ({}, {}, 0) if full else _load_state(last_run, key)
    if not before and verify:  # a build of every page: before anything is written, and before
        from ledger.ops.verification import verified  # the pages are mapped (its RSS)

        verified(conn, "refusing to publish", checking)
    store.map_pages(conn)
    writer = FolderWriter(out, keep=ledger_kept(store.file_path(conn)))
    for name in ASSETS:
        writer.write(f"assets/{name}", asset_bytes(name))
    builder = _Builder(conn, writer, signed, policy, signatures=bool(before))
    rows: list[list[Any]] = []
    state: dict[str, Any] = {}
    if before:  # only the records that changed are read
        for rid, covered, last, count, since in store.record_heads(conn, size, then):
            entry = before.get(rid)
            if entry is not None:
                _appended_only(rid, entry, count, since, then, out)
            if entry is not None and entry["heads"] == [covered, last] and _intact(writer.out, entry):
                writer.unchanged += len(entry["files"])
                state[rid] = entry
            else:
                state[rid] = builder.build(rid, store.record_events(conn, rid), [covered, last])
            rows.append(state[rid]["row"])
            if progress is not None:
                progress(1)
        gone = sorted(set(before) - set(state))
        if gone:  # a ledger never loses a record: every event of it was moved or deleted
            raise CorruptEvent(f"table events: refusing to publish {gone[0]}: it had "
                               f"{before[gone[0]].get('events')} event(s) at the last run into "
                               f"{out} and has none now: its events were deleted or given "
                               "another record id behind the ledger's back (run `ledger audit`)")
    else:
        for rid, entry in _build_all(conn, writer, builder, signed, progress, policy):
            state[rid] = entry
            rows.append(entry["row"])
    pages = max(1, -(-len(rows) // INDEX_PAGE_ROWS))
    head = store.head(conn)
    later = {rid: str(entry.get("since") or "") for rid, entry in state.items()
             if entry["heads"][0] != entry["heads"][1]}
    new = frozenset(rid for rid in later if state[rid]["heads"][0] is None)
    index: dict[str, Any] = {}
    # the index names the key the pages check, as their badge does (``key`` is the state's
    # fingerprint, saved below: not this)
    label = key_label_of(signed[2]) if signed is not None else ""
    for page in range(1, pages + 1):
        chunk = rows[(page - 1) * INDEX_PAGE_ROWS:page * INDEX_PAGE_ROWS]
        name = index_name(page)
        digest = hashlib.sha256(orjson.dumps([chunk, page, pages, len(rows),
                                              head if page == 1 else None,
                                              [later.get(r[0]) for r in chunk],
                                              [r[0] in new for r in chunk]])).hexdigest()
        known = index_before.get(name)
        if known is not None and known[0] == digest and _intact(writer.out, {"files": [[name, *known[1:]]]}):
            writer.unchanged += 1  # the same rows, links and counts as the page already written
            index[name] = known
            continue
        html_text = index_page(chunk, page, pages, len(rows), head, signed[1] if signed else None,
                               later, label, new)
        writer.write(name, html_text.encode("utf-8"))
        index[name] = [digest, *_stamp(os.lstat(os.path.join(writer.out, name)))]
    named = {r[0]: page_name(r[0]) for r in rows if len(r[0]) > NAME_MOST}  # the few cut names
    writer.write("index.json", orjson.dumps({"columns": INDEX_COLUMNS, "rows": rows,
                                             "pages": INDEX_PAGE_ROWS, "later": sorted(later),
                                             "later_status": {r: v for r, v in later.items() if v},
                                             "new": sorted(new),
                                             "named": named}))
    retired = _sweep_bundles(writer, state, last_run)
    writer.write(STATE, orjson.dumps({"key": key, "head": head[0], "records": state,
                                      "index": index,
                                      "checkpoint": format_checkpoint(signed[1]) if signed else None,
                                      "retired": retired}))
    writer.records = len(rows)
    return writer


def _sweep_bundles(writer: FolderWriter, state: dict[str, Any], last_run: dict[str, Any]) -> list[str]:
    """Remove the bundle scripts that no page has named for two runs; return those that no page
    names since this run (kept until the next: a reader holding a page from before this run, from
    a cache or read as this run replaced it, still gets the very bundle it names). ``bundles/`` is
    the site's own: any script there that no page names goes the same way (one a killed run
    wrote, or of the layout before bundles were named by their bytes)."""
    folder = writer.out / "bundles"
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return []
        with os.scandir(folder) as found:
            present = {"bundles/" + item.name for item in found
                       if item.name.endswith(".js") and item.is_file(follow_symlinks=False)}
    except OSError:
        return []
    named = {name for entry in state.values() for name, *_ in entry["files"]}
    before = last_run.get("retired")
    before = {n for n in before if isinstance(n, str)} if isinstance(before, list) else set()
    retired = []
    for name in sorted(present - named):
        if name not in before:
            retired.append(name)
        elif not writer.remove(name):
            retired.append(name)  # not a plain file it may remove: tried again next run
    return retired


@functools.cache
def _code_digest() -> bytes:
    """Return the digest of this package's code (every module under ``ledger/``, by path): a page
    is made by the fold, the pages' modules and the bundle's, so after any change to them the
    next run builds every page again rather than serve pages of two versions side by side."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.digest()


def _fingerprint(signed: tuple[str, Checkpoint, str] | None, policy: str) -> str:
    """Return what every page depends on besides its record: the checkpoint and key, the shared
    scripts and styles, and the code that makes them."""
    digest = hashlib.sha256(_code_digest())
    for name in ASSETS:
        digest.update(asset_bytes(name))
    if signed is not None:
        digest.update(signed[0].encode() + b"\0" + signed[2].encode() + b"\0" + policy.encode())
    return digest.hexdigest()


def _read_state(out: Path) -> dict[str, Any]:
    """Return what the last run into ``out`` recorded (``STATE``), or {} if it recorded nothing
    readable (or something else than a plain file is there)."""
    path = out / STATE
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return {}
        state = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    return state if isinstance(state, dict) else {}


def check_served(out: Path, checkpoint: Checkpoint) -> None:
    """Refuse a checkpoint the site in ``out`` would not be built with (``write_site`` refuses
    it too): one of another log, or one that rolls back or forks the one its pages embed. Asked
    before a checkpoint is signed for the site (``site --key``), so that a refusal stores none."""
    served = _served_checkpoint(_read_state(out))
    if served is not None:
        check_successor(str(out), served, checkpoint)


def _served_checkpoint(state: dict[str, Any]) -> Checkpoint | None:
    """Return the checkpoint the last run built the site with, if its state names one."""
    try:
        return parse_checkpoint(state["checkpoint"])
    except (KeyError, TypeError, AttributeError, LedgerError):
        return None


def _load_state(state: dict[str, Any],
                key: str) -> tuple[dict[str, Any], dict[str, Any], int]:
    """Return (the records, the index pages, the head's seq) of the last run's state if it was
    built with ``key``, else ({}, {}, 0)."""
    head = state.get("head")
    if (state.get("key") != key or not isinstance(state.get("records"), dict)
            or type(head) is not int):
        return {}, {}, 0
    index = state.get("index")
    return state["records"], index if isinstance(index, dict) else {}, head


def _appended_only(rid: str, entry: Any, count: int, since: int, then: int, out: Path) -> None:
    """Refuse (CorruptEvent) a record whose events are not those of the last run into ``out``
    and the ones appended since: a ledger only appends, so it has its ``count`` then plus its
    ``since`` events after seq ``then`` (the head then). Anything else is an event of it deleted
    or given another record id behind the ledger's back, which its own events' checks cannot
    see (they are of the events it still has): its page would leave that event out, a
    retraction or a correction, and verify in its readers' browsers all the same."""
    had = entry.get("events") if isinstance(entry, dict) else None
    if type(had) is not int or had + since != count:
        raise CorruptEvent(f"table events: refusing to publish {rid}: it had {had} event(s) at "
                           f"the last run into {out} (up to seq {then}) and has {count} now, "
                           f"{since} of them after seq {then}: an event of it was deleted or "
                           "given another record id behind the ledger's back, or one of "
                           "another record given its id (run `ledger audit`)")


def _stamp(info: os.stat_result) -> list[int]:
    """Return what the state records of a file as written: its size, modification time and
    inode change time. The change time is the kernel's: any write, rename or ``utime`` of the
    file sets it to the present, so a page edited in the folder with its size and modification
    time put back is not taken as written (the state file, of the folder too, can still be
    edited to match: ``docs/cli.md``)."""
    return [info.st_size, info.st_mtime_ns, info.st_ctime_ns]


def _intact(out: Path, entry: Any) -> bool:
    """Return whether the files a record's entry lists are still as written (plain files of the
    recorded ``_stamp``)."""
    try:
        for name, *stamp in entry["files"]:
            info = os.lstat(os.path.join(out, name))
            if not stat.S_ISREG(info.st_mode) or _stamp(info) != stamp:
                return False
    except (OSError, TypeError, ValueError, KeyError):
        return False
    return True


PARALLEL_RECORDS = 2_000  # below this, helper processes cost more than they save


def _build_all(conn: sqlite3.Connection, writer: FolderWriter, builder: _Builder,
               signed: tuple[str, Checkpoint, str] | None, progress: Progress | None,
               policy: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Build every record, by record id: in HELPERS processes, each taking one range of record
    ids (as ``rebuild`` does), from a ledger of PARALLEL_RECORDS records or more; else, or if a
    helper cannot start, in this process. Every event up to the head is read exactly once."""
    upto = store.head(conn)[0]
    path = store.file_path(conn)
    if path is not None and HELPERS > 1 and store.count_records(conn, upto) >= PARALLEL_RECORDS:
        cuts = ["", *views.record_splits(conn, HELPERS)]
        running = [Helper(site_worker, str(path), str(writer.out), start, stop or "", str(upto),
                          *((signed[0], signed[2], policy) if signed is not None else ()))
                   for start, stop in zip(cuts, [*cuts[1:], None], strict=True)]
        try:
            done: list[tuple[str, dict[str, Any]]] = []  # held until every helper finished
            counts = [0, 0, 0]
            # Each helper's messages are drained by its own thread (a helper blocks once its
            # pipe is full), then read in range order: the records come out by id.
            lock = threading.Lock()

            def drain(helper: Helper) -> list[Any]:
                messages = []
                for message in helper.messages():
                    messages.append(message)
                    if progress is not None and message[0] == "records":
                        with lock:
                            progress(len(message[1]))
                return messages

            with ThreadPoolExecutor(len(running)) as pool:
                received = list(pool.map(drain, running))
            for messages in received:
                for message in messages:
                    if message[0] == "error":
                        if message[1] == "CorruptEvent":
                            raise CorruptEvent(message[2])
                        if message[1] == "VerificationError":
                            raise VerificationError(message[3], message[4])
                        raise HelperStopped
                    if message[0] == "records":
                        done.extend(message[1])
                    else:  # ("counts", events read, files written, files unchanged)
                        counts = [a + b for a, b in zip(counts, message[1:], strict=True)]
            store.check_count(conn, counts[0], upto)
            writer.written += counts[1]
            writer.unchanged += counts[2]
            yield from done
            return
        except HelperStopped:
            pass  # then every record is built here (what a helper wrote is simply rewritten)
        finally:
            for helper in running:
                helper.close()
    for item in _build_range(conn, builder, upto, "", None):
        if progress is not None:
            progress(1)
        yield item
    store.check_count(conn, builder.read, upto)


def _build_range(conn: sqlite3.Connection, builder: _Builder, upto: int, start: str,
                 stop: str | None) -> Iterator[tuple[str, dict[str, Any]]]:
    """Build the records with start <= record_id < stop (the keyring's aside), reading them by
    record, each record's events checked in order as ``rebuild`` reads them."""
    for rid, group in itertools.groupby(store.iter_events_by_record(conn, upto, start, stop),
                                        key=operator.attrgetter("record_id")):
        events = list(group)
        builder.read += len(events)
        if events[0].type in KEY_TYPES:  # no page, but checked: an event of a record given
            builder.check(rid, events)   # the keyring's id would leave that record's page
            continue
        size = builder.signed[1].size if builder.signed is not None else None
        covered = max((e.seq for e in events if size is None or e.seq <= size), default=None)
        yield rid, builder.build(rid, events, [covered, events[-1].seq])


def site_worker(path: str, out: str, start: str, stop: str, upto: str, *signed: str) -> None:
    """A helper of ``_build_all``: build the records with start <= record_id < stop into
    ``out``, sending ("records", [(id, state entry), …]) every 200 records, then ("counts",
    events read, files written, files unchanged) and ("done",), or ("error", kind, text)."""
    try:
        conn = store.open_ledger(Path(path))
        store.map_pages(conn)
        with store.read_snapshot(conn):
            writer = FolderWriter(Path(out), keep=ledger_kept(Path(path)))
            note_signed = None
            if signed:
                from ledger.core.checkpoint import open_checkpoint
                from ledger.core.note import parse_verifier

                note_signed = (signed[0], open_checkpoint(signed[0], parse_verifier(signed[1])),
                               signed[1])
            builder = _Builder(conn, writer, note_signed, signed[2] if signed else "",
                               signatures=False)  # a build of every page: the log was verified
            batch: list[tuple[str, dict[str, Any]]] = []
            for item in _build_range(conn, builder, int(upto), start, stop or None):
                batch.append(item)
                if len(batch) == 200:
                    send(("records", batch))
                    batch = []
            send(("records", batch))
            send(("counts", builder.read, writer.written, writer.unchanged))
        conn.close()
    except VerificationError as exc:  # an event edited: said by its seq, as in one process
        send(("error", "VerificationError", str(exc), exc.seq, exc.reason))
        return
    except LedgerError as exc:
        send(("error", "CorruptEvent" if isinstance(exc, CorruptEvent) else "LedgerError", str(exc)))
        return
    send(("done",))


class _Builder:
    """Folds, proves and renders one record, writes its page (and bundle), and returns its
    state entry."""

    def __init__(self, conn: sqlite3.Connection, writer: FolderWriter,
                 signed: tuple[str, Checkpoint, str] | None, policy: str = "",
                 signatures: bool = True) -> None:
        """``signatures=False``: the whole log, its signatures with it, was verified in this
        read transaction (a build of every page), so a record's check need not prove them."""
        self.conn, self.writer, self.signed, self.policy = conn, writer, signed, policy
        self.signatures = signatures
        self.prover = Prover(conn, signed[1].size) if signed is not None else None
        self.read = 0  # events read by record, to check against the table
        self.span = store.seq_span(conn)

    def check(self, rid: str, events: list[Event]) -> None:
        """Check a record's events (``check_events``) before they are published."""
        check_events(self.conn, rid, events, "publish", self.span, self.signatures)

    def build(self, rid: str, events: list[Event], heads: list[Any]) -> dict[str, Any]:
        # A page is never made of an event edited behind the ledger's back (its reader's
        # browser would find it broken, or, after the checkpoint, could not): checked first.
        self.check(rid, events)
        signed, bundle = self.signed, None
        covered = events if signed is None else [ev for ev in events if ev.seq <= signed[1].size]
        later = events[len(covered):]
        stated = covered or events  # a record wholly after the checkpoint: the page says so
        if signed is not None and covered:  # as the page's verifier folds and shows them
            stated = as_checkable(covered, signed[1].size)
        state = fold(stated)
        if state is None:
            raise CorruptEvent(f"record {rid} has no events")
        shown = views.show_of(state)
        if signed is not None and covered:
            bundle = make_bundle(self.conn, rid, signed[0], signed[1], self.prover, (covered, shown))
        names, src = [page_name(rid)], None
        if bundle is not None:  # written before the page that names it
            script = bundle_script(bundle)
            src = bundle_name(rid, script)
            self.writer.write(src, script)
            names.append(src)
        since = ""
        if later and covered:  # the status the later events give, said when it is another
            head_state = fold(events)
            if head_state is not None and head_state.status != shown["status"]:
                since = head_state.status
        text = record_page(rid, stated, shown, src, signed[2] if signed else None, later,
                           self.policy, since)
        self.writer.write(page_name(rid), text.encode("utf-8"))
        files = [[name, *_stamp(os.lstat(self.writer.out / name))] for name in names]
        return {"heads": heads, "events": len(events), "row": index_row(shown), "files": files,
                "since": since}
