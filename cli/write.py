"""Commands that write: init, publish, provenance, correct, gate."""

from __future__ import annotations

import contextlib
import re
import sys
from pathlib import Path
from typing import IO, Any

import click

from ledger.api import Ledger
from ledger.core.canonical import JsonInputError, parse_json
from ledger.errors import RefusedInput
from ledger.model.contracts import GATE_STATUSES, NOTICE_KINDS, valid_record_id
from ledger.model.rules import unbacked_verdict
from ledger.ops.artifacts import artifact_from
from ledger.ops.bulk import DEFAULT_BATCH
from ledger.ops.files import unreadable

from .common import (
    FileName,
    LedgerContext,
    Terminated,
    WordsChoice,
    complete_record_id,
    dry_run_option,
    emit_json,
    from_terminal,
    json_option,
    pass_ctx,
    passphrase,
    progress,
    read_json,
    rehearsed,
    report_append,
    report_rehearsal,
    say,
    whole,
)


@click.command()
@click.option("--require-signatures", is_flag=True,
              help="Every event must be signed by its actor's key (see `ledger key`).")
@click.option("--admin-key", type=FileName("the admin key file"),
              help="With --require-signatures: the first admin's private key.")
@click.option("--event-format", type=click.Choice(["1", "2"]), default="2", show_default=True,
              help="2 commits to each payload member, so removals can purge content; 1 is the "
                   "first format (no purge), for tools that read only it.")
@pass_ctx
def init(obj: LedgerContext, require_signatures: bool, admin_key: str | None,
         event_format: str) -> None:
    """Create a new, empty ledger file (refuses an existing file).

    \b
    Example:
        ledger --db ledger.db init
        ledger keygen editor-in-chief -o admin.key > admin.vkey
        ledger --db signed.db init --require-signatures --admin-key admin.key
    """
    if require_signatures != (admin_key is not None):
        raise RefusedInput("--require-signatures and --admin-key go together")
    admin, label = None, ""
    if admin_key is not None:
        from ledger.core.note import key_label
        from ledger.ops.keys import read_signer  # loads cryptography: only for signed ledgers

        admin = read_signer(Path(admin_key), passphrase)
        label = key_label(admin.name, admin.key_id)
    Ledger.create(Path(obj.db), admin=admin, event_format=int(event_format)).close()
    say(f"Created ledger {obj.db} (event format v{event_format})"
        + (f"; every event must be signed; admin key {label}" if admin else ""))


def _append(obj: LedgerContext, contract: str, payload: Any, as_json: bool,
            force: bool = False) -> None:
    with obj.open(signing=True) as ledger:
        report_append(ledger.submit(contract, payload, obj.actor, guard=not force,
                                    dry_run=obj.dry_run), as_json)


@click.command(short_help="Append a record version (paper-manifest-v1.1).")
@click.argument("file", metavar="FILE|-")
@json_option
@dry_run_option
@pass_ctx
def publish(obj: LedgerContext, file: str, as_json: bool) -> None:
    """Append a record version (paper-manifest-v1.1) from a JSON file or stdin.

    The first version is `record.published`, later ones `record.revised`; sending the current
    version again changes nothing.

    \b
    Example:
        ledger publish examples/records/SRCH-03BE3A05.json
    """
    _append(obj, "paper-manifest-v1.1", read_json(file), as_json)


@click.command(short_help="Append provenance facts (source-provenance-v1).")
@click.argument("file", metavar="FILE|-")
@json_option
@dry_run_option
@pass_ctx
def provenance(obj: LedgerContext, file: str, as_json: bool) -> None:
    """Append provenance facts (source-provenance-v1) from a JSON file or stdin.

    \b
    Example:
        ledger provenance examples/records/SRCH-03BE3A05.provenance.json
    """
    _append(obj, "source-provenance-v1", read_json(file), as_json)


JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")  # RFC 8259


