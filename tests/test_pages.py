"""Importing the publisher's pages (both layouts) and rendering them back."""

from __future__ import annotations

import datetime as dt
import html
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.api import Ledger
from ledger.model.contracts import REASON_CODES
from ledger.pages.render import render_markdown, render_text
from ledger.pages.webpage import escape, render_html
from tests.conftest import Cli, clock

PAGES = Path(__file__).parent.parent / "examples" / "pages"
FULL, COMPACT, LOW = (PAGES / n for n in ("000_6a6e253d29ffe78a.txt", "002_7df1a24f41d7424d.txt",
                                          "003_6582de6e70ee99bb.txt"))


def test_every_fact_of_a_full_page_comes_back(cli: Cli) -> None:
    result = cli("import", str(FULL))
    assert result.exit_code == 0 and "3 event(s) appended" in result.stdout
    shown = cli.json("show", "SRCH:03BE3A05")
    m, p = shown["manifest"], shown["provenance"]
    assert m["title"].endswith("FLOPs per token efficiency on")
    assert m["submitted"] == "2026-05-28" and m["review_score"] == 9.33
    assert m["abstract"].startswith("Abstract: We present DeepSeek-V2") and m["abstract"].endswith("DeepSe")
    assert m["research_question"].endswith("on code generation tasks?")
    assert (m["source_grounded_claims"], m["claim_record_source"]) == (10, "not publicly specified")
    assert m["quality"] == {"tier": "Flagship candidate", "basis": (
        "Review score, verified-claim count, and public artifact coverage meet flagship-candidate "
        "thresholds."), "dimensions": {"evidence_strength": "MEDIUM", "citation_grounding": "MEDIUM",
                                       "uncertainty_disclosure": "MEDIUM", "reproducibility_status": "HIGH"}}
    assert m["note"] == "Machine-generated synthesis of existing literature. Not primary research."
    assert p == {"record_id": "SRCH:03BE3A05", "publisher": "Assignee Research",
                 "report_artifact": {"available": True},
                 "external_record": {"registered": True, "identifier": "10.5281/zenodo.20435649"},
                 "claim_lineage": 10, "review_method": "Automated multi-reviewer assessment"}
    gate = shown["gates"][0]
    assert (gate["gate"], gate["status"]) == (2, "UNVERIFIED")
    assert gate["evaluated_at"] == "2026-06-10T06:30:49+00:00"
    assert gate["name"] == "Verification (formal proof or sandbox reproduction)"
    assert gate["reason"].startswith("Published before the Gate 2 verification pipeline")
    levels = (shown["verification_level"], shown["provenance_level"], shown["status"])
    assert levels == ("L2", "L4", "CURRENT")


def test_compact_page(cli: Cli) -> None:
    assert cli("import", str(COMPACT)).exit_code == 0
    shown = cli.json("show", "SRCH:BF3DD431")
    assert "submitted" not in shown["manifest"] and "review_score" not in shown["manifest"]
    assert shown["manifest"]["quality"]["dimensions"]["evidence_strength"] == "LOW"
    assert shown["manifest"]["claim_record_source"] == "parsed source sections"
    assert (shown["provenance_level"], shown["verification_level"]) == ("L3", "L2")
    assert shown["gates"][0]["status"] == "NOT_EVALUATED"


def test_importing_twice_writes_nothing(cli: Cli) -> None:
    assert cli("import", str(FULL), str(COMPACT), str(LOW)).exit_code == 0
    before = cli.snapshot()
    again = cli("import", str(LOW), str(FULL), str(COMPACT))
    assert again.exit_code == 0 and "0 event(s) appended" in again.stdout
    assert cli.snapshot() == before
    assert cli("audit").exit_code == 0


def test_a_compact_page_keeps_what_it_does_not_show(cli: Cli, tmp_path: Path) -> None:
    full = FULL.read_text()
    compact = COMPACT.read_text().replace("SRCH:BF3DD431", "SRCH:03BE3A05")
    cli("import", str(FULL))
    page = tmp_path / "compact.txt"
    page.write_text(compact)
    assert cli("import", str(page)).exit_code == 0
    m = cli.json("show", "SRCH:03BE3A05")["manifest"]
    assert (m["submitted"], m["review_score"]) == ("2026-05-28", 9.33)
    assert "Submitted: 28 May 2026" in full


def test_contradictions_are_imported_with_a_warning(cli: Cli, tmp_path: Path) -> None:
    page = tmp_path / "p.txt"
    page.write_text(COMPACT.read_text().replace("| Public provenance | L3,", "| Public provenance | L4,"))
    result = cli("import", str(page))
    assert result.exit_code == 0
    assert f"Warning: {page}:30: the page states provenance level L4, the ledger derives L3" in result.stderr
    cli("correct", "SRCH:BF3DD431", "--kind", "retraction", "--reason", "x")
    stale = cli("import", str(COMPACT))
    assert "the page states correction status CURRENT, the ledger derives RETRACTED" in stale.stderr
    assert "the page states correction count 0, the ledger derives 1" in stale.stderr


