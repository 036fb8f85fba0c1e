"""What the CLI prints for a terminal: a stored string cannot act on it.

A title, a reason, an actor or a notice id may hold escape sequences (clear the screen, move the
cursor up and rewrite a line, conceal text), carriage returns, line feeds and bidirectional
overrides; so may any value someone edited into the file, or a witness's answer. `show` once
printed a retraction's reason as it was: `\\x1b[1A\\x1b[2K\\rCURRENT` rewrote the status line on
the screen to CURRENT, and a `verify` failure could print a line reading `OK: …`. Every line is
now printed with each such character as a visible escape (`ledger.pages.text.printable`).
"""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.core.canonical import canonical_bytes
from ledger.core.escapes import printable
from tests.conftest import Cli, manifest, provenance

RID = "SRCH:0000000A"
NASTY = "\x1b[1A\x1b[2K\rCURRENT\x1b]0;title\x07\x9b2J\u202eRTL\u2066\u2028x\ny\tz\x00\x7f"
BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def acts_on_a_terminal(char: str) -> bool:
    return (unicodedata.category(char) in ("Cc", "Zl", "Zp") and char != "\n") or char in BIDI


def shown_plainly(text: str) -> bool:
    return not any(acts_on_a_terminal(c) for c in text)


@given(st.text())
def test_printable_leaves_nothing_that_acts_on_a_terminal(text: str) -> None:
    shown = printable(text)
    assert shown_plainly(shown) and "\n" not in shown
    if text.isprintable():
        assert shown == text
    assert len(shown) >= len(text)


def test_stored_strings_are_printed_as_text(cli: Cli, tmp_path: Path) -> None:
    doc = manifest(RID, title="T " + NASTY, research_question=NASTY, abstract=NASTY)
    refused = cli("--actor", "ed" + NASTY, "publish", cli.file(doc))  # an actor is printable
    assert refused.exit_code == 2 and "which is not printable" in refused.stderr
    assert shown_plainly(refused.stderr)
    assert cli("--actor", "ed", "publish", cli.file(doc)).exit_code == 0
    assert cli("correct", RID, "--kind", "retraction", "--reason", NASTY, "--notice-id",
               "N\x1b[1A\x9b2J\u202eX1", "--issued-by", NASTY).exit_code == 0
    assert cli("gate", RID, "--gate", "2", "--status", "FAILED", "--reason", NASTY,
               "--evaluator", NASTY).exit_code == 0
    key = tmp_path / "k.key"
    assert cli("keygen", "pub.example", "-o", str(key)).exit_code == 0
    assert cli("checkpoint", "--key", str(key)).exit_code == 0
    commands = [["show", RID], ["history", RID], ["log"], ["list"], ["search", "CURRENT"],
                ["status"], ["verify"], ["audit"], ["diff", RID], ["show", "SRCH:" + NASTY],
                ["correct", RID, "--kind", "nonsense" + NASTY, "--reason", "x"]]
    for args in commands:
        result = cli(*args)
        assert result.exit_code in (0, 2), (args, result.output)
        assert shown_plainly(result.stdout) and shown_plainly(result.stderr), (args, result.output)
    shown = cli("show", RID).stdout
    assert "RETRACTED" in shown and "\\x1b[1A\\x1b[2K\\rCURRENT" in shown
    assert all(line.startswith((RID, "  ")) for line in shown.splitlines())  # a line a field

    # Values edited into the file by someone without the key reach verify, audit and status.
    with sqlite3.connect(cli.db) as conn:
        conn.execute("UPDATE records SET title = ? || title", (NASTY,))
        conn.execute("CREATE TEMP TABLE copy AS SELECT * FROM records")
        conn.execute("UPDATE copy SET record_id = ?", ("SRCH:" + NASTY,))
        conn.execute("INSERT INTO records SELECT * FROM copy")
        conn.execute("DROP TRIGGER checkpoints_append_only_update")
        conn.execute("UPDATE checkpoints SET origin = ?", ("pub.example" + NASTY,))
        conn.execute("DROP TRIGGER events_append_only_update")
        conn.execute("UPDATE events SET actor = ? WHERE seq = 2", (NASTY,))
    for args in (["audit"], ["status"], ["verify"], ["list"], ["log"]):
        result = cli(*args)
        assert result.exit_code in (0, 1), (args, result.output)
        assert shown_plainly(result.stdout) and shown_plainly(result.stderr), (args, result.output)


