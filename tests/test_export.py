"""Export: deterministic bytes, three formats, --as-of, -o FILE."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import orjson

from tests.conftest import Cli, provenance


def test_export_is_deterministic_and_sorted(cli: Cli, published: Callable[..., str]) -> None:
    published("SRCH:0000000B")
    published("SRCH:0000000A")
    cli("correct", "SRCH:0000000B", "--kind", "retraction", "--reason", "x", "--notice-id", "R")
    first = cli("export").stdout_bytes
    cli("rebuild")
    assert cli("export").stdout_bytes == first
    doc = orjson.loads(first)
    assert doc["header"]["head_seq"] == 3
    assert doc["header"]["head_hash"] == cli.json("verify")["head_hash"]
    assert [r["record_id"] for r in doc["records"]] == ["SRCH:0000000A", "SRCH:0000000B"]
    assert doc["records"][1] == {**cli.json("show", "SRCH:0000000B")}


def test_as_of_gives_the_past(cli: Cli, published: Callable[..., str]) -> None:
    published()
    cli("correct", "SRCH:03BE3A05", "--kind", "retraction", "--reason", "x")
    past = orjson.loads(cli("export", "--as-of", "1").stdout)
    assert past["header"]["head_seq"] == 1 and past["header"]["as_of"] == 1
    assert past["records"][0]["status"] == "CURRENT"
    now = orjson.loads(cli("export").stdout)
    assert now["records"][0]["status"] == "RETRACTED"
    empty = orjson.loads(cli("export", "--as-of", "0").stdout)
    assert empty["records"] == [] and empty["header"]["head_hash"] == "0" * 64


def test_show_as_of_is_the_records_object_in_export_as_of(cli: Cli) -> None:
    pages = sorted((Path(__file__).parent.parent / "examples" / "pages").glob("*.txt"))
    assert cli("import", *map(str, pages)).exit_code == 0
    cli("correct", "SRCH:03BE3A05", "--kind", "correction", "--reason", "Typo",
        "--set", "/review_score=9.1")
    cli("correct", "SRCH:7BAC9D19", "--kind", "removal", "--reason", "Court order", "--purge")
    head = cli.json("verify")["events"]
    for as_of in range(head + 1):
        exported = {r["record_id"]: r for r in
                    orjson.loads(cli("export", "--as-of", str(as_of)).stdout)["records"]}
        for rid in ("SRCH:03BE3A05", "SRCH:7BAC9D19", "SRCH:BF3DD431"):
            shown = cli("show", rid, "--as-of", str(as_of), "--json")
            if rid not in exported:  # not yet published then: refused, naming when it was
                assert shown.exit_code == 2 and "was first published at seq" in shown.stderr
                continue
            assert orjson.loads(shown.stdout) == exported[rid], (rid, as_of)
            text = cli("show", rid, "--as-of", str(as_of)).stdout
            assert text.startswith(f"As of seq {as_of} (recorded ") == (0 < as_of < head), text
    assert cli.json("show", "SRCH:03BE3A05", "--as-of", str(head)) == \
        cli.json("show", "SRCH:03BE3A05")
    outside = cli("show", "SRCH:03BE3A05", "--as-of", str(head + 1))
    assert outside.exit_code == 2 and outside.stderr == (
        f"Error: --as-of {head + 1} is outside the ledger (0..{head})\n")


def test_as_of_a_date_or_a_time_is_as_of_the_last_event_recorded_by_then(cli: Cli) -> None:
    """`--as-of` takes a date (the whole UTC day) or an RFC 3339 time as `log --since` does: the
    state after the last event recorded by then, named in the note."""
    import datetime as dt

    pages = sorted((Path(__file__).parent.parent / "examples" / "pages").glob("*.txt"))
    assert cli("import", *map(str, pages)).exit_code == 0
    cli("correct", "SRCH:03BE3A05", "--kind", "correction", "--reason", "Typo",
        "--set", "/review_score=9.1")
    events = orjson.loads(cli("log", "--json").stdout)
    head, third = events[-1]["seq"], events[2]
    at = third["recorded_at"]  # inclusive: the event recorded at that very moment counts
    upto = max(e["seq"] for e in events if e["recorded_at"] <= at)  # 3, unless seq 3 and 4 tie
    assert cli.json("show", "SRCH:03BE3A05", "--as-of", at) == \
        cli.json("show", "SRCH:03BE3A05", "--as-of", str(upto))
    assert cli("export", "--as-of", at).stdout == cli("export", "--as-of", str(upto)).stdout
    text = cli("show", "SRCH:03BE3A05", "--as-of", at).stdout
    assert text.startswith(f"As of seq {upto} (the last event recorded by {at}): {head - upto} ")
    later = dt.datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(
        dt.timezone(dt.timedelta(hours=2)))  # the same instant in another offset
    assert cli.json("show", "SRCH:03BE3A05", "--as-of", later.isoformat()) == \
        cli.json("show", "SRCH:03BE3A05", "--as-of", str(upto))
    day = events[-1]["recorded_at"][:10]  # the whole day: every event up to the head
    assert cli("render", "SRCH:03BE3A05", "--as-of", day).stdout == \
        cli("render", "SRCH:03BE3A05").stdout
    before = (dt.date.fromisoformat(events[0]["recorded_at"][:10]) - dt.timedelta(days=1)).isoformat()
    assert orjson.loads(cli("export", "--as-of", before).stdout)["header"]["head_seq"] == 0
    assert cli("show", "SRCH:03BE3A05", "--as-of", before).stderr == (
        f"Error: SRCH:03BE3A05 was first published at seq 1, after seq 0 (no event was recorded "
        f"by {before}): it had no state then\n")
    assert cli("render", "SRCH:7BAC9D19", "--as-of", at).stderr.startswith(
        f"Error: SRCH:7BAC9D19 was first published at seq 6, after seq {upto} (the last event "
        f"recorded by {at}): ")
    fourth = events[3]["recorded_at"]  # export --since a time: the records changed from then on
    after = max(e["seq"] for e in events if e["recorded_at"] < fourth)  # 3, unless seq 3 and 4 tie
    assert cli("export", "--since", fourth).stdout == cli("export", "--since", str(after)).stdout
    assert cli("export", "--since", before).stdout == cli("export", "--since", "0").stdout
    for bad, says in (("2026-13-40", "is not a date"), ("yesterday", "neither a seq nor a date")):
        for command in (["show", "SRCH:03BE3A05", "--as-of"], ["render", "SRCH:03BE3A05", "--as-of"],
                        ["export", "--as-of"], ["export", "--since"]):
            refused = cli(*command, bad)
            assert refused.exit_code == 2 and says in refused.stderr, (command, refused.stderr)
            assert refused.stderr.count("\n") == 1 and refused.stdout == ""


def test_render_as_of_is_the_page_of_show_as_of(cli: Cli, tmp_path: Path) -> None:
    """The page as it was after a seq: rendered from `show --as-of`'s object, so importing it
    into a fresh ledger gives that state; the html page's history stops at that seq too, and
    every form says first that it is not the head's."""
    pages = sorted((Path(__file__).parent.parent / "examples" / "pages").glob("*.txt"))
    assert cli("import", *map(str, pages)).exit_code == 0
    cli("correct", "SRCH:03BE3A05", "--kind", "correction", "--reason", "Typo",
        "--set", "/review_score=9.1")
    head = cli.json("verify")["events"]
    then = cli("render", "SRCH:03BE3A05", "--as-of", "3")
    assert then.exit_code == 0 and "Review score: 9.33/10" in then.stdout
    third = orjson.loads(cli("log", "--json").stdout)[2]["recorded_at"]
    assert then.stdout.startswith(f"As of seq 3 (recorded {third}): {head - 3} later event(s) "
                                  f"of the ledger not applied (the head is seq {head})\n\n"
                                  "SRCH:03BE3A05\n")
    assert "Review score: 9.10/10" in cli("render", "SRCH:03BE3A05").stdout
    now = cli("render", "SRCH:03BE3A05", "--as-of", str(head))
    assert now.stdout == cli("render", "SRCH:03BE3A05").stdout and now.stderr == ""
    page = tmp_path / "then.md"
    written = cli("render", "SRCH:03BE3A05", "--as-of", "3", "-o", str(page))
    assert written.stderr == f"Wrote the md page of SRCH:03BE3A05 as of seq 3 to {page}\n"
    other = Cli(tmp_path / "other.db", tmp_path)
    assert other("init").exit_code == 0 and other("import", str(page)).exit_code == 0
    mine, theirs = cli.json("show", "SRCH:03BE3A05", "--as-of", "3"), other.json("show", "SRCH:03BE3A05")
    assert (mine["manifest"], mine["status"], mine["provenance"]) == \
        (theirs["manifest"], theirs["status"], theirs["provenance"])
    html = cli("render", "SRCH:03BE3A05", "--format", "html", "--as-of", "2").stdout
    assert "9.33" in html and "9.10" not in html and "Typo" not in html
    assert '<main>\n<p class="asof">As of seq 2 (recorded ' in html
    assert f"): {head - 2} later event(s)" in html
    assert page.read_text().startswith(f"> As of seq 3 (recorded {third}): {head - 3} later")
    assert 'class="asof"' not in cli("render", "SRCH:03BE3A05", "--format", "html").stdout
    assert cli("render", "SRCH:03BE3A05", "--as-of", str(head + 1)).exit_code == 2


