"""Plain-text renderings for terminals: a record, an event line, reports."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from ledger.core.escapes import printable
from ledger.core.events import Event, is_withheld
from ledger.model.labels import PROVENANCE_LABELS, VERIFICATION_LABELS, earlier_version, level_text
from ledger.model.pointer import change_text
from ledger.pages.render import shown_value
from ledger.storage.views import Shown


def show_text(shown: Shown) -> str:
    """Return a record's ``show`` object as readable text."""
    m, p = shown["manifest"], shown["provenance"]
    score = m.get("review_score")
    score_text = ("—" if score is None else shown_value(score) if is_withheld(score)
                  else f"{score:.2f}/10")
    lines = [
        f"{shown['record_id']}  {shown_value(m['title'])}",
        f"  status              {shown['status']} ({shown['correction_count']} notice(s))",
        f"  version             {shown['version']}",
        *([f"  doi                 {m['doi']}"] if m.get("doi") else []),
        f"  submitted           {shown_value(m.get('submitted') or '—')}",
        f"  review score        {score_text}",
        f"  verification level  {level_text(shown['verification_level'], VERIFICATION_LABELS)}",
        f"  provenance level    {level_text(shown['provenance_level'], PROVENANCE_LABELS)}",
        f"  quality tier        {level_text(shown['quality_tier'] or '—', {})}",
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
                     f"{n['issued_by']} ({state})"
                     f"{': ' + shown_value(n['reason']) if n.get('reason') else ''}"
                     f"{' [doi ' + str(n['doi']) + ']' if n.get('doi') else ''}")
        about = earlier_version(n, shown["version"])
        if about is not None:
            lines.append(f"    about version {about} (the record is now at version "
                         f"{shown['version']})")
        changes, claims = n.get("changes") or [], n.get("claim_ids") or []
        lines += ([f"    changes {shown_value(changes)}"] if is_withheld(changes) else
                  [f"    changed {change_text(change)}" for change in changes])
        if claims:
            named = shown_value(claims) if is_withheld(claims) else ", ".join(claims)
            lines.append(f"    claims retracted {named}")
    last = shown["last_event"]
    lines.append(f"  last event          seq {last['seq']} at {last['recorded_at']}")
    return "\n".join(printable(line) for line in lines)  # each is one line, whatever it holds



def event_summary(event: Event, payload: dict[str, Any] | None = None) -> str:
    """Return what an event says in a few words (kind and id of a notice, a gate's verdict…);
    ``payload``: the event's, if the caller parsed it already."""
    payload = event.payload if payload is None else payload
    return {
        "notice.issued": lambda: f"{payload.get('kind')} {payload.get('notice_id')}",
        "gate.evaluated": lambda: f"gate {payload.get('gate')} {payload.get('status')}",
        "record.published": lambda: _cut(shown_value(payload.get("title", "")), 60),
        "record.revised": lambda: _cut(shown_value(payload.get("title", "")), 60),
        "key.added": lambda: f"{payload.get('name')} {payload.get('role')}",
        "key.revoked": lambda: f"{payload.get('name')} {payload.get('role')}",
        "record.purged": lambda: (f"by {payload.get('notice_id')}: "
                                  f"{sum(len(p.get('members', [])) for p in payload.get('purged', []))}"
                                  " member(s) withheld"),
    }.get(event.type, lambda: "")()


def event_line(event: Event, says: str | None = None) -> str:
    """Return a one-line summary of an event (for a notice, the start of its reason too;
    ``says``: what ``_what_it_says`` gives, if the caller has it)."""
    says = _what_it_says(event) if says is None else says
    return printable(f"{event.seq:>6}  {event.recorded_at}  {event.type:<19} {event.record_id}  "
                     f"{event.actor}  {event.hash[:12]}  {says}").rstrip()