def test_a_document_printed_on_a_terminal_is_shown_as_text(cli: Cli, tmp_path: Path) -> None:
    """`render` (and any document a command prints) is left as it is in a pipe or a file, for
    `import` to read again; on a terminal each of its lines is shown as `printable` shows one."""
    doc = manifest(RID, title="T " + NASTY)
    assert cli("publish", cli.file(doc)).exit_code == 0
    piped = cli("render", RID).stdout
    assert "\rCURRENT" in piped  # the document itself (click drops CSI sequences in a pipe)
    text = on_a_terminal(cli.db, "render", RID)
    assert "\\x1b[1A\\x1b[2K\\rCURRENT" in text
    assert shown_plainly(text)


def read_to_the_end(main: int) -> bytes:
    """Return everything written to a pseudo-terminal until its other side closed, and close
    it."""
    import os

    shown = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the other side closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(main)
    return shown


def on_a_terminal(db: Path, *args: str, columns: int = 80, code: int | None = 0) -> str:
    """Return what the command prints with a pseudo-terminal of that many columns as its stdout
    (a terminal's line ends made plain)."""
    import os
    import pty
    import subprocess
    import sys

    command = [sys.executable, "-c", "from cli.main import main; main()", "--db", str(db), *args]
    main, side = pty.openpty()
    done = subprocess.Popen(command, stdout=side, stderr=subprocess.PIPE,
                            cwd=Path(__file__).resolve().parents[1],
                            env={**os.environ, "COLUMNS": str(columns)})
    os.close(side)
    shown = read_to_the_end(main)
    status = done.wait(timeout=60)
    assert code is None or status == code, status
    return shown.decode("utf-8").replace("\r\n", "\n")


@pytest.mark.parametrize("args", [
    ["export", "--format", "csv"], ["export"], ["export", "--format", "jsonl"],
    ["export", "--format", "crossref-json"], ["export", "--format", "retraction-watch-csv"],
    ["log", "--json"], ["log", "--jsonl"], ["show", RID, "--json"], ["list", "--json"],
    ["history", RID, "--json"],
])
def test_a_streamed_document_on_a_terminal_is_shown_as_text(cli: Cli, args: list[str]) -> None:
    """The documents a command streams (`export` in every format, `--json` and `--jsonl`) kept
    what JSON leaves as it is (a C1 control such as U+009B, the 8-bit CSI; a bidi override) and
    CSV kept everything (an escape sequence in a title); on a terminal each line is now shown
    as `printable` shows one. In a pipe they are the same bytes as before."""
    doc = manifest(RID, title="T " + NASTY)
    assert cli("publish", cli.file(doc)).exit_code == 0
    assert cli("correct", RID, "--kind", "retraction", "--reason", "R " + NASTY).exit_code == 0
    piped = cli(*args).stdout
    assert not shown_plainly(piped.replace("\r\n", "\n").replace("\n", ""))
    text = on_a_terminal(cli.db, *args)
    assert shown_plainly(text), [c for c in text if acts_on_a_terminal(c)]
    assert text.count("\n") == piped.replace("\r\n", "\n").count("\n")


@given(st.text(), st.lists(st.integers(min_value=0, max_value=64), max_size=8))
def test_the_terminal_stream_escapes_each_line_however_it_is_written(text: str,
                                                                       cuts: list[int]) -> None:
    """Written in any pieces (cut anywhere, even inside a character's UTF-8 bytes), the stream
    for a terminal prints each line as `printable` prints one, CR LF line ends as line ends."""
    import io

    from cli.common import _TerminalLines

    data, sink = text.encode(), io.BytesIO()
    stream = _TerminalLines(sink)
    start = 0
    for cut in sorted(min(c, len(data)) for c in cuts):
        stream.write(data[start:max(start, cut)])
        start = max(start, cut)
    stream.write(data[start:])
    stream.flush()
    lines = text.split("\n")
    expected = "\n".join(printable(line.removesuffix("\r")) if i < len(lines) - 1 else
                         printable(line) for i, line in enumerate(lines))
    assert sink.getvalue().decode() == expected
    assert shown_plainly(sink.getvalue().decode().replace("\n", ""))


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "ascii"])
def test_a_terminal_whose_encoding_cannot_hold_a_character(tmp_path: Path, encoding: str) -> None:
    """On a terminal set to ISO-8859-1 (or Windows-1252), `show`, `status`, `diff`, `render` and
    `feed` stopped with a UnicodeEncodeError traceback at the first character it cannot hold: a
    title in Japanese, or the dash and ellipsis the commands print themselves. Such a character is
    written as a visible escape; every other one in the terminal's own encoding."""
    import subprocess
    import sys

    ledger = str(Path(sys.executable).with_name("ledger"))
    db = str(tmp_path / "l.db")
    env = {"PATH": "/usr/bin:/bin", "PYTHONIOENCODING": encoding, "LEDGER_DB": db,
           "LEDGER_ACTOR": "Jürgen"}

    def run(*args: str) -> bytes:
        done = subprocess.run([ledger, *args], capture_output=True, env=env, timeout=120)
        assert done.returncode == 0 and b"Traceback" not in done.stderr, done.stderr[-800:]
        return done.stdout

    run("init")
    (tmp_path / "m.json").write_text(json_text(manifest(RID, title="Über 日本 — études")),
                                     encoding="utf-8")
    run("publish", str(tmp_path / "m.json"))
    run("correct", RID, "--kind", "correction", "--reason", "Tippfehler — 修正",
        "--set", "/review_score=9.1")
    written = "utf-8" if encoding == "ascii" else encoding  # click writes ASCII as UTF-8
    for args in (["show", RID], ["status"], ["diff", RID], ["render", RID], ["feed"],
                 ["history", RID], ["list"]):
        assert "Traceback" not in run(*args).decode(written)
    shown = run("show", RID).decode(written)
    assert "Über" in shown
    assert ("\\u65e5\\u672c" in shown) == (encoding != "ascii")  # 日本
    assert ("\\u2014" in shown) == (encoding == "latin-1")  # Windows-1252 has the dash


