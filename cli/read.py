"""Commands that read or check: show, history, log, verify, audit, rebuild, export."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias, get_args

import click
import orjson

from ledger.core.escapes import printable
from ledger.errors import CorruptEvent, RefusedInput
from ledger.model.contracts import Tier
from ledger.model.state import WITHHELD_VALUE
from ledger.ops.export import FORMATS, ExportedHead
from ledger.ops.files import output_file
from ledger.pages.text import as_of_note, event_line, event_lines, fit, show_text, wrapped

from .common import (
    FileName,
    LedgerContext,
    WordsChoice,
    as_of_seq,
    change_lines,
    complete_record_id,
    emit_json,
    emit_json_items,
    format_of,
    http_url,
    json_option,
    paint_status,
    pass_ctx,
    progress,
    progress_phases,
    read_checkpoint_note,
    refuse_writing_over,
    say,
    seq_or_moment,
    stdout_bytes,
    tell,
    terminal_columns,
    whole,
    write_output,
)

if TYPE_CHECKING:
    from ledger.api import Ledger
    from ledger.core.checkpoint import Checkpoint
    from ledger.core.events import Event
    from ledger.core.note import Verifier
    from ledger.core.progress import Progress
    from ledger.model.verify import VerifyReport


@click.command(short_help="Show a record's state: status, levels, gates, notices.")
@click.argument("record_id", shell_complete=complete_record_id)
@click.option("--as-of", metavar="SEQ|DATE",
              help="The record's state after this seq, or after the last event recorded by "
                   "this date (YYYY-MM-DD, the whole UTC day) or RFC 3339 time.")
@json_option
@pass_ctx
def show(obj: LedgerContext, record_id: str, as_of: str | None, as_json: bool) -> None:
    """Show a record's current state: status, levels, tier, gates, manifest, notices.

    With --as-of, its state after that seq, or as of that date or time: what it was then
    (content purged since stays withheld).

    \b
    Example:
        ledger show SRCH:03BE3A05
        ledger show srch:03be3a05 --json
        ledger show SRCH:03BE3A05 --as-of 8
        ledger show SRCH:03BE3A05 --as-of 2026-06-01
    """
    with obj.open(signing=False) as ledger:
        seq, by = as_of_seq(ledger, as_of)
        shown = ledger.show(record_id, seq, by)
        head, _ = ledger.head()
    if as_json:
        emit_json(shown)
        return
    note = as_of_note(seq, head, by)
    if note:
        tell(note)
    tell(*show_text(shown).split("\n"))  # each line of it escaped, a line of its own


@click.command()
@click.argument("record_id", shell_complete=complete_record_id)
@json_option
@pass_ctx
def history(obj: LedgerContext, record_id: str, as_json: bool) -> None:
    """List every event of a record, oldest first.

    \b
    Example:
        ledger history SRCH:03BE3A05 --json
    """
    with obj.open(signing=False) as ledger:
        events = ledger.history(record_id)
    if as_json:
        emit_json([e.envelope() for e in events])
    else:
        columns = terminal_columns()
        for event in events:
            for line in event_lines(event, columns) if columns else [event_line(event)]:
                say(line)


@click.command()
@click.option("--since", default="0", show_default=True, metavar="SEQ|DATE",
              help="Only events after this seq, or recorded on or after this date (YYYY-MM-DD "
                   "or an RFC 3339 time).")
@click.option("--until", metavar="SEQ|DATE",
              help="Only events up to this seq, or recorded by this date (the whole UTC day) or "
                   "RFC 3339 time.")
@click.option("-n", "limit", type=whole(1), help="Only the last N events that match.")
@click.option("--record", "record_id", help="Only this record's events.",
              shell_complete=complete_record_id)
@click.option("--type", "types", multiple=True, metavar="TYPE",
              help="Only events of this type (repeatable): record.published, notice.issued, …")
@click.option("--actor", help="Only events by this actor.")
@click.option("--jsonl", is_flag=True, help="One JSON envelope per line (JSON Lines), streamed.")
@json_option
@pass_ctx
def log(obj: LedgerContext, since: str, until: str | None, limit: int | None,
        record_id: str | None, types: tuple[str, ...], actor: str | None, jsonl: bool,
        as_json: bool) -> None:
    """Print the raw events that match, oldest first.

    `--json` prints one JSON array of full envelopes and `--jsonl` one envelope per line; both
    stream (nothing is built in memory but the last N events for -n).

    \b
    Example:
        ledger log --since 10
        ledger log --type notice.issued --since 2026-11-01 -n 20
        ledger log --since 2026-06-01 --until 2026-06-30
        ledger log --record SRCH:03BE3A05 --jsonl > history.jsonl
    """
    import collections
    import itertools

    from ledger.core.events import TYPE_CONTRACTS

    if as_json and jsonl:
        raise RefusedInput("--json and --jsonl: give one")
    unknown = sorted(set(types) - set(TYPE_CONTRACTS))
    if unknown:
        raise RefusedInput(f"unknown event type {unknown[0]!r} (known: {', '.join(TYPE_CONTRACTS)})")
    after, day = _since(since)
    upto, by = _until(until)
    out = stdout_bytes()
    with obj.open(signing=False) as ledger:
        rid = ledger.known(record_id) if record_id else None
        if rid:
            source: Iterable[Event] = (e for e in ledger.history(rid) if e.seq > after)
        elif limit:  # the last N read from the head back: a long log's rest is not read
            source = ledger.events_back(after, upto)
        else:
            source = ledger.events(after, upto)  # up to --until SEQ: the rest is not read
        chosen = (e for e in source
                  if (not types or e.type in types) and (actor is None or e.actor == actor)
                  and (day is None or e.recorded_at >= day)
                  and (upto is None or e.seq <= upto) and (by is None or e.recorded_at <= by))
        if limit and not rid:
            events: Iterator[Event] = reversed(list(itertools.islice(chosen, limit)))
        elif limit:
            events = iter(collections.deque(chosen, maxlen=limit))
        else:
            events = iter(chosen)
        if not rid:  # a record's history is checked whole (``history``); here each event shown
            events = ledger.checked(events)
        if as_json:  # "[" with the first event: an event refused first leaves stdout empty
            emit_json_items(event.envelope() for event in events)
        elif jsonl:
            for event in events:
                out.write(orjson.dumps(event.envelope(), option=orjson.OPT_SORT_KEYS) + b"\n")
        else:
            written, columns = 0, terminal_columns()
            for event in events:
                lines = event_lines(event, columns) if columns else [event_line(event)]
                out.write("".join(line + "\n" for line in lines).encode())
                written += 1
            if not written:  # said on stderr: what a script reads from stdout stays empty
                out.flush()
                say("No event matches.", err=True)
    out.flush()


def _until(value: str | None) -> tuple[int | None, str | None]:
    """Return (last seq to read or None, latest recorded_at or None) of a --until SEQ|DATE."""
    if value is None:
        return None, None
    found = seq_or_moment("--until", value)
    return (found, None) if isinstance(found, int) else (None, found.last)


def _since_seq(ledger: Ledger, value: str | None) -> int | None:
    """Return the seq an ``export --since SEQ|DATE`` reads after: a date's or a time's, the last
    event recorded before it (the records changed on or after it are those it exports)."""
    if value is None:
        return None
    found = seq_or_moment("--since", value)
    return found if isinstance(found, int) else ledger.seq_recorded_by(found.first, before=True)


def _since(value: str) -> tuple[int, str | None]:
    """Return (seq to read after, earliest recorded_at or None) of a --since SEQ|DATE."""
    found = seq_or_moment("--since", value)
    return (found, None) if isinstance(found, int) else (0, found.first)


def _kept_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options ``verify`` and ``audit`` share: what an auditor kept, which the log must
    extend (a signed checkpoint, or an earlier copy of the file)."""
    for option in reversed((
            click.option("--checkpoint", "checkpoint_files", type=click.Path(),
                         metavar="FILE|DIR", multiple=True,
                         help="Also check that the log extends this signed checkpoint (a note, "
                              "or the one a tlog-proof, a bundle or `ledger monitor --state`'s "
                              "state file holds); give it again for more, or a folder of them, "
                              "all checked in one pass."),
            click.option("--vkey", help="The verifier key of the checkpoint (string or file)."),
            click.option("--policy", "policy_file", type=FileName("the policy file"),
                         help="Also require the checkpoint's witness cosignatures to meet this "
                              "quorum."),
            click.option("--extends", "old_copy", type=FileName("the old copy"),
                         metavar="OLD_COPY",
                         help="Also check that the log extends this earlier copy of the ledger "
                              "file, or this export of it (the head its header names)."))):
        command = option(command)
    return command


