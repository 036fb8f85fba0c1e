"""The static site in real headless Chromium: a good page verifies, a changed byte fails."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PAGES = Path(__file__).parent.parent / "examples" / "pages"
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                                "(.ci/run installs it)")


def dom(page: Path) -> str:
    """Return the DOM of a local page after its scripts ran, from headless Chromium."""
    return dom_url(page.resolve().as_uri())


@pytest.fixture
def site(cli: Cli, tmp_path: Path) -> Path:
    assert cli("import", *map(str, sorted(PAGES.glob("*.txt")))).exit_code == 0
    cli("correct", "SRCH:03BE3A05", "--kind", "correction", "--reason", "Typo", "--set",
        "/review_score=9.1", "--notice-id", "C1")
    key, vkey = tmp_path / "k.key", tmp_path / "k.vkey"
    vkey.write_text(cli("keygen", "pub.example", "-o", str(key)).stdout)
    checkpoint = tmp_path / "cp.txt"
    assert cli("checkpoint", "--key", str(key), "-o", str(checkpoint)).exit_code == 0
    cli("correct", "SRCH:7BAC9D19", "--kind", "retraction", "--reason", "Fabricated", "--notice-id", "R1")
    out = tmp_path / "site"
    result = cli("site", str(out), "--checkpoint", str(checkpoint), "--vkey", str(vkey))
    assert result.exit_code == 0, result.output
    return out


def test_a_purge_after_the_checkpoint_reads_as_such_in_the_browser(cli: Cli, tmp_path: Path) -> None:
    """A corrected record removed with a purge after the checkpoint its page states: the page
    verifies without a warning, and every member the purge took (the corrected score too)
    reads as withheld by a removal after that checkpoint, in the served text and in the text
    the browser builds from the verified events alike; no reason from the unchecked marker."""
    assert cli("import", *map(str, sorted(PAGES.glob("*.txt")))).exit_code == 0
    cli("correct", "SRCH:03BE3A05", "--kind", "correction", "--reason", "Typo", "--set",
        "/review_score=9.1", "--notice-id", "C1")
    key, vkey = tmp_path / "k.key", tmp_path / "k.vkey"
    vkey.write_text(cli("keygen", "pub.example", "-o", str(key)).stdout)
    checkpoint = tmp_path / "cp.txt"
    assert cli("checkpoint", "--key", str(key), "-o", str(checkpoint)).exit_code == 0
    assert cli("correct", "SRCH:03BE3A05", "--kind", "removal", "--reason", "Court order 7",
               "--purge").exit_code == 0
    out = tmp_path / "site"
    assert cli("site", str(out), "--checkpoint", str(checkpoint), "--vkey", str(vkey)).exit_code == 0
    served = (out / "SRCH-03BE3A05.html").read_text()
    page = dom(out / "SRCH-03BE3A05.html")
    assert 'data-verified="yes"' in page and "data-differs" not in page, page[-3000:]
    size = checkpoint.read_text().split("\n")[1]
    said = f"[withheld by a removal after the checkpoint of size {size}]"
    assert said in served and said in page
    assert "9.1" not in page.split("<main", 1)[-1].split("later event", 1)[0]
    assert "Court order 7" not in page.split("later event", 1)[0]


def test_a_good_page_shows_verified(site: Path) -> None:
    page = dom(site / "SRCH-03BE3A05.html")
    assert 'data-verified="yes"' in page and "data-differs" not in page
    assert "Verified in this browser" in page and "against the checkpoint of size 9" in page
    assert "SRCH:03BE3A05: 4 event(s)" in page and "signed by key pub.example+" in page
    assert "This record was corrected" in page and "Status: CORRECTED" in page
    assert "changed /review_score from 9.33 to 9.1" in page
    later = dom(site / "SRCH-7BAC9D19.html")
    assert 'data-verified="yes"' in later and "not yet covered by a signed checkpoint" in later
    # the later retraction is named where the reader looks, though it is not shown as status yet
    assert "seq 10, notice.issued retraction R1" in later and "Status: CURRENT" not in later
    # the verified pill says it is the status at the checkpoint, neutral, not a green CURRENT
    assert '<p class="status status-stale">Status at the checkpoint: CURRENT</p>' in later
    assert "data-differs" not in later
    # and the status it gives comes first: a reader is not left with CURRENT alone
    assert ("Since the checkpoint, this record's status is RETRACTED</strong>, not yet verified: "
            "the status below is as of the checkpoint.") in later
    assert "Since the checkpoint" not in page


def bundle_of(page: Path) -> Path:
    """Return the bundle script a record page names (``bundles/<id>.<digest>.js``)."""
    names = re.findall(r'<script src="(bundles/[^"]+)"></script>', page.read_text())
    assert len(names) == 1, names
    return page.parent / names[0]


def test_a_page_from_before_a_run_still_verifies_as_it_was(cli: Cli, site: Path,
                                                          tmp_path: Path) -> None:
    """A page a cache kept (or a reader loaded just before a run replaced it) beside the bundle
    of the next run: it said "the text this page was served with differs from its verified
    history", a false alarm of tampering on every routine update. The page names the bundle it
    was built with, which stays for a run: it verifies as of its own checkpoint, no warning."""
    kept = (site / "SRCH-7BAC9D19.html").read_text()
    checkpoint = tmp_path / "cp2.txt"
    assert cli("checkpoint", "--key", str(tmp_path / "k.key"), "-o", str(checkpoint)).exit_code == 0
    assert cli("site", str(site), "--checkpoint", str(checkpoint), "--vkey",
               str(tmp_path / "k.vkey")).exit_code == 0
    (site / "cached.html").write_text(kept)
    old = dom(site / "cached.html")
    assert 'data-verified="yes"' in old and "data-differs" not in old, old[-2000:]
    assert "Status at the checkpoint: CURRENT" in old and "against the checkpoint of size 9" in old
    new = dom(site / "SRCH-7BAC9D19.html")
    assert 'data-verified="yes"' in new and "data-differs" not in new
    assert "Status: RETRACTED" in new and "against the checkpoint of size 10" in new


def tampered(site: Path, edit: Any, name: str = "bad", record: str = "SRCH-03BE3A05") -> Path:
    """Write a copy of a record's page as ``name``.html whose bundle script is ``edit`` (old
    text → new text) of the real one: what someone who can edit the hosted files can do."""
    real = bundle_of(site / f"{record}.html")
    (site / "bundles" / f"{name}.js").write_text(edit(real.read_text()))
    page = (site / f"{record}.html").read_text()
    (site / f"{name}.html").write_text(page.replace(f"bundles/{real.name}", f"bundles/{name}.js"))
    return site / f"{name}.html"


def replace(old: str, new: str) -> Any:
    def edit(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)
    return edit


@pytest.mark.parametrize(("old", "new", "says"), [
    ('"review_score":9.33', '"review_score":9.34', "payload member review_score does not match"),
    ('"kind":"correction"', '"kind":"correktion"', "payload member kind does not match"),
    ('"actor":"tester"', '"actor":"mallory"', "its hash does not match its content"),
    ('"index":0', '"index":1', "wrong leaf index"),
    ('"proof":["', '"proof":["A', "its inclusion proof is malformed"),
    ('"seq":1,', '"seq":2,', "event seq 2"),
])
def test_one_changed_byte_shows_the_failure(site: Path, old: str, new: str, says: str) -> None:
    shown = dom(tampered(site, replace(old, new)))
    assert 'data-verified="no"' in shown and "Verification failed" in shown
    assert says in shown


def test_a_notice_kind_hidden_behind_a_made_up_marker_fails(site: Path) -> None:
    """A withheld value cannot be opened: with the correction's kind replaced by a withheld
    marker (its salt dropped) the page verified and derived the record as not corrected. A
    notice's kind is never withheld by a purge, so the page refuses it."""
    def hide_kind(text: str) -> str:
        marker = ('{"withheld":{"effective_date":"2026-11-29","notice_id":"X-9","notice_seq":98,'
                  '"purge_seq":99,"reason":"Court order"}}')
        text = text.replace('"kind":"correction"', '"kind":' + marker, 1)
        return re.sub('"kind":"[0-9a-f]{32}",', "", text, count=1)  # its salt

    shown = dom(tampered(site, hide_kind, "hidden-kind"))
    assert 'data-verified="no"' in shown and "Verification failed" in shown
    assert "payload member kind is withheld, but no purge withholds it" in shown


