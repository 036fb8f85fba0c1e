"""Plain-text renderings for terminals: a record, an event line, reports."""

from __future__ import annotations

from ledger.core.events import Event
from ledger.model.labels import PROVENANCE_LABELS, VERIFICATION_LABELS, level_text
from ledger.storage.views import Shown


def show_text(shown: Shown) -> str:
    """Return a record's ``show`` object as readable text."""
    m, p = shown["manifest"], shown["provenance"]
    score = m.get("review_score")
    lines = [
        f"{shown['record_id']}  {m['title']}",
        f"  status              {shown['status']} ({shown['correction_count']} notice(s))",
        f"  version             {shown['version']}",
        f"  submitted           {m.get('submitted') or '—'}",
        f"  review score        {'—' if score is None else f'{score:.2f}/10'}",
        f"  verification level  {level_text(shown['verification_level'], VERIFICATION_LABELS)}",
        f"  provenance level    {level_text(shown['provenance_level'], PROVENANCE_LABELS)}",
        f"  quality tier        {shown['quality_tier'] or '—'}",
    ]
    for gate in shown["gates"]:
        lines.append(f"  gate {gate['gate']:<14} {gate['status']}  {gate['name']}")
    if p:
        ext = p["external_record"]
        lines.append(f"  publisher           {p['publisher']}")
        registered = "registered" if ext["registered"] else "not registered"
        lines.append(f"  external record     {ext.get('identifier') or registered}")
    for n in shown["notices"]:
        state = "in force" if n["in_force"] else f"lifted by {n['lifted_by']}"
        lines.append(f"  notice {n['notice_id']}: {n['kind']} {n['effective_date']} by "
                     f"{n['issued_by']} ({state}){': ' + n['reason'] if n.get('reason') else ''}")
    last = shown["last_event"]
    lines.append(f"  last event          seq {last['seq']} at {last['recorded_at']}")
    return "\n".join(lines)



def event_summary(event: Event) -> str:
    """Return what an event says in a few words (kind and id of a notice, a gate's verdict…)."""
    payload = event.payload
    return {
        "notice.issued": lambda: f"{payload.get('kind')} {payload.get('notice_id')}",
        "gate.evaluated": lambda: f"gate {payload.get('gate')} {payload.get('status')}",
        "record.published": lambda: str(payload.get("title", ""))[:60],
        "record.revised": lambda: str(payload.get("title", ""))[:60],
    }.get(event.type, lambda: "")()


def event_line(event: Event) -> str:
    """Return a one-line summary of an event."""
    return (f"{event.seq:>6}  {event.recorded_at}  {event.type:<19} {event.record_id}  "
            f"{event.actor}  {event.hash[:12]}  {event_summary(event)}").rstrip()
