"""Re-sending the same thing is a no-op (exit 0, says so, writes nothing)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import Cli, manifest, provenance

RID = "SRCH:03BE3A05"


def no_op(cli: Cli, *args: str) -> None:
    before = cli.snapshot()
    result = cli(*args)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("No change:"), result.output
    assert cli.snapshot() == before


def test_same_manifest_provenance_notice_gate(
    cli: Cli, published: Callable[..., str], tmp_path: Path,
) -> None:
    published()
    no_op(cli, "publish", cli.file(manifest()))
    no_op(cli, "publish", cli.file(manifest("srch:03be3a05")))
    cli("provenance", cli.file(provenance(claim_lineage=3)))
    no_op(cli, "provenance", cli.file(provenance(claim_lineage=3)))
    args = ("correct", RID, "--kind", "correction", "--reason", "typo", "--set", "/review_score=9.1")
    assert cli(*args).exit_code == 0
    no_op(cli, *args)  # a generated notice id is derived from the content
    assert cli("correct", RID, "--kind", "retraction", "--reason", "x", "--notice-id", "R1").exit_code == 0
    no_op(cli, "correct", RID, "--kind", "retraction", "--reason", "x", "--notice-id", "R1")
    gate = ("gate", RID, "--gate", "2", "--status", "UNVERIFIED", "--reason", "not yet")
    assert cli(*gate).exit_code == 0
    no_op(cli, *gate)
    assert cli.json("show", RID)["correction_count"] == 2


def test_an_older_evaluation_sent_again_is_a_new_event(cli: Cli, published: Callable[..., str]) -> None:
    published()
    first = ("gate", RID, "--gate", "2", "--status", "UNVERIFIED", "--reason", "a")
    assert cli(*first).exit_code == 0
    assert cli("gate", RID, "--gate", "2", "--status", "FAILED", "--reason", "b").exit_code == 0
    result = cli(*first)
    assert result.output.startswith("Appended")
    assert cli.json("show", RID)["gates"][0]["status"] == "UNVERIFIED"


def test_json_output_of_writes(cli: Cli, published: Callable[..., str]) -> None:
    published()
    out = cli.json("correct", RID, "--kind", "addendum", "--notice-id", "A1")
    assert out["appended"] is True and out["event"]["seq"] == 2
    again = cli.json("correct", RID, "--kind", "addendum", "--notice-id", "A1")
    assert again["appended"] is False and again["event"] is None