def test_a_changed_proof_hash_or_signature_fails(site: Path) -> None:
    def flip_proof(text: str) -> str:
        start = text.index('"proof":["') + len('"proof":["') + 5
        return text[:start] + ("B" if text[start] != "B" else "C") + text[start + 1:]

    def flip_signature(text: str) -> str:
        at = text.index("— pub.example ") + len("— pub.example ") + 20  # inside the signature
        return text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1:]

    assert "inclusion proof gives root" in dom(tampered(site, flip_proof, "bad-proof"))
    assert "checkpoint signature does not verify" in dom(tampered(site, flip_signature, "bad-sig"))


def test_index_lists_every_record(site: Path) -> None:
    page = dom(site / "index.html")
    for rid in ("SRCH:03BE3A05", "SRCH:BF3DD431", "SRCH:7BAC9D19"):
        assert f'href="{rid.replace(":", "-")}.html"' in page
    assert "Records 1–3 of 3" in page and "RETRACTED" in page and "Gate 2: Unverified" in page
    rows = {rid: next(r for r in page.split("<tr") if f'href="{rid}.html"' in r)
            for rid in ("SRCH-03BE3A05", "SRCH-7BAC9D19")}
    # the retraction after the checkpoint: its row states the record as of it, and says so,
    # with the status the later events give
    assert ('<span class="status status-stale">CURRENT</span><small class="pending"> · since: '
            "RETRACTED, not yet covered") in rows["SRCH-7BAC9D19"]  # neutral, not a green CURRENT
    assert '<span class="status status-corrected">CORRECTED</span>' in rows["SRCH-03BE3A05"]
    assert "not yet covered" not in rows["SRCH-03BE3A05"]


