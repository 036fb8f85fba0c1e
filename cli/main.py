"""The ``ledger`` command: a thin click layer over the ``ledger`` library.

All library errors are turned into one ``Error: …`` line here: exit 2 for refused input,
1 for a verification problem, 130 and 143 for Ctrl-C and SIGTERM; a closed stdout is exit 0.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import signal
import sqlite3
import sys
from typing import Any

# The ledger uses no pydantic plugins; skipping their discovery saves ~15 ms per command.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import click

from ledger.api import default_actor
from ledger.errors import (
    CorruptEvent,
    LedgerError,
    SignatureError,
    VerificationError,
)
from ledger.storage.store import is_corrupt

from .common import FileName, LedgerContext, Terminated, say, tell

# Each command's module, imported only when that command runs (or for --help): a call such as
# `ledger correct` loads neither the read, proof, page nor keyring commands. test_help checks
# that this table names every command of every module's COMMANDS.
COMMAND_MODULES = {  # modules of this package, relative: it installs as ledger.cli
    **dict.fromkeys(("init", "publish", "provenance", "correct", "gate", "append"), ".write"),
    **dict.fromkeys(("show", "history", "log", "verify", "audit", "rebuild", "export", "feed",
                     "list", "status", "diff", "search", "completion", "metadata", "schema"),
                    ".read"),
    **dict.fromkeys(("keygen", "checkpoint", "prove", "consistency", "bundle", "verify-bundle",
                     "verify-proof", "tiles", "monitor"),
                    ".proofs"),
    **dict.fromkeys(("import", "render", "site"), ".pages"),
    "key": ".keyring",
    "witness": ".witness",
}


def _not_utf8(argv: Any) -> str:
    """Return which argument or ``LEDGER_*`` variable is not UTF-8 ('' if all are): the OS hands
    Python such bytes as lone surrogates, which no JSON, SQLite or hash could take."""
    named = [(f"argument {n}", a) for n, a in enumerate(argv, start=1) if isinstance(a, str)]
    named += [(f"${k}", v) for k, v in os.environ.items() if k.startswith("LEDGER_")]
    for name, value in named:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return name
    return ""


GLOBAL_OPTIONS = {"--db": "FILE", "--actor": "NAME", "--key": "FILE"}
# ``ctx.meta`` key: what a typed `ledger --key FILE` does not sign (``_what_signs``), when the
# command appends nothing.
_UNUSED_KEY = "ledger.unused_key"
# The commands that append, whose events `ledger --key FILE` signs (``LedgerContext.open``).
APPENDING = frozenset({"publish", "provenance", "correct", "gate", "append", "import", "key add",
                       "key revoke"})


def _what_signs(command: str, takes: set[str]) -> str:
    """Say what signs for ``ledger COMMAND``, a command that appends nothing (so the key of
    ``ledger --key FILE``, which signs appends, signs nothing there), whose options are
    ``takes``."""
    if "--key" in takes:  # site, tiles, checkpoint: their own --key signs a checkpoint
        return (f"`ledger {command}` appends nothing, so `ledger --key FILE` (which signs appends) "
                f"signs nothing there: give --key after the command (`ledger {command} … --key "
                "FILE`) to sign a checkpoint")
    if "--checkpoint" in takes:
        return ("a checkpoint is signed by `ledger checkpoint --key FILE -o checkpoint.txt` (or "
                f"`tiles`/`site --key FILE`); give that file to `{command}` as --checkpoint")
    return (f"`ledger {command}` signs nothing (`ledger --key FILE` signs what a command that "
            "appends writes, and `ledger checkpoint --key FILE` a checkpoint of the log)")


def _global_hint(exc: click.ClickException) -> str:
    """Return a hint for an option of ``ledger`` itself given after a command that has no
    option of that name (``ledger key add … --key admin.key``), or ''."""
    if not isinstance(exc, click.NoSuchOption) or exc.option_name not in GLOBAL_OPTIONS:
        return ""
    command = exc.ctx.command_path.split(" ", 1)[-1] if exc.ctx is not None else "COMMAND"
    if exc.option_name == "--key" and command not in APPENDING:  # it would sign nothing there
        return ": " + _what_signs(command, {o for p in (exc.ctx.command.params if exc.ctx else [])
                                           for o in p.opts})
    return (f": {exc.option_name} is an option of `ledger` itself, given before the command "
            f"(`ledger {exc.option_name} {GLOBAL_OPTIONS[exc.option_name]} {command} …`)")


class LedgerGroup(click.Group):
    """A group whose every failure is one ``Error: …`` line and a documented exit status."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMAND_MODULES, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            module = importlib.import_module(COMMAND_MODULES[cmd_name], __package__)
            for command in module.COMMANDS:
                self.add_command(command)
        return self.commands.get(cmd_name)

    def resolve_command(self, ctx: click.Context,
                        args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        name = click.utils.make_str(args[0]) if args else ""
        if args and self.get_command(ctx, name) is None and not name.startswith("-"):
            import difflib

            close = difflib.get_close_matches(name.lower(), self.list_commands(ctx), n=2,
                                              cutoff=0.6)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            listed = ("`ledger --help` lists them, `ledger COMMAND --help` tells of one"
                      if name == "help" else "`ledger --help` lists them")
            raise click.UsageError(f"No such command {name!r}.{hint} ({listed})")
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
        except BrokenPipeError:  # before click's own handling, which would exit 1
            _stdout_to_nowhere()
            raise click.exceptions.Exit(0) from None
        except (click.ClickException, LedgerError) as exc:
            # a refusal that asks for a key or a missing checkpoint ends with what `ledger --key`
            # is not; any other keeps its one line as it was
            said = exc.format_message() if isinstance(exc, click.ClickException) else str(exc)
            missing = exc.param.opts if isinstance(exc, click.MissingParameter) and exc.param \
                else []
            if ctx.meta.get(_UNUSED_KEY) and ("--key" in said or "--checkpoint" in missing):
                exc.add_note(ctx.meta[_UNUSED_KEY])
            raise
        if ctx.meta.get(_UNUSED_KEY):
            tell(f"Note: {ctx.meta[_UNUSED_KEY]}", err=True)
        return result

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        argv = kwargs.get("args", args[0] if args else None)
        not_text = _not_utf8(sys.argv[1:] if argv is None else argv)
        if not_text:
            say(f"Error: {not_text} is not valid UTF-8 text: refused", err=True)
            sys.exit(2)
        try:
            code = super().main(*args, **kwargs)
        except click.exceptions.Abort as exc:
            if isinstance(exc.__cause__, KeyboardInterrupt):  # Ctrl-C: what was committed stays
                say(f"Error: interrupted{_noted(exc.__cause__)}", err=True)
                sys.exit(128 + signal.SIGINT)
            say("Error: aborted (no answer)", err=True)  # end of input at a prompt
            sys.exit(2)
        except Terminated as exc:
            say(f"Error: terminated (SIGTERM){_noted(exc)}", err=True)
            sys.exit(128 + signal.SIGTERM)
        except _NO_ARGS as exc:  # `ledger`, `ledger key`: the help, as --help prints it
            for line in exc.format_message().splitlines():
                say(line, err=True)
            sys.exit(2)
        except click.ClickException as exc:
            hint = _global_hint(exc) or _noted(exc)
            say(f"Error: {exc.format_message().rstrip('.') + hint if hint else exc.format_message()}",
                err=True)
            sys.exit(2)
        except (CorruptEvent, VerificationError, SignatureError) as exc:
            say(f"Error: {exc}", err=True)
            sys.exit(1)
        except LedgerError as exc:
            say(f"Error: {exc}{_noted(exc)}", err=True)
            sys.exit(2)
        except sqlite3.Error as exc:
            corrupt = isinstance(exc, sqlite3.DatabaseError) and is_corrupt(exc)
            say(f"Error: {'the ledger file is damaged: ' if corrupt else ''}SQLite: {exc}",
                err=True)
            sys.exit(1 if corrupt else 2)
        except BrokenPipeError:  # the reader went away (`ledger log | head`): not an error
            _stdout_to_nowhere()
            sys.exit(0)
        except OSError as exc:  # last resort: a file the command had to read or write
            say(f"Error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), err=True)
            sys.exit(2)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=LedgerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="provenance-ledger")
@click.option("--db", envvar="LEDGER_DB", default="ledger.db", show_default=True,
              type=FileName("the ledger file"), help="Ledger file (env LEDGER_DB).")
@click.option("--actor", envvar="LEDGER_ACTOR", default=None,
              help="Who is appending (env LEDGER_ACTOR; default: the OS user name).")
@click.option("--key", "key_file", envvar="LEDGER_KEY", default=None, metavar="FILE",
              help="Private key that signs what you append (env LEDGER_KEY); required by a "
                   "ledger created with --require-signatures, whose actor is the key's name. A "
                   "checkpoint is signed by the --key of `checkpoint`, `site` or `tiles`.")
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
    ctx.obj = LedgerContext(db, actor or default_actor(), key_file, db_from_env=(
        ctx.get_parameter_source("db") == click.core.ParameterSource.ENVIRONMENT))
    name = ctx.invoked_subcommand
    # `ledger --key FILE site public/`, typed (not LEDGER_KEY from a profile, which would make
    # this noise on every read): that key signs nothing there, which LedgerGroup.invoke says
    if (key_file is not None and name is not None and name not in APPENDING
            and ctx.get_parameter_source("key_file") == click.core.ParameterSource.COMMANDLINE):
        command = ctx.command.get_command(ctx, name) if isinstance(ctx.command, click.Group) \
            else None
        if command is not None and not isinstance(command, click.Group):  # key add: appends
            ctx.meta[_UNUSED_KEY] = _what_signs(name, {o for p in command.params for o in p.opts})


# What click (8.2 on) raises for a group given no command: its message is the group's help. An
# older click prints the help itself and exits 0.
_NO_ARGS: type[click.UsageError] = getattr(click.exceptions, "NoArgsIsHelpError",
                                           type("_Never", (click.UsageError,), {}))


def _complete_record_ids_whole_in_bash() -> None:
    """Register bash's completion with a record id taken whole: bash splits `SRCH:03BE` at the
    colon (a word break in COMP_WORDBREAKS), so click saw the three words `SRCH`, `:` and
    `03BE`, and completed nothing. The words are joined again, and each completion is given
    from after the colon, the part bash replaces. (Only when a shell asks for completions.)"""
    from click.shell_completion import BashComplete, CompletionItem, add_completion_class

    class WholeIds(BashComplete):
        cut = ""

        def get_completion_args(self) -> tuple[list[str], str]:
            args, incomplete = super().get_completion_args()
            words: list[str] = []
            glue = False
            for word in [*args, incomplete]:
                if word == ":" and words:
                    words[-1], glue = words[-1] + ":", True
                elif glue:
                    words[-1], glue = words[-1] + word, False
                else:
                    words.append(word)
            if words[-1] != incomplete:  # joined: bash replaces what follows its last colon
                self.cut = words[-1][:words[-1].rindex(":") + 1]
            return words[:-1], words[-1]

        def format_completion(self, item: CompletionItem[Any]) -> str:
            value = str(item.value)
            if self.cut and value.upper().startswith(self.cut.upper()):  # ids take any case
                value = value[len(self.cut):]
            return f"{item.type},{value}"

    add_completion_class(WholeIds, "bash")


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def _noted(exc: BaseException) -> str:
    """Return what a command added to an interruption (``add_note``), as the end of a line."""
    notes = getattr(exc, "__notes__", None)
    return f": {'; '.join(notes)}" if notes else ""


def _stdout_to_nowhere() -> None:
    """Point stdout at /dev/null, so the flush at exit cannot fail again on the closed pipe."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _escape_what_the_locale_cannot_hold() -> None:
    """Let stdout and stderr write a character their encoding cannot hold as a visible escape
    (``\u2014``): on a terminal set to ISO-8859-1, a title in Japanese, or the dash and
    ellipsis the commands print themselves, stopped `show`, `status` and `diff` with a
    traceback (click makes an ASCII stream UTF-8, not another encoding)."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            with contextlib.suppress(ValueError):
                stream.reconfigure(errors="backslashreplace")


def main() -> None:
    """Console-script entry point."""
    if os.environ.get("_LEDGER_COMPLETE", "").startswith("bash"):
        _complete_record_ids_whole_in_bash()
    signal.signal(signal.SIGTERM, _terminate)
    _escape_what_the_locale_cannot_hold()
    app.main(prog_name="ledger")