def event_lines(event: Event, columns: int) -> list[str]:
    """Return an event's ``event_line`` for a terminal of ``columns``: the line itself if it
    fits; else the seq, time (to the second), type, record and hash on a first line and, under
    it, who appended it and what it says, wrapped to the width (every word kept); where the
    first line would be cut, the record and hash begin the lines under it."""
    says = _what_it_says(event)  # the payload parsed once
    line = event_line(event, says)
    if width(line) < columns:
        return [line]
    time = event.recorded_at
    if isinstance(time, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", time):
        time = time[:19] + "Z"
    head = printable(f"{event.seq:>6}  {time}  {event.type:<19} {event.record_id}  "
                     f"{event.hash[:12]}")
    said = printable(f"{event.actor}: {says}".rstrip(": "))
    if width(head) >= columns:  # a narrow terminal: the record and hash go under, not cut off
        head = printable(f"{event.seq:>6}  {time}  {event.type}")
        said = printable(f"{event.record_id}  {event.hash[:12]}  ") + said
    return [fit(head, columns - 1), *wrapped(said, columns - 1, " " * 8)]


def _what_it_says(event: Event) -> str:
    payload = event.payload
    notice = payload if event.type in ("notice.issued", "key.added", "key.revoked") else {}
    lifts, reason = notice.get("lifts"), notice.get("reason")  # a key's reason too
    said = (f" (lifts {shown_value(lifts)})" if lifts else "") + (
        f": {_cut(shown_value(reason), 60)}" if reason else "")
    return f"{event_summary(event, payload)}{said}"


def _cut(text: str, most: int) -> str:
    return text if len(text) <= most else text[:most - 1] + "…"


def _cells(char: str) -> int:
    """Return how many terminal columns a character takes (two for a wide one, as in Chinese or
    Japanese)."""
    return 2 if unicodedata.east_asian_width(char) in "WF" else 1


def width(text: str) -> int:
    """Return how many terminal columns a text takes."""
    return sum(map(_cells, text))


def fit(text: str, cells: int) -> str:
    """Return ``text`` cut to at most ``cells`` terminal columns, ending in "…" when cut."""
    if width(text) <= cells:
        return text
    used = 0
    for i, char in enumerate(text):
        if used + _cells(char) > cells - 1:
            return text[:i] + "…"
        used += _cells(char)
    return text


def wrapped(text: str, cells: int, indent: str = "    ", first: str | None = None,
            whole_words: bool = False) -> list[str]:
    """Return ``text`` as lines of at most ``cells`` terminal columns, each after ``indent``
    (the first after ``first``, if given), broken at spaces (a word longer than a line is broken
    where the line ends, or, with ``whole_words`` and if it is ASCII, is left whole on a line of
    its own, for the terminal to wrap: a key, a hash or a path copied from the screen stays one
    word; text in a script written without spaces is still broken where the line ends)."""
    lines: list[str] = []
    line = indent if first is None else first
    used, empty = width(line), True
    for word in text.split():
        size = width(word)
        if not empty and used + 1 + size > cells:
            lines.append(line)
            line, used, empty = indent, len(indent), True
        while size > max(1, cells - used) and not (whole_words and word.isascii()):
            part = fit(word, max(1, cells - used) + 1)[:-1] or word[0]
            lines.append(line + part)
            word = word[len(part):]
            size = width(word)
            line, used = indent, len(indent)
        if word:
            line, used = (line + word, used + size) if empty else (line + " " + word,
                                                                    used + 1 + size)
            empty = False
    if not empty or not lines:
        lines.append(line)
    return lines


def fitted(line: str, columns: int) -> list[str]:
    """Return one line of a report as the lines that show it on a terminal of ``columns``: the
    line itself if it fits, else broken at spaces, every word kept and a word longer than a line
    left whole (``wrapped``'s ``whole_words``), its later lines under its value where it has a
    column of labels (``chain:   ``, ``  status              ``, ``SRCH:03BE3A05  ``: a label,
    then two spaces or more) that leaves room for them, else indented under its start."""
    if width(line) < columns:
        return [line]
    label = re.match(r" *[^ ]+(?: [^ ]+)*? {2,}", line)  # two spaces or more after it
    if label and len(label.group()) > columns * 2 // 3:
        label = None  # words that happen to have two spaces after them, far along the line
    lead = min(len(line) - len(line.lstrip(" ")), columns // 2 - 4)
    first = label.group() if label else " " * max(lead, 0)  # its spaces kept
    indent = " " * (len(first) if label and len(first) <= columns // 2 else max(lead, 0) + 4)
    return wrapped(line[len(first):], columns - 1, indent, first=first, whole_words=True)


def as_of_note(as_of: int | None, head: int, which: str | None = None) -> str | None:
    """Return what a page or a state shown as of an earlier seq says first (None for the head);
    ``which``: what that seq is (``the last event recorded by 2026-06-01``)."""
    if as_of is None or as_of >= head:
        return None
    named = f" ({which})" if which else ""
    return (f"As of seq {as_of}{named}: {head - as_of} later event(s) of the ledger not applied "
            f"(the head is seq {head})")