def test_jsonl_csv_and_output_file(cli: Cli, published: Callable[..., str], tmp_path: Path) -> None:
    published()
    lines = cli("export", "--format", "jsonl").stdout.splitlines()
    assert orjson.loads(lines[0])["header"]["records"] == 1
    assert orjson.loads(lines[1])["record_id"] == "SRCH:03BE3A05"
    rows = list(csv.DictReader(io.StringIO(cli("export", "--format", "csv").stdout)))
    assert rows[0]["status"] == "CURRENT" and rows[0]["head_seq"] == "1"
    target = tmp_path / "snap.json"
    result = cli("export", "-o", str(target))
    assert result.exit_code == 0 and result.stdout == ""
    assert target.read_bytes() == cli("export").stdout_bytes


def test_a_removed_record_in_csv_says_withheld(cli: Cli, published: Callable[..., str]) -> None:
    """A removal's purge withholds manifest and provenance members; the CSV export wrote each
    such member as Python's text of its marker (`{'withheld': {'effective_date': …}}`), a
    format no CSV reader expects. It says WITHHELD, as the levels derived from them do."""
    published()
    assert cli("provenance", cli.file(provenance(external_record={
        "registered": True, "identifier": "10.5281/zenodo.1"}))).exit_code == 0
    assert cli("correct", "SRCH:03BE3A05", "--kind", "removal", "--reason", "court order",
               "--purge").exit_code == 0
    text = cli("export", "--format", "csv").stdout
    assert "{" not in text and "withheld" not in text, text
    row = next(csv.DictReader(io.StringIO(text)))
    shown = cli.json("show", "SRCH:03BE3A05")
    m, p = shown["manifest"], shown["provenance"]
    for column, value in (("review_score", m.get("review_score")), ("submitted", m.get("submitted")),
                          ("source_grounded_claims", m.get("source_grounded_claims")),
                          ("title", m.get("title")), ("publisher", p.get("publisher"))):
        withheld = isinstance(value, dict) and "withheld" in value
        assert row[column] == ("WITHHELD" if withheld else str(value)), (column, value)
    assert row["status"] == "REMOVED" and row["review_score"] == "WITHHELD"


