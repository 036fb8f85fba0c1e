"""Commands for keys, checkpoints, proofs and bundles."""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import click
import orjson

from ledger.core.canonical import JsonInputError, parse_json
from ledger.errors import CheckpointRefused, RefusedInput, VerificationError

from .common import (
    FileName,
    LedgerContext,
    complete_record_id,
    emit_json,
    emit_json_items,
    format_of,
    json_option,
    ledger_files,
    pass_ctx,
    passphrase,
    progress,
    progress_phases,
    read_checkpoint_note,
    read_text_input,
    read_tlog_proof,
    refuse_writing_over,
    say,
    say_signed,
    sign_now,
    tell,
    warn_exposed,
    whole,
    write_output,
)

if TYPE_CHECKING:
    from ledger.core.checkpoint import Checkpoint
    from ledger.core.events import Event
    from ledger.core.note import Verifier
    from ledger.core.policy import Policy
    from ledger.core.progress import Progress
    from ledger.storage.views import Shown

# Signing and proof modules load cryptography: they are imported inside the commands that
# use them, so that every other command starts faster.



@click.command(short_help="Create an Ed25519 signing key; print its verifier key.")
@click.argument("name")
@click.option("-o", "--output", type=FileName(),
              help="Private key file (default: NAME.key, with / replaced by _).")
@click.option("--encrypt", is_flag=True,
              help="Encrypt the key file with a passphrase (LEDGER_KEY_PASSPHRASE or a prompt).")
def keygen(name: str, output: str | None, encrypt: bool) -> None:
    """Create an Ed25519 signing key (C2SP note format) and print its verifier key.

    The private key file is written with mode 0600 and never overwritten. NAME is the
    checkpoint origin, e.g. the publisher's log name.

    \b
    Example:
        ledger keygen ledger.assignee.example -o publisher.key > publisher.vkey
        ledger keygen ledger.assignee.example --encrypt -o publisher.key
    """
    from ledger.ops.keys import encrypt_key, generate, write_private_key

    skey, vkey = generate(name)
    path = Path(output or name.replace("/", "_") + ".key")
    if encrypt:
        secret = passphrase(confirm=True)
        if not secret:
            raise RefusedInput("--encrypt needs a passphrase: set LEDGER_KEY_PASSPHRASE or run "
                               "on a terminal")
        skey = encrypt_key(skey, secret)
    write_private_key(path, skey)
    say(vkey)
    say(f"Wrote private key {path} (mode 0600)", err=True)


@click.command()
@click.option("--key", "key_file", required=True, type=FileName("the key file"),
              help="Private key file (from `ledger keygen`).")
@click.option("--policy", "policy_file", type=FileName("the policy file"),
              help="Have the policy's witnesses cosign it; store it only if they meet its quorum.")
@click.option("-o", "--output", type=FileName(), help="Write the note to FILE.")
@pass_ctx
def checkpoint(obj: LedgerContext, key_file: str, policy_file: str | None,
               output: str | None) -> None:
    """Sign a C2SP checkpoint of the whole log and store it.

    Verifies the log first and refuses to sign one inconsistent with any earlier checkpoint.
    With --policy (a C2SP tlog-policy file), submits it to every witness the policy gives a URL
    (in parallel, with the consistency proof from the size each last cosigned), checks their
    cosignatures, and stores and prints the cosigned checkpoint only if the policy's quorum is
    met; otherwise exits 1, naming what each witness answered, and stores nothing.

    \b
    Example:
        ledger checkpoint --key publisher.key -o checkpoint-120.txt
        ledger checkpoint --key publisher.key --policy witnesses.policy -o checkpoint-121.txt
    """
    from ledger.ops.files import check_output
    from ledger.ops.keys import read_policy, read_signer
    from ledger.ops.proofs import checkpoint_of_note

    refuse_writing_over("-o", output, [*obj.inputs(), ("the key", key_file),
                                       ("the policy", policy_file)])
    if output is not None:  # before a checkpoint is signed and stored: refused means none was
        check_output(output)
    signer = read_signer(Path(key_file), passphrase)
    policy = read_policy(policy_file) if policy_file else None
    with obj.open(signing=False) as ledger:
        note, new = sign_now(ledger, signer, policy)
    write_output(note, output, f"the checkpoint of size {checkpoint_of_note(note).size}")
    if not new:
        say("(a checkpoint of this size was stored before: the table keeps that one)"
            if policy is not None else
            "(this checkpoint was already signed: nothing new stored)", err=True)


