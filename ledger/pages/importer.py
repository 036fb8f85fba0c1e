"""Importing record pages: each page's facts become events, in batches of pages.

A page is imported inside its own SAVEPOINT: a malformed page writes nothing, the others in its
batch still land. Facts a page does not show (the compact layout has no submitted date, no
review score, no DOI) keep the ledger's current values, and facts that agree with the ledger
write nothing, so importing the same page twice is a no-op.
"""

from __future__ import annotations

import itertools
import shlex
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ledger.core.canonical import JsonInputError, parse_json
from ledger.core.clock import Clock
from ledger.core.events import is_withheld
from ledger.errors import LedgerError, LineRefused
from ledger.model.pointer import apply_changes
from ledger.model.rules import filed_with, removed_by, same, set_back
from ledger.model.state import RecordState
from ledger.ops.batch import Batch
from ledger.ops.files import UTF16_BOMS, UTF16_TEXT
from ledger.pages.facts import PageFacts, facts_of
from ledger.pages.layout import PageError, parse_page
from ledger.storage import store

if TYPE_CHECKING:
    from ledger.core.note import Signer

GATE_KEYS = ("name", "status", "reason", "evaluated_at")


@dataclass
class PageOutcome:
    source: str
    record_id: str = ""
    appended: int = 0
    warnings: list[str] = field(default_factory=list)
    error: str = ""


def page_text(data: bytes, source: str) -> str:
    """Return a page's text, without the byte order mark an editor may put first; refuse bytes
    that are not UTF-8, naming the line."""
    if data.startswith(UTF16_BOMS):
        raise PageError(1, UTF16_TEXT)
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise PageError(line, f"not UTF-8 text (byte {exc.start})") from None


def import_pages(conn: sqlite3.Connection, clock: Clock, pages: Iterable[tuple[str, bytes]],
                 actor: str, batch_size: int = 500,
                 progress: Callable[[int], None] | None = None,
                 signer: Signer | None = None) -> list[PageOutcome]:
    """Import (source name, bytes) pages in transactions of ``batch_size`` pages, taking them
    from ``pages`` a batch at a time (read lazily, only one batch of pages is held at once)."""
    outcomes: list[PageOutcome] = []
    remaining = iter(pages)
    while chunk := list(itertools.islice(remaining, batch_size)):  # read before the write lock
        with store.write_transaction(conn):
            batch = Batch(conn, clock, signer)
            for source, data in chunk:
                outcomes.append(_one(batch, source, data, actor))
            batch.flush()
        if progress is not None:
            progress(len(chunk))
    return outcomes


def _one(batch: Batch, source: str, data: bytes, actor: str) -> PageOutcome:
    outcome = PageOutcome(source)
    try:
        facts = facts_of(parse_page(page_text(data, source)))
    except PageError as exc:
        instead = json_instead(data, source) if exc.line == 1 else ""
        outcome.error = f"{source}:{exc.line}: {exc.reason}{instead}"
        return outcome
    outcome.record_id = facts.record_id
    before = batch.appended
    noted: list[str] = []
    try:
        with batch.savepoint(facts.record_id):
            _apply(batch, facts, actor, noted)
    except LineRefused as exc:
        outcome.error = f"{source}:{exc.line}: {exc.reason}"
        return outcome
    outcome.appended = batch.appended - before
    state = batch.state(facts.record_id)
    if state is not None:
        outcome.warnings = [f"{source}: {n}" for n in noted] + contradictions(facts, state, source)
    return outcome


def json_instead(data: bytes, source: str) -> str:
    """Return what a file given as a page that is JSON is, with the command that reads it
    (``: it is JSON Lines; …``), or "" if it is not JSON."""
    try:
        doc = parse_json(data)
    except JsonInputError:
        try:
            doc = parse_json(data.split(b"\n", 1)[0])
        except JsonInputError:
            return ""
        if not isinstance(doc, dict):
            return ""
    quoted = shlex.quote(source)
    if isinstance(doc, dict) and {"contract", "payload"} <= doc.keys():
        return f"; it is JSON Lines: `ledger append --jsonl {quoted}` appends it"
    found = filed_with(doc)
    if found is None:
        return "; it is JSON"
    return f"; it is a {found[0]} document: `{found[1].replace('FILE', quoted)}` appends it"