def json_text(value: object) -> str:
    return canonical_bytes(value).decode("utf-8")


@pytest.mark.parametrize(("args", "what", "typed", "says"), [
    (["publish", "-"], "the JSON document", b'{"record_id": "SRCH:0000000A"}\n',
     "Error: paper-manifest-v1.1: title: required key is missing"),
    (["correct", "--from-file", "-"], "the JSON document", b"{}\n", "Error: the payload has no record_id"),
    (["import", "-"], "the record page", b"hello\n", "Error: <stdin>:1: no record id"),
    (["append", "--jsonl", "-"], "JSON Lines", b"[1]\n", "Error: LINE 1: expected"),
], ids=["publish", "correct", "import", "append"])
def test_standard_input_on_a_terminal_ends_with_one_ctrl_d(db: Path, args: list[str], what: str,
                                                           typed: bytes, says: str) -> None:
    """`ledger publish -` typed into on a terminal waited in silence, and after the text and a
    Ctrl-D it waited again: it read once more past the end, which a terminal answers only with a
    second Ctrl-D. It now says how to end the input, and one Ctrl-D on a line of its own ends it."""
    import os
    import pty
    import select
    import subprocess
    import sys
    import termios

    command = [sys.executable, "-c", "from cli.main import main; main()", "--db", str(db), *args]
    main, side = pty.openpty()
    done = subprocess.Popen(command, stdin=side, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=Path(__file__).resolve().parents[1])
    os.close(side)
    try:
        os.write(main, typed)
        eof = termios.tcgetattr(main)[6][termios.VEOF]  # Ctrl-D, as the terminal is set
        os.write(main, eof if isinstance(eof, bytes) else bytes([eof]))
        assert done.wait(timeout=20) == 2  # no second Ctrl-D given
        err = done.stderr.read().decode() if done.stderr else ""
    finally:
        if done.poll() is None:
            done.kill()
        select.select([main], [], [], 0)
        os.close(main)
    lines = err.splitlines()
    assert lines[0] == (f"Reading {what} from the terminal: end it with Ctrl-D on a line of its "
                        "own (Ctrl-C stops)"), err
    assert lines[-1].startswith(says), err


def test_list_and_search_fit_a_terminal(cli: Cli) -> None:
    """On an 80-column terminal every `list` line wrapped (each 99 characters, the levels
    unlabelled), and so did `search`'s snippets. On a terminal `list` now has a header and both
    fit its width; piped, the lines are as they were."""
    long = "Routing " + "and a long title " * 8
    for rid, title in [(RID, long), ("SRCH:0000000B", "短い題名の研究 " * 12)]:
        assert cli("publish", cli.file(manifest(rid, title=title, abstract=long))).exit_code == 0
    for columns in (80, 100, 132):
        lines = re.sub(r"\x1b\[[0-9;]*m", "", on_a_terminal(cli.db, "list", columns=columns)
                       ).splitlines()  # its colours
        assert lines[0].split() == ["RECORD", "STATUS", "PROV", "VERIF", "TIER", "TITLE"]
        assert [line.split()[0] for line in lines[1:]] == [RID, "SRCH:0000000B"]
        found = on_a_terminal(cli.db, "search", "routing", columns=columns).splitlines()
        assert found[0].startswith(RID) and found[1].startswith("    [Routing]")
        for line in lines + found:
            cells = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)
            assert cells < columns, (columns, line)
        assert lines[1].endswith("…") and found[0].endswith("…")
    piped = cli("list").stdout.splitlines()
    assert len(piped) == 2 and all(len(line) <= 99 for line in piped)
    assert piped[0].split()[:4] == [RID, "CURRENT", "L1", "L2"]