@click.command(short_help="Write the log as C2SP tlog-tiles for a static host.")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--key", "key_file", type=FileName("the key file"),
              help="Sign a checkpoint of the whole log now with this key, and publish it.")
@click.option("--checkpoint", "checkpoint_file", type=FileName("the checkpoint file"),
              help="Publish the log up to this signed checkpoint instead.")
@pass_ctx
def tiles(obj: LedgerContext, out_dir: str, key_file: str | None,
          checkpoint_file: str | None) -> None:
    """Write the log as C2SP tlog-tiles for a static host: checkpoint, tile/, members/.

    Full tiles and entry bundles are never rewritten; the checkpoint is written last. The
    payload members (format v2) are beside the tiles, so a run after a purge takes the purged
    values off the host while every tile stays as it was.

    \b
    Example:
        ledger tiles public-log/ --key publisher.key
        ledger tiles public-log/ --checkpoint checkpoint-120.txt
    """
    from ledger.ops.keys import read_signer
    from ledger.ops.proofs import checkpoint_of_note

    signer = read_signer(Path(key_file), passphrase) if key_file else None
    note = read_checkpoint_note(checkpoint_file) if checkpoint_file else None
    with obj.open(signing=False) as ledger:
        size = checkpoint_of_note(note).size if note is not None else ledger.count()
        with progress_phases(("Verifying", ledger.count()), ("Writing tiles", size)) as bars:
            done = ledger.tiles(Path(out_dir), signer, note, *bars)
    if signer is not None:
        say_signed(done.stored, done.size, signer, "Published")
    say(f"Wrote {out_dir}/checkpoint (size {done.size}) and its tiles: {done.written} "
        f"file(s) written, {done.unchanged} already there")
    warn_exposed(out_dir, obj.db)


@click.command(short_help="Follow a published log: verify what is new, refuse forks.")
@click.argument("where", metavar="URL|DIR")
@click.option("--vkey", required=True, help="The log's verifier key (string or file).")
@click.option("--state", "state_file", type=FileName(),
              help="Where the last checkpoint seen is kept (forks and rollbacks are refused).")
@click.option("--mirror", "mirror_file", type=FileName(),
              help="Keep a local, read-only ledger of everything verified.")
@click.option("--policy", "policy_file", type=FileName("the policy file"),
              help="Require the checkpoint's witness cosignatures to meet this policy's quorum.")
@click.option("--check-only", is_flag=True,
              help="Without --mirror: check the log but do not re-derive record states.")
@json_option
@click.pass_context
def monitor(ctx: click.Context, where: str, vkey: str, state_file: str | None,
            mirror_file: str | None, policy_file: str | None, check_only: bool,
            as_json: bool) -> None:
    """Follow a log published by `ledger tiles`: verify what is new, refuse forks and rollbacks.

    Checks the checkpoint's signature, that it extends the last one seen (--state), every new
    entry against its tile hash, every payload member against its commitment, and the new root;
    with --mirror, appends the verified events to a local ledger and carries purges into it.
    Exit 1 for a fork or a rollback, with the reason (with --state, the signed checkpoint
    refused is kept beside the state file, as evidence); exit 2 if the log cannot be read (an
    HTTP error, a certificate not trusted, a file larger than its format allows). A URL is read
    through the proxy that https_proxy, http_proxy or all_proxy names for it (less no_proxy),
    if any; an https host's certificate is checked against the system's authorities, or those
    in the file SSL_CERT_FILE names.

    \b
    Example:
        ledger monitor https://log.example/ --vkey publisher.vkey --state seen.json
        ledger monitor public-log/ --vkey publisher.vkey --state seen.json --mirror mirror.db
    """
    from ledger.ops.keys import read_policy, read_verifier
    from ledger.ops.monitor import prepare, source_of

    reads = [("the verifier key", vkey if os.path.isfile(vkey) else None),
             ("the policy", policy_file)]
    refuse_writing_over("--mirror", mirror_file, reads)
    refuse_writing_over("--state", state_file,
                        [*reads, *ledger_files("the mirror ledger", mirror_file)])
    verifier = read_verifier(vkey)
    policy = read_policy(policy_file) if policy_file else None
    source = source_of(where)
    try:
        job = prepare(source, verifier, Path(state_file) if state_file else None,
                      Path(mirror_file) if mirror_file else None, policy, not check_only)
        with progress("Fetching and verifying", job.pending) as bar:
            done = job.run(bar)
    except VerificationError as exc:  # the Error: line follows on stderr, exit 1
        if as_json:
            emit_json({"ok": False, "seq": exc.seq, "reason": exc.reason,
                       "expected": exc.expected or None, "computed": exc.computed or None,
                       "kept": exc.kept if isinstance(exc, CheckpointRefused) else None})
        raise
    finally:
        source.close()
    if as_json:
        emit_json(done.as_json())
        return
    tell(f"OK: {done.origin} at size {done.size} (was {done.previous}): {done.new_events} "
         f"new event(s) verified, {done.withheld} withheld member(s), {done.purges} purge(s)"
         + (f"; mirror {done.mirror} updated" if done.mirror else ""))
    if done.witnessed_at is not None:
        tell(f"Witnessed: the policy's quorum cosigned it, most recently at "
             f"{done.witnessed_at} (a witness then knew of no later checkpoint)")
    if done.statuses is None:
        tell("Record states not re-derived: " + (
            "--check-only." if check_only and not done.previous else
            "a run after the first needs --mirror (the earlier events of a record are not kept "
            "without one)."))
    else:
        counts = ", ".join(f"{n} {status}" for status, n in done.statuses.items())
        tell(f"Records re-derived with the ledger's rules: {counts or 'none'}")
        new = set(done.new)
        for rid, status in done.changed[:20]:
            say(f"  {'new' if rid in new else 'changed'}: {rid} is {status}")
        if len(done.changed) > 20:
            more = len(done.changed) - 20
            say(f"  … and {more} more ({len(done.changed)} record(s) touched, {len(new)} of them "
                "new; --json lists all)")


