"""What indexers and aggregators read, read as they would: Crossref update fragments with an XML
parser, REST-shaped JSON, the Retraction Watch CSV with a CSV reader (formula cells neutralised),
an Atom feed with an XML parser; `export --since`; `log` filters and JSON Lines."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from ledger.ops.indexers import RW_COLUMNS
from tests.conftest import Cli, provenance

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def history(cli: Cli, published: Callable[..., str], tmp_path: Path) -> Cli:
    published()  # SRCH:03BE3A05, with a DOI
    published("SRCH:00000002", title="=HYPERLINK(\"http://x.invalid\")")  # no DOI
    assert cli("provenance", cli.file(provenance(external_record={
        "registered": True, "identifier": "https://doi.org/10.5281/zenodo.1234"}))).exit_code == 0
    correct = [("SRCH:03BE3A05", "expression_of_concern", "E1", "Figures under review", []),
               ("SRCH:03BE3A05", "reinstatement", "R1", "Review closed", ["--lifts", "E1"]),
               ("SRCH:03BE3A05", "retraction", "X1", "-1+1 fabricated data", []),
               ("SRCH:00000002", "correction", "C1", "@typo", ["--set", "/review_score=7"])]
    key = tmp_path / "k.key"
    cli("keygen", "pub.example", "-o", str(key))
    for n, (rid, kind, nid, reason, extra) in enumerate(correct):
        result = cli("correct", rid, "--kind", kind, "--reason", reason, "--notice-id", nid,
                     "--effective-date", f"2026-07-0{n + 1}", *extra)
        assert result.exit_code == 0, result.output
        if n == 1:  # a checkpoint covering the first two notices (seq 4, 5)
            assert cli("checkpoint", "--key", str(key)).exit_code == 0
    return cli


def test_crossref_xml(history: Cli) -> None:
    root = ET.fromstring(history("export", "--format", "crossref-xml").stdout_bytes)
    notices = root.findall("notice")
    assert [n.get("notice_id") for n in notices] == ["C1", "E1", "X1"]  # by record, then seq
    by_id = {n.get("notice_id"): n for n in notices}
    update = by_id["X1"].find("crossmark/updates/update")
    assert update is not None and update.get("type") == "retraction"
    assert update.get("date") == "2026-07-03" and update.text == "10.5281/zenodo.1234"
    concern = by_id["E1"]
    assert concern.find("crossmark/updates/update").get("type") == "expression_of_concern"  # type: ignore[union-attr]
    assert concern.get("lifted_by") == "R1" and concern.get("checkpoint_size") == "5"
    assert concern.get("seq") == "4" and concern.get("checkpoint_origin") == "pub.example"
    assert by_id["X1"].get("checkpoint_size") == ""  # no checkpoint covers it yet
    assert by_id["C1"].find("crossmark/updates/update").text == "unavailable"  # type: ignore[union-attr]
    assert root.get("head_seq") == "7"


def test_crossref_json(history: Cli) -> None:
    doc = orjson.loads(history("export", "--format", "crossref-json").stdout)
    items = doc["message"]["items"]
    assert [i["notice_id"] for i in items] == ["C1", "E1", "X1"]
    update = items[2]["update-to"][0]
    assert update == {"DOI": "10.5281/zenodo.1234", "type": "retraction", "label": "Retraction",
                      "source": "publisher",
                      "updated": {"date-parts": [[2026, 7, 3]], "date-time": "2026-07-03T00:00:00Z",
                                  "timestamp": 1783036800000}}
    assert items[1]["lifted_by"] == "R1" and items[1]["checkpoint"]["size"] == 5
    assert items[2]["seq"] == 6 and items[2]["checkpoint"] is None


def test_retraction_watch_csv(history: Cli, tmp_path: Path) -> None:
    out = tmp_path / "rw.csv"
    assert history("export", "--format", "retraction-watch-csv", "-o", str(out)).exit_code == 0
    assert oct(out.stat().st_mode & 0o777) != oct(0o600)  # the user's umask, not mkstemp's 0600
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    assert list(rows[0]) == list(RW_COLUMNS)
    assert [(r["Record ID"], r["RetractionNature"]) for r in rows] == [
        ("SRCH:00000002", "Correction"), ("SRCH:03BE3A05", "Expression of concern"),
        ("SRCH:03BE3A05", "Reinstatement"), ("SRCH:03BE3A05", "Retraction")]
    assert rows[0]["Title"].startswith("'=HYPERLINK")  # neutralised, not run by a spreadsheet
    assert rows[3]["OriginalPaperDOI"] == "10.5281/zenodo.1234"
    assert rows[0]["OriginalPaperDOI"] == "unavailable"
    assert rows[3]["RetractionDate"] == "2026-07-03" and rows[3]["RetractionDOI"] == "unavailable"
    assert "ledger seq 6; no checkpoint covers it yet" in rows[3]["Notes"]
    assert "ledger seq 4; checkpoint pub.example size 5" in rows[1]["Notes"]
    assert "-1+1 fabricated data" in rows[3]["Notes"]
    assert rows[0]["Notes"].endswith("; notice C1; @typo; It changed /review_score to 7.")
    assert "It changed" not in rows[3]["Notes"]  # what the notice did, only when it did
    for row in rows:
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row.values()), row


def test_export_since(history: Cli) -> None:
    lines = history("export", "--format", "jsonl", "--since", "6").stdout.splitlines()
    assert orjson.loads(lines[0])["header"]["since"] == 6
    assert [orjson.loads(line)["record_id"] for line in lines[1:]] == ["SRCH:00000002"]
    assert history("export", "--since", "99").exit_code == 2
    head = history.json("verify")["events"]
    for since in range(head + 1):  # the header counts the records it holds (it said null)
        for as_of in sorted({since, head}):
            doc = history.json("export", "--since", str(since), "--as-of", str(as_of))
            assert doc["header"]["records"] == len(doc["records"]), (since, as_of)


def test_log_filters_and_json_lines(history: Cli) -> None:
    def seqs(*args: str) -> list[int]:
        result = history("log", "--jsonl", *args)
        assert result.exit_code == 0, result.output
        return [orjson.loads(line)["seq"] for line in result.stdout.splitlines()]

    assert seqs() == [1, 2, 3, 4, 5, 6, 7]
    assert seqs("--type", "notice.issued") == [4, 5, 6, 7]
    assert seqs("--type", "notice.issued", "-n", "2") == [6, 7]
    assert seqs("--record", "SRCH:00000002") == [2, 7]
    assert seqs("--since", "5", "--type", "notice.issued") == [6, 7]
    assert seqs("--since", "2026-11-25") == [1, 2, 3, 4, 5, 6, 7]
    assert seqs("--since", "2099-01-01T01:00:00+02:00") == []  # recorded_at is the real clock
    assert seqs("--actor", "nobody") == []
    none = history("log", "--actor", "nobody")  # said on stderr; stdout stays empty for scripts
    assert none.exit_code == 0 and none.stdout == "" and none.stderr == "No event matches.\n"
    assert len(orjson.loads(history("log", "--json", "-n", "3").stdout)) == 3
    for bad in (("--type", "notice.issue"), ("--since", "yesterday"), ("--json", "--jsonl")):
        refused = history("log", *bad)
        assert refused.exit_code == 2 and refused.stderr.startswith("Error: "), bad
    # -n N reads the log from the head back: the same events as the last N of the whole log
    filters: list[tuple[str, ...]] = [(), ("--type", "notice.issued"), ("--since", "3"),
                                      ("--until", "5"), ("--since", "2", "--until", "6"),
                                      ("--record", "SRCH:00000002"), ("--actor", "nobody"),
                                      ("--type", "record.published", "--until", "2026-11-25")]
    for args in filters:
        every = seqs(*args)
        for n in range(1, 9):
            assert seqs(*args, "-n", str(n)) == every[-n:], (args, n)


def test_feed_is_atom(history: Cli) -> None:
    text = history("feed", "--base-url", "https://records.example/").stdout
    root = ET.fromstring(text.encode())
    assert root.tag == f"{ATOM}feed" and root.find(f"{ATOM}id").text.startswith("urn:uuid:")  # type: ignore[union-attr]
    entries = root.findall(f"{ATOM}entry")
    titles = [e.find(f"{ATOM}title").text for e in entries]  # type: ignore[union-attr]
    assert titles[0].startswith("Correction: ") and len(entries) == 4  # newest first
    summary = str(entries[0].findtext(f"{ATOM}summary"))  # what the correction changed, too
    assert ": @typo. It changed /review_score to 7. Notice C1, ledger seq 7;" in summary
    links = [e.find(f"{ATOM}link").get("href") for e in entries]  # type: ignore[union-attr]
    assert links[0] == "https://records.example/SRCH-00000002.html"
    assert all(e.find(f"{ATOM}content") is None for e in entries)  # each links to its page
    again = ET.fromstring(history("feed", "-n", "2").stdout.encode())
    assert [e.find(f"{ATOM}id").text for e in again.findall(f"{ATOM}entry")] == \
        [e.find(f"{ATOM}id").text for e in entries[:2]]  # type: ignore[union-attr]
    # RFC 4287 4.1.2: an entry with no content must link to a page; with no --base-url there
    # is none to link to, so each entry carries its text as content (before, as neither)
    for entry in again.findall(f"{ATOM}entry"):
        content = entry.find(f"{ATOM}content")
        assert entry.find(f"{ATOM}link") is None and content is not None
        assert content.get("type") == "text" and content.text == entry.findtext(f"{ATOM}summary")


def test_a_feed_of_an_empty_ledger_is_refused(cli: Cli, published: Callable[..., str],
                                              tmp_path: Path) -> None:
    """A feed's id is made from the ledger's first event, so that it never changes (RFC 4287
    4.2.6). Before, an empty ledger's feed had the all-zero id every empty ledger shared, and
    updated 1970-01-01, and its id changed with the first event: refused, nothing written."""
    out = tmp_path / "notices.atom"
    result = cli("feed", "-o", str(out))
    assert result.exit_code == 2 and not out.exists(), result.output
    assert result.stderr.startswith("Error: the ledger has no events yet") and \
        result.stderr.count("\n") == 1
    published()  # the first event: the id is the one every later feed of this ledger has
    first = ET.fromstring(cli("feed").stdout.encode()).findtext(f"{ATOM}id")
    assert cli("correct", "SRCH:03BE3A05", "--kind", "addendum", "--reason", "More").exit_code == 0
    later = ET.fromstring(cli("feed").stdout.encode())
    assert later.findtext(f"{ATOM}id") == first and first != "urn:uuid:00000000-0000-4000-8000-000000000000"
    assert not str(later.findtext(f"{ATOM}updated")).startswith("1970")


def test_the_feed_shows_bidirectional_controls_as_pages_do(cli: Cli, published: Callable[..., str]) -> None:
    """A feed reader shows an entry's title and summary as text: a right-to-left override left
    open in a title or reason reversed the feed's own words after it ("… effective …, issued
    by …"). Each is written as the visible escape a site's page shows (\\u202e)."""
    rid = published(title="Scores \u202edetaler eht")
    assert cli("correct", rid, "--kind", "retraction", "--reason", "Data \u2067fabricated").exit_code == 0
    text = cli("feed").stdout
    assert "\u202e" not in text and "\u2067" not in text
    entry = ET.fromstring(text.encode()).find(f"{ATOM}entry")
    assert entry is not None
    assert "Scores \\u202edetaler eht" in (entry.find(f"{ATOM}title").text or "")  # type: ignore[union-attr]
    assert "Data \\u2067fabricated" in (entry.find(f"{ATOM}summary").text or "")  # type: ignore[union-attr]