def test_log_and_history_fit_a_terminal(cli: Cli) -> None:
    """A `log` or `history` line is ~140 characters: on an 80-column terminal every one wrapped
    in the middle of a word. On a terminal narrower than the line, the seq, time (to the
    second), type, record and hash come on a first line and who appended the event and what it
    says under it, wrapped: every word of the line kept. Piped, one line each as before."""
    assert cli("publish", cli.file(manifest(RID, title="How routing strategies affect the "
                                            "throughput of sparse expert models"))).exit_code == 0
    assert cli("correct", RID, "--kind", "expression_of_concern", "--reason",
               "Routing benchmark figures could not be traced to the cited sources at all",
               "--notice-id", "EOC-1").exit_code == 0
    piped = {"log": cli("log").stdout.splitlines(), "history": cli("history", RID).stdout.splitlines()}
    for args in (["log"], ["history", RID]):
        for columns in (80, 100):
            lines = on_a_terminal(cli.db, *args, columns=columns).splitlines()
            for line in lines:
                assert len(line) < columns, (columns, line)
            firsts = [i for i, line in enumerate(lines) if not line.startswith(" " * 8)]
            assert len(firsts) == 2, lines  # one first line per event
            for at, whole in zip(firsts, piped[args[0]], strict=True):
                seq, time, kind, record, digest = lines[at].split()
                assert whole.split()[0] == seq and whole.split()[2:4] == [kind, record]
                assert time.endswith("Z") and "." not in time and digest in whole
                assert lines[at + 1].startswith(" " * 8 + "tester: ")
            words = " ".join(line for i, line in enumerate(lines) if i not in firsts).split()
            assert words == [w.replace("tester", "tester:") for line in piped[args[0]]
                             for w in line.split()[4:5] + line.split()[6:]], words
        wide = on_a_terminal(cli.db, *args, columns=250).splitlines()
        assert wide == piped[args[0]]  # a line that fits stays one line


def test_reports_wrap_at_spaces_on_a_terminal(cli: Cli, tmp_path: Path) -> None:
    """`status`, `verify` and `audit` print lines of 100–300 characters (a checkpoint's
    cosigners, a head hash, a finding); the terminal broke them mid-word. On a terminal
    narrower than a line it is broken at spaces, the lines after the first indented; piped,
    each stays one line."""
    import shutil
    import sqlite3

    assert cli("publish", cli.file(manifest(RID))).exit_code == 0
    assert cli("correct", RID, "--kind", "removal", "--reason", "court order", "--purge").exit_code == 0
    assert cli("keygen", "a-rather-long-log-name.example.org/research-records",
               "-o", str(tmp_path / "k.key")).exit_code == 0
    assert cli("checkpoint", "--key", str(tmp_path / "k.key")).exit_code == 0
    edited = tmp_path / "edited.db"
    shutil.copy(cli.db, edited)
    with sqlite3.connect(edited) as conn:
        conn.execute("UPDATE records SET status = 'CURRENT'")
    old = tmp_path / "old.db"
    shutil.copy(cli.db, old)
    assert cli("correct", RID, "--kind", "addendum", "--notice-id", "A1").exit_code == 0
    runs = [(cli.db, ["status"]), (cli.db, ["verify"]), (edited, ["audit"]),
            (cli.db, ["audit", "--extends", str(old)])]
    for db, args in runs:
        piped = Cli(db, tmp_path)(*args).stdout.splitlines()
        assert any(len(line) > 80 for line in piped), piped
        shown = on_a_terminal(db, *args, columns=80, code=None).splitlines()
        for line in shown:
            assert len(line) < 80, line
        assert [w for line in shown for w in line.split()] == [w for line in piped
                                                               for w in line.split()]
        starts = [line for line in shown if not line.startswith("    ")]
        assert len(starts) == len(piped), (shown, piped)
        for start, line in zip(starts, piped, strict=True):  # a column of labels stays one
            label = re.match(r"[^ ]+: {2,}", line)
            assert label is None or start.startswith(label.group()), (start, line)