def _edited(site: Path, old: str, new: str, name: str = "edited.html") -> str:
    text = (site / "SRCH-03BE3A05.html").read_text()
    assert old in text, old
    (site / name).write_text(text.replace(old, new))
    return dom(site / name)


def test_served_text_edited_is_replaced_and_said(site: Path) -> None:
    """Whoever can edit the hosted files changes the visible status: the page shows the
    verified status, and says prominently that the served text differed."""
    shown = _edited(site, "Status: CORRECTED", "Status: CURRENT")
    assert 'data-verified="yes"' in shown and 'data-differs="yes"' in shown
    assert "differs from its verified history" in shown
    assert "Status: CORRECTED" in shown and "Status: CURRENT" not in shown
    banner = _edited(site, "This record was corrected", "This record is current")
    assert 'data-differs="yes"' in banner and "This record was corrected" in banner


def test_the_served_title_edited_is_replaced_and_said(site: Path) -> None:
    """The title a browser shows in its tab, bookmarks and history was the served one, never
    compared: edited, the page still said "Verified" with no warning. It is now set from the
    verified events, and a served one that differs is said."""
    real = re.findall(r"<title>(.*?)</title>", (site / "SRCH-03BE3A05.html").read_text())[0]
    shown = _edited(site, f"<title>{real}", "<title>Reinstated, no concerns: ")
    assert 'data-verified="yes"' in shown and 'data-differs="yes"' in shown
    assert re.findall(r"<title>(.*?)</title>", shown) == [real]
    good = dom(site / "SRCH-03BE3A05.html")
    assert "data-differs" not in good and re.findall(r"<title>(.*?)</title>", good) == [real]