@pytest.mark.parametrize(("edit", "line", "says"), [
    (lambda t: t.replace("SRCH:03BE3A05", "nothing here"), 1, "no record id"),
    (lambda t: t.replace("Review score: 9.33/10", "Review score: high"), 7, "not a number"),
    (lambda t: t.replace("Review score: 9.33/10", "Review score: 11/10"), 7, "review_score"),
    (lambda t: t.replace("Submitted: 28 May 2026", "Submitted: someday"), 6, "not a date"),
    (lambda t: t.replace("Source-grounded claims10", "Source-grounded claimsmany"), 25, "whole number"),
    (lambda t: t.replace("StatusUnverified", "StatusMaybe"), 32, "gate status"),
    (lambda t: t.replace("StatusUnverified", "StatusVerified"), 32, "VERIFIED requires"),
    (lambda t: t.replace("TierFlagship candidate", "TierGold"), 41, "quality"),
])
def test_a_malformed_page_is_refused_by_line(cli: Cli, tmp_path: Path, edit: Any, line: int,
                                             says: str) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text(edit(FULL.read_text()))
    before = cli.snapshot()
    result = cli("import", str(bad))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {bad}:{line}: "), result.stderr
    assert says in result.stderr
    assert cli.snapshot() == before
    mixed = cli("import", str(COMPACT), str(bad), str(LOW))
    assert mixed.exit_code == 2 and "2 page(s), 5 event(s) appended, 1 refused" in mixed.stdout
    assert cli.json("verify")["events"] == 5


@pytest.mark.parametrize("blank", ["\u2014", "n/a", "-", "Not scored"])
def test_a_header_line_that_says_no_value_is_a_fact_the_page_does_not_show(
        cli: Cli, tmp_path: Path, blank: str) -> None:
    page = tmp_path / "p.txt"
    page.write_text(FULL.read_text().replace("Review score: 9.33/10", f"Review score: {blank}")
                    .replace("Submitted: 28 May 2026", f"Submitted: {blank}"))
    result = cli("import", str(page))
    assert result.exit_code == 0, result.stderr
    m = cli.json("show", "SRCH:03BE3A05")["manifest"]
    assert "review_score" not in m and "submitted" not in m
    assert cli("import", str(FULL)).exit_code == 0  # the full page then states both
    m = cli.json("show", "SRCH:03BE3A05")["manifest"]
    assert m["review_score"] == 9.33 and m["submitted"] == "2026-05-28"
    again = cli("import", str(page))  # not shown: the ledger's values stay, nothing written
    assert again.exit_code == 0 and "0 event(s) appended" in again.stdout, again.stdout
    assert cli.json("show", "SRCH:03BE3A05")["manifest"]["review_score"] == 9.33


def test_import_takes_pages_a_batch_at_a_time(cli: Cli, tmp_path: Path) -> None:
    """Pages are read as the import takes them, a batch at a time, so 10⁵ pages are never all
    in memory at once (181 → 72 MB of peak RSS for 10⁴ pages of 12 KB); a file that cannot be
    read is still refused before anything is written."""
    import sqlite3

    db = tmp_path / "lazy.db"
    counted: list[int] = []

    def pages() -> Any:
        for i in range(5):
            if i == 2:  # the first batch of two pages is committed before the third is read
                with sqlite3.connect(db) as conn:
                    counted.append(conn.execute("SELECT count(*) FROM events").fetchone()[0])
            yield f"p{i}", FULL.read_bytes().replace(b"SRCH:03BE3A05", f"SRCH:0000000{i}".encode())

    with Ledger.create(db, clock) as ledger:
        assert [o.appended for o in ledger.import_pages(pages(), "ed", batch_size=2)] == [3] * 5
    assert counted == [6]
    missing = cli("import", str(FULL), str(tmp_path / "nothere.txt"))
    assert missing.exit_code == 2 and missing.stderr == (
        f"Error: cannot read {tmp_path / 'nothere.txt'}: No such file or directory\n")
    from ledger.ops.files import DOCUMENT_MOST

    huge = tmp_path / "huge.txt"
    with huge.open("wb") as handle:  # sparse: its size, not its bytes
        handle.truncate(DOCUMENT_MOST + 1)
    too_big = cli("import", str(FULL), str(huge))
    assert too_big.exit_code == 2 and too_big.stderr.startswith(f"Error: {huge} holds more than ")
    assert cli.json("verify")["events"] == 0