def test_list_keeps_its_columns_for_a_removed_record(cli: Cli) -> None:
    """A record whose provenance and manifest a removal withheld has no levels to show: its
    line said `WITHHELD WITHHELD WITHHELD` under PROV, VERIF and TIER, pushing its title out of
    the column. On a terminal a withheld level now reads `-`; `--json` and piped lines say
    WITHHELD as before."""
    assert cli("publish", cli.file(manifest(RID))).exit_code == 0
    assert cli("publish", cli.file(manifest("SRCH:0000000B"))).exit_code == 0
    assert cli("provenance", cli.file(provenance("SRCH:0000000B"))).exit_code == 0
    assert cli("correct", "SRCH:0000000B", "--kind", "removal", "--reason", "court",
               "--purge").exit_code == 0
    lines = re.sub(r"\x1b\[[0-9;]*m", "", on_a_terminal(cli.db, "list", columns=100)).splitlines()
    assert lines[2].split()[:6] == ["SRCH:0000000B", "REMOVED", "-", "-", "WITHHELD", "How"]
    assert len({line.index(word) for line, word in zip(lines, ("TITLE", "How", "How"),
                                                        strict=True)}) == 1, lines
    assert "WITHHELD WITHHELD WITHHELD" in cli("list").stdout
    assert '"provenance_level":"WITHHELD"' in cli("list", "--json").stdout


@given(st.text(alphabet=st.sampled_from("ab 短\u00e9"), max_size=200), st.integers(6, 40),
       st.sampled_from([None, "", "x: "]))
def test_wrapped_lines_fit_and_keep_every_word(text: str, cells: int, first: str | None) -> None:
    from ledger.pages.text import wrapped

    lines = wrapped(text, cells, first=first)
    for i, line in enumerate(lines):
        assert line.startswith("    " if i or first is None else first)
        assert sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line) <= cells
    assert "".join("".join(lines).split()) == "".join(((first or "") + text).split())