def test_the_bundles_stated_state_edited_is_said(site: Path) -> None:
    shown = dom(tampered(site, replace('"status":"CORRECTED"', '"status":"CURRENT"')))
    assert 'data-verified="yes"' in shown and 'data-differs="yes"' in shown


def test_an_empty_missing_or_another_records_bundle_fails(site: Path) -> None:
    def empty(text: str) -> str:
        start = text.index('"events":[') + len('"events":[')
        return text[:start] + text[text.index('],"state"'):]

    shown = dom(tampered(site, empty, "empty"))
    assert 'data-verified="no"' in shown and "has no events" in shown
    theirs = bundle_of(site / "SRCH-BF3DD431.html").read_text()
    swapped = dom(tampered(site, lambda _: theirs, "swapped"))
    assert 'data-verified="no"' in swapped and "not for SRCH:03BE3A05" in swapped
    bundle_of(site / "SRCH-03BE3A05.html").unlink()
    missing = dom(site / "SRCH-03BE3A05.html")
    assert 'data-verified="no"' in missing and "bundle did not load" in missing
    assert "kept from an older version of the site" in missing


HOSTILE = '<img src=x onerror="document.title=1">"\'&amp;</script><!--<script>\u2028\u2029 </b>'


def test_hostile_strings_everywhere_stay_text(cli: Cli, tmp_path: Path) -> None:
    """Every string the ledger accepts, with markup, comment openers, script closers, quotes,
    ampersands and line separators: the page verifies and shows them as text."""
    hostile = HOSTILE.replace("\\u2028", "\u2028").replace("\\u2029", "\u2029")
    doc = {"record_id": "SRCH:0000000A", "title": "T " + hostile, "research_question": hostile,
           "abstract": "<!--<script>" + hostile, "source_grounded_claims": 1,
           "claim_record_source": hostile, "note": hostile}
    assert cli("publish", cli.file(doc)).exit_code == 0
    assert cli("correct", "SRCH:0000000A", "--kind", "expression_of_concern", "--reason", hostile,
               "--notice-id", "N<&>\"'1", "--issued-by", hostile).exit_code == 0
    assert cli("gate", "SRCH:0000000A", "--gate", "2", "--status", "FAILED", "--reason", hostile,
               "--evaluator", hostile).exit_code == 0
    key, vkey = tmp_path / "k.key", tmp_path / "k.vkey"
    vkey.write_text(cli("keygen", "a&b<c>", "-o", str(key)).stdout)
    checkpoint = tmp_path / "cp.txt"
    assert cli("checkpoint", "--key", str(key), "-o", str(checkpoint)).exit_code == 0
    out = tmp_path / "site"
    assert cli("site", str(out), "--checkpoint", str(checkpoint), "--vkey", str(vkey)).exit_code == 0
    page = dom(out / "SRCH-0000000A.html")
    assert 'data-verified="yes"' in page and "data-differs" not in page, page[-3000:]
    assert "<img" not in page and "&lt;img src=x" in page
    assert "This record is under an expression of concern" in page
    assert "a&amp;b&lt;c&gt;+" in page  # the key name, as text
    index = dom(out / "index.html")
    assert "<img" not in index and "&lt;img src=x" in index