def _add(batch: Batch, contract: str, payload: dict[str, Any], actor: str,
         line: int | Callable[[LedgerError], int]) -> None:
    try:
        batch.add(contract, payload, actor)
    except LedgerError as exc:
        raise LineRefused(line if isinstance(line, int) else line(exc), str(exc)) from None


def _apply(batch: Batch, facts: PageFacts, actor: str, noted: list[str]) -> None:
    state = batch.state(facts.record_id)
    shown = facts.manifest if state is None else {**_present(state.manifest), **facts.manifest}
    new = _new_notices(batch, facts)
    wanted = _content(state, facts, shown, _corrected(state, new))
    removal = removed_by(state) if state is not None else None
    if removal is not None:
        # A copy of the page served before the removal would bring back, for good, the content
        # its purge withheld (manifest, provenance, gate reasons): none of it is taken.
        if wanted:
            noted.append(f"{facts.record_id} is REMOVED (removal {removal} in force): the page's "
                         "content was not imported (`ledger publish` a new version to restore "
                         "it)")
    else:
        for contract, payload, line in wanted:
            back = set_back(payload, state) if state is not None and contract == MANIFEST else None
            if back is not None:
                noted.append(back.replace("this manifest", "the page", 1))
            _add(batch, contract, payload, actor, line)
        state = batch.state(facts.record_id)
        if state is not None:
            new = _as_shown(state, shown, new, noted, facts)
    for notice, line in new:
        _add(batch, "correction-record-v1", notice, actor, line)


def _new_notices(batch: Batch, facts: PageFacts) -> list[tuple[dict[str, Any], int]]:
    """Return the page's notices (and their lines) that the ledger has not, each id once."""
    new: dict[str, tuple[dict[str, Any], int]] = {}
    for notice, line in facts.notices:
        notice_id = str(notice.get("notice_id", ""))
        if not notice_id or (batch.lookup_notice(notice_id) is None and notice_id not in new):
            new[notice_id or f"#{line}"] = (notice, line)
    return list(new.values())


def _corrected(state: RecordState | None,
               notices: list[tuple[dict[str, Any], int]]) -> dict[str, Any] | None:
    """Return the record's manifest with the page's new corrections applied (None if they
    change nothing or cannot apply): when it is the page's, they are what changed it, not a
    new version."""
    changes = [c for n, _line in notices for c in n.get("changes") or []]
    return _applied(state.manifest, changes) if state is not None and changes else None


def _as_shown(state: RecordState, shown: dict[str, Any], notices: list[tuple[dict[str, Any], int]],
              noted: list[str], facts: PageFacts) -> list[tuple[dict[str, Any], int]]:
    """Return the page's new notices, a correction with its changes only where they make the
    record's manifest what the page shows (``shown``): the manifest on a page has every change
    in force applied, so a change it does not show was set again by a later version (or by a
    later correction on the page, whose own change then stands). Changes dropped are noted,
    with the version the page says the notice is about, if it says one."""
    settled, drop = set[str](), set[int]()
    for i in reversed(range(len(notices))):  # a later change to a path settles it
        changes = notices[i][0].get("changes") or []
        if not all(str(c["path"]) in settled or _leaves(shown, [c]) for c in changes):
            drop.add(i)
        settled.update(str(c["path"]) for c in changes)
    kept = [c for i, (n, _line) in enumerate(notices) if i not in drop for c in n.get("changes") or []]
    after = _applied(state.manifest, kept)  # nested paths (/quality, then /quality/tier)
    if kept and (after is None or not same(after, shown)):  # all or none
        drop = {i for i, (n, _line) in enumerate(notices) if n.get("changes")}
    for i in sorted(drop):
        notice_id = str(notices[i][0].get("notice_id"))
        about = facts.about.get(notice_id)
        why = (f"the notice is about version {about} and the page shows version {facts.version}, "
               "which set those values again" if about and facts.version
               else "a later version set those values again?")
        noted.append(f"{state.record_id}: the changes of notice {notice_id} were not imported: "
                     f"they would make the manifest differ from what the page shows ({why})")
    return [({k: v for k, v in n.items() if k != "changes"} if i in drop else n, line)
            for i, (n, line) in enumerate(notices)]


