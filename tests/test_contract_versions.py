"""New contract versions beside the published ones: `paper-manifest-v1.2` (a record's DOI) and
`correction-record-v1.1` (a notice's DOI and URL, reason codes from a controlled vocabulary).

A published version is never changed and stays accepted: what an older version can say is still
stored in it, byte for byte; only a payload that uses a new key is stored in the new version.
"""

from __future__ import annotations

import csv
import io
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from ledger.model.contracts import CONTRACTS, REASON_CODES, contract_version
from tests.conftest import Cli, manifest


def contracts(cli: Cli) -> list[tuple[int, str]]:
    with sqlite3.connect(cli.db) as conn:
        return [(int(s), str(c)) for s, c in conn.execute("SELECT seq, contract FROM events")]


def test_the_oldest_version_that_has_every_key_is_chosen() -> None:
    assert contract_version("paper-manifest-v1.1", manifest()) == "paper-manifest-v1.1"
    assert contract_version("paper-manifest-v1.1", manifest(doi="10.1/x")) == "paper-manifest-v1.2"
    assert contract_version("paper-manifest-v1.2", manifest()) == "paper-manifest-v1.2"
    assert contract_version("correction-record-v1", {"url": "https://x"}) == "correction-record-v1.1"
    assert contract_version("correction-record-v1", {"nope": 1}) == "correction-record-v1.1"
    assert contract_version("gate-evaluation-v1", {"doi": 1}) == "gate-evaluation-v1"
    # the published versions are unchanged: no key was added to them
    assert "doi" not in CONTRACTS["paper-manifest-v1.1"].model_fields
    assert not {"doi", "url"} & CONTRACTS["correction-record-v1"].model_fields.keys()


def test_a_record_doi_and_a_notice_doi_land_in_the_new_versions(
        cli: Cli, published: Callable[..., str]) -> None:
    published("SRCH:0000000A")  # no DOI: still paper-manifest-v1.1
    published("SRCH:0000000B", doi="10.5555/rec.b")
    free = cli("correct", "SRCH:0000000A", "--kind", "expression_of_concern", "--reason", "r",
               "--reason-code", "any words", "--reason-code", "fabricatoin",
               "--reason-code", "fabrication")
    assert free.exit_code == 0, free.output  # free codes: correction-record-v1, each one named
    assert free.stderr.splitlines() == [
        f"Warning: reason code {code} is not in the vocabulary{mean}: correction-record-v1 keeps "
        "it as free text, and exports show it as given (`ledger schema correction-record-v1.1` "
        "lists the codes)" for code, mean in (("'any words'", ""),
                                              ("'fabricatoin'", " (did you mean fabrication?)"))]
    done = cli("correct", "SRCH:0000000B", "--kind", "retraction", "--reason", "Fabricated",
               "--reason-code", "fabrication", "--reason-code", "paper_mill",
               "--doi", "10.5555/notice.1", "--url", "https://example.org/notices/1")
    assert done.exit_code == 0, done.output
    assert contracts(cli) == [(1, "paper-manifest-v1.1"), (2, "paper-manifest-v1.2"),
                              (3, "correction-record-v1"), (4, "correction-record-v1.1")]
    shown = cli.json("show", "SRCH:0000000B")
    assert shown["manifest"]["doi"] == "10.5555/rec.b"
    assert shown["notices"][0]["doi"] == "10.5555/notice.1"
    assert shown["notices"][0]["url"] == "https://example.org/notices/1"
    assert "10.5555/rec.b" in cli("show", "SRCH:0000000B").output
    assert cli.json("verify")["ok"] and cli.json("audit")["ok"]
    assert cli("rebuild").exit_code == 0 and cli.json("audit")["ok"]


@pytest.mark.parametrize("args, says", [
    (["--doi", "https://doi.org/10.5555/x"], "not a link"),
    (["--doi", "10.55/x"], "is not a DOI"),
    (["--url", "javascript:alert(1)"], "not an http(s) URL"),
    (["--url", "https://ex.org/a b"], "not an http(s) URL"),
    (["--doi", "10.5555/x", "--reason-code", "typo"], "'typo' is not a reason code"),
])
def test_bad_identifiers_and_codes_are_refused(cli: Cli, published: Callable[..., str],
                                               args: list[str], says: str) -> None:
    published()
    before = cli.snapshot()
    result = cli("correct", "SRCH:03BE3A05", "--kind", "retraction", "--reason", "r", *args)
    assert result.exit_code == 2 and says in result.output
    assert result.output.startswith("Error: correction-record-v1.1: ")
    assert len(result.output.strip().splitlines()) == 1 and cli.snapshot() == before