def test_since_takes_a_seq_a_date_or_a_time_in_any_offset() -> None:
    from cli.read import _since

    assert _since("12") == (12, None)
    assert _since("2026-11-26") == (0, "2026-11-26")
    assert _since("2026-11-26T00:00:00+02:00") == (0, "2026-11-25T22:00:00.000000Z")


def test_a_forged_checkpoint_row_is_not_cited(history: Cli, tmp_path: Path) -> None:
    """A checkpoints row inserted with plain sqlite3 whose note body matches its columns but whose
    root is not the log's is never named as covering a notice."""
    import base64
    import sqlite3

    root = base64.b64encode(b"\x07" * 32).decode()
    note = f"pub.example\n7\n{root}\n\n\u2014 pub.example AAAAAA==\n"
    with sqlite3.connect(history.db) as conn:
        conn.execute("INSERT INTO checkpoints (origin, size, root, note, signed_at) VALUES "
                     "('pub.example', 7, ?, ?, '2026-11-29T00:00:00Z')", (root, note))
    items = orjson.loads(history("export", "--format", "crossref-json").stdout)["message"]["items"]
    assert all(i["checkpoint"] is None or i["checkpoint"]["root"] != root for i in items)
    assert items[2]["checkpoint"] is None  # seq 6: only the forged size-7 row would cover it