def test_untidy_pages_never_crash(cli: Cli, tmp_path: Path) -> None:
    text = FULL.read_text()
    variants = [text.replace("\n\n", "\n"), text + "\n| stray | row |\n\u00a0\x07",
                text.replace("Abstract\n", ""),
                "\ufeff" + text, text.replace("Correction Record", "Correction  Record"), "", "\n\n\n",
                text[: len(text) // 2], "SRCH:03BE3A05\n", "|||\n||", b"\xff\xfe".decode("latin-1")]
    for i, variant in enumerate(variants):
        page = tmp_path / f"v{i}.txt"
        page.write_text(variant)
        result = cli("import", str(page))
        assert result.exit_code in (0, 2), result.output
        assert "Traceback" not in result.output
    assert cli("audit").exit_code in (0, 1)
    assert cli("verify").exit_code == 0


def test_render_formats(cli: Cli) -> None:
    cli("import", str(FULL))
    cli("correct", "SRCH:03BE3A05", "--kind", "correction", "--reason", "Typo", "--set", "/review_score=9.1",
        "--notice-id", "C1", "--issued-by", "Editorial office")
    text = cli("render", "SRCH:03BE3A05").stdout
    assert "Review score: 9.10/10" in text and "Status: CORRECTED" in text
    assert "Notice: C1\nKind: correction\nEffective: " in text and "Issued by: Editorial office" in text
    md = cli("render", "SRCH:03BE3A05", "--format", "md").stdout
    assert md.startswith("# SRCH:03BE3A05: ") and "| Status | CORRECTED |" in md
    page = cli("render", "SRCH:03BE3A05", "--format", "html").stdout
    assert page.startswith("<!doctype html>") and '<th scope="row">Reason</th><td>Typo</td>' in page
    assert cli("import", "-", input=text).stdout.endswith("0 event(s) appended\n")
    # -o FILE without --format: its name says which (`-o page.html` wrote the text form)
    for name, expected in (("p.html", page), ("p.HTM", page), ("p.md", md), ("p.txt", text)):
        target = cli.db.parent / name
        assert cli("render", "SRCH:03BE3A05", "-o", str(target)).exit_code == 0
        assert target.read_text() == expected, name


def test_a_page_says_what_a_correction_changed_and_which_notice_lifted_another(
        cli: Cli, tmp_path: Path) -> None:
    """Each notice's rows stay together in every form: a correction's changes with their values
    (``import`` reads them back) and the reinstatement that lifted a notice; a change a later
    version replaced is not imported, and says so."""
    cli("import", str(FULL))
    rid = "SRCH:03BE3A05"
    cli("correct", rid, "--kind", "correction", "--reason", "Typo", "--set", "/review_score=9.1",
        "--set", '/title="A \\\\ \\"quoted\\" title"', "--notice-id", "C1", "--issued-by", "Ed")
    cli("correct", rid, "--kind", "expression_of_concern", "--reason", "Doubt", "--notice-id", "E1",
        "--issued-by", "Ed")
    cli("correct", rid, "--kind", "reinstatement", "--lifts", "E1", "--reason", "Cleared",
        "--notice-id", "R1", "--issued-by", "Ed")
    text = cli("render", rid).stdout
    assert ('Changed: /review_score to 9.1\nChanged: /title to "A \\\\ \\"quoted\\" title"\n'
            "\nNotice: E1\n") in text  # a blank line between notices
    assert "Reason: Doubt\nLifted by: R1\n\nNotice: R1\n" in text
    shown = cli("show", rid).stdout  # the terminal's view lists them under the notice too
    assert ('(in force): Typo\n    changed /review_score to 9.1\n    changed /title to "A \\\\ '
            '\\"quoted\\" title"\n  notice E1: ') in shown
    md = cli("render", rid, "--format", "md").stdout
    assert "| Reason | Doubt |\n| Lifted by | R1 |\n\n| | |\n|---|---|\n| Notice | R1 |" in md
    assert "| Changed | /review_score to 9.1 |" in md
    page = cli("render", rid, "--format", "html").stdout
    assert ('<th scope="row">Changed</th><td>/review_score to 9.1</td></tr>'
            '<tr><th scope="row">Changed</th>') in page
    assert ('<th scope="row">Lifted by</th><td>R1</td></tr></table><table><tr><th scope="row">'
            'Notice</th><td>R1') in page  # each notice a table of its own
    for n, form in enumerate((text, md)):  # into a fresh ledger: the notice with its changes
        fresh = Cli(tmp_path / f"fresh{n}.db", tmp_path)
        fresh("init")
        assert fresh("import", "-", input=form).exit_code == 0
        notices = fresh.json("show", rid)["notices"]
        assert notices[0]["changes"] == [{"path": "/review_score", "value": 9.1},
                                         {"path": "/title", "value": 'A \\ "quoted" title'}]
        assert fresh.json("show", rid)["manifest"] == cli.json("show", rid)["manifest"]
    # A ledger with the record as it was before C1: the page's corrections are what changed
    # its manifest, so they are imported with their changes and no new version is made.
    before = Cli(tmp_path / "before.db", tmp_path)
    before("init")
    before("import", str(FULL))
    result = before("import", "-", input=text)
    assert result.exit_code == 0 and "3 event(s) appended" in result.stdout, result.output
    assert [e["type"] for e in before.json("history", rid)][-3:] == ["notice.issued"] * 3
    assert before.json("show", rid)["version"] == 1
    assert before.json("show", rid)["manifest"] == cli.json("show", rid)["manifest"]
    # A later version sets the score again: the page shows 8.0, so C1's change to 9.1 would set
    # the copy wrong; its changes are left out, with a warning, and the copy shows the page's.
    revised = {**cli.json("show", rid)["manifest"], "review_score": 8.0}
    cli("publish", cli.file(revised))
    later = cli("render", rid).stdout
    # The page says which version it shows, and that C1, E1 and R1 are about the one before;
    # show says it under each notice.
    assert "Correction count: 3\nVersion: 2\n" in later
    assert "Notice: C1\nKind: correction\nEffective: " in later
    assert "Issued by: Ed\nTarget version: 1\nReason: Typo\n" in later
    assert later.count("Target version: 1\n") == 3
    assert "(in force): Typo\n    about version 1 (the record is now at version 2)\n    changed " \
        in cli("show", rid).stdout
    later_md = cli("render", rid, "--format", "md").stdout
    assert "| Version | 2 |" in later_md and "| Issued by | Ed |\n| Target version | 1 |" in later_md
    html = cli("render", rid, "--format", "html").stdout
    assert '<th scope="row">Target version</th><td>1</td>' in html
    # the banner's "It changed /review_score to 9.1" is about the version before this one
    assert ("It is about version 1 of the record; this page shows version 2.</p><p>It "
            "changed /review_score to 9.1") in html, html
    for n, form in enumerate((later, later_md)):
        fresh = Cli(tmp_path / f"fresh-later{n}.db", tmp_path)
        fresh("init")
        result = fresh("import", "-", input=form)
        assert result.exit_code == 0 and "the changes of notice C1 were not imported" in result.stderr
        assert ("(the notice is about version 1 and the page shows version 2, which set those "
                "values again)") in result.stderr, result.stderr
        assert fresh.json("show", rid)["manifest"]["review_score"] == 8.0
        assert "changes" not in fresh.json("show", rid)["notices"][0]
        # a page holds one manifest: the notices are about the version the import gives
        assert {n["target_version"] for n in fresh.json("show", rid)["notices"]} == {1}
        assert "Target version" not in fresh("render", rid).stdout
    assert "Target version" not in cli("render", rid, "--as-of", "4").stdout  # before version 2
    # An older page says only what was changed, not its value: the notice is taken without it.
    older = text.replace("Changed: /review_score to 9.1", "Changed /review_score")
    fresh = Cli(tmp_path / "fresh-older.db", tmp_path)
    fresh("init")
    assert fresh("import", "-", input=older).exit_code == 0
    assert "changes" not in fresh.json("show", rid)["notices"][0]


def test_the_banner_says_what_the_notice_that_gives_the_status_did(cli: Cli) -> None:
    """A reader sees first what the correction changed, or which claims a partial retraction
    retracted, not only its id and reason."""
    from ledger.pages.story import banner

    cli("import", str(FULL))
    cli("correct", "SRCH:03BE3A05", "--kind", "correction", "--reason", "Typo", "--set",
        "/review_score=9.1", "--set", "/note=Checked", "--notice-id", "C1", "--issued-by", "Ed")
    lines = banner(cli.json("show", "SRCH:03BE3A05"))["lines"]  # type: ignore[index]
    assert lines[1] == 'It changed /review_score to 9.1; /note to "Checked".'
    cli("correct", "SRCH:03BE3A05", "--kind", "partial_retraction", "--reason", "Two claims",
        "--claim-id", "C-3", "--claim-id", "C-7", "--notice-id", "P1", "--issued-by", "Ed")
    lines = banner(cli.json("show", "SRCH:03BE3A05"))["lines"]  # type: ignore[index]
    assert lines[0].startswith("Partial retraction P1,") and lines[1] == "Claims retracted: C-3, C-7."
    page = cli("render", "SRCH:03BE3A05", "--format", "html").stdout
    assert "<p>Claims retracted: C-3, C-7.</p>" in page
    assert "(in force): Two claims\n    claims retracted C-3, C-7\n" in cli("show", "SRCH:03BE3A05").stdout
    assert ": Two claims. Claims retracted: C-3, C-7. Notice P1, ledger seq " in cli("feed", "-n", "1").stdout


def test_a_markdown_page_rendered_before_notices_kept_their_rows_imports(cli: Cli) -> None:
    """Markdown that ``render`` wrote before 2026-12-03 has what a notice changed and what lifted
    it as prose above the notices' table: not a notice of its own, the rest imports."""
    cli("import", str(FULL))
    old = ("# SRCH:03BE3A05: Title\n\n- **Review score:** 9.10/10\n\n## Correction Notices\n\n"
           "Changed /review_score\nLifted by R1\n| | |\n|---|---|\n"
           "| Notice | C1 |\n| Kind | correction |\n| Effective | 2026-12-03 |\n"
           "| Issued by | Ed |\n| Reason | typo |\n| Notice | E1 |\n"
           "| Kind | expression_of_concern |\n| Effective | 2026-12-03 |\n| Issued by | Ed |\n"
           "| Reason | doubt |\n| Notice | R1 |\n| Kind | reinstatement |\n"
           "| Effective | 2026-12-03 |\n| Issued by | Ed |\n| Reason | cleared |\n| Lifts | E1 |\n")
    result = cli("import", "-", input=old)
    assert result.exit_code == 0, result.output
    shown = cli.json("show", "SRCH:03BE3A05")
    assert [(n["notice_id"], n["in_force"]) for n in shown["notices"]] == [
        ("C1", True), ("E1", False), ("R1", True)]
    assert shown["manifest"]["review_score"] == 9.1 and "changes" not in shown["notices"][0]


line_text = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1,
                    max_size=40).map(str.strip).filter(lambda s: s and s not in HEADINGS_SET and s[0] != "|")
HEADINGS_SET = {"Abstract", "Research Question", "Verification Level", "Truth-Engine Gate Verdict",
                "Gate Verdicts", "Quality Tier", "Quality Dimensions", "Correction Record",
                "Correction Notices", "Provenance"}
records = st.fixed_dictionaries({
    "title": line_text, "research_question": line_text, "abstract": line_text,
    "submitted": st.dates().map(lambda d: d.isoformat()).filter(lambda d: d >= "1000"),
    "review_score": st.integers(0, 1000).map(lambda i: i / 100),
    "source_grounded_claims": st.integers(0, 50), "claim_record_source": line_text,
    "quality": st.fixed_dictionaries({"tier": st.sampled_from(["Flagship candidate", "DOI grade", "Watchlist",
                                                               "Quarantine candidate"]),
                                      "basis": line_text}),
    "note": line_text,
}, optional={"kinds": st.lists(st.sampled_from(["correction", "addendum", "expression_of_concern",
                                                "retraction", "withdrawal"]), max_size=3),
             "doi": st.sampled_from(["10.5555/rec.1", "10.1234/a-b_c(2026)"])})


@pytest.mark.parametrize("fmt", ["text", "md"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records, st.integers(0, 2), st.booleans())
def test_import_of_render_gives_the_same_state(
    fmt: str, record: dict[str, Any], lineage: int, registered: bool,
) -> None:
    """A page ``render`` writes, as text or as Markdown, imports as the same record."""
    kinds = record.pop("kinds", [])
    with tempfile.TemporaryDirectory() as tmp:
        with Ledger.create(Path(tmp) / "a.db", clock) as a:
            a.submit("paper-manifest-v1.1", {"record_id": "SRCH:0000ABCD", **record}, "ed")
            a.submit("source-provenance-v1", {"record_id": "SRCH:0000ABCD", "publisher": "P",
                                              "report_artifact": {"available": True},
                                              "external_record": {"registered": registered,
                                                                  "identifier": "10.1/x"},
                                              "claim_lineage": lineage, "review_method": "M"}, "ed")
            for i, kind in enumerate(kinds):  # every other one with its own DOI and URL (v1.1)
                ids = {"doi": f"10.5555/n.{i}", "url": f"https://p.example/n/{i}"} if i % 2 else {}
                a.submit("correction-record-v1", {"record_id": "SRCH:0000ABCD", "kind": kind,
                                                  "notice_id": f"N{i}", "reason": "why", **ids}, "ed")
            page = a.render("SRCH:0000ABCD", fmt).encode()
            assert [o.appended for o in a.import_pages([("p", page)], "ed")] == [0]
            original = a.show("SRCH:0000ABCD")
        with Ledger.create(Path(tmp) / "b.db", clock) as b:
            outcome = b.import_pages([("p", page)], "ed")[0]
            assert not outcome.error and not outcome.warnings, outcome
            copy = b.show("SRCH:0000ABCD")
    for key in ("version", "status", "correction_count", "verification_level", "provenance_level",
                "quality_tier", "gates", "manifest", "provenance"):
        assert copy[key] == original[key], key
    strip = ("seq", "recorded_at")
    assert [{k: v for k, v in n.items() if k not in strip} for n in copy["notices"]] == \
        [{k: v for k, v in n.items() if k not in strip} for n in original["notices"]]


word = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7e, blacklist_characters="|\\"),
               min_size=1, max_size=12)