def parse_set(item: str) -> dict[str, Any]:
    """Return the change for ``--set PATH=JSON`` (a value that is not JSON is a string)."""
    path, sep, text = item.partition("=")
    if not sep:
        raise RefusedInput(f"--set {item!r}: expected /json/pointer=VALUE, e.g. --set "
                           "/review_score=9.1")
    if not path.startswith("/"):  # `review_score=9`, `quality.tier=Watchlist`
        pointer = "/" + (path.replace(".", "/") if "/" not in path else path.lstrip("/"))
        raise RefusedInput(f"--set {item!r}: expected /json/pointer=VALUE; a JSON Pointer starts "
                           f"with /: did you mean --set {pointer}={text}?")
    try:
        value = parse_json(text)
    except JsonInputError as exc:
        if "appears twice" in exc.message:
            raise RefusedInput(f"--set {path}: {exc}") from None
        if JSON_NUMBER.fullmatch(text.strip()):  # a number no double holds: not a string
            raise RefusedInput(f"--set {path}: the number {text.strip()} is out of range: it "
                               "would be infinity as a double, which JSON cannot hold (for the "
                               f"text, quote it as JSON: --set '{path}=\"{text}\"')") from None
        value = text
    return {"path": path, "value": value}


def _refuse_mixed(from_file: str | None, record_id: str | None, flags: dict[str, Any]) -> None:
    given = [f"--{k.replace('_', '-')}" for k, v in flags.items() if v not in (None, (), False)]
    if from_file is not None and (record_id or given):
        raise RefusedInput(f"--from-file cannot be combined with "
                           f"{'RECORD_ID' if record_id else ', '.join(given)}")
    if from_file is None and not record_id:
        raise RefusedInput("give RECORD_ID and flags, or --from-file FILE|-")


@click.command(short_help="Append a correction notice: correction, retraction, removal…")
@click.argument("record_id", required=False, shell_complete=complete_record_id)
@click.option("--from-file", metavar="FILE|-", help="Read the whole notice as JSON.")
@click.option("--kind", type=WordsChoice(NOTICE_KINDS),
              help="Notice kind, e.g. retraction or expression_of_concern (any case).")
@click.option("--reason", help="Why (required for all kinds but clarification and addendum).")
@click.option("--notice-id", help="Notice id (default: derived from the notice's content).")
@click.option("--set", "sets", multiple=True, metavar="PATH=JSON",
              help="A field change (kind correction), e.g. /review_score=7.5. Repeatable.")
@click.option("--lifts", help="The notice id a reinstatement lifts.")
@click.option("--issued-by", help="Who issues the notice (default: the actor).")
@click.option("--effective-date", metavar="YYYY-MM-DD", help="Default: today (UTC).")
@click.option("--reason-code", "reason_codes", multiple=True,
              help="A reason code (docs/contracts.md lists them). Repeatable.")
@click.option("--doi", help="The notice's own DOI, e.g. 10.5281/zenodo.123 (correction-record-v1.1).")
@click.option("--url", help="The notice's own web address (correction-record-v1.1).")
@click.option("--claim-id", "claim_ids", multiple=True, help="Claims (partial_retraction).")
@click.option("--target-version", type=whole(1), help="Version the notice is about (default: current).")
@click.option("--purge", is_flag=True,
              help="With --kind removal: also withhold the record's earlier content (a v2 ledger).")
@click.option("--purge-field", "purge_fields", multiple=True, metavar="NAME",
              help="With --purge: withhold only these members. Repeatable.")
@click.option("--force", is_flag=True,
              help="Issue it even if a notice of the same kind is already in force, or its "
                   "changes change nothing.")
