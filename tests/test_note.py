"""Signed notes and keys against the C2SP / Go sumdb/note vectors, and corruption loops."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from ledger.core.note import (
    SignatureError,
    encode_keys,
    open_note,
    parse_signer,
    parse_verifier,
    sign_note,
    signature_line,
)
from ledger.errors import KeyFormatError

CASES: list[dict[str, Any]] = orjson.loads(
    (Path(__file__).parent / "vectors" / "signed-note" / "vectors.json").read_bytes())["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["desc"][:40] for c in CASES])
def test_vectors(case: dict[str, Any]) -> None:
    verifier = parse_verifier(case["vkey"])
    note = case["text"] + "\n" + case["signature_line"] + "\n"
    assert open_note(note, verifier) == case["text"]
    if "skey" in case:
        signer = parse_signer(case["skey"])
        assert signature_line(signer, case["text"]) == case["signature_line"] + "\n"
        assert encode_keys(signer.name, signer.key.private_bytes_raw()) == (case["skey"], case["vkey"])


def test_every_byte_of_a_signed_note_matters() -> None:
    case = CASES[0]
    signer, verifier = parse_signer(case["skey"]), parse_verifier(case["vkey"])
    note = sign_note(signer, "example.org/log\n5\nAAAA\n")
    data = note.encode()
    for i in range(len(data)):
        changed = bytearray(data)
        changed[i] = (changed[i] + 1) % 256
        try:
            text = changed.decode()
        except UnicodeDecodeError:
            continue
        with pytest.raises(SignatureError):
            open_note(text, verifier)


@pytest.mark.parametrize("bad", ["", "name+1234+AAAA", "PRIVATE+KEY+x+00000000+AAAA", "a b+00+xx"])
def test_malformed_keys(bad: str) -> None:
    with pytest.raises(KeyFormatError):
        parse_verifier(bad)
    with pytest.raises(KeyFormatError):
        parse_signer(bad)


def test_a_note_by_another_key_is_refused() -> None:
    other_skey, _ = encode_keys("example.org/log", bytes(range(32)))
    signer = parse_signer(other_skey)
    note = sign_note(signer, "x\n")
    verifier = parse_verifier(CASES[1]["vkey"])
    with pytest.raises(SignatureError) as refused:
        open_note(note, verifier)
    # it names the key it looked for and the keys that did sign (a verifier key file mixed up)
    assert str(refused.value) == (f"the note has no signature by {verifier.name}+"
                                  f"{verifier.key_id:08x} (it is signed by {signer.name}+"
                                  f"{signer.key_id:08x})")
