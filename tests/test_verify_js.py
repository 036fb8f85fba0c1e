"""The site's in-browser verifier (ledger/pages/assets/verify.js) under Node, on real bundles of
both event formats: a genuine bundle verifies, an edited one fails. Node's WebCrypto is the
browser's API (SHA-256, Ed25519); tests/js/verify_harness.js gives the script the page's two
embedded elements and reads the status it writes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest

from ledger.api import Ledger
from ledger.pages.assets import __file__ as assets_init
from tests.conftest import Cli, clock, manifest

NODE = shutil.which("node") or shutil.which("nodejs")
VERIFY_JS = Path(assets_init).parent / "verify.js"
HARNESS = Path(__file__).parent / "js" / "verify_harness.js"
pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")


def run_js(bundle: Any, vkey: str, tmp: Path, record_id: str = "SRCH:03BE3A05") -> dict[str, Any]:
    path = tmp / "bundle-for-js.json"
    path.write_bytes(orjson.dumps(bundle))
    assert NODE is not None
    out = subprocess.run([NODE, str(HARNESS), str(VERIFY_JS), str(path), vkey, record_id],
                         capture_output=True, text=True, timeout=60, check=True)
    result: dict[str, Any] = orjson.loads(out.stdout)
    return result


@pytest.mark.parametrize("event_format", [1, 2])
def test_verify_js_accepts_a_genuine_bundle_and_names_an_edit(tmp_path: Path, event_format: int) -> None:
    db = tmp_path / "l.db"
    Ledger.create(db, clock, event_format=event_format).close()
    cli = Cli(db, tmp_path)
    cli("publish", cli.file(manifest(abstract="Ünïcode “quotes” and a 😀")))
    cli("correct", "SRCH:03BE3A05", "--kind", "expression_of_concern", "--reason", "doubt")
    if event_format == 2:
        purged = cli("correct", "SRCH:03BE3A05", "--kind", "removal", "--reason", "order",
                     "--purge", "--purge-field", "abstract")
        assert purged.exit_code == 0, purged.output
    key = tmp_path / "pub.key"
    vkey = cli("keygen", "example.org/log", "-o", str(key)).stdout.strip()
    cli("checkpoint", "--key", str(key), "-o", str(tmp_path / "cp.txt"))
    assert cli("bundle", "SRCH:03BE3A05", "--checkpoint", str(tmp_path / "cp.txt"), "-o",
               str(tmp_path / "b.json")).exit_code == 0
    bundle = orjson.loads((tmp_path / "b.json").read_bytes())
    good = run_js(bundle, vkey, tmp_path)
    assert good["verified"] == "yes", good
    assert (good["events"], good["origin"]) == (len(bundle["events"]), "example.org/log")
    assert good["withheld"] == (1 if event_format == 2 else 0)
    # what the page refuses: another record's bundle, an empty one, one not a bundle
    assert "not for SRCH:00000009" in run_js(bundle, vkey, tmp_path, "SRCH:00000009")["text"]
    assert "no events" in run_js({**bundle, "events": []}, vkey, tmp_path)["text"]
    assert run_js([], vkey, tmp_path)["verified"] == "no"
    moved = {**bundle, "record_id": "SRCH:00000009"}  # relabelled to pass as another record's
    assert "is of SRCH:03BE3A05" in run_js(moved, vkey, tmp_path, "SRCH:00000009")["text"]
    bundle["events"][1]["event"]["payload"]["reason"] = "something else"
    bad = run_js(bundle, vkey, tmp_path)
    assert bad["verified"] == "no" and bad["mismatch"] and "event seq 2" in bad["text"], bad