@click.command()
@click.argument("seq", type=whole(1))
@click.option("--size", type=whole(1), help="Tree size (default: the head).")
@click.option("--format", "fmt", type=click.Choice(["json", "text", "tlog-proof"]),
              help="[default: text; for an -o FILE ending in .json or .tlog-proof: json or "
                   "tlog-proof]")
@click.option("--checkpoint", "checkpoint_file", type=FileName("the checkpoint file"),
              help="Prove against this signed checkpoint (its size); needed for tlog-proof.")
@click.option("-o", "--output", type=FileName(), help="Write to FILE.")
@json_option
@pass_ctx
def prove(obj: LedgerContext, seq: int, size: int | None, fmt: str | None,
          checkpoint_file: str | None, output: str | None, as_json: bool) -> None:
    """Print the RFC 6962 inclusion proof of event SEQ.

    \b
    Example:
        ledger prove 7 --json
        ledger prove 7 --format tlog-proof --checkpoint checkpoint-120.txt -o seq7.tlog-proof
    """
    from ledger.ops.proofs import check_root, checkpoint_of_note, tlog_proof

    if as_json:
        fmt = "json"
    elif fmt is None:
        fmt = format_of(output, {".json": "json", ".tlog-proof": "tlog-proof"}, "text")
    refuse_writing_over("-o", output, [*obj.inputs(), ("the checkpoint", checkpoint_file)])
    note = read_checkpoint_note(checkpoint_file) if checkpoint_file else None
    if fmt == "tlog-proof" and note is None:
        raise RefusedInput("a tlog-proof (--format tlog-proof, or an -o FILE ending in "
                           ".tlog-proof) needs --checkpoint FILE")
    cp = checkpoint_of_note(note) if note else None
    if cp is not None and size is not None and size != cp.size:
        raise RefusedInput(f"--size {size} conflicts with the checkpoint's size {cp.size}")
    with obj.open(signing=False) as ledger:
        inclusion = ledger.prove(seq, cp.size if cp else size)
    if cp is not None:
        check_root(inclusion, cp)
    what = f"the inclusion proof of seq {seq} in the tree of size {inclusion.size} ({fmt})"
    if fmt == "tlog-proof":
        assert note is not None
        write_output(tlog_proof(inclusion, note), output, what)
    elif fmt == "json":
        write_output(orjson.dumps(inclusion.as_json(), option=orjson.OPT_INDENT_2).decode() + "\n",
                     output, what)
    else:
        d = inclusion.as_json()
        text = (f"seq {seq} (leaf index {d['index']}) in tree of size {d['size']}\n"
                f"leaf hash {d['leaf_hash']}\nroot      {d['root']}\n"
                + "".join(f"proof[{i}]  {h}\n" for i, h in enumerate(d["proof"])))
        write_output(text, output, what)


