"""Write the fuzzers' seed corpus: valid inputs for every target of ``fuzz/targets.py``, made by
the ledger itself from the example records and the publisher's pages.

Run: ``python fuzz/seeds.py FOLDER`` (``make fuzz`` does). Each file is one input: the byte that
picks its target, then what that target reads. ``seeds()`` returns them for the tests.
"""

from __future__ import annotations

import io
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import orjson

from fuzz.targets import (
    CONTRACT_NAMES,
    COSIGNER_KEY,
    COSIGNER_VKEY,
    NOW,
    SELECTOR,
    SEPARATOR,
    SIGNER,
    SIGNER_KEY,
    TILES_HEADER,
    VERIFIER_KEY,
)
from ledger.api import Ledger
from ledger.core.cosignature import cosign, parse_cosigner
from ledger.core.note import signature_lines
from ledger.ops.proofs import checkpoint_of_note, tlog_proof
from ledger.ops.tiles import WIDTH, tile_index, tile_path

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "examples" / "pages").glob("*.txt"))
RECORDS = ROOT / "examples" / "records"


def seeds() -> Iterator[tuple[str, bytes]]:
    """Yield (target name, input after its selector byte) for every seed."""
    for page in PAGES:
        yield "page", page.read_bytes()
    for key in (SIGNER_KEY, VERIFIER_KEY, COSIGNER_KEY, COSIGNER_VKEY):
        yield "keys", key.encode()
    yield "logs", f"# the logs this witness cosigns\nlog {VERIFIER_KEY}\n".encode()
    with tempfile.TemporaryDirectory() as tmp:
        yield from _from_a_ledger(Path(tmp))


def _from_a_ledger(tmp: Path) -> Iterator[tuple[str, bytes]]:
    """The seeds a ledger of the example records makes: payloads, lines, checkpoints, bundles,
    proofs, a witness's request and cosignature, tiles."""
    with Ledger.create(tmp / "seeds.db", clock=lambda: NOW) as ledger:
        ledger.import_pages([(p.name, p.read_bytes()) for p in PAGES], "fuzz")
        for name in sorted(RECORDS.glob("*.json")):
            doc = orjson.loads(name.read_bytes())
            contract = ("gate-evaluation-v1" if name.name.startswith("gate")
                        else "source-provenance-v1" if ".provenance" in name.name
                        else "paper-manifest-v1.1")
            ledger.submit(contract, doc, "fuzz")
        first_note, _ = ledger.checkpoint(SIGNER)
        ledger.submit("correction-record-v1", {
            "record_id": "SRCH:03BE3A05", "kind": "correction", "notice_id": "FUZZ-1",
            "reason": "Score typo", "changes": [{"path": "/review_score",
                                                 "value": 9.1}]}, "fuzz")
        ledger.submit("correction-record-v1", {
            "record_id": "SRCH:03BE3A05", "kind": "clarification", "notice_id": "FUZZ-3",
            "doi": "10.5555/fuzz.3", "url": "https://publisher.example/n/FUZZ-3"}, "fuzz")
        for rid in ("SRCH:03BE3A05", "SRCH:7BAC9D19"):  # pages as `render` writes them
            for fmt in ("text", "md"):
                yield "page", ledger.render(rid, fmt).encode()
        ledger.purge({"record_id": "SRCH:BF3DD431", "kind": "removal", "reason": "Court order",
                      "notice_id": "FUZZ-2"}, "fuzz")
        note, _ = ledger.checkpoint(SIGNER)
        yield "note", note.encode()
        yield "checkpoint", note.encode()
        for event in ledger.events():
            yield "tlog-proof", tlog_proof(ledger.prove(event.seq), note).encode()
            payload = orjson.loads(event.payload_json)
            if '"withheld":' in event.payload_json:  # a purged payload: no contract's
                continue
            if event.contract in CONTRACT_NAMES:
                yield "contract", bytes([CONTRACT_NAMES.index(event.contract)]) + event.payload_json.encode()
            yield "jsonl", orjson.dumps({"contract": event.contract, "payload": payload,
                                         "actor": event.actor})
        for record in ("SRCH:03BE3A05", "SRCH:BF3DD431", "SRCH:7BAC9D19"):
            yield "bundle", orjson.dumps(ledger.bundle(record, note))
        yield from _kept_files(ledger, note)
        yield from _exports(ledger)
        yield from _witnessed(ledger, first_note, note)
        yield from _tiles(ledger, note, tmp / "tiles")


def _kept_files(ledger: Ledger, note: str) -> Iterator[tuple[str, bytes]]:
    """What --checkpoint reads: the note, and the files that hold one (a tlog-proof, a bundle
    and its site script, a monitor's state file)."""
    shown = checkpoint_of_note(note)
    bundle = orjson.dumps(ledger.bundle("SRCH:03BE3A05", note))
    yield "checkpoint-file", note.encode()
    yield "checkpoint-file", tlog_proof(ledger.prove(1), note).encode()
    yield "checkpoint-file", bundle
    yield "checkpoint-file", b"globalThis.LedgerBundle = " + bundle + b";\n"
    yield "checkpoint-file", orjson.dumps({"origin": shown.origin, "size": shown.size,
                                            "root": shown.root.hex(), "frontier": [],
                                            "note": note})


def _exports(ledger: Ledger) -> Iterator[tuple[str, bytes]]:
    """What --extends reads of an export: each format that names its head."""
    for fmt in ("json", "jsonl", "csv", "crossref-xml", "crossref-json"):
        out = io.BytesIO()
        ledger.export(out, fmt)
        yield "export-head", out.getvalue()


def _witnessed(ledger: Ledger, first_note: str, note: str) -> Iterator[tuple[str, bytes]]:
    """A witness's add-checkpoint requests (from size 0, and from the first checkpoint with its
    consistency proof), and a policy with the checkpoint it cosigned."""
    old = checkpoint_of_note(first_note).size
    yield "witness-request", b"old 0\n\n" + note.encode()
    proof = ledger.consistency(old)["proof"]
    yield "witness-request", (f"old {old}\n" + "".join(f"{h}\n" for h in proof) + "\n"
                              + note).encode()
    body, _ = signature_lines(note)
    cosigned = note + cosign(parse_cosigner(COSIGNER_KEY), body, int(NOW.timestamp()))
    policy = (f"log {VERIFIER_KEY}\nwitness w1 {COSIGNER_VKEY} https://witness.fuzz.example\n"
              "quorum w1\n")
    yield "policy", policy.encode() + SEPARATOR + cosigned.encode()


def _tiles(ledger: Ledger, note: str, out: Path) -> Iterator[tuple[str, bytes]]:
    """The log's first entry bundle, its level-0 tile and its members, as ``monitor`` reads them."""
    size = ledger.tiles(out, note=note).size
    width = min(WIDTH, size)
    entries = (out / tile_path("entries", 0, width)).read_bytes()
    tile = (out / tile_path(0, 0, width)).read_bytes()
    members = (out / "members" / f"{tile_index(0)}.json").read_bytes()
    yield "tiles", TILES_HEADER.pack(width, len(entries), len(tile)) + entries + tile + members


def main(folder: str) -> None:
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    for number, (target, data) in enumerate(seeds()):
        (out / f"{target}-{number:03d}").write_bytes(bytes([SELECTOR[target]]) + data)


if __name__ == "__main__":
    main(sys.argv[1])