def on_a_terminal_stderr(db: Path, *args: str, columns: int = 80) -> tuple[str, str]:
    """Return (stdout, stderr) of the command run with a pseudo-terminal of that many columns
    as its stderr, where its progress bars are drawn (a terminal's line ends made plain)."""
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import sys
    import tempfile
    import termios

    command = [sys.executable, "-c", "from cli.main import main; main()", "--db", str(db), *args]
    main, side = pty.openpty()
    fcntl.ioctl(side, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {name: value for name, value in os.environ.items() if name != "COLUMNS"}
    with tempfile.TemporaryFile() as stdout:  # a file: a pipe read only at the end would fill
        done = subprocess.Popen(command, stdout=stdout, stderr=side, env=env,
                                cwd=Path(__file__).resolve().parents[1])
        os.close(side)
        shown = read_to_the_end(main)
        assert done.wait(timeout=120) == 0, shown
        stdout.seek(0)
        out = stdout.read().decode("utf-8")
    # the bar hides the cursor while it draws, and shows it again
    return out, re.sub(r"\x1b\[\?25[lh]", "", shown.decode("utf-8").replace("\r\n", "\n"))


def test_what_signing_says_starts_its_own_line_under_the_bar(cli: Cli, tmp_path: Path) -> None:
    """`ledger site public/ --key FILE` on a terminal: the line saying what it signed was
    written while the verification's bar was still open, so it ran on after its 100%
    (`Verifying [####] 100%Signed and stored the checkpoint of size 2000`), and the bar's own
    line end came after it. Each line the command says now starts a line of its own, after
    the bar it follows has ended, and so does `checkpoint --key`'s."""
    from tests.test_bulk import jsonl

    items = [{"contract": "paper-manifest-v1.1", "payload": manifest(f"SRCH:{n:08X}")}
             for n in range(1, 1001)]
    source = tmp_path / "lines.jsonl"
    source.write_bytes(jsonl(items))
    assert cli("append", "--jsonl", str(source)).exit_code == 0
    key = tmp_path / "k.key"
    assert cli("keygen", "pub.example", "-o", str(key)).exit_code == 0
    out, err = on_a_terminal_stderr(cli.db, "site", str(tmp_path / "site"), "--key", str(key))
    assert "1000 record page(s)" in out
    # what each line shows last (a bar redrawn after a carriage return, padded where its
    # time estimate was)
    said = [line.rsplit("\r", 1)[-1].rstrip() for line in err.split("\n") if line]
    assert said[0].startswith("Verifying") and said[0].endswith("100%"), said
    assert said[1] == "Signed and stored the checkpoint of size 1000 by pub.example", said
    assert said[2].startswith("Writing pages") and said[2].endswith("100%"), said
    assert len(said) == 3, said
    out, err = on_a_terminal_stderr(cli.db, "checkpoint", "--key", str(key))
    said = [line.rsplit("\r", 1)[-1].rstrip() for line in err.split("\n") if line]
    assert said[0].endswith("100%") and said[1:] == [
        "(this checkpoint was already signed: nothing new stored)"], said


def test_checking_a_folder_of_bundles_draws_a_bar_when_its_lines_are_not_on_the_screen(
        cli: Cli, tmp_path: Path) -> None:
    """`ledger verify-bundle site/bundles --against LEDGER` on 10⁴ bundles spends ~10 s checking
    them after the log's verification; with its stdout piped (`| tail -1`) or with --json
    (nothing printed until the end) the screen stayed still meanwhile. That pass now draws a
    bar of its own on the terminal, its total the files; its lines go where they went."""
    from tests.test_bulk import jsonl

    items = [{"contract": "paper-manifest-v1.1", "payload": manifest(f"SRCH:{n:08X}")}
             for n in range(1, 1001)]
    source = tmp_path / "lines.jsonl"
    source.write_bytes(jsonl(items))
    assert cli("append", "--jsonl", str(source)).exit_code == 0
    key, vkey = tmp_path / "k.key", tmp_path / "k.vkey"
    made = cli("keygen", "pub.example", "-o", str(key))
    assert made.exit_code == 0
    vkey.write_text(made.stdout.strip().splitlines()[-1])
    assert cli("site", str(tmp_path / "site"), "--key", str(key)).exit_code == 0
    bundles = str(tmp_path / "site" / "bundles")
    for extra in ([], ["--json"]):
        out, err = on_a_terminal_stderr(cli.db, "verify-bundle", bundles, "--vkey", str(vkey),
                                        "--against", str(cli.db), *extra)
        said = [line.rsplit("\r", 1)[-1].rstrip() for line in err.split("\n") if line]
        assert [line.split("  ")[0] for line in said] == [
            "Reading the bundles", "Verifying", "Checking the bundles"], said
        assert all(line.endswith("100%") for line in said), said
        if extra:
            assert sum(result["ok"] for result in json.loads(out)) == 1000
        else:
            assert out.splitlines()[-1] == "1000 of 1000 bundle(s) verified"


def test_the_rewrite_after_a_purge_is_said_before_it_starts(cli: Cli, tmp_path: Path) -> None:
    """A purge rewrites the whole ledger file (VACUUM) after the removal is committed: about as
    long as copying it, ~2.5 GB at 10⁶ events, with nothing on the screen meanwhile. On a
    terminal, a file of 64 MiB or more is said to be rewritten before the rewrite starts; a
    smaller one, or stderr piped, says nothing more."""
    from tests.test_bulk import jsonl

    abstract = "Abstract: " + "a synthesis of sources. " * 39_000  # ~0.9 MB a version
    items = [{"contract": "paper-manifest-v1.1",
              "payload": manifest(f"SRCH:{n:08X}", abstract=abstract)} for n in range(1, 81)]
    source = tmp_path / "big.jsonl"
    source.write_bytes(jsonl(items))
    assert cli("append", "--jsonl", str(source)).exit_code == 0
    removal = ("correct", "SRCH:00000001", "--kind", "removal", "--reason", "Court order 7",
               "--purge")
    out, err = on_a_terminal_stderr(cli.db, *removal)
    assert "record.purged SRCH:00000001" in out
    said = [line for line in err.split("\n") if line]  # broken at spaces to fit the terminal
    assert all(len(line) < 80 for line in said) and re.fullmatch(
        r"Rewriting the ledger file \(\d+ MiB\) so that no byte of the purged values remains in "
        r"it: about as long as copying it…", " ".join(" ".join(said).split())), said
    piped = cli(*removal[:1], "SRCH:00000002", *removal[2:])
    assert piped.exit_code == 0 and piped.stderr == "", piped.output


@pytest.mark.parametrize("columns", [40, 60, 100])
def test_a_bar_fits_a_narrow_terminal(cli: Cli, tmp_path: Path, columns: int) -> None:
    """A bar's line (label, bar, percentage, time left) is drawn over at each step only while it
    fits the terminal: on one of 50 columns click's 36-character bar made a 60-character line,
    which wrapped, so each step was drawn on a new line below the last. The bar is now as wide
    as the terminal leaves room for (click's 36 at most), and each drawing fits; its stdout
    piped, as `ledger audit | tail -1` is, the bar still measures stderr's terminal."""
    from tests.test_bulk import jsonl

    items = [{"contract": "paper-manifest-v1.1", "payload": manifest(f"SRCH:{n:08X}")}
             for n in range(1, 1201)]
    source = tmp_path / "lines.jsonl"
    source.write_bytes(jsonl(items))
    assert cli("append", "--jsonl", str(source)).exit_code == 0
    for args in (["verify"], ["export", "-o", str(tmp_path / "snapshot.json")]):
        _, err = on_a_terminal_stderr(cli.db, *args, columns=columns)
        drawings = [d for line in err.split("\n") for d in line.split("\r")
                    if d.startswith(("Verifying", "Exporting"))]  # not what is said after
        assert drawings and drawings[-1].rstrip().endswith("100%"), drawings
        assert max(len(d) for d in drawings) < columns, drawings
        if columns >= 100:  # room for click's own width
            assert "[" + "#" * 36 + "]" in drawings[-1], drawings


def test_show_and_diff_fit_a_terminal(cli: Cli) -> None:
    """`show` and `diff` printed each line whole, so on a terminal narrower than a title, a gate's
    name or a notice's reason the terminal broke it anywhere, mid-word and across the column of
    values. On a terminal they are now broken at spaces, each line's later lines under its value
    (or indented under its start), every word kept; piped, each stays one line."""
    title = "How do different expert routing strategies in MambaFormer affect throughput"
    assert cli("publish", cli.file(manifest(RID, title=title))).exit_code == 0
    assert cli("correct", RID, "--kind", "correction", "--reason",
               "Review score transcribed wrongly from the reviewer sheet of the second round",
               "--set", "/review_score=9.1", "--notice-id", "CORR-1").exit_code == 0
    for args in (["show", RID], ["diff", RID], ["show", RID, "--as-of", "1"]):
        piped = cli(*args).stdout.splitlines()
        for columns in (40, 60):
            shown = on_a_terminal(cli.db, *args, columns=columns).splitlines()
            assert all(len(line) < columns for line in shown), shown
            assert [w for line in shown for w in line.split()] == [
                w for line in piped for w in line.split()]
            if args[0] == "show" and len(args) == 2:
                assert shown[1].startswith(" " * len(f"{RID}  ")) and shown[1].split()[0] in title
                status = shown.index(next(line for line in shown if "status" in line))
                value = shown[status].index("CORRECTED")
                assert value == len("  status              "), shown  # its column kept
                later = [line for line in shown[status:] if line.startswith(" " * value)]
                assert later or columns <= 2 * value, shown  # a value goes on under it
        assert on_a_terminal(cli.db, *args, columns=250).splitlines() == piped


def test_what_an_append_says_fits_a_terminal(cli: Cli) -> None:
    """`correct` says `Appended seq N notice.issued ID: kind N-… (hash …)` (~100 characters)
    and a warning of ~200: on an 80-column terminal both broke mid-word. On a terminal (stdout
    for the first, stderr for the warning) they are broken at spaces, every word kept."""
    assert cli("publish", cli.file(manifest(RID))).exit_code == 0
    args = ["correct", RID, "--kind", "correction", "--reason", "slip", "--set"]
    piped = cli(*args, "/review_score=3.5")
    assert "Warning: review score 3.5" in piped.stderr
    shown = on_a_terminal(cli.db, *args, "/review_score=3.6", columns=60).splitlines()
    assert len(shown) > 2 and all(len(line) < 60 for line in shown), shown
    assert " ".join(shown).split()[:4] == ["Appended", "seq", "3", "notice.issued"]
    out, err = on_a_terminal_stderr(cli.db, *args, "/review_score=3.7", columns=60)
    warned = err.splitlines()
    assert len(warned) > 1 and all(len(line) < 60 for line in warned), warned
    assert " ".join(warned).split() == piped.stderr.replace("3.5", "3.7").split()
    assert out.startswith("Appended seq 4 ") and len(out.splitlines()[0]) > 60  # piped: whole


def test_a_word_longer_than_the_terminal_is_left_whole(cli: Cli, tmp_path: Path) -> None:
    """A key, a hash or a path is one word to copy from the screen: on a terminal narrower than
    it, it is left whole on a line of its own for the terminal to wrap, never broken by the
    ledger into pieces with spaces between them (the verifier key `keygen` prints, the head hash
    of `verify`)."""
    assert cli("publish", cli.file(manifest(RID))).exit_code == 0
    name = "a-rather-long-log-name.example.org/research-records"
    shown = on_a_terminal(cli.db, "keygen", name, "-o", str(tmp_path / "k.key"), columns=40)
    vkey = (tmp_path / "k.key").read_text()  # the private key file; its verifier key printed
    assert len(shown.splitlines()) == 1 and shown.startswith(name + "+") and " " not in shown
    assert vkey and shown.strip() != vkey.strip()
    head = cli.json("verify")["head_hash"]
    shown = on_a_terminal(cli.db, "verify", columns=40)
    assert head in shown.split(), shown  # whole, one word


def test_two_spaces_far_along_a_line_are_no_label(cli: Cli) -> None:
    """A reason with two spaces in it, far along `show`'s notice line, was taken for a label
    column: everything before it was kept on the first line, wider than the terminal."""
    assert cli("publish", cli.file(manifest(RID))).exit_code == 0
    reason = "The figures in the second table were copied from a draft  and not the final run"
    assert cli("correct", RID, "--kind", "addendum", "--reason", reason).exit_code == 0
    shown = on_a_terminal(cli.db, "show", RID, columns=50).splitlines()
    assert all(len(line) < 50 for line in shown), shown


@given(st.integers(0, 90), st.text(alphabet=st.sampled_from("ab: 短\u00e9"), max_size=240),
       st.integers(10, 120))
def test_a_fitted_line_keeps_its_words_and_fits_but_for_a_long_word(lead: int, text: str,
                                                                     columns: int) -> None:
    """What `tell` and `say` print on a terminal: the same characters in the same order, an
    ASCII word (a key, a hash, a path) never cut even when longer than a line, every line within
    the terminal but one holding such a word, and a line that fits left as it is."""
    from ledger.pages.text import fitted, width

    line = " " * lead + text
    lines = fitted(line, columns)
    assert "".join("".join(lines).split()) == "".join(line.split())  # every character, in order
    shown = {w for part in lines for w in part.split()}
    assert all(w in shown for w in line.split() if w.isascii())  # such a word is never cut
    for part in lines:
        longest = max((width(w) for w in part.split() if w.isascii()), default=0)
        assert width(part) < columns or longest >= columns // 3 - 1, (part, columns)
    if width(line) < columns:
        assert lines == [line]


def test_list_fits_a_narrow_terminal(cli: Cli) -> None:
    """`list` on a terminal of fewer than ~73 columns: its 62 columns before the title wrapped,
    cutting the tier in two. There each record takes two lines, its id, status and levels, then
    its tier and title, cut to the width."""
    for rid, title in [(RID, "Routing " + "and a long title " * 8), ("SRCH:0000000B", "Short")]:
        assert cli("publish", cli.file(manifest(rid, title=title))).exit_code == 0
    for columns in (50, 60):
        lines = re.sub(r"\x1b\[[0-9;]*m", "", on_a_terminal(cli.db, "list", columns=columns)
                       ).splitlines()
        assert all(len(line) < columns for line in lines), lines
        assert lines[0].split() == ["RECORD", "STATUS", "PROV", "VERIF"]
        assert lines[1].split() == ["TIER", "·", "TITLE"]
        assert [line.split()[0] for line in lines[2::2]] == [RID, "SRCH:0000000B"]
        assert all(line.startswith("    ") and " · " in line for line in lines[3::2]), lines
        assert lines[3].endswith("…") and lines[5].endswith("· Short"), lines


def test_log_keeps_the_record_on_a_narrow_terminal(cli: Cli) -> None:
    """On a terminal of 50 columns a `log` line's first line (seq, time, type, record, hash) was
    cut with `…` after the type: which record each event is about was not shown at all. There
    the record and hash now begin the lines under it."""
    assert cli("publish", cli.file(manifest(RID))).exit_code == 0
    assert cli("correct", RID, "--kind", "addendum", "--reason", "A note").exit_code == 0
    digests = [e["hash"][:12] for e in cli.json("log")]
    for args in (["log"], ["history", RID]):
        lines = on_a_terminal(cli.db, *args, columns=50).splitlines()
        assert all(len(line) < 50 and "…" not in line for line in lines), lines
        firsts = [i for i, line in enumerate(lines) if not line.startswith(" " * 8)]
        assert [lines[i].split()[0] for i in firsts] == ["1", "2"], lines
        for i, digest in zip(firsts, digests, strict=True):
            assert lines[i + 1].split()[:2] == [RID, digest], lines
