"""Commands for actor keys in a ledger that requires signatures."""

from __future__ import annotations

import click

from ledger.api import Ledger

from .common import (
    LedgerContext,
    dry_run_option,
    emit_json,
    json_option,
    pass_ctx,
    rehearsed,
    report_append,
    report_rehearsal,
    say,
)


@click.group(short_help="Manage a signed ledger's keyring: add, revoke and list keys.")
def key() -> None:
    """Manage the keyring of a signed ledger: add, revoke and list actor keys.

    Keys are events too (key.added, key.revoked), signed by an admin key given with --key.

    \b
    Example:
        ledger keygen lab-b -o lab-b.key > lab-b.vkey
        ledger --key admin.key key add "$(cat lab-b.vkey)" --role writer
        ledger --key admin.key key revoke "$(cat lab-b.vkey)" --reason "left the project"
        ledger key list
    """


@key.command("add")
@click.argument("vkey")
@click.option("--role", type=click.Choice(["writer", "admin"]), default="writer", show_default=True,
              help="A writer appends events; an admin also adds and revokes keys.")
@click.option("--reason", help="Why the key is added.")
@json_option
@dry_run_option
@pass_ctx
def add(obj: LedgerContext, vkey: str, role: str, reason: str | None, as_json: bool) -> None:
    """Add a verifier key to the keyring (needs an admin --key).

    \b
    Example:
        ledger --key admin.key key add "lab-b+1c7a550f+ASUY…" --role writer
    """
    from ledger.ops.keys import read_verifier_text

    with obj.open(signing=True) as ledger:
        _change(obj, ledger, "key.added", read_verifier_text(vkey), role, reason, as_json)


@key.command("revoke", short_help="Revoke a key: what it signs from now on is refused.")
@click.argument("vkey")
@click.option("--reason", help="Why the key is revoked.")
@json_option
@dry_run_option
@pass_ctx
def revoke(obj: LedgerContext, vkey: str, reason: str | None, as_json: bool) -> None:
    """Revoke a key: events it signs from now on are refused (needs an admin --key).

    \b
    Example:
        ledger --key admin.key key revoke lab-b.vkey --reason "key lost"
    """
    from ledger.ops.keys import read_verifier_text

    with obj.open(signing=True) as ledger:
        _change(obj, ledger, "key.revoked", read_verifier_text(vkey), "writer", reason, as_json)


def _change(obj: LedgerContext, ledger: Ledger, type_: str, vkey: str, role: str,
            reason: str | None, as_json: bool) -> None:
    result, rehearsal = rehearsed(obj, ledger, lambda led: led.change_key(type_, vkey, role, reason))
    if rehearsal is None:
        report_append(result, as_json)
    else:
        report_rehearsal(rehearsal, as_json, {"appended": False, "record_id": result.record_id})


@key.command("list", short_help="List every key the ledger has known, and its state.")
@json_option
@pass_ctx
def list_keys(obj: LedgerContext, as_json: bool) -> None:
    """List every key the ledger has known, with when it was added or revoked.

    \b
    Example:
        ledger key list --json
    """
    with obj.open(signing=False) as ledger:
        keys = ledger.keys()
    if as_json:
        emit_json(keys)
        return
    if not keys:  # a signed ledger's first event adds its first admin's key
        say("No keys: this ledger does not take signatures (it was not created with `ledger init "
            "--require-signatures`)", err=True)
    for k in keys:
        state = "in force" if k["in_force"] else f"revoked at seq {k['revoked_seq']}"
        say(f"{k['name']}+{k['key_id']}  {k['role']:<6}  added at seq {k['added_seq']}, {state}")


COMMANDS = (key,)
