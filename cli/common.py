"""Shared pieces of the CLI: the context object, input reading, output, progress."""

from __future__ import annotations

import codecs
import contextlib
import io
import os
import shlex
import sqlite3
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO, TypeVar, cast

import click
import orjson

from ledger.api import AppendResult, Ledger, Rehearsal
from ledger.core.canonical import JsonInputError, parse_json
from ledger.core.escapes import printable
from ledger.errors import LedgerError, NotALedger, RefusedInput
from ledger.model.rules import nearest, words_key
from ledger.ops.files import file_name_problem, output_file, read_bounded, without_bom
from ledger.pages.text import event_summary, fitted

if TYPE_CHECKING:
    from ledger.core.checkpoint import Checkpoint
    from ledger.core.note import Signer
    from ledger.core.policy import Policy

T = TypeVar("T")


@dataclass
class LedgerContext:
    db: str
    actor: str
    key_file: str | None = None
    dry_run: bool = False
    db_from_env: bool = False  # the ledger file is the one LEDGER_DB names

    def open(self, *, signing: bool) -> Ledger:
        """Open the ledger; for a command that appends (``signing``), with the signing key of
        --key / LEDGER_KEY when one is given. A command that appends nothing never reads the key
        (nor asks for its passphrase): LEDGER_KEY set in an editor's profile to a key on a
        drive not mounted, or to an encrypted key, stopped `show` and `verify`, or made them ask."""
        signer = None
        if self.key_file is not None and signing:  # checked only here: `show` never reads it
            problem = file_name_problem(self.key_file, "the key file")
            if problem is not None:
                raise RefusedInput(f"--key: {problem}")
            from ledger.ops.keys import read_signer  # loads cryptography: only when signing

            signer = read_signer(Path(self.key_file), passphrase)
        try:
            return Ledger.open(Path(self.db), signer=signer)
        except NotALedger as exc:
            if self.db_from_env:  # a variable set long ago, in another shell's profile
                raise NotALedger(f"{exc}; it is the file LEDGER_DB names (give --db, or unset "
                                 "LEDGER_DB)") from None
            raise

    def inputs(self) -> list[tuple[str, str | None]]:
        """The files every command of this context reads: the ledger's and the signing key."""
        return [*ledger_files("the ledger file", self.db), ("the signing key", self.key_file)]


pass_ctx = click.make_pass_decorator(LedgerContext)


def complete_record_id(ctx: click.Context, param: click.Parameter,
                       incomplete: str) -> list[Any]:
    """Complete a record id from the ledger's records (`ledger show SRCH:03<TAB>`): the ledger
    of --db or LEDGER_DB, opened for reading; nothing when it cannot be read."""
    from click.shell_completion import CompletionItem

    db = ctx.find_root().params.get("db") or "ledger.db"
    try:
        with Ledger.open(Path(db)) as ledger:
            found = ledger.record_ids_starting(incomplete.strip().upper())
    except (LedgerError, OSError, ValueError, sqlite3.Error):  # a completion never says more
        return []
    return [CompletionItem(rid) for rid in found]


class FileName(click.Path):
    """A file the command writes, or the ledger file: click's ``Path(dir_okay=False)``, which
    checks only a name that exists, refusing too a name that is empty or names a folder (`-o
    out/` and `--db new/ init` wrote a file called out, or new: ``Path`` drops the slash)."""

    def __init__(self, what: str = "the output file") -> None:
        super().__init__(dir_okay=False)
        self.what = what

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        problem = file_name_problem(os.fsdecode(value), self.what)
        if problem is not None:
            self.fail(problem, param, ctx)
        return super().convert(value, param, ctx)


class WordsChoice(click.Choice):  # type: ignore[type-arg]
    """A choice among values of several words (``Flagship candidate``), given in any case with a
    space, ``_`` or ``-`` between the words and converted to the value itself. It is listed and
    completed with ``_`` between them, so that a shell's completion inserts one word."""

    def __init__(self, values: Sequence[str]) -> None:
        self.values = {self.key(value): value for value in values}
        super().__init__(list(self.values), case_sensitive=False)

    key = staticmethod(words_key)

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        if isinstance(value, str) and self.key(value) in self.values:
            return self.values[self.key(value)]
        try:
            return super().convert(value, param, ctx)  # refused, naming the choices
        except click.BadParameter as exc:
            close = nearest(str(value), self.values)
            if close is None:
                raise
            self.fail(f"{exc.message.rstrip('.')} (did you mean {close}?)", param, ctx)