def test_an_output_file_named_for_a_format_gets_that_format(
        cli: Cli, published: Callable[..., str], tmp_path: Path) -> None:
    """`ledger export -o snapshot.csv` wrote JSON into a file named .csv (the default format is
    json). Without --format, an -o FILE ending in .csv, .jsonl or .xml gets csv, jsonl or
    crossref-xml; any other name, stdout or --json, json; a --format given wins. The line on
    stderr names the format written."""
    published()
    for name, fmt in (("s.csv", "csv"), ("s.JSONL", "jsonl"), ("s.xml", "crossref-xml"),
                      ("s.json", "json"), ("s.txt", "json")):
        target = tmp_path / name
        done = cli("export", "-o", str(target))
        assert done.exit_code == 0 and done.stderr.endswith(f" ({fmt})\n"), done.stderr
        assert target.read_bytes() == cli("export", "--format", fmt).stdout_bytes, name
    assert cli("export", "--json", "-o", str(tmp_path / "j.csv")).stderr.endswith(" (json)\n")
    chosen = cli("export", "--format", "retraction-watch-csv", "-o", str(tmp_path / "rw.csv"))
    assert chosen.exit_code == 0 and chosen.stderr.endswith(" (retraction-watch-csv)\n")
    assert cli("export").stdout_bytes == cli("export", "--format", "json").stdout_bytes