def kept_files(sources: Sequence[str]) -> list[str]:
    """Return the files ``--checkpoint`` names: each file given, and each file a folder given
    holds (its own files, by name; not those in its subfolders, nor hidden ones, nor an SQLite
    database other than a witness's state file, nor the -wal, -shm or -journal file beside one
    — a monitor's mirror kept with its state file), so that an auditor who saved every
    checkpoint they saw in one folder gives the folder. Refuse a folder that holds no other
    file: it checks nothing."""
    from ledger.storage.store import is_sqlite_file

    files: list[str] = []
    for source in sources:
        if not source:
            raise RefusedInput("the checkpoint file name is empty")
        if source == "-" or not os.path.isdir(source):
            files.append(source)
            continue
        try:
            with os.scandir(source) as entries:
                held = sorted(entry.path for entry in entries
                              if not entry.name.startswith(".") and entry.is_file())
        except OSError as exc:
            raise RefusedInput(f"cannot read the folder {source}: "
                               f"{exc.strerror or exc}") from None
        databases = {path for path in held if is_sqlite_file(path)}
        held = [path for path in held if (path not in databases or _is_witness_state(path))
                and not any(path == database + side for database in databases
                            for side in ("-wal", "-shm", "-journal"))]
        if not held:
            raise RefusedInput(f"{source} is a folder that holds no file"
                               + (" but databases" if databases else "") + ": give the files of "
                               "the checkpoints kept, or a folder of them")
        files.extend(held)
    return files


@dataclass(frozen=True)
class KeptCheckpoints:
    """The checkpoints an auditor kept (``--checkpoint``), each one's signature checked; with
    --policy, each one's quorum met too, and ``witnessed``, by (size, base64 root), the policy's
    witnesses that cosigned it and the latest time one of them did (``witnessed_at``)."""

    notes: list[str]
    verifier: Verifier
    witnessed: dict[tuple[int, str], tuple[list[str], str | None]] | None = None


# checkpoints kept, an old copy, the head an export was made at
KeptGiven: TypeAlias = "KeptCheckpoints | Ledger | ExportedHead | None"