def test_a_bad_record_doi_is_refused(cli: Cli) -> None:
    result = cli("publish", cli.file(manifest(doi="doi:10.5555/x")))
    assert result.exit_code == 2 and "paper-manifest-v1.2: doi:" in result.output
    assert contracts(cli) == []


def test_notice_ids_are_unique_across_versions_and_resending_is_a_no_op(
        cli: Cli, published: Callable[..., str]) -> None:
    published()
    first = ["correct", "SRCH:03BE3A05", "--kind", "expression_of_concern", "--reason", "r",
             "--notice-id", "N1", "--doi", "10.5555/n1", "--effective-date", "2026-01-02"]
    assert cli(*first).exit_code == 0
    again = cli(*first)
    assert again.exit_code == 0 and "No change" in again.output
    clash = cli("correct", "SRCH:03BE3A05", "--kind", "correction", "--reason", "r",
                "--notice-id", "N1")  # a v1 notice reusing a v1.1 notice's id
    assert clash.exit_code == 2 and "already used" in clash.output
    assert cli("correct", "SRCH:03BE3A05", "--kind", "correction", "--reason", "r",
               "--notice-id", "N2").exit_code == 0
    clash = cli("correct", "SRCH:03BE3A05", "--kind", "correction", "--reason", "r",
                "--notice-id", "N2", "--url", "https://ex.org/n2")  # and the other way round
    assert clash.exit_code == 2 and "already used" in clash.output


def test_a_ledger_made_before_the_new_versions_takes_them(cli: Cli,
                                                          published: Callable[..., str]) -> None:
    """A file made before correction-record-v1.1 has no index for its notices: it verifies, and
    the first such notice adds the index."""
    with sqlite3.connect(cli.db) as conn:
        conn.execute("DROP INDEX events_by_notice_v11")
    published()
    assert cli.json("verify")["ok"]
    assert cli("correct", "SRCH:03BE3A05", "--kind", "retraction", "--reason", "r",
               "--doi", "10.5555/n", "--notice-id", "N1").exit_code == 0
    with sqlite3.connect(cli.db) as conn:
        assert conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'events_by_notice_v11'"
                            ).fetchone() == (1,)
    assert cli.json("audit")["ok"]
    clash = cli("correct", "SRCH:03BE3A05", "--kind", "correction", "--reason", "r2",
                "--notice-id", "N1")
    assert clash.exit_code == 2 and "already used" in clash.output


def test_audit_checks_each_event_against_its_own_version(cli: Cli,
                                                         published: Callable[..., str]) -> None:
    """Relabelling a stored event's contract (triggers dropped, hash recomputed is not possible
    without the chain breaking, so verify already fails) — and a payload that a version does not
    allow is an audit finding naming the seq."""
    published(doi="10.5555/r")
    with sqlite3.connect(cli.db) as conn:
        conn.execute("DROP TRIGGER events_append_only_update")
        conn.execute("UPDATE events SET contract = 'paper-manifest-v1.1' WHERE seq = 1")
    report = cli("audit", "--json")
    assert report.exit_code == 1
    assert '"first_bad_seq": 1' in report.output or '"seq": 1' in report.output


def test_exports_carry_the_identifiers(cli: Cli, published: Callable[..., str],
                                       tmp_path: Path) -> None:
    published(doi="10.5555/rec")
    assert cli("correct", "SRCH:03BE3A05", "--kind", "retraction", "--reason", "Image duplicated",
               "--reason-code", "image_manipulation", "--reason-code", "error_in_image",
               "--doi", "10.5555/ret", "--url", "https://example.org/ret",
               "--notice-id", "X1", "--effective-date", "2026-07-03").exit_code == 0
    rows = list(csv.DictReader(io.StringIO(cli("export", "--format", "retraction-watch-csv").stdout)))
    assert len(rows) == 1
    row = rows[0]
    assert row["RetractionDOI"] == "10.5555/ret" and row["URLS"] == "https://example.org/ret"
    assert row["OriginalPaperDOI"] == "10.5555/rec"
    # "+Reason;" as the Retraction Watch database writes it; a cell starting with + is neutralised
    assert row["Reason"] == "'+Manipulation of Images;+Error in Image;"
    items = orjson.loads(cli("export", "--format", "crossref-json").stdout)["message"]["items"]
    assert items[0]["DOI"] == "10.5555/ret" and items[0]["URL"] == "https://example.org/ret"
    assert items[0]["update-to"][0]["DOI"] == "10.5555/rec"
    root = ET.fromstring(cli("export", "--format", "crossref-xml").stdout_bytes)
    notice = root.find("notice")
    assert notice is not None and notice.get("notice_doi") == "10.5555/ret"
    assert notice.findtext("crossmark/updates/update") == "10.5555/rec"