def test_log_and_history_json(cli: Cli, published: Callable[..., str]) -> None:
    published()
    published("SRCH:00000002")
    events = cli.json("log")
    assert [e["seq"] for e in events] == [1, 2]
    assert set(events[0]) == {"seq", "type", "record_id", "contract", "payload", "actor",
                              "recorded_at", "prev_hash", "hash", "salts", "commitments"}
    assert events[0]["prev_hash"] == "0" * 64 and events[1]["prev_hash"] == events[0]["hash"]
    assert [e["seq"] for e in cli.json("log", "--since", "1")] == [2]
    assert [e["seq"] for e in cli.json("log", "--until", "1")] == [1]
    first = events[0]["recorded_at"]  # --until a time: recorded by then, that moment included
    assert [e["seq"] for e in cli.json("log", "--until", first)] == \
        [e["seq"] for e in events if e["recorded_at"] <= first]
    assert [e["seq"] for e in cli.json("log", "--until", first[:10])] == [1, 2]  # the whole day
    assert cli.json("log", "--since", "2", "--until", "1") == []
    assert cli.json("log", "--record", "SRCH:00000002", "--until", "1") == []
    assert cli("log", "--until", "later").exit_code == 2
    assert cli.json("history", "SRCH:00000002")[0]["actor"] == "tester"
    shown = cli.json("show", "SRCH:03BE3A05")
    assert {"record_id", "version", "status", "correction_count", "verification_level",
            "provenance_level", "quality_tier", "gates", "manifest", "provenance",
            "notices"} <= set(shown)


def test_an_output_that_is_a_pipe_or_a_link_is_written_through(
        cli: Cli, published: Callable[..., str], tmp_path: Path) -> None:
    """`export -o` wrote a temporary file and renamed it over the name given: a FIFO (or, as
    root, /dev/stdout) was replaced by a plain file and its reader got nothing, and a symlink
    was replaced instead of the file it points to. A pipe or a device is now written as it is,
    a link's file replaced whole."""
    import os
    import threading

    published()
    expected = cli("export").stdout_bytes
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    assert cli("export", "-o", str(fifo)).exit_code == 0
    reader.join(timeout=30)
    assert got == [expected] and fifo.is_fifo()
    target, link = tmp_path / "snapshots" / "2026.json", tmp_path / "current.json"
    target.parent.mkdir()
    target.write_text("old")
    link.symlink_to(target)
    assert cli("export", "-o", str(link)).exit_code == 0
    assert link.is_symlink() and target.read_bytes() == expected
    assert cli("export", "-o", os.devnull).exit_code == 0 and Path(os.devnull).is_char_device()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_files_are_written_in_utf8_whatever_the_locale(cli: Cli, tmp_path: Path) -> None:
    """Under a locale whose encoding is ASCII, `render -o` (and every `-o` of a text document)
    failed on a title with an accent (a UnicodeEncodeError traceback): the documents are UTF-8."""
    import os
    import subprocess
    import sys

    from tests.conftest import manifest

    assert cli("publish", cli.file(manifest(title="Café — naïve"))).exit_code == 0
    assert cli("correct", "SRCH:03BE3A05", "--kind", "addendum", "--reason", "Café").exit_code == 0
    env = {**os.environ, "LC_ALL": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"}
    for args, name in ((["render", "SRCH:03BE3A05"], "page.txt"), (["feed"], "feed.xml")):
        out = tmp_path / name
        done = subprocess.run([sys.executable, "-c", "from cli.main import main; main()",
                               "--db", str(cli.db), *args, "-o", str(out)], env=env,
                              capture_output=True, cwd=Path(__file__).resolve().parents[1])
        assert done.returncode == 0, done.stderr
        assert "café" in out.read_bytes().decode("utf-8").lower()