gate_evaluations = st.lists(st.fixed_dictionaries({
    "gate": st.integers(1, 4), "name": line_text, "reason": line_text,
    "status": st.sampled_from(["UNVERIFIED", "FAILED", "VERIFIED"]),
    "evaluated_at": st.datetimes(dt.datetime(2020, 1, 1), dt.datetime(2026, 1, 1)).map(
        lambda d: d.replace(microsecond=0).isoformat() + "Z"),
    "evaluator": line_text, "independent": st.booleans(),
    "artifacts": st.lists(st.fixed_dictionaries(
        {"kind": word}, optional={"uri": word.map(lambda w: f"https://a.example/{w}"),
                                  "sha256": st.binary(min_size=32, max_size=32).map(bytes.hex)}),
        max_size=2)}).filter(lambda g: g["status"] != "VERIFIED"
                             or any("sha256" in a for a in g["artifacts"])), max_size=3)
provenance_facts = st.fixed_dictionaries({
    "publisher": line_text, "claim_lineage": st.integers(0, 30), "review_method": line_text,
    "report_artifact": st.fixed_dictionaries({"available": st.booleans()}, optional={
        "uri": word.map(lambda w: f"https://r.example/{w}"),
        "sha256": st.binary(min_size=32, max_size=32).map(bytes.hex)}),
    "external_record": st.fixed_dictionaries({"registered": st.booleans()}, optional={
        "identifier": st.sampled_from(["10.5281/zenodo.1", "arXiv:2601.00001", "hdl:1/2"])})})
