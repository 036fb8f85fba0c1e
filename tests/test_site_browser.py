"""The static site in real headless Chromium: a good page verifies, a changed byte fails."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.conftest import Cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PAGES = Path(__file__).parent / "fixtures" / "pages"
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                                "(.ci/run installs it)")


def dom(page: Path) -> str:
    """Return the DOM of a local page after its scripts ran, from headless Chromium."""
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}", "--virtual-time-budget=10000",
             "--dump-dom", page.resolve().as_uri()],
            capture_output=True, text=True, timeout=120, check=True)
    return result.stdout


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


def test_a_good_page_shows_verified(site: Path) -> None:
    page = dom(site / "SRCH-03BE3A05.html")
    assert 'data-verified="yes"' in page and "data-differs" not in page
    assert "Verified in this browser" in page and "against the checkpoint of size 9" in page
    assert "SRCH:03BE3A05: 4 event(s)" in page and "signed by key pub.example+" in page
    assert "This record was corrected" in page and "Status: CORRECTED" in page
    assert "changed /review_score from 9.33 to 9.1" in page
    later = dom(site / "SRCH-7BAC9D19.html")
    assert 'data-verified="yes"' in later and "not yet covered by a signed checkpoint" in later


@pytest.mark.parametrize(("old", "new", "says"), [
    ('"review_score":9.33', '"review_score":9.34', "payload member review_score does not match"),
    ('"kind":"correction"', '"kind":"correktion"', "payload member kind does not match"),
    ('"actor":"tester"', '"actor":"mallory"', "its hash does not match its content"),
    ('"index":0', '"index":1', "wrong leaf index"),
    ('"proof":["', '"proof":["A', "damaged"),
    ('"seq":1,', '"seq":2,', "event seq 2"),
])
def test_one_changed_byte_shows_the_failure(site: Path, old: str, new: str, says: str) -> None:
    page = site / "SRCH-03BE3A05.html"
    text = page.read_text()
    assert old in text, old
    bad = site / "bad.html"
    bad.write_text(text.replace(old, new, 1))
    shown = dom(bad)
    assert 'data-verified="no"' in shown and "Verification failed" in shown
    assert says in shown


def test_a_changed_proof_hash_or_signature_fails(site: Path) -> None:
    text = (site / "SRCH-03BE3A05.html").read_text()
    start = text.index('"proof":["') + len('"proof":["') + 5
    flipped = text[:start] + ("B" if text[start] != "B" else "C") + text[start + 1:]
    (site / "bad-proof.html").write_text(flipped)
    assert "inclusion proof gives root" in dom(site / "bad-proof.html")
    sig = text.index("— pub.example ")
    at = sig + len("— pub.example ") + 20  # inside the base64 signature
    forged = text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1:]
    (site / "bad-sig.html").write_text(forged)
    assert "checkpoint signature does not verify" in dom(site / "bad-sig.html")


def test_index_lists_every_record(site: Path) -> None:
    page = dom(site / "index.html")
    for rid in ("SRCH:03BE3A05", "SRCH:BF3DD431", "SRCH:7BAC9D19"):
        assert f'href="{rid.replace(":", "-")}.html"' in page
    assert "Records 1–3 of 3" in page and "RETRACTED" in page and "Gate 2: Unverified" in page


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


def test_the_bundles_stated_state_edited_is_said(site: Path) -> None:
    shown = _edited(site, '"status":"CORRECTED"', '"status":"CURRENT"')
    assert 'data-verified="yes"' in shown and 'data-differs="yes"' in shown


def test_an_empty_bundle_or_another_records_bundle_fails(site: Path) -> None:
    text = (site / "SRCH-03BE3A05.html").read_text()
    start = text.index('"events":[') + len('"events":[')
    end = text.index('],"state"')
    (site / "empty.html").write_text(text[:start] + text[end:])
    empty = dom(site / "empty.html")
    assert 'data-verified="no"' in empty and "has no events" in empty
    other = (site / "SRCH-BF3DD431.html").read_text()
    theirs = other[other.index('<script type="application/json" id="bundle">'):
                   other.index("</script>", other.index('id="bundle"')) + 9]
    ours = text[text.index('<script type="application/json" id="bundle">'):
                text.index("</script>", text.index('id="bundle"')) + 9]
    (site / "swapped.html").write_text(text.replace(ours, theirs))
    swapped = dom(site / "swapped.html")
    assert 'data-verified="no"' in swapped and "not for SRCH:03BE3A05" in swapped


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


def test_site_without_checkpoint_says_not_verifiable(cli: Cli, tmp_path: Path) -> None:
    cli("import", str(PAGES / "002_7df1a24f41d7424d.txt"))
    assert cli("site", str(tmp_path / "s")).exit_code == 0
    assert "Not verifiable" in dom(tmp_path / "s" / "SRCH-BF3DD431.html")
