"""Derived state through the real CLI: status precedence, reinstatement, changes, levels, gates."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Cli, manifest, provenance

RID = "SRCH:03BE3A05"


def notice(cli: Cli, kind: str, nid: str, *extra: str) -> None:
    result = cli("correct", RID, "--kind", kind, "--notice-id", nid, "--reason", f"r {nid}", *extra)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Appended seq")


@pytest.mark.parametrize(("kinds", "status"), [
    ([], "CURRENT"),
    (["addendum", "clarification"], "CURRENT"),
    (["correction"], "CORRECTED"),
    (["partial_retraction"], "CORRECTED"),
    (["expression_of_concern", "correction"], "UNDER_CONCERN"),
    (["withdrawal", "expression_of_concern"], "WITHDRAWN"),
    (["correction", "retraction", "withdrawal"], "RETRACTED"),
    (["retraction", "removal", "correction"], "REMOVED"),
])
def test_the_most_severe_notice_in_force_wins(
    cli: Cli, published: Callable[..., str], kinds: list[str], status: str,
) -> None:
    published()
    for i, kind in enumerate(kinds):
        notice(cli, kind, f"N{i}")
    shown = cli.json("show", RID)
    assert shown["status"] == status
    assert shown["correction_count"] == len(kinds)


def test_reinstatement_lifts_a_notice(cli: Cli, published: Callable[..., str]) -> None:
    published()
    notice(cli, "expression_of_concern", "EOC-1")
    notice(cli, "retraction", "RET-1")
    assert cli.json("show", RID)["status"] == "RETRACTED"
    notice(cli, "reinstatement", "REI-1", "--lifts", "RET-1")
    shown = cli.json("show", RID)
    assert shown["status"] == "UNDER_CONCERN"
    assert shown["correction_count"] == 3
    lifted = {n["notice_id"]: n for n in shown["notices"]}["RET-1"]
    assert (lifted["in_force"], lifted["lifted_by"]) == (False, "REI-1")
    notice(cli, "reinstatement", "REI-2", "--lifts", "EOC-1")
    assert cli.json("show", RID)["status"] == "CURRENT"


def test_lifting_a_notice_twice_or_an_unknown_one_is_refused(
    cli: Cli, published: Callable[..., str],
) -> None:
    """Refused, naming the notices a reinstatement could lift (or that there are none)."""
    published()
    notice(cli, "retraction", "RET-1")
    notice(cli, "reinstatement", "REI-1", "--lifts", "RET-1")
    before = cli.snapshot()
    for lifts in ("RET-1", "NOPE", "REI-1"):
        result = cli("correct", RID, "--kind", "reinstatement", "--reason", "x", "--lifts", lifts)
        assert result.exit_code == 2
        assert "names no notice in force" in result.stderr
        assert "nothing is in force there to lift" in result.stderr
    assert cli.snapshot() == before
    notice(cli, "expression_of_concern", "EOC-1")
    unnamed = cli("correct", RID, "--kind", "reinstatement", "--reason", "x")
    assert unnamed.exit_code == 2 and "must name the notice it lifts (`--lifts`" in unnamed.stderr
    assert "in force: EOC-1 (expression_of_concern, seq " in unnamed.stderr, unnamed.stderr


def test_correction_changes_apply_to_the_current_manifest(cli: Cli, published: Callable[..., str]) -> None:
    published()
    notice(cli, "correction", "C1", "--set", "/review_score=7.5", "--set", "/quality/tier=DOI grade",
           "--set", "/quality/dimensions/citation_grounding=\"HIGH\"")
    shown = cli.json("show", RID)
    assert shown["manifest"]["review_score"] == 7.5
    assert shown["quality_tier"] == "DOI grade"
    assert shown["manifest"]["quality"]["dimensions"]["citation_grounding"] == "HIGH"
    assert shown["version"] == 1
    notice(cli, "correction", "C2", "--set", "/source_grounded_claims=0")
    assert cli.json("show", RID)["verification_level"] == "L1"


def test_a_new_version_replaces_the_corrected_manifest(cli: Cli, published: Callable[..., str]) -> None:
    published()
    notice(cli, "correction", "C1", "--set", "/review_score=7.5")
    result = cli("publish", cli.file(manifest(review_score=8.0, title="Revised title")))
    assert "record.revised" in result.output
    shown = cli.json("show", RID)
    assert (shown["version"], shown["manifest"]["review_score"]) == (2, 8.0)
    assert shown["status"] == "CORRECTED"  # the notice stays in force
    versions = [e["type"] for e in cli.json("history", RID)]
    assert versions == ["record.published", "notice.issued", "record.revised"]


def test_verification_level_follows_source_grounded_claims(published: Callable[..., str], cli: Cli) -> None:
    published("SRCH:00000001", source_grounded_claims=0)
    published("SRCH:00000002", source_grounded_claims=3)
    assert cli.json("show", "SRCH:00000001")["verification_level"] == "L1"
    assert cli.json("show", "SRCH:00000002")["verification_level"] == "L2"


@pytest.mark.parametrize(("facts", "level"), [
    ({}, "L1"),
    ({"report_artifact": {"available": True}}, "L2"),
    ({"report_artifact": {"available": True}, "claim_lineage": 4}, "L3"),
    ({"claim_lineage": 4}, "L3"),
    ({"external_record": {"registered": True, "identifier": "10.5281/zenodo.1"}}, "L4"),
])
def test_provenance_level(
    cli: Cli, published: Callable[..., str], facts: dict[str, object], level: str,
) -> None:
    published()
    assert cli.json("show", RID)["provenance_level"] == "L1"
    result = cli("provenance", cli.file(provenance(**facts)))
    assert result.exit_code == 0, result.output
    assert cli.json("show", RID)["provenance_level"] == level


def test_latest_provenance_wins(cli: Cli, published: Callable[..., str]) -> None:
    published()
    cli("provenance", cli.file(provenance(claim_lineage=5)))
    cli("provenance", cli.file(provenance(report_artifact={"available": True})))
    shown = cli.json("show", RID)
    assert shown["provenance_level"] == "L2"
    assert shown["provenance"]["claim_lineage"] == 0


def test_gates_show_latest_verdict_and_not_evaluated(
    cli: Cli, published: Callable[..., str], tmp_path: Path,
) -> None:
    published()
    gates = cli.json("show", RID)["gates"]
    assert gates == [{"gate": 2, "name": "Verification (formal proof or sandbox reproduction)",
                      "status": "NOT_EVALUATED", "evaluated": False}]
    assert cli("gate", RID, "--gate", "2", "--status", "UNVERIFIED", "--reason", "not yet").exit_code == 0
    script = tmp_path / "repro.py"
    script.write_text("print('ok')\n")
    result = cli("gate", RID, "--gate", "2", "--status", "VERIFIED", "--reason", "reproduced",
                 "--artifact", str(script), "--independent", "--evaluator", "lab")
    assert result.exit_code == 0, result.output
    assert cli("gate", RID, "--gate", "3", "--status", "FAILED", "--reason", "no").exit_code == 0
    by_gate = {g["gate"]: g for g in cli.json("show", RID)["gates"]}
    assert by_gate[2]["status"] == "VERIFIED"
    assert by_gate[2]["independent"] is True
    artifact = by_gate[2]["artifacts"][0]
    assert artifact["kind"] == "repro-script"
    assert artifact["sha256"] == hashlib.sha256(b"print('ok')\n").hexdigest()
    # named by its file name: the path on the editor's machine is not published for good
    assert artifact["uri"] == "repro.py" and str(tmp_path) not in cli("log", "--json").stdout
    assert by_gate[3]["status"] == "FAILED"


def test_record_ids_are_accepted_in_any_case(cli: Cli) -> None:
    assert cli("publish", cli.file(manifest("srch:03be3a05"))).exit_code == 0
    assert cli.json("show", "Srch:03bE3a05")["record_id"] == RID
    assert cli.json("history", RID)[0]["record_id"] == RID