def test_characters_xml_cannot_hold_are_escaped(cli: Cli, published: Callable[..., str],
                                               tmp_path: Path) -> None:
    """A title, a reason or a notice id holding a character XML 1.0 does not allow (an escape,
    a NUL, U+FFFF) made the whole Atom feed and the Crossref XML documents no parser reads: one
    record broke every reader's feed. Each such character is written as a visible escape."""
    published("SRCH:0000000A", title="T\x1b[2J\x00\uffff")
    assert cli("correct", "SRCH:0000000A", "--kind", "retraction", "--reason", "r\x01\x0b\n2",
               "--notice-id", "N\x1b\x08X", "--issued-by", "Ed\x1f").exit_code == 0
    feed = ET.fromstring(cli("feed").stdout_bytes)
    entry = feed.find(f"{ATOM}entry")
    assert entry is not None
    assert "T\\x1b[2J\\x00\\uffff" in str(entry.findtext(f"{ATOM}title"))
    assert "r\\x01\\x0b\n2" in str(entry.findtext(f"{ATOM}summary"))
    assert entry.findtext(f"{ATOM}author/{ATOM}name") == "Ed\\x1f"
    crossref = ET.fromstring(cli("export", "--format", "crossref-xml").stdout_bytes)
    assert [n.get("notice_id") for n in crossref.findall("notice")] == ["N\\x1b\\x08X"]