def _kept(obj: LedgerContext, checkpoint_files: Sequence[str], vkey: str | None,
          policy_file: str | None, old_copy: str | None) -> KeptGiven:
    """Return what the log must be checked to extend, from the options of ``_kept_options``:
    the checkpoints' notes and verifier key (each one's witness quorum met, with --policy), the
    old copy opened, or None."""
    if bool(checkpoint_files) != (vkey is not None):
        raise RefusedInput("--checkpoint and --vkey go together")
    if policy_file is not None and not checkpoint_files:
        raise RefusedInput("--policy checks a checkpoint: give --checkpoint and --vkey too")
    if old_copy is not None and checkpoint_files:
        raise RefusedInput("--extends and --checkpoint: give one")
    if old_copy is not None:
        return _old_copy(obj, old_copy)
    if not checkpoint_files or vkey is None:
        return None
    from ledger.core.checkpoint import open_checkpoint
    from ledger.core.note import key_label
    from ledger.core.policy import QuorumError, open_witnessed
    from ledger.errors import SignatureError
    from ledger.ops.keys import read_policy, read_verifier

    policy = read_policy(policy_file) if policy_file else None
    # each file read as before the key (a witness's state file is read by the key's name after)
    given = [(f, None if _is_witness_state(f) else read_checkpoint_note(f))
             for f in kept_files(checkpoint_files)]
    verifier = read_verifier(vkey)
    named = set(checkpoint_files)  # a witness's state file in a folder given may be another log's
    labelled: list[tuple[str, str]] = []  # (where it is, note)
    for f, read in given:
        if read is not None:
            labelled.append((f, read))
            continue
        for which, note in _witness_checkpoints(f, verifier, policy is not None, f in named):
            labelled.append((f"{f} ({which})", note))
    if not labelled:  # only witnesses' state files in the folders, none holding this log's
        raise RefusedInput(f"{', '.join(checkpoint_files)} holds no checkpoint signed by "
                           f"{key_label(verifier.name, verifier.key_id)}: it checks nothing")
    witnessed: dict[tuple[int, str], tuple[list[str], str | None]] | None = (
        None if policy is None else {})
    for where, note in labelled:  # a signature that fails names the file that holds it
        try:
            if policy is None:
                open_checkpoint(note, verifier)
                continue
            checkpoint, names, at = open_witnessed(note, policy, verifier)
        except QuorumError as exc:
            raise QuorumError(f"{where}: {exc}", exc.cosigned) from None
        except SignatureError as exc:
            raise SignatureError(f"{where}: {exc}") from None
        assert witnessed is not None
        seen, then = witnessed.get((checkpoint.size, checkpoint.root_b64), ([], None))
        witnessed[checkpoint.size, checkpoint.root_b64] = (  # the same one kept twice: both
            [*seen, *(name for name in names if name not in seen)], max(
                (t for t in (then, at) if t is not None), default=None))
    return KeptCheckpoints([note for _, note in labelled], verifier, witnessed)


def _is_witness_state(path: str) -> bool:
    """Return whether ``--checkpoint`` names a witness's state file (``witness serve --db``)."""
    from ledger.storage import store, witnessdb

    return path != "-" and store.application_id(path) == witnessdb.APPLICATION_ID


def _witness_checkpoints(path: str, verifier: Verifier, policy: bool,
                         named: bool = True) -> list[tuple[str, str]]:
    """Return (which, note) of the checkpoint notes of the log a witness's state file holds,
    signed by ``verifier``'s key: the latest it cosigned, and each it refused as evidence of a
    fork. One in a folder given (not ``named``) that holds none, or given with a policy, gives
    none: the folder's other files are the checkpoints kept."""
    from ledger.ops.witness import checkpoints_signed_by

    if not named:
        if policy:
            return []
        try:
            return checkpoints_signed_by(Path(path), verifier)
        except RefusedInput:
            return []
    if policy:
        raise RefusedInput(f"{path} is a witness's state file: each checkpoint it holds carries "
                           "that witness's cosignature alone, so none meets a policy's quorum; "
                           "give it without --policy, or the checkpoint `ledger checkpoint "
                           "--policy` wrote")
    return checkpoints_signed_by(Path(path), verifier)


@contextlib.contextmanager
def _checking(obj: LedgerContext, kept: KeptGiven, label: str, per_event: int = 1
              ) -> Iterator[tuple[Ledger | None, VerifyReport | None, Progress | None,
                                  Progress | None]]:
    """Open the ledger for ``verify`` or ``audit`` and yield (it, None, the progress of its
    check, the progress of verifying the old copy), or (None, the finding, None, None) when
    SQLite cannot read the file (``_open_for_checks``). Close the old copy after."""
    from ledger.api import Ledger

    old = kept if isinstance(kept, Ledger) else None
    with contextlib.ExitStack() as stack:
        if old is not None:
            stack.enter_context(old)
        opened, unreadable = _open_for_checks(obj)
        if opened is None:
            yield None, unreadable, None, None
            return
        ledger = stack.enter_context(opened)
        phases = [(label, per_event * ledger.count())]
        if old is not None:
            phases.insert(0, ("Verifying the old copy", old.count()))
        bars = stack.enter_context(progress_phases(*phases))
        yield ledger, None, bars[-1], bars[0] if old is not None else None


