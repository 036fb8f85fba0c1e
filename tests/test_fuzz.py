"""Fuzzing with Hypothesis: parsers and the CLI never fail with anything but a clear refusal."""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli.main import app
from fuzz.seeds import seeds
from fuzz.targets import SELECTOR, TARGETS, one_input
from ledger.core.checkpoint import parse_checkpoint
from ledger.core.note import open_note, parse_verifier
from ledger.errors import LedgerError
from ledger.model.contracts import CONTRACTS
from ledger.model.rules import validate
from ledger.ops.bundle import verify_bundle
from ledger.pages.facts import facts_of
from ledger.pages.layout import parse_page

VKEY = parse_verifier("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")
PAGE = (Path(__file__).parent.parent / "examples" / "pages" / "000_6a6e253d29ffe78a.txt").read_text()
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                           lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=6), max_leaves=20)


def refuses_or_passes(func: Any, *args: Any) -> None:
    with contextlib.suppress(LedgerError):
        func(*args)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_page_parser_on_any_text(text: str) -> None:
    refuses_or_passes(lambda t: facts_of(parse_page(t)), text)


@settings(max_examples=300)
@given(st.lists(st.sampled_from(PAGE.splitlines()), max_size=60), st.text(max_size=30))
def test_page_parser_on_shuffled_real_lines(lines: list[str], noise: str) -> None:
    refuses_or_passes(lambda t: facts_of(parse_page(t)), "\n".join([*lines, noise]))


@given(st.text())
def test_note_and_checkpoint_parsers(text: str) -> None:
    refuses_or_passes(open_note, text, VKEY)
    refuses_or_passes(parse_checkpoint, text)
    refuses_or_passes(parse_verifier, text)


@given(json_values)
def test_bundle_verifier_on_any_json(value: Any) -> None:
    refuses_or_passes(verify_bundle, value, VKEY)
    if isinstance(value, dict):
        refuses_or_passes(verify_bundle, {**value, "format": "provenance-ledger-bundle-v1"}, VKEY)


@given(st.sampled_from(sorted(CONTRACTS)), json_values)
def test_contracts_on_any_json(contract: str, value: Any) -> None:
    refuses_or_passes(validate, contract, value)


WORDS = ["init", "publish", "provenance", "correct", "gate", "show", "history", "log", "verify",
         "audit", "rebuild", "export", "prove", "consistency", "append", "import", "render",
         "--json", "--kind", "retraction", "--reason", "x", "--set", "/review_score=3",
         "SRCH:03BE3A05", "srch:zz", "-", "--as-of", "0", "-1", "99", "--since", "--format", "csv",
         "--gate", "2", "--status", "VERIFIED", "--notice-id", "N1", "--lifts", "", "/dev/null",
         "--jsonl", "--batch-size", "--size", "--checkpoint", "--vkey", "nonsense", "\u00e9\u2028"]


@pytest.fixture(scope="module")
def fuzz_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("fuzz") / "l.db"
    CliRunner().invoke(app, ["--db", str(db), "init"])
    return db


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=8), st.text(max_size=40))
def test_cli_arguments_never_crash(fuzz_db: Path, args: list[str], stdin: str) -> None:
    result = CliRunner().invoke(app, ["--db", str(fuzz_db), *args], input=stdin)
    assert result.exit_code in (0, 1, 2), (args, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), (args, result.exception)
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert result.stderr.startswith("Error: "), (args, result.stderr)


def test_a_deeply_nested_bundle_is_refused() -> None:
    deep: Any = 0
    for _ in range(2000):
        deep = [deep]
    with pytest.raises(LedgerError, match="nests deeper"):
        verify_bundle({"format": "provenance-ledger-bundle-v1", "events": deep}, VKEY)


# -- the fuzzers' targets, from the seeds the ledger makes ------------------------------------


@functools.cache
def fuzz_seeds() -> list[tuple[str, bytes]]:
    return list(seeds())


def test_every_fuzz_target_starts_from_inputs_it_accepts() -> None:
    """The atheris harness (``make fuzz``) mutates these seeds: each target has some, and each
    seed passes its parser whole (a seed it refused would leave the fuzzer at the parser's door,
    as the pages did when their first byte picked another parser)."""
    found = fuzz_seeds()
    assert {name for name, _ in found} == {name for name, _ in TARGETS}
    for name, data in found:
        TARGETS[SELECTOR[name]][1](data)  # no exception: not even a refusal


def mutated(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    """``data`` with each (position, bytes removed, bytes inserted) edit applied in turn."""
    for at, cut, put in edits:
        at %= len(data) + 1
        data = data[:at] + put + data[at + cut:]
    return data


@settings(max_examples=1000, deadline=None)
@given(st.data())
def test_a_mutated_seed_is_passed_or_refused(data: st.DataObject) -> None:
    name, seed = data.draw(st.sampled_from(fuzz_seeds()))
    other = data.draw(st.sampled_from(fuzz_seeds()))[1]
    edits = data.draw(st.lists(st.tuples(
        st.integers(0, 1 << 20), st.integers(0, 8),
        st.binary(max_size=6) | st.sampled_from([b"\n", b" ", b"0", b"-", b'"', b"{}", b"[]",
                                                 b"\xff", b"\n\n", other[:40]])),
        min_size=1, max_size=4))
    one_input(bytes([SELECTOR[name]]) + mutated(seed, edits))