def _leaves(manifest: dict[str, Any], changes: list[dict[str, Any]]) -> bool:
    """Return whether the changes, applied in order, leave the manifest as it is."""
    after = _applied(manifest, changes)
    return after is not None and same(after, manifest)


def _applied(manifest: dict[str, Any], changes: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Return the manifest with the changes applied in order, or None if one cannot apply (a
    path the manifest does not have: not what the page shows)."""
    try:
        return apply_changes(manifest, changes)
    except LedgerError:
        return None


MANIFEST = "paper-manifest-v1.1"


def _content(state: RecordState | None, facts: PageFacts, manifest: dict[str, Any],
             corrected: dict[str, Any] | None,
             ) -> list[tuple[str, dict[str, Any], int | Callable[[LedgerError], int]]]:
    """Return (contract, payload, page line) of each append the page's content asks of the
    record as it is: its manifest (``manifest``: the page's, with what it does not show kept
    from the ledger; none if the page's new corrections make ``corrected`` of the ledger's),
    provenance and gate evaluations, where they differ."""
    wanted: list[tuple[str, dict[str, Any], int | Callable[[LedgerError], int]]] = []
    if state is None or not (same(state.manifest, manifest)
                             or (corrected is not None and same(corrected, manifest))):
        wanted.append((MANIFEST, manifest, lambda exc: _manifest_line(facts, exc)))
    current = state.provenance if state is not None else None
    if facts.provenance is not None:
        merged = _merge_provenance(current, facts.provenance)
        if current is None or not same(current, merged):
            wanted.append(("source-provenance-v1", merged, facts.lines.get("note", 1)))
    gates = state.gates if state is not None else {}
    for gate, line in facts.gates:
        latest = gates.get(gate["gate"])
        if latest is None or any(latest.payload.get(k) != gate.get(k) for k in GATE_KEYS):
            wanted.append(("gate-evaluation-v1", gate, line))
    return wanted


def _present(doc: dict[str, Any]) -> dict[str, Any]:
    """Return ``doc`` without the members a purge withheld (markers, not values to keep)."""
    return {key: value for key, value in doc.items() if not is_withheld(value)}


def _kept(value: Any) -> dict[str, Any]:
    """Return a stored object's members to keep: none if a purge withheld it whole."""
    return _present(value) if isinstance(value, dict) and not is_withheld(value) else {}


def _manifest_line(facts: PageFacts, exc: LedgerError) -> int:
    """Return the page line of the manifest key a refusal names (``contract: key: …``)."""
    parts = str(exc).split(": ")
    key = parts[1].split("/")[0] if len(parts) > 2 else ""
    return facts.lines.get(key, facts.lines["record_id"])


def _merge_provenance(current: dict[str, Any] | None, page: dict[str, Any]) -> dict[str, Any]:
    """Return the page's provenance with details it does not show kept from ``current``."""
    if current is None:
        return page
    merged = dict(page)
    artifact, external = dict(page["report_artifact"]), dict(page["external_record"])
    kept_artifact = _kept(current.get("report_artifact"))
    kept_external = _kept(current.get("external_record"))
    if artifact["available"] == kept_artifact.get("available"):
        artifact = {**kept_artifact, **artifact}
    if external["registered"] == kept_external.get("registered"):
        external = {**kept_external, **external}
    merged["report_artifact"], merged["external_record"] = artifact, external
    return merged


def contradictions(facts: PageFacts, state: RecordState, source: str) -> list[str]:
    """Return a warning for each value the page states that the ledger derives differently."""
    derived = {"verification_level": state.verification_level,
               "provenance_level": state.provenance_level, "status": state.status,
               "correction_count": str(state.correction_count)}
    names = {"verification_level": "verification level", "provenance_level": "provenance level",
             "status": "correction status", "correction_count": "correction count"}
    return [f"{source}:{f.line}: the page states {names[k]} {f.value}, the ledger derives "
            f"{derived[k]}" for k, f in facts.stated.items() if f.value and f.value != derived[k]]