@click.command(short_help="Print the RFC 6962 consistency proof between two sizes.")
@click.argument("old_size", type=whole(1))
@click.argument("new_size", type=whole(1), required=False)
@json_option
@pass_ctx
def consistency(obj: LedgerContext, old_size: int, new_size: int | None, as_json: bool) -> None:
    """Print the RFC 6962 consistency proof from OLD_SIZE to NEW_SIZE (default: the head).

    \b
    Example:
        ledger consistency 100 --json
        ledger consistency 100 250
    """
    with obj.open(signing=False) as ledger:
        proof = ledger.consistency(old_size, new_size)
    if as_json:
        emit_json(proof)
        return
    click.echo(f"size {proof['old_size']} root {proof['old_root']}\n"
               f"size {proof['size']} root {proof['root']}")
    for i, h in enumerate(proof["proof"]):
        say(f"proof[{i}]  {h}")


@click.command(short_help="Write one record's offline-verifiable JSON bundle.")
@click.argument("record_id", shell_complete=complete_record_id)
@click.option("--checkpoint", "checkpoint_file", required=True, type=FileName("the checkpoint file"),
              help="A signed checkpoint of this log (`ledger checkpoint --key FILE -o FILE`): the "
                   "bundle holds the record's events up to its size, each proven in its tree.")
@click.option("-o", "--output", type=FileName(), help="Write to FILE.")
@pass_ctx
def bundle(obj: LedgerContext, record_id: str, checkpoint_file: str, output: str | None) -> None:
    """Write a self-contained, offline-verifiable JSON bundle of one record.

    It holds the record's events up to the checkpoint, an inclusion proof for each, the signed
    checkpoint, and the record's state as of that checkpoint.

    \b
    Example:
        ledger bundle SRCH:03BE3A05 --checkpoint checkpoint-120.txt -o SRCH-03BE3A05.bundle.json
    """
    from ledger.ops.proofs import checkpoint_of_note

    refuse_writing_over("-o", output, [*obj.inputs(), ("the checkpoint", checkpoint_file)])
    with obj.open(signing=False) as ledger, progress("Verifying", ledger.count()) as bar:
        doc = ledger.bundle(record_id, read_checkpoint_note(checkpoint_file), bar)
    write_output(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n", output,
                 f"the bundle of {doc['record_id']} ({len(doc['events'])} event(s), checkpoint of "
                 f"size {checkpoint_of_note(doc['checkpoint']).size})")


@click.command(
    "verify-bundle", short_help="Verify a bundle offline; re-derive the record's status.")
@click.argument("files", nargs=-1, required=True, metavar="FILE|DIR|-...")
@click.option("--vkey", required=True, help="The publisher's verifier key, or a file holding it.")
@click.option("--policy", "policy_file", type=FileName("the policy file"),
              help="Require the checkpoint's witness cosignatures to meet this policy's quorum.")
@click.option("--against", "against", type=FileName("the ledger file"),
              help="Also check, against this ledger file (the publisher's, or a mirror `monitor "
                   "--mirror` keeps), that the bundle holds every event of its record.")
@json_option
def verify_bundle_cmd(files: tuple[str, ...], vkey: str, policy_file: str | None,
                      against: str | None, as_json: bool) -> None:
    """Verify a bundle without the database and re-derive the record's status.

    FILE is a bundle (`ledger bundle`) or the bundle script a site's record page loads
    (bundles/<id>.<digest>.js): check what a page shows with the publisher's own key.

    A bundle proves every event it holds, not that it holds every event of its record: one
    short of a retraction, its state restated, verifies on its own. With --against FILE, the
    log in FILE is verified, shown to extend the bundle's checkpoint, and the record's events
    in it up to the checkpoint's size compared with the bundle's: one left out is named.

    Several FILEs, or a DIR (its .js and .json files: a site's bundles/ folder), are each
    checked, the log verified once for all of them; each file's lines start with its name,
    and the exit status is 1 if any fails.

    \b
    Example:
        ledger verify-bundle SRCH-03BE3A05.bundle.json --vkey publisher.vkey
        ledger verify-bundle public/bundles/SRCH-03BE3A05.1f0c2a9be4d37a58.js --vkey publisher.vkey
        ledger verify-bundle SRCH-03BE3A05.bundle.json --vkey publisher.vkey --against mirror.db
        ledger verify-bundle public/bundles --vkey publisher.vkey --against mirror.db
    """
    from ledger.ops.keys import read_policy, read_verifier

    policy = read_policy(policy_file) if policy_file else None
    if len(files) == 1 and not os.path.isdir(files[0]):
        doc = _bundle_doc(files[0])
        verifier = read_verifier(vkey)
        if against is None:
            checked = _checked_bundle(doc, verifier, policy, None)
        else:
            from ledger.api import Ledger

            with Ledger.open(against) as ledger, progress("Verifying", ledger.count()) as bar:
                checked = _checked_bundle(doc, verifier, policy, ledger.conn, bar)
        if as_json:
            emit_json(_bundle_json(checked, against))
        else:
            _tell_bundle(checked, against, "")
        return
    _verify_bundles(_bundle_files(files), read_verifier(vkey), policy, against, as_json)


