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
    assert 'data-verified="yes"' in page
    assert "Verified against checkpoint of size 9" in page
    later = dom(site / "SRCH-7BAC9D19.html")
    assert 'data-verified="yes"' in later and "not yet covered by a signed checkpoint" in later


@pytest.mark.parametrize(("old", "new", "says"), [
    ('"review_score":9.33', '"review_score":9.34', "its hash does not match its content"),
    ('"kind":"correction"', '"kind":"correktion"', "its hash does not match its content"),
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
    at = text.index(" ", sig + len("— pub.example ")) - 10
    forged = text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1:]
    (site / "bad-sig.html").write_text(forged)
    assert "checkpoint signature does not verify" in dom(site / "bad-sig.html")


def test_index_lists_every_record(site: Path) -> None:
    page = dom(site / "index.html")
    for rid in ("SRCH:03BE3A05", "SRCH:BF3DD431", "SRCH:7BAC9D19"):
        assert f'href="{rid.replace(":", "-")}.html"' in page
    assert "3 of 3 records" in page and "RETRACTED" in page and "Gate 2: Unverified" in page


def test_site_without_checkpoint_says_not_verifiable(cli: Cli, tmp_path: Path) -> None:
    cli("import", str(PAGES / "002_7df1a24f41d7424d.txt"))
    assert cli("site", str(tmp_path / "s")).exit_code == 0
    assert "Not verifiable" in dom(tmp_path / "s" / "SRCH-BF3DD431.html")