@json_option
@dry_run_option
@pass_ctx
def correct(obj: LedgerContext, /, record_id: str | None, from_file: str | None, as_json: bool,
            **flags: Any) -> None:
    """Append a correction notice (correction-record-v1, or v1.1 with --doi or --url).

    \b
    Example:
        ledger correct SRCH:03BE3A05 --kind correction --reason "Score transcription error" \\
            --set /review_score=9.1
        ledger correct SRCH:03BE3A05 --kind expression_of_concern --reason "Data under review"
        ledger correct SRCH:03BE3A05 --kind retraction --reason "Fabricated data" \\
            --reason-code fabrication --doi 10.5555/notice.42 --url https://example.org/n/42
        ledger correct SRCH:03BE3A05 --kind reinstatement --reason "Review closed" --lifts N-1a2b3c
        ledger correct SRCH:03BE3A05 --kind removal --reason "Court order 2026/114" --purge
        ledger correct --from-file notice.json

    With --purge, a removal also withholds the content of the record's earlier events (all but
    what keeps it identifiable: see docs/format.md); --purge-field narrows it to named members.
    Hashes, checkpoints and proofs stay valid; `verify` reports what is withheld and by whom.
    """
    purging, fields, force = flags.pop("purge"), flags.pop("purge_fields"), flags.pop("force")
    if fields and not purging:
        raise RefusedInput("--purge-field goes with --purge")
    _refuse_mixed(from_file, record_id, flags)
    if from_file is not None:
        notice_doc = read_json(from_file)
        if purging:
            _purge(obj, notice_doc, fields, as_json)
        else:
            _append(obj, "correction-record-v1", notice_doc, as_json, force)
        return
    if flags["kind"] is None:
        raise RefusedInput("--kind is required (or use --from-file)")
    notice: dict[str, Any] = {"record_id": record_id, "kind": flags["kind"]}
    for key in ("reason", "notice_id", "lifts", "issued_by", "effective_date", "target_version",
                "doi", "url"):
        if flags[key] is not None:
            notice[key] = flags[key]
    if flags["sets"]:
        notice["changes"] = [parse_set(item) for item in flags["sets"]]
    if flags["reason_codes"]:
        notice["reason_codes"] = list(flags["reason_codes"])
    if flags["claim_ids"]:
        notice["claim_ids"] = list(flags["claim_ids"])
    if purging:
        _purge(obj, notice, fields, as_json)
        return
    try:
        _append(obj, "correction-record-v1", notice, as_json, force)
    except RefusedInput as exc:
        hint = _read_as_json(str(exc), flags["sets"])
        if hint is None:
            raise
        raise RefusedInput(f"{exc}{hint}") from None


def _read_as_json(refusal: str, sets: tuple[str, ...]) -> str | None:
    """Return a note for a refused ``--set PATH=VALUE`` whose VALUE was read as JSON other than
    a string (``/title=2024``, a number) where the manifest holds text; None if there is none."""
    for item in sets:
        path, _, text = item.partition("=")
        value = parse_set(item)["value"]
        if not isinstance(value, str) and f"{path.lstrip('/')}: expected a string, not" in refusal:
            return (f" (--set {path}={text} reads {text} as JSON; for the text, quote it as JSON: "
                    f"--set '{path}=\"{text}\"')")
    return None


# A file from which size the rewrite after a purge is said on a terminal before it starts: it
# copies the whole file (~2.5 GB at 10⁶ events), with nothing else to show meanwhile.
REWRITE_SAID_FROM = 64 * 2**20


def _rewriting(size: int) -> None:
    """Say, on a terminal, that the file is being rewritten, when that will take a while."""
    if size >= REWRITE_SAID_FROM and sys.stderr.isatty():
        say(f"Rewriting the ledger file ({size / 2**20:,.0f} MiB) so that no byte of the purged "
            "values remains in it: about as long as copying it…", err=True)


