"""Commands of a witness (C2SP tlog-witness): a key, and the server."""

from __future__ import annotations

from pathlib import Path

import click

from ledger.core.escapes import printable
from ledger.errors import RefusedInput

from .common import FileName, emit_json, json_option, say, stdout_bytes


@click.group(short_help="Run a witness that cosigns consistent checkpoints.")
def witness() -> None:
    """Run a witness: it cosigns a log's checkpoints only if each is consistent with the last.

    \b
    Example:
        ledger witness keygen witness.example/w1 -o w1.key > w1.vkey
        ledger witness serve --key w1.key --logs logs.txt --db w1.db --listen 127.0.0.1:7380
    """


@witness.command("keygen", short_help="Create a witness's Ed25519 cosigning key.")
@click.argument("name")
@click.option("-o", "--output", type=FileName(),
              help="Private key file (default: NAME.key, with / replaced by _).")
def keygen(name: str, output: str | None) -> None:
    """Create a witness's Ed25519 cosigning key (cosignature/v1, type 0x04); print its vkey.

    The vkey goes into the `witness` lines of the logs' and readers' policy files. The private
    key file is written with mode 0600 and never overwritten.
    """
    import os

    from ledger.core.cosignature import encode_cosigner
    from ledger.ops.keys import write_private_key

    skey, vkey = encode_cosigner(name, os.urandom(32))
    path = Path(output or name.replace("/", "_") + ".key")
    write_private_key(path, skey)
    say(vkey)
    say(f"Wrote witness key {path} (mode 0600)", err=True)


@witness.command("serve", short_help="Serve add-checkpoint and the cosigned checkpoints.")
@click.option("--key", "key_file", required=True, type=FileName("the key file"),
              help="The witness's private key (from `ledger witness keygen`).")
@click.option("--logs", "logs_file", required=True, type=FileName("the logs file"),
              help="The logs it witnesses: `log <vkey> [<url>]` lines.")
@click.option("--db", "db_file", required=True, type=FileName("the witness database file"),
              help="Its state: the last checkpoint cosigned per log, and the refusals kept "
                   "as evidence.")
@click.option("--listen", default="127.0.0.1:7380", show_default=True, metavar="HOST:PORT",
              help="The address to serve on.")
def serve(key_file: str, logs_file: str, db_file: str, listen: str) -> None:
    """Serve add-checkpoint and the latest cosigned checkpoints over HTTP (uvicorn).

    Stops gracefully on Ctrl-C or SIGTERM. Every refusal is logged on stderr; a checkpoint
    the log's key signed and refused as inconsistent is kept in --db, as evidence.

    \b
    Example:
        ledger witness serve --key w1.key --logs logs.txt --db w1.db --listen 127.0.0.1:7380
    """
    import logging

    from ledger.core.policy import parse_logs
    from ledger.ops.keys import read_cosigner, read_text
    from ledger.ops.witness import Witness
    from ledger.ops.witness import serve as run

    host, sep, port = listen.rpartition(":")
    bracketed = host.startswith("[") or host.endswith("]")  # an IPv6 address: [::1]:7380
    if (not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535
            or (bracketed and not (host.startswith("[") and host.endswith("]") and len(host) > 2))
            or (not bracketed and ":" in host)):
        raise RefusedInput(f"--listen {listen!r} is not HOST:PORT (an IPv6 address in brackets: "
                           "[::1]:7380)")
    cosigner = read_cosigner(Path(key_file))
    logs = parse_logs(read_text(logs_file).encode())
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    service = Witness(cosigner, logs, Path(db_file))

    def ready(url: str) -> None:
        say(f"Witness {cosigner.name} for {len(logs)} log(s) at {url}", err=True)

    run(service, host.strip("[]"), int(port), ready)
    say(f"Witness {cosigner.name} stopped", err=True)


@witness.command("status", short_help="Show what a witness holds: logs and refusals kept.")
@click.option("--db", "db_file", required=True, type=FileName("the witness database file"),
              help="The witness's state file (its --db).")
@click.option("--note", "note_of", type=click.IntRange(1), metavar="ID",
              help="Print the checkpoint note refusal ID carried, as sent: the evidence to keep "
                   "or give an auditor.")
@json_option
def status(db_file: str, note_of: int | None, as_json: bool) -> None:
    """Show what a witness holds: the last checkpoint it cosigned of each log, and the
    submissions it refused (kept as evidence of a log's misbehaviour).

    Reads the state file only, so it can run while the witness serves.

    \b
    Example:
        ledger witness status --db w1.db
        ledger witness status --db w1.db --note 3 > refused-3.txt
    """
    from ledger.ops.witness import witness_state

    logs, refusals = witness_state(Path(db_file))
    if note_of is not None:
        found = next((r for r in refusals if r.id == note_of), None)
        if found is None:
            raise RefusedInput(f"{db_file} keeps no refusal {note_of} (it keeps "
                               f"{len(refusals)}: `ledger witness status --db {db_file}` lists "
                               "them)")
        if found.note is None:
            raise RefusedInput(f"refusal {note_of} carried no checkpoint note ({found.reason})")
        stdout_bytes().write(found.note.encode())
        return
    if as_json:
        emit_json({"logs": [vars(log) for log in logs], "refusals": [vars(r) for r in refusals]})
        return
    say(f"{db_file}: {len(logs)} log(s) cosigned, {len(refusals)} refusal(s) kept")
    for log in logs:
        say(f"  {printable(log.origin)}: size {log.size}, root {log.root}, cosigned at "
            f"{log.cosigned_at}")
    shown = refusals[-REFUSALS_SHOWN:]
    if shown:
        more = len(refusals) - len(shown)
        say("Refused" + (f" (the latest {len(shown)}; --json lists all {len(refusals)})"
                         if more else "") + ":")
    for r in shown:
        say(f"  {r.id}. {r.at} {printable(r.origin or '(no origin)')}: {r.status} "
            f"{printable(r.reason)}" + ("" if r.note is None else " [note kept]"))
    if any(r.note is not None for r in shown):
        say(f"`ledger witness status --db {db_file} --note ID` prints the checkpoint note a "
            "refusal carried.")


REFUSALS_SHOWN = 20  # the latest refusals the text lists


COMMANDS = (witness,)