def _extended(kept: KeptGiven, old_copy: str | None,
              checkpoints: Sequence[Checkpoint]) -> tuple[dict[str, object], str]:
    """Return what ``--json`` adds about what the log extends, and the line that says it."""
    from ledger.api import Ledger

    if isinstance(kept, Ledger):
        events, head_hash = kept.head()
        return ({"extends": {"file": old_copy, "events": events, "head_hash": head_hash}},
                f"OK: the log extends {old_copy} ({events} events, head hash {head_hash[:16]}…): "
                "none of them was changed, removed or reordered")
    if isinstance(kept, ExportedHead):
        return ({"extends": {"file": old_copy, "events": kept.seq, "head_hash": kept.hash}},
                f"OK: the log extends {old_copy} (a {kept.format} export at seq {kept.seq}, "
                f"head hash {kept.hash[:16]}…): none of those events was changed, removed or "
                "reordered")
    if not checkpoints:
        return {}, ""
    shown = [{"origin": c.origin, "size": c.size, "root": c.root_b64} for c in checkpoints]
    last = checkpoints[-1]
    extra: dict[str, object] = {"checkpoint": shown[-1]}
    if len(checkpoints) == 1:
        said = f"OK: the log extends the checkpoint of size {last.size} signed by {last.origin}"
    else:
        extra["checkpoints"] = shown
        said = (f"OK: the log extends the {len(checkpoints)} checkpoints of sizes "
                f"{', '.join(str(c.size) for c in checkpoints)} signed by {last.origin}")
    witnessed = kept.witnessed if isinstance(kept, KeptCheckpoints) else None
    if witnessed is not None:  # --policy: each met its quorum; who cosigned the last, and when
        names, _ = witnessed.get((last.size, last.root_b64), ([], None))
        at = max((t for _, t in witnessed.values() if t is not None), default=None)
        extra.update(cosigned_by=names, witnessed_at=at)
        said += (f", {'each ' if len(checkpoints) > 1 else ''}cosigned as the policy's quorum "
                 f"requires ({'the last ' if len(checkpoints) > 1 else ''}by {', '.join(names)})"
                 + (f", most recently at {at} (a witness then knew of no later checkpoint)"
                    if at else ""))
    return extra, said


@click.command(short_help="Recompute every hash, link and the Merkle tree.")
@_kept_options
@json_option
@pass_ctx
def verify(obj: LedgerContext, checkpoint_files: tuple[str, ...], vkey: str | None,
           policy_file: str | None, old_copy: str | None, as_json: bool) -> None:
    """Recompute every event hash, link and the Merkle tree; exit 1 naming the first bad seq.

    With --checkpoint and --vkey, also check the checkpoint's signature and that the log
    extends it (a truncated tail or a rewritten history fails). With --extends, the same
    against an earlier copy of the ledger file an auditor kept, naming the first event that
    differs, or an export an indexer kept (the head it was made at).

    \b
    Example:
        ledger verify
        ledger verify --json
        ledger verify --checkpoint checkpoint-120.txt --vkey publisher.vkey
        ledger verify --checkpoint seen.json --checkpoint saved.bundle.json --vkey publisher.vkey
        ledger verify --checkpoint kept-checkpoints/ --vkey publisher.vkey
        ledger verify --extends archive/ledger-2026-11.db
        ledger verify --extends ingested-snapshot.jsonl
    """
    kept = _kept(obj, checkpoint_files, vkey, policy_file, old_copy)
    checkpoints: list[Checkpoint] = []
    with _checking(obj, kept, "Verifying") as (ledger, unreadable, bar, old_bar):
        if ledger is None:
            assert unreadable is not None
            report = unreadable
        elif isinstance(kept, ExportedHead):
            assert old_copy is not None
            report = ledger.verify_extends_head(kept.seq, kept.hash, old_copy, bar)
        elif isinstance(kept, KeptCheckpoints):
            report, checkpoints = ledger.verify_checkpoints(kept.notes, kept.verifier, bar)
        elif kept is not None:
            report = ledger.verify_extends(kept, bar, old_bar)
        else:
            report = ledger.verify(bar)
        extra, extended = _extended(kept, old_copy, checkpoints) if ledger else ({}, "")
    if as_json:
        emit_json({**report.as_json(), **extra})
    elif report.ok:
        tell(f"OK: {report.events} events verify; head hash {report.head_hash}")
        if report.withheld:
            notices = sorted({(q, n) for _, _, n, q in report.withheld})
            tell(f"Withheld: {len(report.withheld)} payload member(s) of "
                 f"{len({s for s, *_ in report.withheld})} event(s), each by a "
                 "removal's purge: "
                 + ", ".join(f"notice {n} (seq {q})" for q, n in notices))
        if extended:
            tell(extended)
    else:
        say(f"FAILED at {report.where}: {report.reason}", err=True)
    sys.exit(0 if report.ok else 1)


def _old_copy(obj: LedgerContext, path: str) -> Ledger | ExportedHead:
    """Open an earlier copy of the ledger for ``--extends``, or read the head an export of it
    was made at; refuse the ledger itself, and a name with no file (not with ``open``'s hint to
    create a ledger there)."""
    from ledger.api import Ledger
    from ledger.ops.export import exported_head
    from ledger.storage.store import is_sqlite_file

    if not os.path.exists(path):
        raise RefusedInput(f"--extends {path}: there is no file there (the earlier copy of the "
                           "ledger file, or the export of it, you kept)")
    with contextlib.suppress(OSError):
        if os.path.samefile(path, obj.db):
            raise RefusedInput(f"--extends {path} is the ledger itself: give an earlier copy")
    if os.path.isfile(path) and os.path.getsize(path) and not is_sqlite_file(path):
        return exported_head(path)  # (an empty file may be a copy whose pages are in its -wal)
    return Ledger.open(path)