def _purge(obj: LedgerContext, notice: Any, fields: tuple[str, ...], as_json: bool) -> None:
    if not isinstance(notice, dict):
        raise RefusedInput("the notice must be a JSON object")
    with obj.open(signing=True) as ledger:
        done, rehearsal = rehearsed(obj, ledger, lambda led: led.purge(notice, obj.actor, fields,
                                                                       _rewriting))
    event = done.purge
    if rehearsal is not None:
        report_rehearsal(rehearsal, as_json, {
            "appended": False, "record_id": done.notice.record_id,
            "would_withhold": [{"seq": s, "members": m} for s, m in done.withheld]})
        if not as_json and done.withheld:
            say("  it would withhold: " + "; ".join(
                f"seq {s}: {', '.join(m)}" for s, m in done.withheld))
        return
    if as_json:
        emit_json({"appended": done.notice.event is not None, "record_id": done.notice.record_id,
                   "message": done.notice.message,
                   "event": None if done.notice.event is None else done.notice.event.envelope(),
                   "purge": None if event is None else event.envelope(),
                   "withheld": [{"seq": s, "members": m} for s, m in done.withheld],
                   "wal_truncated": not done.wal_kept})
        return
    report_append(done.notice, False)
    if event is None:
        say("Nothing to purge: no earlier event of the record holds content a removal "
            "may withhold")
        return
    seqs = ", ".join(str(s) for s, _ in done.withheld)
    say(f"Appended seq {event.seq} record.purged {event.record_id}: withheld "
        f"{done.members} member(s) of {len(done.withheld)} event(s) (seq {seqs})")
    if done.wal_kept:
        say("Warning: another connection was reading the ledger, so its write-ahead log "
            "(-wal file) still holds purged values until the next checkpoint "
            "(`sqlite3 FILE 'PRAGMA wal_checkpoint(TRUNCATE)'`)", err=True)


@click.command()
@click.argument("record_id", required=False, shell_complete=complete_record_id)
@click.option("--from-file", metavar="FILE|-", help="Read the whole evaluation as JSON.")
@click.option("--gate", "gate_no", type=whole(1), help="Gate number.")
@click.option("--status", type=WordsChoice(GATE_STATUSES), help="The verdict (any case).")
@click.option("--reason", help="Why this verdict.")
@click.option("--artifact", "artifacts", multiple=True, metavar="PATH_OR_URI",
              help="A local file (hashed) or URI[#sha256=HEX]. Repeatable.")
@click.option("--artifact-kind", help="Kind of every --artifact (default: from its suffix).")
@click.option("--evaluator", help="Who evaluated (default: the actor).")
@click.option("--independent", is_flag=True, help="The evaluator is independent of the producer.")
@click.option("--name", help="Gate name (default: the standard name of that gate).")
@click.option("--evaluated-at", metavar="RFC3339", help="Default: now.")
@json_option
@dry_run_option
@pass_ctx
def gate(obj: LedgerContext, /, record_id: str | None, from_file: str | None, as_json: bool,
         **flags: Any) -> None:
    """Append a verification-gate evaluation (gate-evaluation-v1).

    VERIFIED is refused unless an artifact with a sha256 is attached; a local file given with
    --artifact is hashed by the ledger.

    \b
    Example:
        ledger gate SRCH:03BE3A05 --gate 2 --status VERIFIED --reason "Sandbox reproduction" \\
            --artifact repro.py --artifact results.json --evaluator lab-b --independent
    """
    _refuse_mixed(from_file, record_id, flags)
    if from_file is not None:
        _append(obj, "gate-evaluation-v1", read_json(from_file), as_json)
        return
    for flag, key in (("--gate", "gate_no"), ("--status", "status"), ("--reason", "reason")):
        if flags[key] is None:
            raise RefusedInput(f"{flag} is required (or use --from-file)")
    evaluation: dict[str, Any] = {"record_id": record_id, "gate": flags["gate_no"],
                                  "status": flags["status"].upper(), "reason": flags["reason"],
                                  "independent": flags["independent"]}
    for key in ("evaluator", "name", "evaluated_at"):
        if flags[key] is not None:
            evaluation[key] = flags[key]
    if flags["artifacts"]:
        evaluation["artifacts"] = [artifact_from(a, flags["artifact_kind"])
                                   for a in flags["artifacts"]]
    if unbacked_verdict(evaluation) and record_id and valid_record_id(record_id):  # the rule's
        # refusal, saying how to give a digest here (a bad id is refused as such below)
        given = "no --artifact was given" if not flags["artifacts"] else "no --artifact has one"
        raise RefusedInput(f"gate {flags['gate_no']} of {record_id.upper()}: VERIFIED requires at least "
                           f"one artifact with a sha256 digest, and {given}: --artifact FILE "
                           "hashes a local file, --artifact URI#sha256=HEX gives a URI's digest")
    _append(obj, "gate-evaluation-v1", evaluation, as_json)


