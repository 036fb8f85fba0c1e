"""Coverage-guided fuzzing (atheris) of everything that parses outside input.

Run: make fuzz (FUZZ_SECONDS=60 by default). The first input byte picks the parser; any
exception other than a LedgerError (a clear refusal) is a crash that atheris reports with the
input that caused it.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():

    from ledger.core.canonical import JsonInputError, parse_json
    from ledger.core.checkpoint import parse_checkpoint
    from ledger.core.note import open_note, parse_signer, parse_verifier
    from ledger.errors import LedgerError
    from ledger.model.rules import validate
    from ledger.ops.bundle import verify_bundle
    from ledger.pages.facts import facts_of
    from ledger.pages.layout import parse_page

VKEY = parse_verifier("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")
CONTRACTS = ["paper-manifest-v1.1", "source-provenance-v1", "correction-record-v1",
             "gate-evaluation-v1", "actor-key-v1"]


def json_or_none(text: str) -> object:
    """The real input path: strict JSON, duplicate keys refused."""
    try:
        return parse_json(text)
    except JsonInputError:
        return None


def one_input(data: bytes) -> None:
    if not data:
        return
    choice, text = data[0] % 6, data[1:].decode("utf-8", errors="replace")
    try:
        if choice == 0:
            facts_of(parse_page(text))
        elif choice == 1:
            open_note(text, VKEY)
        elif choice == 2:
            parse_checkpoint(text)
            parse_verifier(text)
            parse_signer(text)
        elif choice == 3:
            verify_bundle(json_or_none(text), VKEY)
        else:
            validate(CONTRACTS[data[0] % len(CONTRACTS)], json_or_none(text))
    except LedgerError:
        pass  # a clear refusal is the right answer to bad input


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
