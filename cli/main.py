"""The ``ledger`` command: a thin click layer over the ``ledger`` library.

All library errors are turned into one ``Error: …`` line here: exit 2 for refused input,
1 for a verification problem.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from typing import Any

# The ledger uses no pydantic plugins; skipping their discovery saves ~15 ms per command.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import click

from cli import keyring, pages, proofs, read, write
from cli.common import LedgerContext
from ledger.api import default_actor
from ledger.errors import (
    CorruptEvent,
    LedgerError,
    SignatureError,
    VerificationError,
)


class LedgerGroup(click.Group):
    """A group whose every failure is one ``Error: …`` line and a documented exit status."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except click.exceptions.Abort:
            click.echo("Error: aborted", err=True)
            sys.exit(1)
        except click.ClickException as exc:
            click.echo(f"Error: {exc.format_message()}", err=True)
            sys.exit(2)
        except (CorruptEvent, VerificationError, SignatureError) as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)
        except LedgerError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(2)
        except sqlite3.Error as exc:
            click.echo(f"Error: SQLite: {exc}", err=True)
            sys.exit(2)
        except BrokenPipeError:  # the reader went away (`ledger log | head`): not an error
            sys.stderr.close()
            sys.exit(0)
        except OSError as exc:  # last resort: a file the command had to read or write
            click.echo(f"Error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), err=True)
            sys.exit(2)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=LedgerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="provenance-ledger")
@click.option("--db", envvar="LEDGER_DB", default="ledger.db", show_default=True,
              type=click.Path(dir_okay=False), help="Ledger file (env LEDGER_DB).")
@click.option("--actor", envvar="LEDGER_ACTOR", default=None,
              help="Who is appending (env LEDGER_ACTOR; default: the OS user name).")
@click.option("--key", "key_file", envvar="LEDGER_KEY", default=None,
              type=click.Path(dir_okay=False),
              help="Private key that signs what you append (env LEDGER_KEY); required by a "
                   "ledger created with --require-signatures, whose actor is the key's name.")
@click.pass_context
def app(ctx: click.Context, db: str, actor: str | None, key_file: str | None) -> None:
    """Provenance and correction ledger: the public, hash-chained history of research records.

    \b
    Example:
        ledger --db ledger.db init
        ledger publish examples/records/SRCH-03BE3A05.json
        ledger correct SRCH:03BE3A05 --kind correction --reason "Score typo" --set /review_score=9.1
        ledger verify
    """
    if actor is not None and not actor.strip():
        raise click.BadParameter("the actor name is empty", param_hint="--actor")
    ctx.obj = LedgerContext(db, actor or default_actor(), key_file)


for command in (*write.COMMANDS, *read.COMMANDS, *proofs.COMMANDS, *pages.COMMANDS,
                *keyring.COMMANDS):
    app.add_command(command)


def main() -> None:
    """Console-script entry point."""
    app.main(prog_name="ledger")
