"""No traceback, ever: every read command, in every output format, on every example and fixture
record (both page layouts, manifests from JSON, corrected, retracted, removed), and a property
test over the values of every integer and text option."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli.main import app

ROOT = Path(__file__).parent.parent
PAGE_DIRS = [ROOT / "examples" / "pages", ROOT.parent / "shared" / "examples" / "pages"]
RECORDS = ROOT / "examples" / "records"


class Ledger:
    def __init__(self, tmp: Path) -> None:
        self.tmp, self.db, self.runner = tmp, tmp / "matrix.db", CliRunner()

    def __call__(self, *args: str, input: str | None = None) -> Result:
        return self.runner.invoke(app, ["--db", str(self.db), "--actor", "matrix", *args],
                                  input=input)


def no_traceback(result: Result, args: tuple[str, ...]) -> None:
    """The command ended by its own exit status: 0, 1 (a finding) or 2 (one Error line)."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"ledger {' '.join(args)} raised {result.exception!r}") from result.exception
    assert result.exit_code in (0, 1, 2), (args, result.output)
    assert "Traceback" not in result.output, (args, result.output)
    if result.exit_code == 2:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), (args, result.stderr)


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Ledger, list[str], Path, str]]:
    tmp = tmp_path_factory.mktemp("matrix")
    ledger = Ledger(tmp)
    assert ledger("init").exit_code == 0
    pages = sorted(str(p) for d in PAGE_DIRS if d.is_dir() for p in d.glob("*.txt"))
    assert pages, "no example pages found"
    assert ledger("import", *pages).exit_code == 0
    for path in sorted(RECORDS.glob("SRCH-*.json")):
        command = "provenance" if path.name.endswith(".provenance.json") else "publish"
        assert ledger(command, str(path)).exit_code == 0
    assert ledger("gate", "--from-file", str(RECORDS / "gate2-03BE3A05.json")).exit_code == 0
    ids = sorted({e["record_id"] for e in orjson.loads(ledger("log", "--json").stdout)})
    notices = [("correction", ["--set", "/review_score=8.5"]), ("expression_of_concern", []),
               ("retraction", []), ("removal", [])]
    for rid, (kind, extra) in zip(ids, notices, strict=False):
        result = ledger("correct", rid, "--kind", kind, "--reason", f"matrix {kind}", *extra)
        assert result.exit_code == 0, result.output
    key = tmp / "pub.key"
    vkey = ledger("keygen", "publisher", "-o", str(key)).stdout.strip()
    checkpoint = tmp / "checkpoint.txt"
    assert ledger("checkpoint", "--key", str(key), "-o", str(checkpoint)).exit_code == 0
    ledger("correct", ids[0], "--kind", "addendum", "--notice-id", "AFTER-CHECKPOINT")
    yield ledger, ids, checkpoint, vkey


RECORD_COMMANDS = [("show",), ("show", "--json"), ("history",), ("history", "--json"),
                   ("render",), ("render", "--format", "html"), ("render", "--format", "md")]
LOG_COMMANDS = [("log",), ("log", "--json"), ("log", "--since", "3"), ("verify",), ("verify", "--json"),
                ("audit",), ("audit", "--json"), ("key", "list"), ("key", "list", "--json"),
                ("prove", "1"), ("prove", "2", "--json"), ("consistency", "1"),
                ("consistency", "2", "--json")]


def test_every_read_command_on_every_record(matrix: tuple[Ledger, list[str], Path, str]) -> None:
    ledger, ids, checkpoint, vkey = matrix
    assert len(ids) >= 3
    for rid, command in itertools.product(ids, RECORD_COMMANDS):
        args = (command[0], rid, *command[1:])
        result = ledger(*args)
        no_traceback(result, args)
        assert result.exit_code == 0, (args, result.output)
        bundle = ledger.tmp / f"{rid.replace(':', '-')}.bundle.json"
    for rid in ids:
        bundle = ledger.tmp / f"{rid.replace(':', '-')}.bundle.json"
        for args in (("bundle", rid, "--checkpoint", str(checkpoint), "-o", str(bundle)),
                     ("verify-bundle", str(bundle), "--vkey", vkey),
                     ("verify-bundle", str(bundle), "--vkey", vkey, "--json")):
            result = ledger(*args)
            no_traceback(result, args)
            assert result.exit_code == 0, (args, result.output)


def test_every_log_command_and_export_format(matrix: tuple[Ledger, list[str], Path, str]) -> None:
    ledger, _, checkpoint, vkey = matrix
    exports = [("export", "--format", f, *extra) for f in ("json", "jsonl", "csv")
               for extra in ((), ("--as-of", "4"), ("--as-of", "0"))]
    proofs = [("prove", "2", "--format", "tlog-proof", "--checkpoint", str(checkpoint)),
              ("verify", "--checkpoint", str(checkpoint), "--vkey", vkey),
              ("site", str(ledger.tmp / "site")),
              ("site", str(ledger.tmp / "site-signed"), "--checkpoint", str(checkpoint), "--vkey", vkey)]
    for args in [*LOG_COMMANDS, *exports, *proofs]:
        result = ledger(*args)
        no_traceback(result, args)
        assert result.exit_code == 0, (args, result.output)


def test_unknown_and_malformed_record_ids(matrix: tuple[Ledger, list[str], Path, str]) -> None:
    ledger = matrix[0]
    for rid, command in itertools.product(["SRCH:FFFFFFFF", "nonsense", "KEY:00000001", ""],
                                          RECORD_COMMANDS):
        args = (command[0], rid, *command[1:])
        result = ledger(*args)
        no_traceback(result, args)
        assert result.exit_code == 2, (args, result.output)


INTEGERS = st.one_of(st.integers(min_value=-(2**70), max_value=2**70),
                     st.sampled_from([0, 1, 2**53 - 1, 2**53, 2**63 - 1, 2**63, 2**64, -(2**63)]))
TEXT = st.one_of(st.text(max_size=40), st.sampled_from(["\udcff", "a\x00b", "é" * 300, "-", "--json"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=INTEGERS, which=st.integers(min_value=0, max_value=9))
def test_every_integer_option(matrix: tuple[Ledger, list[str], Path, str], value: int, which: int) -> None:
    ledger, ids, _, _ = matrix
    n = str(value)
    commands = [("log", "--since", n), ("log", "--until", n), ("export", "--as-of", n), ("prove", n),
                ("prove", "1", "--size", n),
                ("consistency", n), ("consistency", "1", n),
                ("append", "--jsonl", "-", "--batch-size", n),
                ("correct", ids[0], "--kind", "addendum", "--target-version", n, "--notice-id", "P-INT"),
                ("gate", ids[0], "--gate", n, "--status", "FAILED", "--reason", "property")]
    args = commands[which]
    no_traceback(ledger(*args, input=""), args)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=TEXT, which=st.integers(min_value=0, max_value=6))
def test_every_text_option(matrix: tuple[Ledger, list[str], Path, str], value: str, which: int) -> None:
    ledger, ids, _, _ = matrix
    commands = [("correct", ids[1], "--kind", "addendum", "--reason", value, "--notice-id", "P-TXT"),
                ("correct", ids[1], "--kind", "correction", "--reason", "x", "--set", f"/note={value}"),
                ("correct", ids[1], "--kind", "correction", "--reason", "x", "--set", value),
                ("--actor", value, "log", "--since", "99"),
                ("show", value), ("render", ids[0], "--format", value),
                ("export", "--format", value)]
    args = commands[which]
    no_traceback(ledger(*args), args)