# what one bundle gave: (its doc, checkpoint, state, cosigners, witnessed at, later events)
CheckedBundle: TypeAlias = "tuple[Any, Checkpoint, Shown, list[str], str | None, list[Event] | None]"


def _bundle_doc(file: str) -> Any:
    """Return the JSON of a bundle file or of a site's bundle script, or refuse it."""
    from ledger.pages.site import script_json

    text = read_text_input(file)
    text = script_json(text) or text
    try:
        return parse_json(text)
    except JsonInputError as exc:
        raise RefusedInput(f"{file}: {exc}") from None


def _checked_bundle(doc: Any, verifier: Verifier, policy: Policy | None,
                    conn: sqlite3.Connection | None, bar: Progress | None = None,
                    log_verified: bool = False) -> CheckedBundle:
    """Verify one bundle (against the log in ``conn``, if given); raise LedgerError."""
    from ledger.core.policy import open_witnessed
    from ledger.ops.bundle import verify_bundle, verify_bundle_against

    later = None
    if conn is None:
        checkpoint, state = verify_bundle(doc, verifier)
    else:
        checkpoint, state, later = verify_bundle_against(doc, verifier, conn, bar, log_verified)
    cosigned: list[str] = []
    witnessed = None
    if policy is not None:
        _, cosigned, witnessed = open_witnessed(doc["checkpoint"], policy, verifier)
    return doc, checkpoint, state, cosigned, witnessed, later


def _bundle_json(checked: CheckedBundle, against: str | None) -> dict[str, Any]:
    _, checkpoint, state, cosigned, witnessed, later = checked
    return {"ok": True, "record_id": state["record_id"], "checkpoint_size": checkpoint.size,
            "origin": checkpoint.origin, "cosigned_by": cosigned, "complete_in": against,
            "later_in_log": None if later is None else [
                {"seq": event.seq, "type": event.type} for event in later],
            "witnessed_at": witnessed, "state": state}


def _tell_bundle(checked: CheckedBundle, against: str | None, name: str) -> None:
    """Say what one bundle gave (``name``: its file's, before each line, when there are many)."""
    doc, checkpoint, state, cosigned, witnessed, later = checked
    tell(f"{name}OK: {len(doc['events'])} event(s) of {state['record_id']} verified against "
         f"checkpoint of size {checkpoint.size} by {checkpoint.origin}"
         + (f", cosigned by {', '.join(cosigned)}, most recently at {witnessed}"
            if cosigned else "")
         + (f"; every event of the record in {against} up to that size" if against else ""))
    tell(f"{name}status {state['status']}, version {state['version']}, "
         f"{state['correction_count']} notice(s), provenance {state['provenance_level']}")
    if later:
        tell(f"{name}Note: {against} holds {len(later)} later event(s) of {state['record_id']}, "
             f"after the checkpoint (the bundle is of its checkpoint, not of now): "
             + "; ".join(f"seq {event.seq}, {event.type}" for event in later[:5])
             + ("; …" if len(later) > 5 else ""))


def _bundle_files(given: Sequence[str]) -> list[str]:
    """Return the files named: each FILE, and each DIR's .js and .json files (not its folders),
    in name order; refuse a DIR that holds none."""
    files: list[str] = []
    for name in given:
        if name == "-":
            raise RefusedInput("- (a bundle on stdin) is given alone, not with other files")
        if not os.path.isdir(name):
            files.append(name)
            continue
        found = sorted(entry.path for entry in os.scandir(name)
                       if entry.name.endswith((".js", ".json")) and entry.is_file())
        if not found:
            raise RefusedInput(f"{name} holds no bundle (.json) or bundle script (.js)")
        files.extend(found)
    return files


