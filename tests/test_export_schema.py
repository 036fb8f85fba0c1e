"""The published schemas of the export (``schemas/provenance-ledger-export-v1.json``) and of the
bundle (``provenance-ledger-bundle-v1.json``) hold for what the ledger writes: every export
(``json`` and each ``jsonl`` line), ``show --json`` and bundle (against a checkpoint before the
purges and one after) of generated histories, removals with purges and v1.1 notices among them,
validated by an independent JSON Schema validator (``jsonschema``) and by the models they are
generated from."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any, get_args

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from ledger.api import Ledger
from ledger.core.note import parse_signer
from ledger.errors import RefusedInput
from ledger.model import exported
from ledger.model.contracts import MANIFEST_CONTRACTS, NOTICE_CONTRACTS
from ledger.model.exported import Bundle, Export, ExportHeader, RecordState
from ledger.model.labels import PROVENANCE_LABELS, VERIFICATION_LABELS
from ledger.model.state import STATUS_ORDER, WITHHELD_VALUE
from ledger.ops import export
from ledger.ops.bundle import BUNDLE_FORMAT
from ledger.ops.keys import generate
from tests.conftest import Cli, clock, manifest, provenance
from tests.test_views_property import RIDS, operations

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
SCHEMA = orjson.loads((SCHEMAS / "provenance-ledger-export-v1.json").read_bytes())
DOCUMENT = Draft202012Validator(SCHEMA)
# A jsonl line, or `show --json`'s object: one of the schema's definitions, as a reader refers to
# it (`provenance-ledger-export-v1.json#/$defs/RecordState`)
HEADER = Draft202012Validator({"$defs": SCHEMA["$defs"], "$ref": "#/$defs/ExportHeader"})
RECORD = Draft202012Validator({"$defs": SCHEMA["$defs"], "$ref": "#/$defs/RecordState"})
BUNDLE = Draft202012Validator(orjson.loads((SCHEMAS / "provenance-ledger-bundle-v1.json").read_bytes()))
SIGNER = parse_signer(generate("example.org/log")[0])


def _valid(validator: Draft202012Validator, instance: Any) -> None:
    errors = sorted(validator.iter_errors(instance), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


def check_exports(ledger: Ledger) -> None:
    """Validate the ledger's export in ``json`` and ``jsonl`` (and each record as ``show``
    gives it) against the schema and the models."""
    out = io.BytesIO()
    ledger.export(out, "json")
    document = orjson.loads(out.getvalue())
    _valid(DOCUMENT, document)
    Export.model_validate(document, strict=True)
    out = io.BytesIO()
    ledger.export(out, "jsonl")
    header, *records = map(orjson.loads, out.getvalue().splitlines())
    _valid(HEADER, header["header"])
    ExportHeader.model_validate(header["header"], strict=True)
    for record in records:
        _valid(RECORD, record)
        RecordState.model_validate(record, strict=True)
    assert records == document["records"]
    half = document["header"]["head_seq"] // 2  # the past, and what changed since it
    for as_of, since in ((half, None), (None, half)):
        out = io.BytesIO()
        ledger.export(out, "json", as_of, since=since)
        _valid(DOCUMENT, orjson.loads(out.getvalue()))


removal = st.builds(lambda r, fields: ("purge", {"record_id": r, "kind": "removal",
                                                 "reason": "court order"}, fields),
                    st.sampled_from(RIDS), st.sampled_from([(), ("abstract", "reason")]))
notice_v11 = st.builds(lambda r, n, codes: ("correction-record-v1.1", {
    "record_id": r, "kind": "clarification", "notice_id": f"C{n}", "reason": "why",
    "reason_codes": codes, "doi": f"10.5555/c.{n}", "url": f"https://example.org/{n}"}),
    st.sampled_from(RIDS), st.integers(0, 3), st.sampled_from([["other"], ["error_in_data"]]))
histories = st.tuples(operations, st.lists(st.one_of(removal, removal, notice_v11), max_size=4),
                      st.lists(st.tuples(st.sampled_from(RIDS), st.sampled_from(
                          [("correction", "/title", "Retitled"), ("correction", "/note", "n")])),
                          max_size=3))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories)
def test_every_export_of_a_generated_history_meets_the_published_schema(
        history: tuple[list[Any], list[Any], list[Any]]) -> None:
    ops, more, corrections = history
    with tempfile.TemporaryDirectory() as tmp, Ledger.create(Path(tmp) / "l.db", clock) as ledger:
        for rid in RIDS:  # every record exists: the notices and purges that follow take hold
            ledger.submit("paper-manifest-v1.1", manifest(rid), "prop")
        for contract, payload in ops:
            try:
                ledger.submit(contract, payload, "prop")
            except RefusedInput:
                continue
        for n, (rid, (kind, path, value)) in enumerate(corrections):
            try:  # a correction a later purge withholds: the members it set read as withheld
                ledger.submit("correction-record-v1", {
                    "record_id": rid, "kind": kind, "notice_id": f"K{n}", "reason": "typo",
                    "changes": [{"path": path, "value": value}]}, "prop")
            except RefusedInput:
                continue
        before, _ = ledger.checkpoint(SIGNER)  # the purges below are after it
        for item in more:
            try:
                if item[0] == "purge":
                    ledger.purge(item[1], "prop", item[2])
                else:
                    ledger.submit(item[0], item[1], "prop")
            except RefusedInput:
                continue
        check_exports(ledger)
        after, _ = ledger.checkpoint(SIGNER)
        for note in (before, after):  # each record's bundle, its state as of that checkpoint
            for rid in RIDS:
                bundle = orjson.loads(orjson.dumps(ledger.bundle(rid, note)))
                _valid(BUNDLE, bundle)
                Bundle.model_validate(bundle, strict=True)


def test_the_export_of_a_removed_record_and_every_show_meet_the_schema(cli: Cli) -> None:
    """A record with a DOI, provenance at L4, a verified gate, notices of both versions, a
    correction and a removal that purged it; `show --json` of each record, and the export."""
    cli("publish", cli.file({**manifest("SRCH:0000000A"), "doi": "10.5555/a.1"}))
    cli("publish", cli.file(manifest("SRCH:0000000B")))
    cli("provenance", cli.file(provenance("SRCH:0000000A", external_record={
        "registered": True, "identifier": "10.5281/zenodo.1"})))
    artifact = cli.file({"rows": 1})
    assert cli("gate", "SRCH:0000000A", "--gate", "2", "--status", "VERIFIED", "--reason",
               "reproduced", "--artifact", str(artifact), "--evaluator", "lab").exit_code == 0
    assert cli("correct", "SRCH:0000000A", "--kind", "correction", "--reason", "typo",
               "--set", "/review_score=7.5").exit_code == 0
    assert cli("correct", "SRCH:0000000B", "--kind", "expression_of_concern", "--reason", "?",
               "--notice-id", "E1").exit_code == 0
    assert cli("correct", "SRCH:0000000B", "--kind", "reinstatement", "--reason", "ok",
               "--lifts", "E1").exit_code == 0
    assert cli("correct", "SRCH:0000000A", "--kind", "removal", "--reason", "court order",
               "--purge").exit_code == 0
    for rid in ("SRCH:0000000A", "SRCH:0000000B"):
        shown = cli.json("show", rid)
        _valid(RECORD, shown)
        RecordState.model_validate(shown, strict=True)
    document = orjson.loads(cli("export").stdout)
    _valid(DOCUMENT, document)
    removed = document["records"][0]
    assert removed["status"] == "REMOVED" and removed["verification_level"] == "WITHHELD"
    withheld = [removed["manifest"]["abstract"], removed["manifest"]["review_score"],
                removed["gates"][0]["reason"], removed["notices"][0]["changes"],
                removed["provenance"]["review_method"]]
    assert all(set(value) == {"withheld"} for value in withheld), withheld
    assert removed["manifest"]["doi"] == "10.5555/a.1"


def test_the_schema_names_the_format_and_the_words_the_ledger_writes() -> None:
    """The schema's vocabularies are the fold's and the export's own (one home each), and it
    shows every contract version a record can hold: a new one is a new export format."""
    assert exported.MANIFEST_VERSIONS == MANIFEST_CONTRACTS and exported.NOTICE_VERSIONS == \
        NOTICE_CONTRACTS, "a new contract version: publish provenance-ledger-export-v2 for it"
    assert get_args(ExportHeader.model_fields["format"].annotation) == (export.EXPORT_FORMAT,)
    assert get_args(Bundle.model_fields["format"].annotation) == (BUNDLE_FORMAT,)
    assert get_args(exported.Status) == STATUS_ORDER
    assert set(get_args(exported.VerificationLevel)) == {*VERIFICATION_LABELS, WITHHELD_VALUE}
    assert set(get_args(exported.ProvenanceLevel)) == {*PROVENANCE_LABELS, WITHHELD_VALUE}


@pytest.mark.parametrize("edit", [
    lambda r: r.update(status="RESCINDED"),
    lambda r: r.update(extra=1),
    lambda r: r["last_event"].update(hash="XYZ"),
    lambda r: r["notices"].append({"notice_id": "N"}),
    lambda r: r["manifest"].update(record_id={"withheld": {}}),
])
def test_the_schema_refuses_what_the_ledger_never_writes(cli: Cli, edit: Any) -> None:
    """The schema is not a tautology: a record object edited into what no export holds fails."""
    cli("publish", cli.file(manifest()))
    record = cli.json("show", "SRCH:03BE3A05")
    _valid(RECORD, record)
    edit(record)
    assert list(RECORD.iter_errors(record))


@pytest.mark.parametrize("edit", [
    lambda b: b.update(format="provenance-ledger-bundle-v2"),
    lambda b: b["events"][0].update(proof=["not base64"]),
    lambda b: b["events"][0]["event"].update(hash="ab"),
    lambda b: b["state"]["manifest"].update(abstract={"withheld": {"after_checkpoint": -1}}),
    lambda b: b.update(events=[]),
])
def test_the_bundle_schema_refuses_what_the_ledger_never_writes(cli: Cli, tmp_path: Path,
                                                                 edit: Any) -> None:
    key = tmp_path / "pub.key"
    assert cli("keygen", "example.org/log", "-o", str(key)).exit_code == 0
    cli("publish", cli.file(manifest()))
    cli("correct", "SRCH:03BE3A05", "--kind", "addendum", "--reason", "more")
    note = tmp_path / "checkpoint.txt"
    assert cli("checkpoint", "--key", str(key), "-o", str(note)).exit_code == 0
    bundle = orjson.loads(cli("bundle", "SRCH:03BE3A05", "--checkpoint", str(note)).stdout)
    _valid(BUNDLE, bundle)
    edit(bundle)
    assert list(BUNDLE.iter_errors(bundle))
