"""Commands that read or check: show, history, log, verify, audit, rebuild, export."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click
import orjson

from ledger.errors import RefusedInput
from ledger.ops.export import FORMATS
from ledger.pages.text import event_line, show_text

from .common import LedgerContext, emit_json, json_option, pass_ctx, progress, quiet_pipe, whole


@click.command()
@click.argument("record_id")
@json_option
@pass_ctx
def show(obj: LedgerContext, record_id: str, as_json: bool) -> None:
    """Show a record's current state: status, levels, tier, gates, manifest, notices.

    \b
    Example:
        ledger show SRCH:03BE3A05
        ledger show srch:03be3a05 --json
    """
    with obj.open() as ledger:
        shown = ledger.show(record_id)
    if as_json:
        emit_json(shown)
    else:
        click.echo(show_text(shown))


@click.command()
@click.argument("record_id")
@json_option
@pass_ctx
def history(obj: LedgerContext, record_id: str, as_json: bool) -> None:
    """List every event of a record, oldest first.

    \b
    Example:
        ledger history SRCH:03BE3A05 --json
    """
    with obj.open() as ledger:
        events = ledger.history(record_id)
    if as_json:
        emit_json([e.envelope() for e in events])
    else:
        for event in events:
            click.echo(event_line(event))


@click.command()
@click.option("--since", type=whole(0), default=0, show_default=True,
              help="Only events with seq greater than this.")
@json_option
@pass_ctx
def log(obj: LedgerContext, since: int, as_json: bool) -> None:
    """Print the raw events (with seq > --since), oldest first.

    `--json` prints one JSON array of full envelopes, streamed.

    \b
    Example:
        ledger log --since 10
        ledger log --json > events.json
    """
    out = sys.stdout.buffer
    with obj.open() as ledger, quiet_pipe():
        if as_json:
            out.write(b"[")
            for i, event in enumerate(ledger.events(since)):
                out.write((b",\n" if i else b"\n") + orjson.dumps(event.envelope(),
                                                                  option=orjson.OPT_SORT_KEYS))
            out.write(b"\n]\n")
        else:
            for event in ledger.events(since):
                out.write(event_line(event).encode() + b"\n")
    out.flush()


@click.command()
@click.option("--checkpoint", "checkpoint_file", type=click.Path(dir_okay=False),
              help="Also check that the log extends this signed checkpoint.")
@click.option("--vkey", help="The verifier key of the checkpoint (string or file).")
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False),
              help="Also require the checkpoint's witness cosignatures to meet this quorum.")
@json_option
@pass_ctx
def verify(obj: LedgerContext, checkpoint_file: str | None, vkey: str | None,
           policy_file: str | None, as_json: bool) -> None:
    """Recompute every event hash, link and the Merkle tree; exit 1 naming the first bad seq.

    With --checkpoint and --vkey, also check the checkpoint's signature and that the log
    extends it (a truncated tail or a rewritten history fails).

    \b
    Example:
        ledger verify
        ledger verify --json
        ledger verify --checkpoint checkpoint-120.txt --vkey publisher.vkey
    """
    if (checkpoint_file is None) != (vkey is None):
        raise RefusedInput("--checkpoint and --vkey go together")
    if policy_file is not None and checkpoint_file is None:
        raise RefusedInput("--policy checks a checkpoint: give --checkpoint and --vkey too")
    from ledger.ops.keys import read_policy, read_text, read_verifier

    extra: dict[str, object] = {}
    policy = read_policy(policy_file) if policy_file else None
    with obj.open() as ledger, progress("Verifying", ledger.count()) as bar:
        if checkpoint_file is not None and vkey is not None:
            note, verifier = read_text(checkpoint_file), read_verifier(vkey)
            if policy is not None:
                from ledger.core.policy import open_cosigned

                open_cosigned(note, policy, verifier)
            report, cp = ledger.verify_checkpoint(note, verifier, bar)
            extra = {"checkpoint": {"origin": cp.origin, "size": cp.size, "root": cp.root_b64}}
        else:
            report = ledger.verify(bar)
    if as_json:
        emit_json({**report.as_json(), **extra})
    elif report.ok:
        click.echo(f"OK: {report.events} events verify; head hash {report.head_hash}")
        if report.withheld:
            notices = sorted({(q, n) for _, _, n, q in report.withheld})
            click.echo(f"Withheld: {len(report.withheld)} payload member(s) of "
                       f"{len({s for s, *_ in report.withheld})} event(s), each by a removal's purge: "
                       + ", ".join(f"notice {n} (seq {q})" for q, n in notices))
        if extra:
            click.echo(f"OK: the log extends the checkpoint of size {cp.size} signed by {cp.origin}")
    else:
        click.echo(f"FAILED at {report.where}: {report.reason}", err=True)
    sys.exit(0 if report.ok else 1)


@click.command()
@json_option
@pass_ctx
def audit(obj: LedgerContext, as_json: bool) -> None:
    """Verify, then check every rule for every event, the views, and the tiers; exit 1 on findings.

    \b
    Example:
        ledger audit
        ledger audit --json
    """
    with obj.open() as ledger, progress("Auditing", ledger.count()) as bar:
        report = ledger.audit(bar)
    if as_json:
        emit_json(report.as_json())
        sys.exit(0 if report.ok else 1)
    v = report.verify
    broken = "" if v.ok else f"; first bad {v.where}: {v.reason}"
    click.echo(f"chain:   {'OK' if v.ok else 'FAILED'}: {v.events} events verified{broken}")
    click.echo(f"records: {report.records}")
    for f in report.findings:
        where = " ".join(x for x in (f"seq {f.seq}" if f.seq else "", f.record_id or "") if x)
        click.echo(f"{f.check}:   {where + ': ' if where else ''}{f.message}")
    click.echo("audit: OK" if report.ok else f"audit: FAILED ({len(report.findings)} finding(s)"
               f"{'' if v.ok else ' and a broken chain'})")
    sys.exit(0 if report.ok else 1)


@click.command()
@pass_ctx
def rebuild(obj: LedgerContext) -> None:
    """Drop every view and rebuild it from the events.

    \b
    Example:
        ledger rebuild
    """
    with obj.open() as ledger, progress("Rebuilding", ledger.count()) as bar:
        records = ledger.rebuild(bar)
        seq, _hash = ledger.head()
    click.echo(f"Rebuilt the views: {records} records from {seq} events")


@click.command()
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="json", show_default=True)
@click.option("--as-of", type=whole(0), help="The state after this seq.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to FILE.")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@pass_ctx
def export(obj: LedgerContext, fmt: str, as_of: int | None, output: str | None,
           as_json: bool) -> None:
    """Export the snapshot: a header (head seq, hash), then every record sorted by id.

    The same ledger always gives the same bytes.

    \b
    Example:
        ledger export -o snapshot.json
        ledger export --format csv --as-of 120 > snapshot-120.csv
    """
    if as_json and fmt != "json":
        raise RefusedInput("--json conflicts with --format " + fmt)
    with obj.open() as ledger, progress("Exporting", ledger.count()) as bar:
        if output is None:
            with quiet_pipe():
                ledger.export(sys.stdout.buffer, fmt, as_of, bar)
                sys.stdout.flush()
            return
        target = Path(output)
        try:
            fd, tmp = tempfile.mkstemp(dir=target.parent or ".", prefix=".export-")
        except OSError as exc:
            raise RefusedInput(f"cannot write {output}: {exc.strerror}") from None
        try:
            with os.fdopen(fd, "wb") as handle:
                header = ledger.export(handle, fmt, as_of, bar)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    click.echo(f"Exported {header['records']} records as of seq {header['head_seq']} to {output}",
               err=True)


COMMANDS = (show, history, log, verify, audit, rebuild, export)