def _open_for_checks(obj: LedgerContext) -> tuple[Ledger | None, VerifyReport | None]:
    """Return (the opened ledger, None), or (None, the finding) for a ledger file SQLite cannot
    read: for ``verify`` and ``audit`` a finding like the others (exit 1, in their own report
    format), not a refused input."""
    try:
        return obj.open(signing=False), None
    except CorruptEvent as exc:
        from ledger.model.verify import damage_report

        found = damage_report(exc)
        if found is None:
            raise
        return None, found


@click.command(short_help="Verify, then check every rule, the views and the tiers.")
@click.option("--strict", is_flag=True, help="Editorial warnings fail the audit too (exit 1).")
@_kept_options
@json_option
@pass_ctx
def audit(obj: LedgerContext, strict: bool, checkpoint_files: tuple[str, ...],
          vkey: str | None, policy_file: str | None, old_copy: str | None,
          as_json: bool) -> None:
    """Verify, then check every rule for every event, the views, the search index, the tiers.

    Exit 1 on an integrity finding (the chain, the rules, the views, the search index, the
    checkpoints); editorial-policy findings (a tier that contradicts the score) and an event
    recorded before the event before it (a clock that went back) are warnings, exit 1 only
    with --strict. --checkpoint and --vkey, or --extends, check that the log extends what an
    auditor kept, as `ledger verify` does: the chain fails where it does not.

    \b
    Example:
        ledger audit
        ledger audit --strict --json
        ledger audit --checkpoint checkpoint-120.txt --vkey publisher.vkey
        ledger audit --extends archive/ledger-2026-11.db
    """
    from ledger.ops.audit import AuditReport

    kept = _kept(obj, checkpoint_files, vkey, policy_file, old_copy)
    checkpoints: list[Checkpoint] = []
    # each event is counted twice: verified, then replayed through the rules
    with _checking(obj, kept, "Auditing", per_event=2) as (ledger, unreadable, bar, old_bar):
        if ledger is None:
            assert unreadable is not None
            report = AuditReport(unreadable)
        elif isinstance(kept, ExportedHead):
            assert old_copy is not None
            report = ledger.audit_extends_head(kept.seq, kept.hash, old_copy, bar)
        elif isinstance(kept, KeptCheckpoints):
            report, checkpoints = ledger.audit_checkpoints(kept.notes, kept.verifier, bar)
        elif kept is not None:
            report = ledger.audit_extends(kept, bar, old_bar)
        else:
            report = ledger.audit(bar)
        extra, extended = _extended(kept, old_copy, checkpoints) if ledger else ({}, "")
    failed = not report.ok or (strict and bool(report.warnings))
    if as_json:
        emit_json({**report.as_json(), **extra})
        sys.exit(1 if failed else 0)
    v = report.verify
    broken = "" if v.ok else f"; first bad {v.where}: {v.reason}"
    tell(f"chain:   {'OK' if v.ok else 'FAILED'}: {v.events} events verified{broken}")
    if v.ok and extended:
        tell(f"kept:    {extended}")
    tell(f"records: {report.records}")
    for f in report.integrity:
        where = " ".join(x for x in (f"seq {f.seq}" if f.seq else "", f.record_id or "") if x)
        tell(f"{f.check}:   {where + ': ' if where else ''}{f.message}")
    for f in report.warnings:
        where = " ".join(x for x in (f"seq {f.seq}" if f.seq else "", f.record_id or "") if x)
        tell(f"warning ({f.check}): {where + ': ' if where else ''}{f.message}")
    derived = {f.check for f in report.integrity}
    if v.ok and derived == {"views"}:
        tell("The events verify; only the views (what SQL readers and Datasette see) differ from "
             "them: `ledger rebuild` writes them again from the events.")
    elif v.ok and derived == {"search index"}:
        tell("The events verify; only the search index (a cache `ledger search` reads) differs "
             "from them: `ledger rebuild` drops it, and the next search makes it anew.")
    elif v.ok and derived == {"views", "search index"}:
        tell("The events verify; only the views (what SQL readers and Datasette see) and the "
             "search index differ from them: `ledger rebuild` writes the views again from the "
             "events and drops the index, which the next search makes anew.")
    warned = f"; {len(report.warnings)} editorial warning(s)" if report.warnings else ""
    tell(("audit: OK" + warned + (" (--strict: FAILED)" if failed else "")) if report.ok
         else f"audit: FAILED ({len(report.integrity)} finding(s)"
         f"{'' if v.ok else ' and a broken chain'}){warned}")
    sys.exit(1 if failed else 0)


@click.command(short_help="Rebuild every view from the events.")
@click.option("--drop", is_flag=True,
              help="Drop the view tables and write every row, rather than only the records whose "
                   "rows differ from the events' (what happens anyway when the view tables' schema "
                   "or SQLite's check of them is not as expected).")
@pass_ctx
def rebuild(obj: LedgerContext, drop: bool) -> None:
    """Rebuild every view from the events, in one transaction: the records whose stored rows
    differ from the events' are written again and rows of record ids without events removed,
    so the views end as dropping them and writing every row would leave them (the search
    index: dropped, for the next search to make anew).

    \b
    Example:
        ledger rebuild
        ledger rebuild --drop
    """
    with obj.open(signing=False) as ledger, progress("Rebuilding", ledger.count()) as bar:
        done = ledger.rebuild(bar, drop=drop)
        seq, _hash = ledger.head()
    written = ("every record's rows written" if drop or 0 < done.written == done.records
               else "no record's rows differed: none written" if not done.written
               else f"the rows of {done.written} differed and were written again")
    strays = f"; the rows of {done.strays} record ids without events removed" if done.strays else ""
    say(f"Rebuilt the views: {done.records} records from {seq} events ({written}{strays})")