def test_every_code_has_a_label_and_is_in_the_schema() -> None:
    schema = orjson.loads((Path(__file__).parent.parent / "schemas"
                           / "correction-record-v1.1.json").read_bytes())
    assert schema["properties"]["reason_codes"]["items"]["enum"] == list(REASON_CODES)
    assert all(label.strip() for label in REASON_CODES.values())
    docs = (Path(__file__).parent.parent / "docs" / "contracts.md").read_text()
    assert all(f"`{code}`" in docs for code in REASON_CODES)


def test_bulk_lines_may_name_either_version(cli: Cli, tmp_path: Path) -> None:
    def line(contract: str, payload: dict[str, Any]) -> bytes:
        return orjson.dumps({"contract": contract, "payload": payload}) + b"\n"

    notice = {"record_id": "SRCH:03BE3A05", "kind": "correction", "reason": "r",
              "notice_id": "N1", "reason_codes": ["not in the vocabulary"]}
    source = tmp_path / "in.jsonl"
    source.write_bytes(line("paper-manifest-v1.1", manifest(doi="10.5555/r"))
                       + line("correction-record-v1.1", notice))
    refused = cli("append", "--jsonl", str(source))
    assert refused.exit_code == 2 and "LINE 2" in refused.output and "reason code" in refused.output
    source.write_bytes(line("paper-manifest-v1.1", manifest(doi="10.5555/r"))
                       + line("correction-record-v1", notice))
    assert cli("append", "--jsonl", str(source)).exit_code == 0
    assert contracts(cli) == [(1, "paper-manifest-v1.2"), (2, "correction-record-v1")]
    again = cli.json("append", "--jsonl", str(source))  # a re-run skips what was committed
    assert again["appended"] == 0


def test_a_purge_keeps_the_identifiers(cli: Cli, published: Callable[..., str]) -> None:
    published(doi="10.5555/rec")
    assert cli("correct", "SRCH:03BE3A05", "--kind", "expression_of_concern", "--reason", "r",
               "--doi", "10.5555/eoc", "--reason-code", "concerns_about_data").exit_code == 0
    done = cli("correct", "SRCH:03BE3A05", "--kind", "removal", "--reason", "Court order",
               "--purge")
    assert done.exit_code == 0, done.output
    shown = cli.json("show", "SRCH:03BE3A05")
    assert shown["manifest"]["doi"] == "10.5555/rec"
    eoc = shown["notices"][0]
    assert eoc["doi"] == "10.5555/eoc" and "withheld" in eoc["reason_codes"]
    assert cli.json("verify")["ok"] and cli.json("audit")["ok"]


def test_a_dropped_notice_index_hides_no_duplicate(cli: Cli, published: Callable[..., str]) -> None:
    """Someone with the file drops the index correction-record-v1.1 notices are found by, with
    plain sqlite3: audit names the v1.1 notice in a file without it; an append makes the index
    again inside its own transaction, so a reused notice id is still refused."""
    published()
    assert cli("correct", "SRCH:03BE3A05", "--kind", "expression_of_concern", "--reason", "r",
               "--notice-id", "N1", "--doi", "10.5555/n1").exit_code == 0
    with sqlite3.connect(cli.db) as conn:
        conn.execute("DROP INDEX events_by_notice_v11")
    assert cli.json("verify")["ok"]  # an optional index: a file made before v1.1 has none
    report = cli("audit", "--json")
    assert report.exit_code == 1 and "without the index events_by_notice_v11" in report.stdout
    clash = cli("correct", "SRCH:03BE3A05", "--kind", "correction", "--reason", "r2",
                "--notice-id", "N1")
    assert clash.exit_code == 2 and "already used" in clash.stderr
    assert cli("correct", "SRCH:03BE3A05", "--kind", "correction", "--reason", "r3",
               "--notice-id", "N2").exit_code == 0
    assert cli.json("audit")["ok"]  # the append (committed, unlike the refused one) made it again