def passphrase(confirm: bool = False) -> str | None:
    """Return the key passphrase from LEDGER_KEY_PASSPHRASE, or ask on a terminal."""
    if "LEDGER_KEY_PASSPHRASE" in os.environ:
        return os.environ["LEDGER_KEY_PASSPHRASE"]
    if not sys.stdin.isatty():
        return None
    return str(click.prompt("Key passphrase", hide_input=True, confirmation_prompt=confirm,
                            err=True))


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--json`` (one JSON document on stdout)."""
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")(func)


class Terminated(BaseException):
    """SIGTERM arrived: raised where the command is, so its cleanup runs (an unfinished output
    file is removed, an open transaction rolled back) before the process ends."""


def from_terminal(source: str, what: str = "the JSON document") -> None:
    """Say how to end the input when ``source`` is standard input and that is a terminal: a
    command waiting there in silence looks hung."""
    if source == "-" and sys.stdin.isatty():
        say(f"Reading {what} from the terminal: end it with Ctrl-D on a line of its own (Ctrl-C "
            "stops)", err=True)


def read_json(source: str) -> Any:
    """Return the parsed JSON document in file ``source`` (``-`` for stdin)."""
    from_terminal(source)
    data = without_bom(read_bounded(source), "stdin" if source == "-" else source)
    try:
        return parse_json(data)
    except JsonInputError as exc:
        if _is_record_page(data):
            raise RefusedInput(f"{source}: a record page, not JSON: `ledger import "
                               f"{'FILE' if source == '-' else shlex.quote(source)}` reads it") from None
        raise RefusedInput(f"{source}: {exc}") from None


def _is_record_page(data: bytes) -> bool:
    """Return whether ``data`` is a publisher's record page (either layout)."""
    from ledger.pages.layout import PageError, parse_page

    try:
        parse_page(data.decode("utf-8"))
    except (UnicodeDecodeError, PageError):
        return False
    return True


def read_text_input(source: str) -> str:
    """Return the text of file ``source`` (``-`` for stdin, read as UTF-8 whatever the locale),
    or refuse clearly."""
    if source != "-":
        from ledger.ops.keys import read_text

        return read_text(source)
    from_terminal(source, "the text")
    try:
        return without_bom(read_bounded("-"), "stdin").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RefusedInput(f"stdin is not UTF-8 text (byte {exc.start})") from None


def read_checkpoint_note(path: str) -> str:
    """Return the signed checkpoint note file ``path`` holds (``checkpoint_note_of``); refuse an
    SQLite file, naming what reads it if it is a ledger's or a witness's."""
    from ledger.storage import store, witnessdb

    application = None if path == "-" else store.application_id(path)
    if application is not None:
        if application == store.APPLICATION_ID:
            hint = ("a ledger file: `--extends` checks the log against an earlier copy of it "
                    "(`verify` and `audit`)")
        elif application == witnessdb.APPLICATION_ID:
            hint = ("a witness's state file, whose checkpoints `verify` and `audit` take as "
                    f"--checkpoint; `ledger witness status --db {path} --json` gives the one it "
                    "cosigned of each log (`logs[].note`)")
        else:
            hint = "an SQLite file"
        raise RefusedInput(f"{path} is not a signed checkpoint note: it is {hint}")
    return checkpoint_note_of(read_text_input(path), path)