@click.command(short_help="Export the snapshot (JSON, CSV) or the indexers' formats.")
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="[default: json; for an -o FILE ending in .csv, .jsonl or .xml: csv, jsonl or "
                   "crossref-xml]")
@click.option("--as-of", metavar="SEQ|DATE",
              help="The state after this seq, or after the last event recorded by this date "
                   "(YYYY-MM-DD, the whole UTC day) or RFC 3339 time.")
@click.option("--since", "since_given", metavar="SEQ|DATE",
              help="Only the records with an event after this seq, or recorded on or after this "
                   "date (YYYY-MM-DD) or RFC 3339 time.")
@click.option("-o", "--output", type=FileName(), help="Write to FILE.")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@pass_ctx
def export(obj: LedgerContext, fmt: str | None, as_of: str | None, since_given: str | None,
           output: str | None, as_json: bool) -> None:
    """Export the snapshot: a header (head seq, hash), then every record sorted by id.

    The same ledger always gives the same bytes. For indexers: --format crossref-xml (Crossref
    update fragments), crossref-json (REST-shaped update-to items) and retraction-watch-csv (the
    Retraction Watch database's columns), one per notice with its seq and covering checkpoint.

    \b
    Example:
        ledger export -o snapshot.json
        ledger export --format csv --as-of 120 > snapshot-120.csv
        ledger export --format retraction-watch-csv --since 120 -o changed.csv
    """
    if as_json and fmt not in (None, "json"):
        raise RefusedInput(f"--json conflicts with --format {fmt}")
    if fmt is None:
        fmt = "json" if as_json else format_of(
            output, {".csv": "csv", ".jsonl": "jsonl", ".xml": "crossref-xml"}, "json")
    refuse_writing_over("-o", output, obj.inputs())
    with obj.open(signing=False) as ledger, progress_phases(
            ("Verifying", ledger.count()), ("Exporting", ledger.count())) as (checking, bar):
        seq, _ = as_of_seq(ledger, as_of)
        since = _since_seq(ledger, since_given)
        if output is None:
            out = stdout_bytes()
            ledger.export(out, fmt, seq, bar, since, checking)
            out.flush()
            return
        with output_file(output) as handle:
            header = ledger.export(handle, fmt, seq, bar, since, checking)
    what = f"{header['records']} records" + (f" changed after seq {since}" if since is not None
                                              else "")
    say(f"Exported {what} as of seq {header['head_seq']} to {output} ({fmt})", err=True)


@click.command(short_help="Write an Atom feed of the latest notices.")
@click.option("-n", "limit", type=whole(1), default=50, show_default=True,
              help="The N latest notices.")
@click.option("--base-url", callback=http_url,
              help="Where the site (`ledger site`) is served (an http(s) URL): entries link to "
                   "pages.")
@click.option("--title", default="Corrections and retractions", show_default=True,
              help="The feed's title.")
@click.option("-o", "--output", type=FileName(), help="Write to FILE.")
@pass_ctx
def feed(obj: LedgerContext, limit: int, base_url: str | None, title: str,
         output: str | None) -> None:
    """Write an Atom feed of the latest notices, for readers and aggregators.

    One entry per notice, newest first: its kind, the record, the reason, the issuer, the
    record's status now; ids made from event hashes, so they never change.

    \b
    Example:
        ledger feed --base-url https://records.example/ -o public/notices.atom
    """
    import io
    import itertools

    from ledger.ops.indexers import write_atom
    from ledger.pages.site import page_name

    refuse_writing_over("-o", output, obj.inputs())
    base = base_url.rstrip("/") + "/" if base_url else None
    link = (lambda rid: base + (page_name(rid) if rid else "index.html")) if base else None
    buffer = io.BytesIO()
    with obj.open(signing=False) as ledger:
        notices = list(itertools.islice(  # newest first, read from the head back
            (e for e in ledger.events_back() if e.type == "notice.issued"), limit))
        first = next(iter(ledger.events(0, 1)), None)
        if first is None:  # an id all empty ledgers shared, that their first event changed
            raise RefusedInput("the ledger has no events yet: a feed's id is made from its first "
                               "event's hash, so that it never changes; publish a record first")
        head_seq, _ = ledger.head()
        latest = next(iter(ledger.events(head_seq - 1, head_seq)), None) if head_seq else None
        items = list(zip(notices, ledger.show_each([e.record_id for e in notices]), strict=True))
        write_atom(buffer, items, first.hash, latest.recorded_at if latest else first.recorded_at,
                   title, link)
    write_output(buffer.getvalue().decode("utf-8"), output,
                 f"an Atom feed of {len(items)} notice(s)")


@click.command("list", short_help="List records: id, status, levels, tier, title.")
@click.option("--status", type=WordsChoice(["CURRENT", "CORRECTED", "UNDER_CONCERN", "WITHDRAWN",
                                            "RETRACTED", "REMOVED"]),
              help="Only records of this status (any case).")
@click.option("--tier", type=WordsChoice([*get_args(Tier), WITHHELD_VALUE]),
              help="Quality tier, e.g. Watchlist or quarantine_candidate (any case).")
@click.option("--level", type=WordsChoice(["L1", "L2", "L3", "L4", WITHHELD_VALUE]),
              help="Provenance or verification level.")