changes = st.lists(st.one_of(
    st.integers(0, 1000).map(lambda i: {"path": "/review_score", "value": i / 100}),
    line_text.map(lambda t: {"path": "/title", "value": t}),
    st.sampled_from(["LOW", "MEDIUM", "HIGH"]).map(
        lambda v: {"path": "/quality/dimensions/evidence_strength", "value": v})),
    min_size=1, max_size=2, unique_by=lambda c: str(c["path"]))
notice_list = st.lists(st.fixed_dictionaries({
    "kind": st.sampled_from(["addendum", "clarification", "expression_of_concern",
                             "partial_retraction", "retraction", "withdrawal", "correction"]),
    "reason": line_text, "issued_by": line_text,
    "reason_codes": st.lists(st.sampled_from(sorted(REASON_CODES)), min_size=1, max_size=2,
                             unique=True)}, optional={"changes": changes}).map(
    lambda n: n if n["kind"] == "correction" else {k: v for k, v in n.items() if k != "changes"}),
    max_size=3)


@pytest.mark.parametrize("fmt", ["text", "md"])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records, provenance_facts, gate_evaluations, notice_list, st.booleans(),
       st.sampled_from(["Evidence strength", "Reproducibility status"]))
def test_import_of_render_gives_the_same_gates_provenance_and_notices(
    fmt: str, record: dict[str, Any], provenance: dict[str, Any], gates: list[dict[str, Any]],
    notices: list[dict[str, Any]], lift: bool, dimension: str,
) -> None:
    """The same round trip with every fact a page shows drawn: gate evaluations with their
    artifacts, the provenance's artifact and external record, quality dimensions, notices with
    reason codes, claims, a correction's changes (their values too) and a reinstatement that
    lifts one; and the page imported into a ledger with the record as first published, whose
    corrections then change it as they did (no new version)."""
    record.pop("kinds", None)
    key = dimension.lower().replace(" ", "_")
    record["quality"] = {**record["quality"], "dimensions": {key: "HIGH"}}
    rid = "SRCH:0000ABCD"
    with tempfile.TemporaryDirectory() as tmp:
        with Ledger.create(Path(tmp) / "a.db", clock) as a:
            a.submit("paper-manifest-v1.1", {"record_id": rid, **record}, "ed")
            a.submit("source-provenance-v1", {"record_id": rid, **provenance}, "ed")
            for gate in gates:
                a.submit("gate-evaluation-v1", {"record_id": rid, **gate}, "ed")
            for i, notice in enumerate(notices):
                claims = {"claim_ids": [f"C{i}", "C9"]} if notice["kind"] == "partial_retraction" else {}
                a.submit("correction-record-v1", {"record_id": rid, "notice_id": f"N{i}",
                                                  **notice, **claims}, "ed")
            liftable = [n for n in a.show(rid)["notices"] if n["in_force"]]
            if lift and liftable:
                a.submit("correction-record-v1", {"record_id": rid, "notice_id": "R", "kind":
                                                  "reinstatement", "reason": "cleared",
                                                  "lifts": liftable[0]["notice_id"]}, "ed")
            page = a.render(rid, fmt).encode()
            assert [o.appended for o in a.import_pages([("p", page)], "ed")] == [0]
            original = a.show(rid)
        with Ledger.create(Path(tmp) / "b.db", clock) as b:
            outcome = b.import_pages([("p", page)], "ed")[0]
            assert not outcome.error and not outcome.warnings, outcome
            copy = b.show(rid)
        with Ledger.create(Path(tmp) / "c.db", clock) as c:  # the record before its notices:
            c.submit("paper-manifest-v1.1", {"record_id": rid, **record}, "ed")  # the page's
            outcome = c.import_pages([("p", page)], "ed")[0]  # corrections make it as shown
            assert not outcome.error and not outcome.warnings, outcome
            earlier = c.show(rid)
    for name in ("version", "status", "correction_count", "verification_level",
                 "provenance_level", "quality_tier", "manifest", "provenance"):
        assert copy[name] == original[name] == earlier[name], name
    strip = ("seq", "recorded_at")  # the page shows each gate's latest evaluation, not its seq
    assert [{k: v for k, v in n.items() if k not in strip} for n in earlier["notices"]] == \
        [{k: v for k, v in n.items() if k not in strip} for n in original["notices"]]
    assert [{k: v for k, v in g.items() if k not in strip} for g in copy["gates"]] == \
        [{k: v for k, v in g.items() if k not in strip} for g in original["gates"]]
    assert [{k: v for k, v in n.items() if k not in strip} for n in copy["notices"]] == \
        [{k: v for k, v in n.items() if k not in strip} for n in original["notices"]]