def _verify_bundles(files: list[str], verifier: Verifier, policy: Policy | None,
                    against: str | None, as_json: bool) -> None:
    """Verify many bundles, against one verification of the log when ``against`` is given (the
    checkpoints read first, each file read again after, so that memory holds one bundle at a
    time); one line (or JSON object) each; exit 1 if any fails."""
    from contextlib import ExitStack

    from ledger.errors import LedgerError
    from ledger.ops.bundle import bundle_checkpoint, verify_log_extends

    failed: dict[str, str] = {}
    conn = None
    with ExitStack() as stack:
        if against is not None:
            from ledger.api import Ledger

            ledger = stack.enter_context(Ledger.open(against))
            # one read transaction: the bundles are compared with the very log verified
            conn = stack.enter_context(ledger.snapshot())
            checkpoints: list[Checkpoint] = []
            with progress_phases(("Reading the bundles", len(files)),
                                 ("Verifying", ledger.count())) as (reading, verifying):
                for file in files:
                    try:
                        checkpoint = bundle_checkpoint(_bundle_doc(file), verifier)
                    except LedgerError as exc:
                        failed[file] = str(exc).removeprefix(f"{file}: ")
                        continue
                    finally:
                        if reading is not None:
                            reading(1)
                    if checkpoint not in checkpoints:
                        checkpoints.append(checkpoint)
                verify_log_extends(conn, checkpoints, verifying)
        # On a terminal the lines (or the JSON objects) are the progress; a bar when they go to
        # a pipe or a file.
        checking = stack.enter_context(progress_phases(
            ("Checking the bundles", 0 if sys.stdout.isatty() else len(files))))[0]

        def results() -> Iterator[tuple[str, CheckedBundle | None]]:
            """Each file with what it gives (None: it failed, as ``failed`` says), one at a
            time: memory holds one bundle whatever their number."""
            for file in files:
                checked = None
                if file not in failed:
                    try:
                        checked = _checked_bundle(_bundle_doc(file), verifier, policy, conn,
                                                  log_verified=True)
                    except LedgerError as exc:
                        failed[file] = str(exc).removeprefix(f"{file}: ")
                if checking is not None:
                    checking(1)
                yield file, checked

        if as_json:
            emit_json_items({"file": file, "ok": False, "error": failed[file]} if checked is None
                            else {"file": file, **_bundle_json(checked, against)}
                            for file, checked in results())
        else:
            for file, checked in results():
                if checked is None:
                    tell(f"{file}: FAILED: {failed[file]}")
                else:
                    _tell_bundle(checked, against, f"{file}: ")
            tell(f"{len(files) - len(failed)} of {len(files)} bundle(s) verified"
                 + (f", {len(failed)} FAILED" if failed else ""))
    sys.exit(1 if failed else 0)


@click.command("verify-proof", short_help="Verify a C2SP tlog-proof without the database.")
@click.argument("file", metavar="FILE|-")
@click.option("--vkey", required=True, help="The log's verifier key, or a file holding it.")
@click.option("--policy", "policy_file", type=FileName("the policy file"),
              help="Require the checkpoint's witness cosignatures to meet this policy's quorum.")
@json_option
def verify_proof(file: str, vkey: str, policy_file: str | None, as_json: bool) -> None:
    """Verify a C2SP tlog-proof (from `ledger prove --format tlog-proof`) without the database.

    Checks the checkpoint's signature (and with --policy, its witness quorum), that the extra
    data is the event at that index, and the inclusion proof; prints the event.

    \b
    Example:
        ledger verify-proof seq7.tlog-proof --vkey publisher.vkey --policy witnesses.policy
    """
    from ledger.ops.keys import read_policy, read_verifier
    from ledger.ops.proofs import verify_tlog_proof

    policy = read_policy(policy_file) if policy_file else None
    text = read_tlog_proof(file)
    checkpoint, index, envelope, cosigned, witnessed = verify_tlog_proof(
        text, read_verifier(vkey), policy)
    if as_json:
        emit_json({"ok": True, "origin": checkpoint.origin, "size": checkpoint.size,
                   "index": index, "cosigned_by": cosigned, "witnessed_at": witnessed,
                   "event": envelope})
        return
    tell(f"OK: seq {index + 1} ({envelope.get('type')} of {envelope.get('record_id') or '-'}) "
         f"is in the log of {checkpoint.origin} at size {checkpoint.size}"
         + (f", cosigned by {', '.join(cosigned)}, most recently at {witnessed}"
            if cosigned else ""))


COMMANDS = (keygen, checkpoint, prove, consistency, bundle, verify_bundle_cmd, verify_proof, tiles,
            monitor)