@json_option
@pass_ctx
def list_cmd(obj: LedgerContext, status: str | None, tier: str | None, level: str | None,
             as_json: bool) -> None:
    """List records (id, status, provenance and verification levels, tier, title), filtered,
    by record id. On a terminal, under a header and cut to its width.

    \b
    Example:
        ledger list --status RETRACTED
        ledger list --tier Watchlist --level L1 --json
    """
    out = stdout_bytes()
    with obj.open(signing=False) as ledger, progress_phases(
            ("Verifying", ledger.count()), ("Listing", ledger.count())) as (checking, bar):
        found = ledger.records(status, tier, level, checking, bar)
        if as_json:  # "[" with the first record: a log that does not verify prints nothing
            emit_json_items({**{k: shown[k] for k in (
                "record_id", "status", "version", "provenance_level", "verification_level",
                "quality_tier", "correction_count")}, "title": shown["manifest"].get("title")}
                for shown in found)
        else:
            shown, columns = None, terminal_columns()
            levels = "{} {}" if columns is None else "{:<4} {:<5}"  # under PROV and VERIF
            for i, shown in enumerate(found):
                title = printable(shown["manifest"].get("title"))
                prov, verif = shown["provenance_level"], shown["verification_level"]
                if columns is not None:  # a level withheld by a removal: "-" keeps the columns
                    prov, verif = ("-" if v == WITHHELD_VALUE else v for v in (prov, verif))
                rest = (" " + levels.format(prov, verif)
                        + f" {printable(shown['quality_tier'] or '-')[:20]:<20} ")
                line = f"{shown['record_id']:<15} {paint_status(shown['status'], 13)}{rest}"
                used = 15 + 1 + 13 + len(rest)
                if columns is None:  # piped: the lines as they always were
                    click.echo(line + title[:max(10, 99 - used)].rstrip())
                    continue
                narrow = columns - 1 - used < 10  # the tier and title under the rest, cut
                if i == 0:
                    click.echo(f"{'RECORD':<15} {'STATUS':<13} {'PROV':<4} {'VERIF':<5}"
                               + ("\n    TIER · TITLE" if narrow else f" {'TIER':<20} TITLE"))
                if narrow:
                    tier = printable(shown["quality_tier"] or "-")
                    click.echo(line[:len(line) - len(rest)] + " " + levels.format(prov, verif))
                    click.echo("    " + fit(f"{tier} · {title}", max(10, columns - 5)).rstrip())
                    continue
                click.echo(line + fit(title, max(10, columns - 1 - used)).rstrip())
            if shown is None:  # said on stderr: what a script reads from stdout stays empty
                say("No record matches." if status or tier or level else "No records yet.",
                    err=True)
    out.flush()


@click.command(short_help="Show the head, the last checkpoint and what came since.")
@json_option
@pass_ctx
def status(obj: LedgerContext, as_json: bool) -> None:
    """Show the ledger's head, its last checkpoint and who cosigned it, and what came since.

    \b
    Example:
        ledger status
    """
    from ledger.ops.editor import status_report

    with obj.open(signing=False) as ledger:
        report = status_report(ledger.conn)
    if as_json:
        emit_json(report)
        return
    tell(f"{obj.db}: format v{report['event_format']}, {report['records']} "
         f"record(s), head seq {report['head_seq']} ({report['head_hash'][:16]}…)"
         + (f", a mirror of {report['mirror_of']}" if report["mirror_of"] else ""))
    last = report["last_checkpoint"]
    if last is None and report["mirror_of"]:
        tell("No checkpoint yet: the next `ledger monitor … --mirror` run stores the one it "
             "verifies the log against.")
    elif last is None:
        tell("No checkpoint yet: `ledger checkpoint --key FILE` signs one.")
    else:
        cosigned = (", cosigned by " + ", ".join(last["cosigned_by"]) if last["cosigned_by"]
                    else ", no cosignature")
        tell(f"Last checkpoint: size {last['size']} by {last['origin']}, key "
             f"{', '.join(last['signed_by'])}{cosigned} "
             f"(not checked here: `ledger verify --checkpoint … --policy …`); "
             f"{last['events_since']} event(s) since")
        if last["events_since"] and not report["mirror_of"]:  # readers of pages see them as
            tell("Not yet covered by a signed checkpoint: `ledger checkpoint --key FILE`, or "
                 "`ledger site`/`tiles` with --key FILE, signs one.")  # not verified until then
    for problem in report["checkpoint_problems"]:
        say(f"Warning: {problem}", err=True)


@click.command()
@click.argument("record_id", shell_complete=complete_record_id)
@click.argument("old", type=whole(1), required=False)
@click.argument("new", type=whole(1), required=False)
@json_option
@pass_ctx
def diff(obj: LedgerContext, record_id: str, old: int | None, new: int | None,
         as_json: bool) -> None:
    """Show what changed in a record's manifest, field by field.

    No version: the latest version against the current manifest (what corrections changed);
    OLD: that version against the current manifest; OLD NEW: two published versions.

    \b
    Example:
        ledger diff SRCH:03BE3A05
        ledger diff SRCH:03BE3A05 1 2
    """
    from ledger.ops.editor import diff as compare
    from ledger.ops.editor import record_state

    with obj.open(signing=False) as ledger:
        rid = ledger.known(record_id)
        left, right, changes = compare(record_state(ledger.conn, rid, "compare the versions of"),
                                       old, new)
    if as_json:
        emit_json({"record_id": rid, "old": left, "new": right, "changes": changes})
        return
    tell(f"{rid}: {left} → {right}")
    if not changes:
        say("  no change")
    tell(*change_lines(changes))