def test_bidi_overrides_in_stored_text_cannot_reorder_what_the_page_says(cli: Cli,
                                                                         tmp_path: Path) -> None:
    """A right-to-left override (U+202E) in a gate's name, an isolate left open in an evaluator's
    name: unclosed, they reversed the page's own words after them in the history sentence ("…
    evaluated FAILED by …" read "… DELIAF detaulave …"). Each embedding, override and isolate
    reads as a visible escape, in the served text and in the text the browser builds (the page
    verifies, no "differs"), in the record page and the index alike."""
    doc = {"record_id": "SRCH:0000000B", "title": "Title \u202eevil\u202c ok \u2067open",
           "research_question": "q", "abstract": "a", "source_grounded_claims": 1,
           "claim_record_source": "s"}
    assert cli("publish", cli.file(doc)).exit_code == 0
    assert cli("gate", "SRCH:0000000B", "--gate", "2", "--status", "FAILED", "--reason",
               "bad \u202e", "--evaluator", "Ann \u2066").exit_code == 0
    key, vkey = tmp_path / "k.key", tmp_path / "k.vkey"
    vkey.write_text(cli("keygen", "pub.example", "-o", str(key)).stdout)
    checkpoint = tmp_path / "cp.txt"
    assert cli("checkpoint", "--key", str(key), "-o", str(checkpoint)).exit_code == 0
    out = tmp_path / "site"
    assert cli("site", str(out), "--checkpoint", str(checkpoint), "--vkey", str(vkey)).exit_code == 0
    scopes = re.compile("[\u202a-\u202e\u2066-\u2069]")
    for name in ("SRCH-0000000B.html", "index.html"):
        served = (out / name).read_text()
        page = dom(out / name)
        for text in (served, page):
            assert not scopes.search(text)
            assert "Title \\u202eevil\\u202c ok \\u2067open" in text
        if name != "index.html":
            assert 'data-verified="yes"' in page and "data-differs" not in page, page[-3000:]
            assert "evaluated FAILED by Ann \\u2066: bad \\u202e" in page
    assert "\u202e" in cli.json("show", "SRCH:0000000B")["manifest"]["title"]  # stored as given


def test_site_without_checkpoint_says_not_verifiable(cli: Cli, tmp_path: Path) -> None:
    cli("import", str(PAGES / "002_7df1a24f41d7424d.txt"))
    assert cli("site", str(tmp_path / "s")).exit_code == 0
    assert "Not verifiable" in dom(tmp_path / "s" / "SRCH-BF3DD431.html")


def test_the_search_finds_every_record_and_says_what_is_not_yet_covered(
        site: Path, nginx: tuple[str, Path]) -> None:
    """The index's search, served by Debian's nginx and run in Chromium from a linked query
    (`index.html?q=…&status=…`): it reads index.json and shows the matching records, a record
    with events after the checkpoint marked as on the index page itself."""
    import shutil as sh

    url, served = nginx
    sh.copytree(site, served, dirs_exist_ok=True)
    later = dom_url(f"{url}/index.html?q=SRCH:7BAC9D19")
    assert "1 of 3 records match" in later, later[-2000:]
    row = later.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert "SRCH:7BAC9D19" in row and " · since: RETRACTED, not yet covered" in row
    assert '<span class="status status-stale">CURRENT</span>' in row  # as index.html writes it
    current = dom_url(f"{url}/index.html?q=&status=CORRECTED")
    row = current.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert "1 of 3 records match" in current and "SRCH:03BE3A05" in row
    assert "not yet covered" not in row
    # a status filter finds a record by the status its later events give, as its row says it
    retracted = dom_url(f"{url}/index.html?q=&status=RETRACTED")
    row = retracted.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert "SRCH:7BAC9D19" in row and " · since: RETRACTED, not yet covered" in row, row
    # a typographic apostrophe, as a page shows one and a reader copies it, finds the plain one
    curly = dom_url(f"{url}/index.html?q=ExpertFlow%E2%80%99s")
    assert "1 of 3 records match" in curly and "SRCH:7BAC9D19" in curly, curly[-2000:]
    # the page's own range ("Records 1–3 of 3") is hidden while a search shows its matches
    assert '<p class="range" hidden="">Records 1–3 of 3</p>' in curly, curly[-3000:]
    assert '<p class="range">Records 1–3 of 3</p>' in dom_url(f"{url}/index.html")