def checkpoint_note_of(text: str, path: str) -> str:
    """Return the text of a signed checkpoint note, or of the signed checkpoint a file `ledger`
    wrote holds (what an auditor or a reader kept): a tlog-proof (`prove --format tlog-proof`),
    a bundle or a site's bundle script, or the state file of `monitor --state` (its last
    checkpoint); ``path`` names the file. Refuse (exit 2) a file that is none of them — not a
    signed note, or a note whose text is not a checkpoint: the wrong file given is no sign of
    tampering. Its signature is checked after; one that fails is (exit 1)."""
    from ledger.core.checkpoint import parse_checkpoint
    from ledger.core.note import signature_lines
    from ledger.core.tlogproof import HEADER, parse_tlog_proof
    from ledger.errors import SignatureError
    from ledger.pages.site import SCRIPT_HEAD, script_json

    note = text
    if note.startswith(HEADER + "\n"):
        try:
            note = parse_tlog_proof(note).note
        except SignatureError as exc:
            raise RefusedInput(f"{path} is a tlog-proof that cannot be read ({exc})") from None
    elif note.lstrip().startswith("{") or note.startswith(SCRIPT_HEAD):  # JSON, or a site's
        note = _held_checkpoint(script_json(note) or note, path)  # bundle script: its JSON
    try:
        parse_checkpoint(signature_lines(note)[0])
    except SignatureError as exc:
        why = ("; it has CR LF line ends, and a note's lines end with LF alone: the signature "
               "covers them" if "\r\n" in note else "")
        raise RefusedInput(f"{path} is not a signed checkpoint note ({exc}{why})") from None
    return note


def _held_checkpoint(text: str, path: str) -> str:
    """Return the signed checkpoint a JSON file holds: a bundle's, or the last one a monitor's
    state file names."""
    from ledger.ops.bundle import BUNDLE_FORMAT
    from ledger.ops.monitor import MonitorState

    with contextlib.suppress(ValueError):  # not JSON: MonitorState.parse says so
        doc = orjson.loads(text)
        if isinstance(doc, dict) and doc.get("format") == BUNDLE_FORMAT:
            if not isinstance(doc.get("checkpoint"), str):
                raise RefusedInput(f"{path} is a bundle without a checkpoint note")
            return str(doc["checkpoint"])
    return MonitorState.parse(text, path, "{name} is neither a signed checkpoint note nor a "
                              "bundle or a state file `ledger monitor --state` wrote").note


def read_tlog_proof(path: str) -> str:
    """Return the text of a tlog-proof file; refuse (exit 2) a file that does not start as one.
    Anything wrong past its first line is for the verification to find (exit 1)."""
    from ledger.core.tlogproof import HEADER

    text = read_text_input(path)
    if not text.startswith(HEADER + "\n"):
        raise RefusedInput(f"{path} is not a tlog-proof: its first line is not {HEADER}")
    return text


class _TerminalLines(io.RawIOBase):
    """A byte stream to a terminal that prints each line as ``say`` prints one: a C1 control
    (which JSON leaves as it is) or an escape in a CSV field shows as text, not as an action.
    Bytes are decoded as they come (a character cut between two writes is joined again)."""

    def __init__(self, out: IO[bytes]) -> None:
        super().__init__()
        self.out, self.pending = out, ""
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        lines = (self.pending + self.decoder.decode(bytes(data))).split("\n")
        self.pending = lines.pop()  # at most one line, not yet ended
        for line in lines:  # a CR LF line end (CSV's) ends the line: it is no character of it
            self.out.write(printable(line.removesuffix("\r")).encode() + b"\n")
        return len(data)

    def flush(self) -> None:
        if self.pending:
            self.out.write(printable(self.pending).encode())
            self.pending = ""
        self.out.flush()


def stdout_bytes() -> BinaryIO:
    """Return where a command streams a document on stdout: the bytes as they are to a pipe or
    a file, each line escaped for a terminal (as ``write_output`` prints one); flush it at the
    end."""
    out = sys.stdout.buffer
    return cast(BinaryIO, _TerminalLines(out)) if sys.stdout.isatty() else out


def emit_json(value: Any) -> None:
    """Print one JSON document (sorted keys, indented) on stdout."""
    out = stdout_bytes()
    out.write(orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2))
    out.write(b"\n")
    out.flush()


def emit_json_items(items: Iterable[Any]) -> None:
    """Print a JSON list on stdout an item at a time, each on a line of its own (sorted keys), so
    that memory holds one item however many there are. "[" goes out with the first item: a
    source that raises before its first leaves stdout empty."""
    out, opened = stdout_bytes(), False
    for item in items:
        out.write((b",\n" if opened else b"[\n") + orjson.dumps(item, option=orjson.OPT_SORT_KEYS))
        opened = True
    out.write(b"\n]\n" if opened else b"[\n]\n")
    out.flush()


