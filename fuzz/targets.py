"""What the fuzzers feed: every parser of outside input, one target each.

An input's first byte picks the target (``TARGETS[data[0] % len(TARGETS)]``); the rest is what
that parser reads. Any exception but a clear refusal (``LedgerError``, and the witness's
``Refused``, which it answers with a 4xx status) is a crash. ``fuzz/seeds.py`` writes a corpus
of valid inputs for every target, made by the ledger itself, so that a fuzzer starts from
inputs each parser accepts and mutates them from there.

The targets and the key their signed inputs are checked against (``SIGNER``, a key made from
a fixed seed for fuzzing alone) are shared by ``fuzz/fuzz_inputs.py`` (atheris) and
``tests/test_fuzz.py`` (Hypothesis, mutating the same seeds).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import struct
from collections.abc import Callable
from typing import Any

from ledger.core.canonical import JsonInputError, parse_json
from ledger.core.checkpoint import open_checkpoint, parse_checkpoint
from ledger.core.cosignature import encode_cosigner, parse_cosigner, parse_cosigner_key
from ledger.core.note import encode_keys, open_note, parse_signer, parse_verifier, signature_lines
from ledger.core.policy import open_witnessed, parse_logs, parse_policy
from ledger.errors import LedgerError
from ledger.model.contracts import CONTRACTS, contract_version
from ledger.model.defaults import fill_defaults
from ledger.model.rules import validate
from ledger.ops.bulkprep import parse_line, prepare_line
from ledger.ops.bundle import verify_bundle
from ledger.ops.monitor import _bundle
from ledger.ops.proofs import verify_tlog_proof
from ledger.ops.witness import Refused, _parse_request
from ledger.pages.facts import facts_of
from ledger.pages.importer import page_text
from ledger.pages.layout import parse_page

SIGNER_KEY, VERIFIER_KEY = encode_keys("fuzz.example", hashlib.sha256(b"fuzz signer").digest())
SIGNER, VERIFIER = parse_signer(SIGNER_KEY), parse_verifier(VERIFIER_KEY)
COSIGNER_KEY, COSIGNER_VKEY = encode_cosigner("witness.fuzz.example",
                                              hashlib.sha256(b"fuzz witness").digest())
CONTRACT_NAMES = sorted(CONTRACTS)
SEPARATOR = b"\n\x00\n"  # between the parts of a two-part input (a policy and a note)
TILES_HEADER = struct.Struct(">HII")  # width, length of the entry bundle, length of the tile
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)  # the moment the defaults are filled at


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _json(data: bytes) -> Any:
    """The real input path: strict JSON, duplicate keys refused (None if it is not JSON)."""
    try:
        return parse_json(data)
    except JsonInputError:
        return None


def page(data: bytes) -> None:
    """A record page as ``import`` reads it, and the payloads it gives, with the defaults the
    ledger fills, checked by their contracts."""
    facts = facts_of(parse_page(page_text(data, "fuzz")))
    payloads = [("paper-manifest-v1.1", facts.manifest)]
    if facts.provenance is not None:
        payloads.append(("source-provenance-v1", facts.provenance))
    payloads += [("gate-evaluation-v1", gate) for gate, _ in facts.gates]
    payloads += [("correction-record-v1", notice) for notice, _ in facts.notices]
    for name, payload in payloads:  # stored under the version its keys need, as `import` does
        version = contract_version(name, payload)
        validate(version, fill_defaults(version, payload, 1, "fuzz", NOW)[0])


def note(data: bytes) -> None:
    open_note(_text(data), VERIFIER)


def checkpoint(data: bytes) -> None:
    open_checkpoint(_text(data), VERIFIER)


def keys(data: bytes) -> None:
    """A key file of any of the four kinds: refused only if every parser refuses it."""
    text, refusal = _text(data), None
    for parse in (parse_verifier, parse_signer, parse_cosigner, parse_cosigner_key):
        try:
            parse(text)
            return
        except LedgerError as exc:
            refusal = exc
    assert refusal is not None
    raise refusal


def bundle(data: bytes) -> None:
    verify_bundle(_json(data), VERIFIER)


def contract(data: bytes) -> None:
    """The first byte names the contract, the rest is the payload."""
    if data:
        validate(CONTRACT_NAMES[data[0] % len(CONTRACT_NAMES)], _json(data[1:]))


def jsonl_line(data: bytes) -> None:
    parse_line(1, data, "fuzz")
    prepare_line(1, data, "fuzz")


def tlog_proof(data: bytes) -> None:
    verify_tlog_proof(_text(data), VERIFIER)


def policy(data: bytes) -> None:
    """A policy file, SEPARATOR, a checkpoint its witnesses cosigned."""
    policy_file, _, cosigned = data.partition(SEPARATOR)
    open_witnessed(_text(cosigned), parse_policy(policy_file), VERIFIER)


def logs(data: bytes) -> None:
    parse_logs(data)


def witness_request(data: bytes) -> None:
    """An add-checkpoint request body, read as the witness reads it before its state file."""
    _, _, text = _parse_request(data)
    body, _ = signature_lines(text)
    parse_checkpoint(body)
    open_note(text, VERIFIER)


def checkpoint_file(data: bytes) -> None:
    """A file given as --checkpoint: a note, or a tlog-proof, bundle, bundle script or monitor
    state file that holds one."""
    from cli.common import checkpoint_note_of

    open_checkpoint(checkpoint_note_of(_text(data), "fuzz"), VERIFIER)


def export_head(data: bytes) -> None:
    """A file given as --extends that is not a ledger file: an export, whose header (or first
    csv row) names the head it was made at."""
    import io

    from ledger.ops.export import head_of_export

    head = head_of_export(io.BytesIO(data), "fuzz")
    assert head.seq >= 0 and len(head.hash) == 64, head


def tiles(data: bytes) -> None:
    """TILES_HEADER, an entry bundle, its level-0 tile, a members file: one bundle of a log
    as ``monitor`` reads it from a host."""
    if len(data) < TILES_HEADER.size:
        return
    width, entries_length, tile_length = TILES_HEADER.unpack_from(data)
    rest = data[TILES_HEADER.size:]
    entries, tile = rest[:entries_length], rest[entries_length:entries_length + tile_length]
    members = rest[entries_length + tile_length:]
    _bundle(0, width, entries, tile, members or None)


TARGETS: list[tuple[str, Callable[[bytes], None]]] = [
    ("page", page), ("note", note), ("checkpoint", checkpoint), ("keys", keys),
    ("bundle", bundle), ("contract", contract), ("jsonl", jsonl_line),
    ("tlog-proof", tlog_proof), ("policy", policy), ("logs", logs),
    ("witness-request", witness_request), ("tiles", tiles), ("checkpoint-file", checkpoint_file),
    ("export-head", export_head),
]
SELECTOR = {name: index for index, (name, _) in enumerate(TARGETS)}


def one_input(data: bytes) -> None:
    """Feed ``data[1:]`` to the target ``data[0]`` picks; a clear refusal is the right answer
    to bad input, anything else propagates (a crash)."""
    if not data:
        return
    _, target = TARGETS[data[0] % len(TARGETS)]
    with contextlib.suppress(LedgerError, Refused):
        target(data[1:])