def test_the_page_of_a_removed_record_is_refused_as_one(cli: Cli, tmp_path: Path) -> None:
    """`render` of a record whose members a removal withheld writes `[withheld by removal
    notice …]` where they were; importing that page was refused by its first such value read as
    a number (`review score '[withheld by …]' is not a number out of 10`). It is refused for what
    it is, naming the first line, and nothing is written."""
    assert cli("import", str(FULL)).exit_code == 0
    assert cli("correct", "SRCH:03BE3A05", "--kind", "removal", "--reason", "court order",
               "--purge").exit_code == 0
    page = tmp_path / "removed.txt"
    page.write_text(cli("render", "SRCH:03BE3A05").stdout)
    other = Cli(tmp_path / "other.db", tmp_path)
    assert other("init").exit_code == 0
    refused = other("import", str(page))
    assert refused.exit_code == 2
    assert f"Error: {page}:6: the page shows" in refused.stderr
    assert "value(s) a removal withheld ([withheld by removal notice" in refused.stderr
    assert other.json("verify")["events"] == 0


def test_render_functions_are_pure(ledger: Ledger) -> None:
    ledger.submit("paper-manifest-v1.1", orjson.loads(orjson.dumps({
        "record_id": "SRCH:00000001", "title": "<b>T</b>", "research_question": "q", "abstract": "a\n\nb",
        "source_grounded_claims": 0, "claim_record_source": "s"})), "ed")
    shown = ledger.show("SRCH:00000001")
    assert "&lt;b&gt;T&lt;/b&gt;" in render_html(shown) and "<b>T</b>" not in render_html(shown)
    assert render_text(shown) == render_text(shown) and render_markdown(shown).startswith("# SRCH:00000001")


