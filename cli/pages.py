"""Commands for the publisher's record pages: import and render."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import click

from ledger.errors import RefusedInput
from ledger.ops.files import check_readable, read_bounded

from .common import (
    FileName,
    LedgerContext,
    as_of_seq,
    complete_record_id,
    dry_run_option,
    emit_json,
    format_of,
    from_terminal,
    json_option,
    pass_ctx,
    passphrase,
    progress,
    progress_phases,
    read_checkpoint_note,
    refuse_writing_over,
    rehearsed,
    report_rehearsal,
    say,
    say_signed,
    sign_now,
    tell,
    warn_exposed,
    whole,
    write_output,
)


def read_pages(sources: tuple[str, ...]) -> Iterator[tuple[str, bytes]]:
    """Return (name, bytes) of every page given (``-`` is standard input), each read when the
    import takes it: a file that cannot be opened is refused now, before anything is written."""
    for source in sources:
        check_readable(source)
        from_terminal(source, "the record page")
    return (("<stdin>" if source == "-" else source, read_bounded(source)) for source in sources)


@click.command("import", short_help="Import the publisher's record pages (either layout).")
@click.argument("pages", nargs=-1, required=True, metavar="PAGE...")
@click.option("--batch-size", type=whole(1), default=500, show_default=True,
              help="Pages per transaction.")
@json_option
@dry_run_option
@pass_ctx
def import_cmd(obj: LedgerContext, pages: tuple[str, ...], batch_size: int, as_json: bool) -> None:
    """Import record pages (full or compact layout, or `render`'s Markdown) as events.

    Each page becomes its record version, provenance facts and gate verdict; facts that agree
    with the ledger write nothing, so importing a page twice is a no-op. A page whose stated
    levels or status contradict the ledger is imported with a warning naming both values. A
    malformed page gets `Error: FILE:LINE: …` and nothing is written for it (exit 2).

    \b
    Example:
        ledger import pages/*.txt
        ledger import --dry-run pages/*.txt   # what it would append; writes nothing
        curl -s https://example.org/record/SRCH:03BE3A05.txt | ledger import -
    """
    items = read_pages(pages)
    with obj.open(signing=True) as ledger, progress("Importing", len(pages) * 100) as bar:
        outcomes, rehearsal = rehearsed(obj, ledger, lambda led: led.import_pages(
            items, obj.actor, batch_size, None if bar is None else lambda n: bar(n * 100)))
    failed = [o for o in outcomes if o.error]
    if rehearsal is not None:
        report_rehearsal(rehearsal, as_json, {"pages": [
            {"source": o.source, "record_id": o.record_id or None, "would_append": o.appended,
             "warnings": o.warnings, "error": o.error or None} for o in outcomes]})
        for o in failed:
            say(f"Error: {o.error}", err=True)
        sys.exit(2 if failed else 0)
    if as_json:
        emit_json([{"source": o.source, "record_id": o.record_id or None, "appended": o.appended,
                    "warnings": o.warnings, "error": o.error or None} for o in outcomes])
    else:
        for o in outcomes:
            if not o.error:
                say(f"{o.source}: {o.record_id}: "
                    f"{f'{o.appended} event(s) appended' if o.appended else 'unchanged'}")
        appended = sum(o.appended for o in outcomes)
        say(f"Imported {len(outcomes) - len(failed)} page(s), {appended} event(s) appended"
            f"{f', {len(failed)} refused' if failed else ''}")
    for o in outcomes:
        tell(*(f"Warning: {warning}" for warning in o.warnings), err=True)
    for o in failed:
        say(f"Error: {o.error}", err=True)
    sys.exit(2 if failed else 0)


@click.command(short_help="Render a record's public page (text, HTML or Markdown).")
@click.argument("record_id", shell_complete=complete_record_id)
@click.option("--format", "fmt", type=click.Choice(["text", "html", "md"]),
              help="[default: text; for an -o FILE ending in .html, .htm or .md: html or md]")
@click.option("-o", "--output", type=FileName(), help="Write to FILE.")
@click.option("--as-of", metavar="SEQ|DATE",
              help="The page after this seq, date or time, as `show --as-of` gives the "
                   "record's state.")
@pass_ctx
def render(obj: LedgerContext, record_id: str, fmt: str | None, output: str | None,
           as_of: str | None) -> None:
    """Render a record's public page (the publisher's full layout) from the current state.

    The text and Markdown forms can be imported again. With --as-of, the page as it was after
    that seq (content purged since stays withheld), its first line saying so.

    \b
    Example:
        ledger render SRCH:03BE3A05
        ledger render SRCH:03BE3A05 --format html -o SRCH-03BE3A05.html
        ledger render SRCH:03BE3A05 --as-of 8 -o SRCH-03BE3A05-seq8.txt
    """
    if fmt is None:
        fmt = format_of(output, {".html": "html", ".htm": "html", ".md": "md"}, "text")
    refuse_writing_over("-o", output, obj.inputs())
    with obj.open(signing=False) as ledger:
        seq, by = as_of_seq(ledger, as_of)
        page = ledger.render(record_id, fmt, seq, by)
        head, _ = ledger.head()
    then = f" as of seq {seq}" if seq is not None and seq < head else ""
    write_output(page, output, f"the {fmt} page of {record_id.strip().upper()}{then}")


@click.command(short_help="Write a static site of pages that verify themselves.")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--key", "key_file", type=FileName("the key file"),
              help="Sign a checkpoint of the whole log now with this key (stored, as `ledger "
                   "checkpoint` does) and embed each record's bundle against it.")
@click.option("--checkpoint", "checkpoint_file", type=FileName("the checkpoint file"),
              help="Embed each record's bundle against this checkpoint, signed before.")
@click.option("--vkey", help="The publisher's verifier key (string or file), shown to readers "
                             "(with --key, the key's own).")
@click.option("--policy", "policy_file", type=FileName("the policy file"),
              help="Pages also require the checkpoint's witness cosignatures to meet this quorum "
                   "(with --key, the policy's witnesses cosign the new checkpoint first).")
@click.option("--full", is_flag=True,
              help="Rebuild every record's page, not only those whose events changed.")
@pass_ctx
def site(obj: LedgerContext, out_dir: str, key_file: str | None, checkpoint_file: str | None,
         vkey: str | None, policy_file: str | None, full: bool) -> None:
    """Write a static site: paginated index pages, index.json, one page per record, assets/.

    With --key (a checkpoint of the whole log signed now), or --checkpoint and --vkey, every
    record page embeds its bundle and checks it in the reader's browser (WebCrypto): event
    hashes, inclusion proofs and the checkpoint signature; then it shows the record as computed
    from the verified events. Without either, the pages are the publisher's copy and say so. A
    second run rewrites only the files whose content changed; files are never written through
    a symlink. A page names its bundle by the bundle's bytes; bundles no page has named for two
    runs are removed.

    \b
    Example:
        ledger site public/ --key publisher.key
        ledger site public/ --checkpoint checkpoint-120.txt --vkey publisher.vkey
        ledger site public/ --key publisher.key --policy witnesses.policy
    """
    if key_file is not None and checkpoint_file is not None:
        raise RefusedInput("give --key FILE (sign a checkpoint of the log now) or --checkpoint "
                           "FILE (one signed before), not both")
    if key_file is None and (checkpoint_file is None) != (vkey is None):
        raise RefusedInput("--checkpoint and --vkey go together (or give --key FILE: a "
                           "checkpoint signed now, its verifier key shown to readers)")
    if policy_file is not None and checkpoint_file is None and key_file is None:
        raise RefusedInput("--policy needs --key, or --checkpoint and --vkey (a cosigned "
                           "checkpoint)")
    from ledger.core.note import verifier_key
    from ledger.ops.files import check_folder
    from ledger.ops.keys import read_policy, read_signer, read_verifier_text
    from ledger.ops.proofs import checkpoint_of_note
    from ledger.pages.site import check_served

    note = read_checkpoint_note(checkpoint_file) if checkpoint_file else None
    key = read_verifier_text(vkey) if vkey else None
    policy = read_policy(policy_file) if policy_file else None
    signer = read_signer(Path(key_file), passphrase) if key_file else None
    if signer is not None:
        own = verifier_key(signer)
        if key is not None and key.strip() != own:
            raise RefusedInput(f"--vkey is {key.strip()}, but a checkpoint signed with --key "
                               f"{key_file} is verified by {own}: give only --key")
        key = own
    with obj.open(signing=False) as ledger:
        if signer is not None:  # its bar closed before the line that says what it signed
            check_folder(Path(out_dir), "the site")  # refused before a checkpoint is stored
            note, new = sign_now(ledger, signer, policy, since_signed=True,
                                 accept=lambda made: check_served(Path(out_dir), made))
            say_signed(new, checkpoint_of_note(note).size, signer, "Embedding")
        with progress_phases(("Verifying", ledger.count()),  # a build of every page only
                             ("Writing pages", ledger.count_records()), at_once=False) as bars:
            done = ledger.site(Path(out_dir), note, key, bars[1], full, policy,  # verified
                               None if signer is not None else bars[0], signer is not None)
    say(f"Wrote {out_dir}/index.html and {done.records} record page(s): {done.written} file(s) "
        f"written, {done.unchanged} already up to date"
        + (f", {done.removed} bundle(s) no page has named for two runs removed" if done.removed else ""))
    if note is None:
        say("Note: no --key or --checkpoint: the pages are the publisher's copy, and do not "
            "verify themselves in the reader's browser", err=True)
    warn_exposed(out_dir, obj.db)


COMMANDS = (import_cmd, render, site)