def dry_run_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--dry-run``: do everything but write (it sets the context's ``dry_run``)."""

    def remember(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        obj = ctx.find_object(LedgerContext)
        if value and obj is not None:
            obj.dry_run = True

    return click.option("--dry-run", is_flag=True, expose_value=False, callback=remember,
                        help="Show what it would append and the resulting state; write nothing.")(func)


def rehearsed(obj: LedgerContext, ledger: Ledger, body: Callable[[Ledger], T]) -> tuple[T, Rehearsal | None]:
    """Run ``body(ledger)``; with ``--dry-run``, in a rehearsal whose writes are all rolled back."""
    if not obj.dry_run:
        return body(ledger), None
    return ledger.rehearse(body)


def report_rehearsal(found: Rehearsal, as_json: bool, doc: dict[str, Any] | None = None) -> None:
    """Print what a bulk --dry-run would have appended and the records it would change."""
    records = [{"record_id": r, "status": s, "version": v, "correction_count": c}
               for r, s, v, c in found.records]
    if as_json:
        emit_json({**(doc or {}), "dry_run": True, "would_append": found.events,
                   "head_seq": found.head_before, "records": records})
        return
    span = ("" if not found.events else f" (seq {found.head_after})" if found.events == 1
            else f" (seq {found.head_before + 1}–{found.head_after})")
    say(f"Dry run: would append {found.events} event(s){span}, changing "
        f"{len(records)} record(s). Nothing was written.")
    for r in records[:20]:
        say(f"  {r['record_id']}: would be {r['status']}, version {r['version']}, "
            f"{r['correction_count']} notice(s)")
    if len(records) > 20:
        say(f"  … and {len(records) - 20} more (--json lists every one)")


def change_lines(changes: list[dict[str, Any]]) -> list[str]:
    """Return a line per change to a manifest (``editor.manifest_changes``), as `ledger diff`
    prints them: ``+`` added, ``-`` removed, ``~`` changed, each value cut around the change,
    and the corrections that made it (``diff``'s "by"), if known."""
    lines = []
    for change in changes:
        by = f" (by {printable(', '.join(change['by']))})" if change.get("by") else ""
        if "old" not in change:
            lines.append(f"  + {printable(change['path'])}: {_short(change['new'])}{by}")
        elif "new" not in change:
            lines.append(f"  - {printable(change['path'])}: {_short(change['old'])}{by}")
        else:
            before, after = _around_the_change(_text(change["old"]), _text(change["new"]))
            lines.append(f"  ~ {printable(change['path'])}: {before} → {after}{by}")
    return lines


def _text(value: object) -> str:
    """A value of a diff line: JSON, or what withheld it (as `show` says it)."""
    from ledger.core.events import is_withheld
    from ledger.pages.render import shown_value

    return printable(shown_value(value) if is_withheld(value) else orjson.dumps(value).decode())


def _short(value: object, width: int = 80) -> str:
    """A value of a diff line, cut to ``width``."""
    text = _text(value)
    return text if len(text) <= width else text[:width - 3] + "…"


def _around_the_change(old: str, new: str, width: int = 80, context: int = 20) -> tuple[str, str]:
    """The two sides of a changed value, each cut to ``width`` around where they differ: a title
    changed at its end showed the same first 77 characters on both sides, and not the change."""
    if len(old) <= width and len(new) <= width:
        return old, new
    same = 0
    while same < min(len(old), len(new)) and old[same] == new[same]:
        same += 1
    tail = 0
    while tail < min(len(old), len(new)) - same and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    start = max(0, same - context)

    def cut(text: str) -> str:
        stop = min(len(text), len(text) - tail + context, start + width - 2)
        return ("…" if start else "") + text[start:stop] + ("…" if stop < len(text) else "")

    return cut(old), cut(new)


def report_append(result: AppendResult, as_json: bool) -> None:
    """Print what an append did (an event, or an idempotent no-op), or would do (--dry-run)."""
    event = result.event
    if as_json:
        doc = {"appended": event is not None and not result.dry_run, "record_id": result.record_id,
               "message": result.message, "warnings": result.warnings,
               "event": None if event is None else event.envelope()}
        if result.changes:
            doc["changes"] = result.changes
        if result.dry_run:
            doc.update(dry_run=True, state=result.state)
        emit_json(doc)
    elif result.dry_run and event is not None:
        state: dict[str, Any] = dict(result.state or {})
        say(f"Dry run: would append seq {event.seq} {event.type} {event.record_id}; the "
            f"record would be {state.get('status')}, version {state.get('version')}, "
            f"{state.get('correction_count')} notice(s). Nothing was written.")
    elif event is None:
        say(f"No change: {result.message.removeprefix('no change: ')}")
    else:  # a notice's kind and id (what a later --lifts names), a gate's verdict
        what = event_summary(event) if event.type in (
            "notice.issued", "gate.evaluated", "key.added", "key.revoked") else ""
        tell(f"Appended seq {event.seq} {event.type} {event.record_id}"
             f"{': ' + what if what else ''} (hash {event.hash[:16]}…)")
    if not as_json:  # what a correction changes in the manifest, as `ledger diff` shows it
        tell(*change_lines(result.changes))
    tell(*(f"Warning: {warning}" for warning in result.warnings), err=True)


def say(line: str, err: bool = False) -> None:
    """Print one line, each control character in it written as a visible escape (see
    ``printable``): what a line holds — a title, a reason, an actor, a value edited into the
    file, a witness's answer — cannot act on the terminal or break the line in two. On a
    terminal narrower than it, broken at spaces as ``tell`` breaks it; an ``Error:`` line is
    left whole, one line to copy as it is."""
    if line.startswith("Error: "):
        click.echo(printable(line), err=err)
    else:
        tell(line, err=err)


def tell(*lines: str, err: bool = False) -> None:
    """Print lines of a report on stdout (or stderr), each as ``say`` prints one; on a terminal
    narrower than a line, broken at spaces (every word kept, none cut in two, as the terminal
    would), its later lines under its value where it has a column of labels (``chain:   ``,
    ``  status              ``, ``SRCH:03BE3A05  ``: a label, then two spaces or more) that
    leaves room for them, else indented under its start. Piped, one line each, as a script
    reads them."""
    columns = terminal_columns(err)
    for line in map(printable, lines):  # each one line, whatever it holds
        for part in [line] if columns is None else fitted(line, columns):
            click.echo(part, err=err)


def write_output(text: str, output: str | None, what: str) -> None:
    """Print ``text``, or write it to the file ``output`` and say on stderr that ``what`` (``the
    checkpoint of size 14``) was written there, as ``export`` and ``keygen`` do. On a terminal
    each line is printed as ``say`` prints one (the document itself, to a pipe or a file, is
    left as it is)."""
    if output is None:
        if sys.stdout.isatty():  # each line escaped, as every document streamed to a terminal
            out = stdout_bytes()
            out.write(text.encode("utf-8"))
            out.flush()
        else:
            click.echo(text, nl=False)
        return
    with output_file(output) as handle:  # UTF-8 whatever the locale: the documents say so
        handle.write(text.encode("utf-8"))
    say(f"Wrote {what} to {output}", err=True)


def sign_now(ledger: Ledger, signer: Signer, policy: Policy | None, since_signed: bool = False,
             accept: Callable[[Checkpoint], object] | None = None) -> tuple[str, bool]:
    """Sign and store a checkpoint of the whole log, as ``ledger checkpoint`` does, with a
    progress bar of the verification: with ``policy``, only once its witnesses' quorum has
    cosigned it, each witness's answer said on stderr once the bar is closed (said while it
    was open, the first ran on after its 100%); ``accept`` may refuse it first. Return (the
    note, whether it is new)."""
    with progress("Verifying", ledger.count()) as bar:
        if policy is None:
            return ledger.checkpoint(signer, bar, since_signed=since_signed, accept=accept)
        done = ledger.witnessed_checkpoint(signer, policy, bar, accept=accept)
    for line in done.said:
        say(line, err=True)
    return done.note, done.stored


def say_signed(stored: bool, size: int, signer: Signer, reused: str) -> None:
    """Say on stderr what a command given --key (``site``, ``tiles``) signed: a checkpoint
    stored now, or the one this key signed before, which it ``reused`` (embedding it, say)."""
    say(f"{'Signed and stored' if stored else reused} the checkpoint of size {size} by "
        f"{signer.name}" + ("" if stored else " (signed before: nothing new stored)"), err=True)


def warn_exposed(out_dir: str, db: str) -> None:
    """Say what in the output folder a static host would serve and should not (``keys.exposed``):
    the site or tiles are written, but the folder is best not published as it is."""
    from ledger.ops.keys import exposed

    found = exposed(Path(out_dir), Path(db))
    if found:
        tell(f"Warning: {out_dir} also holds {', '.join(found)}: a static host serves "
             "everything in the folder, not only what this command wrote; move it out before "
             "publishing", err=True)


_SIDECARS = (("", ""), ("-wal", "'s write-ahead log"), ("-shm", "'s shared-memory index"),
             ("-journal", "'s rollback journal"))


def ledger_files(what: str, path: str | None) -> list[tuple[str, str | None]]:
    """Return (what, path) for a ledger file and the files SQLite keeps beside it."""
    return [] if path is None else [(what + said, path + suffix) for suffix, said in _SIDECARS]


def refuse_writing_over(option: str, output: str | None,
                        inputs: list[tuple[str, str | None]]) -> None:
    """Refuse, before anything is written, an output file that is one of the command's inputs
    (``(what, path)``; a None path is skipped): ``export -o ledger.db`` would replace the ledger
    itself, ``checkpoint -o publisher.key`` the private key. The same file is found through a
    symbolic or hard link too."""
    if output is None:
        return
    for what, path in inputs:
        if path is not None and _same_file(output, path):
            raise RefusedInput(f"{option} {output} is {what} ({path}): refusing to write over it")


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):  # one of them does not exist (yet): compare where they lead
        return os.path.realpath(a) == os.path.realpath(b)


@contextlib.contextmanager
def progress(label: str, total: int) -> Iterator[Callable[[int], None] | None]:
    """Yield a progress callback drawing a bar on a terminal's stderr, or None when piped."""
    with progress_phases((label, total)) as (bar,):
        yield bar


@contextlib.contextmanager
def progress_phases(*phases: tuple[str, int],
                    at_once: bool = True) -> Iterator[list[Callable[[int], None] | None]]:
    """Yield a progress callback for each phase of a command (its label and true total), drawn
    one after the other on a terminal's stderr: the first bar at once (unless ``at_once`` is
    false: a phase that may not run), each later one from its first step on, closing the one
    before. None for a phase when piped, or of under 1,000."""
    if not sys.stderr.isatty():
        yield [None] * len(phases)
        return
    shown: list[Any] = [None, None]  # the open bar's phase and its exit stack

    def show(phase: int) -> Any:
        if shown[0] != phase:
            if shown[1] is not None:
                shown[1].close()
            stack = contextlib.ExitStack()
            label, total = phases[phase]
            shown[:] = [phase, stack, stack.enter_context(click.progressbar(
                length=total, label=label, file=sys.stderr, width=bar_width(label)))]
        return shown[2]

    def callback(phase: int) -> Callable[[int], None]:
        return lambda done: show(phase).update(done)

    try:
        if at_once and phases and phases[0][1] >= 1000:
            show(0)
        yield [callback(i) if total >= 1000 else None for i, (_, total) in enumerate(phases)]
    finally:
        if shown[1] is not None:
            shown[1].close()


# A bar's line besides its label and bar: "  [", "]  " and the most its figures take
# ("100%  1d 00:00:00"), and the last column, which some terminals wrap at.
BAR_FIGURES = len("  [") + len("]  ") + len("100%  1d 00:00:00") + 1
BAR_WIDTH = 36  # click's own, where the terminal has room for it


def bar_width(label: str) -> int:
    """Return how wide a progress bar with this label may be for its whole line to fit stderr's
    terminal: a line that wraps is not drawn over at the next step but below it, so a narrow
    terminal (a split pane, a phone) filled with one bar after another."""
    columns = terminal_columns(err=True) or 80
    return max(1, min(BAR_WIDTH, columns - len(label) - BAR_FIGURES))  # 0 would be autowidth


def format_of(output: str | None, by_suffix: dict[str, str], default: str) -> str:
    """Return the format an -o FILE's name says (``by_suffix``: its suffix, in lower case, to
    the format), or ``default``: `-o snapshot.csv` without --format wrote JSON into it."""
    suffix = Path(output).suffix.lower() if output else ""
    return by_suffix.get(suffix, default)


LARGEST = 2**53 - 1  # the largest integer the ledger stores or writes as JSON


@dataclass(frozen=True)
class Moment:
    """The date or time a SEQ|DATE option gave: ``text`` as given; ``first`` and ``last`` the
    earliest and latest ``recorded_at`` it covers (a date, its whole UTC day; a time, itself),
    written as ``recorded_at`` is, so that the texts compare as the times do."""

    text: str
    first: str
    last: str


def seq_or_moment(option: str, value: str) -> int | Moment:
    """Return a SEQ|DATE option's seq, or its date (YYYY-MM-DD) or RFC 3339 time as a Moment;
    refuse anything else."""
    import datetime as dt
    import re

    from ledger.core.clock import rfc3339
    from ledger.model.contracts import _date, _timestamp

    value = value.strip()
    if re.fullmatch(r"[0-9]{1,16}", value):
        return int(value)
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        try:
            day = _date(value)
        except ValueError as exc:
            raise RefusedInput(f"{option} {value}: {exc}") from None
        return Moment(value, day, f"{day}T23:59:59.999999Z")
    try:  # recorded_at is UTC: compare with the same instant written the same way
        moment = rfc3339(dt.datetime.fromisoformat(_timestamp(value)).astimezone(dt.UTC))
    except ValueError:
        raise RefusedInput(f"{option} {value!r} is neither a seq nor a date (YYYY-MM-DD) nor an "
                           "RFC 3339 time") from None
    return Moment(value, moment, moment)


def as_of_seq(ledger: Ledger, value: str | None) -> tuple[int | None, str | None]:
    """Return the seq an ``--as-of SEQ|DATE`` names (None without one) and how to say which
    event that is: when it was recorded (``recorded 2026-06-01T09:30:00.000000Z``), or for a
    date or a time, ``the last event recorded by 2026-06-01`` (and how many events before it were
    recorded after that, if a clock went back)."""
    if value is None:
        return None, None
    found = seq_or_moment("--as-of", value)
    if isinstance(found, int):  # named by when it was recorded (a seq past the head: refused later)
        event = next(ledger.events(found - 1, found), None) if found > 0 else None
        return found, None if event is None else f"recorded {event.recorded_at}"
    seq = ledger.seq_recorded_by(found.last)
    if not seq:
        return seq, f"no event was recorded by {found.text}"
    later = ledger.recorded_after(seq, found.last)  # a clock went back: say so, or it misleads
    return seq, f"the last event recorded by {found.text}" + (
        f"; {later} event(s) before it were recorded after {found.text}, a clock having gone "
        "back (`ledger audit` names it)" if later else "")


def whole(minimum: int) -> click.IntRange:
    """Return the type of an integer option or argument: at least ``minimum``, at most 2⁵³ − 1
    (a larger number would not fit SQLite's or JSON's integers: refused with one Error line)."""
    return click.IntRange(min=minimum, max=LARGEST)


def http_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Click callback: refuse a value that is not an http(s) URL with a host (the contracts'
    test of a URL), so that no link is written with another scheme (``javascript:``)."""
    from ledger.model.contracts import URL_RE

    if value is not None and not URL_RE.match(value):
        raise click.BadParameter(f"{value!r} is not an http(s) URL (https://host/…)")
    return value


def terminal_columns(err: bool = False) -> int | None:
    """Return how many columns stdout's terminal has, or stderr's (None when it is not a
    terminal: a script reading the lines gets them whole, as they always were): $COLUMNS if
    set, else the terminal's own width, else 80."""
    stream = sys.stderr if err else sys.stdout
    if not stream.isatty():
        return None
    import shutil

    columns = shutil.get_terminal_size().columns  # $COLUMNS, else stdout's terminal, else 80
    if err and "COLUMNS" not in os.environ:  # stderr's own terminal (stdout may be piped)
        with contextlib.suppress(OSError, ValueError):
            columns = os.get_terminal_size(stream.fileno()).columns or columns
    return columns


STATUS_COLOURS = {"CURRENT": "green", "CORRECTED": "cyan", "UNDER_CONCERN": "yellow",
                  "WITHDRAWN": "magenta", "RETRACTED": "red", "REMOVED": "red"}


def paint_status(status: str, width: int = 0) -> str:
    """Return a status word padded to ``width``, coloured on a terminal (the word itself says
    the status; the colour only helps). No colour with NO_COLOR set or when piped (click.echo
    strips it)."""
    text = status.ljust(width)
    if os.environ.get("NO_COLOR") or status not in STATUS_COLOURS:
        return text
    return click.style(text, fg=STATUS_COLOURS[status], bold=status in ("RETRACTED", "REMOVED"))