def test_the_search_says_a_record_published_after_the_checkpoint_is_not_covered(
        cli: Cli, tmp_path: Path, nginx: tuple[str, Path]) -> None:
    """A record whose every event came after the checkpoint: its row, on the index page and as
    the search builds it from index.json, says none of it is covered (not "later events")."""
    assert cli("import", str(PAGES / "000_6a6e253d29ffe78a.txt")).exit_code == 0
    key, vkey = tmp_path / "k.key", tmp_path / "k.vkey"
    vkey.write_text(cli("keygen", "pub.example", "-o", str(key)).stdout)
    checkpoint = tmp_path / "cp.txt"
    assert cli("checkpoint", "--key", str(key), "-o", str(checkpoint)).exit_code == 0
    assert cli("import", str(PAGES / "002_7df1a24f41d7424d.txt")).exit_code == 0
    url, served = nginx
    result = cli("site", str(served), "--checkpoint", str(checkpoint), "--vkey", str(vkey))
    assert result.exit_code == 0, result.output
    for page in (dom_url(f"{url}/index.html"), dom_url(f"{url}/index.html?q=SRCH:BF3DD431")):
        row = page.split("SRCH:BF3DD431</a>", 1)[1].split("</tr>", 1)[0]
        assert " · published after the checkpoint, not yet covered" in row, row
    assert "Not yet verifiable" in dom_url(f"{url}/SRCH-BF3DD431.html")


def dom_url(url: str) -> str:
    """Return the DOM of a served page after its scripts ran, from headless Chromium."""
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}", "--virtual-time-budget=10000",
             "--dump-dom", url],
            capture_output=True, text=True, timeout=120, check=True)
    return result.stdout


def test_the_search_links_a_record_whose_id_is_too_long_for_a_file_name(
        cli: Cli, tmp_path: Path, nginx: tuple[str, Path]) -> None:
    """A record id over 100 characters has a page name cut with a digest (`site.page_name`);
    the index's search in Chromium links to that page, as index.json names it, and the page
    opens and verifies."""
    import shutil as sh

    from ledger.pages.site import page_name
    from tests.conftest import manifest

    rid = "L" * 200 + ":0000000A"
    assert cli("publish", cli.file(manifest(rid, title="A long one"))).exit_code == 0
    key, vkey, note = tmp_path / "k.key", tmp_path / "k.vkey", tmp_path / "cp.txt"
    vkey.write_text(cli("keygen", "pub.example", "-o", str(key)).stdout)
    assert cli("checkpoint", "--key", str(key), "-o", str(note)).exit_code == 0
    out = tmp_path / "site"
    assert cli("site", str(out), "--checkpoint", str(note), "--vkey", str(vkey)).exit_code == 0
    url, served = nginx
    sh.copytree(out, served, dirs_exist_ok=True)
    found = dom_url(f"{url}/index.html?q=long")
    row = found.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert f'href="{page_name(rid)}"' in row, row[:2000]
    page = dom_url(f"{url}/{page_name(rid)}")
    assert 'data-verified="yes"' in page, page[-2000:]


def test_the_stale_mark_edited_on_the_host_is_said_or_harmless(site: Path) -> None:
    """Someone who can write the hosted files edits the `data-since` mark by which record.js
    builds the grey pill. Dropped from a page whose later retraction is not yet covered, with
    the grey pill left as served, the page built from the verified events differs from the
    served one and says so; added to a page with no later events, the pill says the true
    status at the checkpoint, in grey, and the page says it differs from what was served."""
    text = (site / "SRCH-7BAC9D19.html").read_text()
    assert ' data-since="RETRACTED"' in text
    (site / "dropped.html").write_text(text.replace(' data-since="RETRACTED"', ""))
    dropped = dom(site / "dropped.html")
    assert 'data-verified="yes"' in dropped and 'data-differs="yes"' in dropped
    assert "Status: CURRENT" in dropped  # what the verified events give, green, and said differs
    added = _edited(site, 'data-record-id="SRCH:03BE3A05"',
                    'data-record-id="SRCH:03BE3A05" data-since="CURRENT"', "added.html")
    assert 'data-verified="yes"' in added and 'data-differs="yes"' in added
    assert "Status at the checkpoint: CORRECTED" in added