@click.command(short_help="Append many events from JSON Lines, in resumable batches.")
@click.option("--jsonl", "source", required=True, metavar="FILE|-",
              help='JSON Lines: {"contract": …, "payload": …[, "actor": …]} per line.')
@click.option("--batch-size", type=whole(1), default=DEFAULT_BATCH, show_default=True,
              help="Events per transaction.")
@json_option
@dry_run_option
@pass_ctx
def append(obj: LedgerContext, source: str, batch_size: int, as_json: bool) -> None:
    """Append many events from JSON Lines, in batches (one transaction each).

    Every line gets the same validation, idempotency and refusal rules as the single commands.
    A bad line is refused with `Error: LINE N: …`; nothing of its batch is written, earlier
    batches are kept (and the message says how many events they held).

    \b
    Example:
        ledger append --jsonl migration.jsonl --batch-size 5000
        ledger append --jsonl migration.jsonl --dry-run   # what it would append; writes nothing
        producer | ledger append --jsonl -
    """
    if not source:  # Path("") is the current folder
        raise RefusedInput("cannot read: the file name is empty")
    total = 0 if source == "-" else count_lines(Path(source))
    from_terminal(source, "JSON Lines")
    kept = 0

    def committed(events: int) -> None:
        nonlocal kept
        kept += events
        if bar is not None:
            bar(events)

    with obj.open(signing=True) as ledger, progress("Appending", total) as bar, \
            contextlib.ExitStack() as stack:
        handle = (sys.stdin.buffer if source == "-"
                  else stack.enter_context(open_input(Path(source))))
        try:
            result, rehearsal = rehearsed(
                obj, ledger, lambda led: led.append_jsonl(handle, obj.actor, batch_size, committed))
        except (KeyboardInterrupt, Terminated) as exc:  # say what stays (main prints the note)
            if not obj.dry_run:
                exc.add_note(f"{kept} event(s) from earlier batches were kept; run the same "
                             "input again to continue" if kept else "nothing was written")
            raise
    if rehearsal is not None:
        report_rehearsal(rehearsal, as_json, {"unchanged": result.unchanged,
                                              "resumed": result.resumed, "appended": 0})
        return
    if as_json:
        emit_json({"appended": result.appended, "unchanged": result.unchanged,
                   "batches": result.batches, "resumed": result.resumed})
    else:
        say(f"Appended {result.appended} event(s) in {result.batches} batch(es); "
            f"{result.unchanged} unchanged (idempotent re-sends)"
            + (f"; skipped the first {result.resumed} line(s), committed by an earlier run"
               if result.resumed else ""))


def count_lines(path: Path) -> int:
    """Return the number of lines of a regular file (0 if it is none, or cannot be read: the
    append will say why; a device such as /dev/zero would never end)."""
    if not path.is_file():
        return 0
    try:
        with path.open("rb") as handle:
            return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))
    except OSError:
        return 0


def open_input(path: Path) -> IO[bytes]:
    """Return the file opened for reading; refuse it clearly if it cannot be."""
    try:
        return path.open("rb")
    except OSError as exc:
        raise unreadable(path, exc) from None


COMMANDS = (init, publish, provenance, correct, gate, append)