def test_a_refused_page_after_a_good_page_of_the_same_record(cli: Cli, tmp_path: Path) -> None:
    """Both pages in one batch: the refused one is rolled back, the good one reaches the views."""
    good, bad = tmp_path / "good.txt", tmp_path / "bad.txt"
    good.write_text(FULL.read_text())
    bad.write_text(FULL.read_text().replace("Review score: 9.33/10", "Review score: 11/10"))
    result = cli("import", str(good), str(bad))
    assert result.exit_code == 2
    assert cli.json("show", "SRCH:03BE3A05")["manifest"]["review_score"] == 9.33
    assert cli("audit").exit_code == 0, cli("audit").output


def test_page_variants(cli: Cli, tmp_path: Path) -> None:
    text = (FULL.read_text().replace("Submitted: 28 May 2026", "Submitted: May 28, 2026")
            .replace("GateGate 2 — Verification", "GateGate 2: Verification"))
    page = tmp_path / "variant.txt"
    page.write_text(text)
    assert cli("import", str(page)).exit_code == 0
    shown = cli.json("show", "SRCH:03BE3A05")
    assert shown["manifest"]["submitted"] == "2026-05-28"
    assert shown["gates"][0]["name"] == "Verification (formal proof or sandbox reproduction)"


@pytest.mark.parametrize("submitted", ["3 September 2026", "3 Sep 2026", "3 Sept 2026",
                                       "3 Sept. 2026", "Sep. 3, 2026", "September 3, 2026",
                                       "2026-09-03", "3  Sep  2026"])
def test_a_submitted_date_as_style_guides_write_it(submitted: str) -> None:
    """`Sept` (and an abbreviation's point) is how several style guides shorten September; the
    page's date was refused (`'3 Sept 2026' is not a date`) and so was the page."""
    from ledger.pages.layout import page_date

    assert page_date(submitted, 6) == "2026-09-03"


@given(st.text(alphabet=st.sampled_from("&<>\"'ab \u00e9\u2028\u202e\u2066") | st.characters()))
def test_the_fast_escape_is_html_escape(text: str) -> None:
    """Pages escape through a fast path for text with none of the five characters: the same
    text as ``html.escape`` (quotes too) for any string, once each bidirectional embedding,
    override and isolate is written as a visible escape (``\\u202e``: a stored title cannot
    reorder the page's own words after it)."""
    from ledger.core.escapes import bidi_visible

    assert escape(text) == html.escape(bidi_visible(text))
    assert not any("\u202a" <= c <= "\u202e" or "\u2066" <= c <= "\u2069" for c in escape(text))


def records_of(cli: Cli) -> list[dict[str, Any]]:
    """The exported records, less when and by whom their last event was appended."""
    return [{k: v for k, v in r.items() if k != "last_event"} for r in cli.json("export")["records"]]