@click.command(short_help="Full-text search of titles, abstracts and notice reasons.")
@click.argument("text", nargs=-1, required=True)
@click.option("-n", "limit", type=whole(1), default=20, show_default=True,
              help="At most N records, best match first.")
@json_option
@pass_ctx
def search(obj: LedgerContext, text: tuple[str, ...], limit: int, as_json: bool) -> None:
    """Full-text search of titles, research questions, abstracts and notice reasons (FTS5).

    Every word must match; end a word with * for a prefix. The index is a table of the ledger
    file (made by the first search), brought up to date from the events at each search.

    \b
    Example:
        ledger search expert routing
        ledger search "fabricat*" --json
    """
    from ledger.ops.editor import search as find

    with obj.open(signing=False) as ledger, progress_phases(
            ("", 0), ("Making the search index", ledger.count())) as (_, bar):
        found = find(ledger.conn, " ".join(text), limit, bar)  # drawn only if the index is made
    if as_json:
        emit_json(found)
        return
    if not found:
        from ledger.model.contracts import valid_record_id

        words = " ".join(text).split()
        ids = [word.upper() for word in words if valid_record_id(word)]
        whole = [word for word in words if word.isalnum()]
        say("No record matches." + (
            f" The text of records is searched, not their ids: `ledger show {ids[0]}` shows that "
            "record." if ids else
            f" Each word matches whole words only: end it with * for the words that begin with it "
            f"({whole[0]}*)." if whole else ""),
            err=True)  # what a script reads from stdout stays empty, as with list and log
    columns = terminal_columns()
    for hit in found:
        title, snippet = printable(hit["title"]), printable(hit["snippet"])
        if columns is None:
            click.echo(f"{hit['record_id']:<15} {title[:80]}\n    {snippet}")
            continue
        click.echo(fit(f"{hit['record_id']:<15} {title}", columns - 1))
        click.echo("\n".join(wrapped(snippet, max(20, columns - 1))))


@click.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script for bash, zsh or fish.

    Commands, options and record ids complete (the ids of the ledger --db names).

    \b
    Example:
        ledger completion bash > ~/.ledger-complete.bash   # then source it in ~/.bashrc
        ledger completion fish > ~/.config/fish/completions/ledger.fish
    """
    from click.shell_completion import get_completion_class

    from .main import app

    cls = get_completion_class(shell)
    assert cls is not None
    click.echo(cls(app, {}, "ledger", "_LEDGER_COMPLETE").source())


@click.command(short_help="Write a metadata.json for Datasette.")
@click.option("-o", "--output", type=FileName(), help="Write to FILE.")
@click.option("--title", default="Research records and their correction history", show_default=True,
              help="The title Datasette shows for the ledger.")
@pass_ctx
def metadata(obj: LedgerContext, output: str | None, title: str) -> None:
    """Write a metadata.json for Datasette: tables and columns described, labels, facets.

    \b
    Example:
        ledger metadata -o metadata.json
        datasette ledger.db --metadata metadata.json
    """
    from ledger.ops.datasette import metadata as describe

    refuse_writing_over("-o", output, obj.inputs())
    with obj.open(signing=False):  # the metadata is of a ledger: refuse a file that is none
        pass
    doc = describe(Path(obj.db).stem, title)
    write_output(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n", output,
                 "Datasette's metadata")


def _complete_schema(_ctx: click.Context, _param: click.Parameter,
                     incomplete: str) -> list[str]:
    from ledger.ops.schemas import SCHEMAS

    return [name for name in SCHEMAS if name.startswith(incomplete)]


@click.command(short_help="List the JSON Schemas of the contracts, or print one.")
@click.argument("name", required=False, shell_complete=_complete_schema)
@json_option
def schema(name: str | None, as_json: bool) -> None:
    """List the JSON Schemas of the contracts, the export and the bundle, or print one.

    NAME's schema is printed exactly as the project's schemas/NAME.json holds it (draft
    2020-12), made from the same models that check what the ledger takes and writes.

    \b
    Example:
        ledger schema
        ledger schema provenance-ledger-export-v1 > export.schema.json
        ledger schema correction-record-v1.1 | jq .properties.kind
    """
    from ledger.ops.schemas import DESCRIBES, SCHEMA_BASE, schema_bytes, schema_name

    if name is not None:  # --json changes nothing: a schema is one JSON document already
        out = stdout_bytes()
        out.write(schema_bytes(schema_name(name)))
        out.flush()
        return
    if as_json:
        emit_json({"schemas": [{"name": n, "id": f"{SCHEMA_BASE}{n}.json", "describes": d}
                               for n, d in DESCRIBES.items()]})
        return
    names, columns = max(map(len, DESCRIBES)) + 2, terminal_columns()
    for listed, describes in DESCRIBES.items():
        if columns is None:  # piped: one line each
            click.echo(f"{listed:<{names}}{describes}")
        elif columns > names + 24:  # wrapped in their column
            click.echo("\n".join(wrapped(describes, columns - 1, " " * names,
                                         first=f"{listed:<{names}}")))
        else:  # too narrow for two columns: each below its name
            click.echo("\n".join([listed, *wrapped(describes, columns - 1)]))
    say("Print one with `ledger schema NAME`.", err=True)


COMMANDS = (show, history, log, verify, audit, rebuild, export, feed, list_cmd, status, diff,
            search, completion, metadata, schema)