def test_a_page_saved_with_windows_line_ends_or_a_byte_order_mark(cli: Cli, tmp_path: Path) -> None:
    """A page saved by an editor that writes CRLF line ends or a UTF-8 byte order mark first is
    the same page: the compact layout with a BOM was refused (`no record id in the first lines:
    not a record page`)."""
    for n, page in enumerate((FULL, COMPACT, LOW)):
        plain = tmp_path / f"plain-{n}.db"
        Ledger.create(plain, clock).close()
        assert Cli(plain, tmp_path)("import", str(page)).exit_code == 0
        want = records_of(Cli(plain, tmp_path))
        for variant, data in (("crlf", page.read_bytes().replace(b"\n", b"\r\n")),
                              ("bom", b"\xef\xbb\xbf" + page.read_bytes())):
            saved = tmp_path / f"{variant}-{n}.txt"
            saved.write_bytes(data)
            db = tmp_path / f"{variant}-{n}.db"
            Ledger.create(db, clock).close()
            result = Cli(db, tmp_path)("import", str(saved))
            assert result.exit_code == 0, (variant, page.name, result.stderr)
            assert records_of(Cli(db, tmp_path)) == want, (variant, page.name)


def test_a_stale_copy_of_a_page_imported_again_is_said_to_set_the_record_back(
        cli: Cli, tmp_path: Path) -> None:
    """A page imported, then a newer copy (another review score), then the first copy again (a
    stale cache): the third import makes the first version the latest again, silently. It still
    does (the page is what the publisher served), but says so; `publish` of an earlier version's
    manifest says the same. A copy of the latest version is no change, and says nothing."""
    newer = tmp_path / "newer.txt"
    newer.write_text(FULL.read_text().replace("Review score: 9.33/10", "Review score: 9.5/10"))
    assert cli("import", str(FULL)).exit_code == 0
    assert cli("import", str(newer)).stderr == ""
    stale = cli("import", str(FULL))
    assert stale.exit_code == 0 and cli.json("show", "SRCH:03BE3A05")["version"] == 3
    assert stale.stderr == (f"Warning: {FULL}: the page is version 1 of SRCH:03BE3A05 (seq 1) "
                            "again, which version 2 replaced: it becomes version 3, setting the "
                            "record back (a stale copy?)\n")
    assert cli("import", str(FULL)).stderr == ""  # now the latest: no change
    second = cli.json("history", "SRCH:03BE3A05")[3]["payload"]
    again = cli("publish", cli.file(second))
    assert again.exit_code == 0 and "Warning: this manifest is version 2 of SRCH:03BE3A05 (seq 4)" \
        " again, which version 3 replaced: it becomes version 4" in again.stderr


def test_a_page_imported_again_after_a_purge_brings_nothing_back(cli: Cli) -> None:
    """A page imported, then removed with a purge, then the same page imported again (the
    publisher's copy not yet rebuilt, a nightly crawl): the import stopped with a KeyError
    traceback (the provenance it merged with was withheld), and would otherwise have brought the
    purged content back, for good. Nothing of the page's content is taken while the removal is in
    force, and it says so; after a reinstatement the page is imported as any other."""
    assert cli("import", str(FULL)).exit_code == 0
    assert cli("correct", "SRCH:03BE3A05", "--kind", "removal", "--reason", "Court order",
               "--notice-id", "R1", "--purge").exit_code == 0
    head = cli.json("status")["head_seq"]
    again = cli("import", str(FULL))
    assert again.exit_code == 0 and "Traceback" not in again.output
    assert (f"Warning: {FULL}: SRCH:03BE3A05 is REMOVED (removal R1 in force): the page's content "
            "was not imported (`ledger publish` a new version to restore it)") in again.stderr
    assert cli.json("status")["head_seq"] == head and cli("audit").exit_code == 0
    shown = cli.json("show", "SRCH:03BE3A05")
    assert set(shown["manifest"]["abstract"]) == {"withheld"}
    published = cli("publish", cli.file(cli.json("history", "SRCH:03BE3A05")[0]["payload"]
                                        | {"abstract": "Restored", "note": "n",
                                           "research_question": "q", "review_score": 9.0,
                                           "claim_record_source": "s", "quality": None,
                                           "source_grounded_claims": 1}))
    assert published.exit_code == 0, published.output
    assert "Warning: SRCH:03BE3A05 is REMOVED (removal R1 in force): this version's content is " \
        "in the ledger for good" in published.stderr
    assert cli("correct", "SRCH:03BE3A05", "--kind", "reinstatement", "--reason", "Reversed",
               "--lifts", "R1").exit_code == 0
    restored = cli("import", str(FULL))
    assert restored.exit_code == 0 and "was not imported" not in restored.stderr
    assert cli.json("show", "SRCH:03BE3A05")["manifest"]["abstract"].startswith("Abstract:")
    assert cli("audit").exit_code == 0
