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


def _derived_state(bundle: dict[str, Any]) -> Any:
    """The state a forger states for edited events: what the published fold gives them (an
    attacker runs the site's own fold.js; its equality with the Python fold is tested)."""
    from ledger.core.canonical import canonical_bytes
    from ledger.core.events import Event
    from ledger.model.state import fold
    from ledger.storage import views

    events = [Event(e["seq"], e["type"], e["record_id"], e["contract"],
                    canonical_bytes(e["payload"]).decode(), e["actor"], e["recorded_at"],
                    e["prev_hash"], e["hash"], canonical_bytes(e.get("salts", {})).decode(),
                    canonical_bytes(e["commitments"]).decode())
              for e in (item["event"] for item in bundle["events"])]
    return orjson.loads(orjson.dumps(views.show_of(fold(events)), default=str))


@pytest.fixture
def retracted(tmp_path: Path) -> tuple[Cli, dict[str, Any], str]:
    """A v2 record retracted (seq 4), then removed with a purge (seq 5, 6), and its bundle
    against a checkpoint of all six events."""
    db = tmp_path / "l.db"
    Ledger.create(db, clock).close()
    cli = Cli(db, tmp_path)
    cli("publish", cli.file(manifest()))
    cli("correct", "SRCH:03BE3A05", "--kind", "correction", "--reason", "typo", "--set",
        "/review_score=9.1", "--notice-id", "C-1")
    cli("correct", "SRCH:03BE3A05", "--kind", "expression_of_concern", "--reason", "doubt")
    cli("correct", "SRCH:03BE3A05", "--kind", "retraction", "--reason", "Fabricated data",
        "--notice-id", "R-1")
    assert cli("correct", "SRCH:03BE3A05", "--kind", "removal", "--reason", "Court order",
               "--purge", "--purge-field", "abstract").exit_code == 0
    key = tmp_path / "pub.key"
    vkey = cli("keygen", "example.org/log", "-o", str(key)).stdout.strip()
    cli("checkpoint", "--key", str(key), "-o", str(tmp_path / "cp.txt"))
    cli("bundle", "SRCH:03BE3A05", "--checkpoint", str(tmp_path / "cp.txt"), "-o",
        str(tmp_path / "b.json"))
    return cli, orjson.loads((tmp_path / "b.json").read_bytes()), vkey


def _forge(bundle: dict[str, Any], seq: int, name: str, inner: dict[str, Any]) -> dict[str, Any]:
    """The bundle with member ``name`` of event ``seq`` replaced by a withheld marker (its salt
    dropped) and the stated state made to match: what someone who can write the hosted site
    can do without any key."""
    forged = orjson.loads(orjson.dumps(bundle))
    env = next(i["event"] for i in forged["events"] if i["event"]["seq"] == seq)
    env["payload"][name] = {"withheld": inner}
    del env["salts"][name]
    forged["state"] = _derived_state(forged)
    return forged


LATER = {"notice_id": "X-9", "notice_seq": 98, "purge_seq": 99, "effective_date": "2026-11-29",
         "reason": "Court order"}


@pytest.mark.parametrize(("seq", "name", "inner", "says"), [
    (4, "kind", LATER, "is withheld, but no purge withholds it"),  # the retraction, hidden
    (2, "kind", LATER, "is withheld, but no purge withholds it"),
    (5, "reason", LATER, "is withheld, but no purge withholds it"),  # a removal notice's
    (4, "reason", {**LATER, "notice_seq": 3}, "whose removal notice"),
    (4, "reason", {**LATER, "notice_seq": 5, "purge_seq": 6}, "withheld"),  # the real purge
    (2, "changes", {**LATER, "notice_id": "R-1", "notice_seq": 4, "purge_seq": 4}, "withheld"),
], ids=["a retraction's kind", "a correction's kind", "a removal's reason",
        "a later purge with an earlier notice", "not listed by the real purge",
        "a purge that is a retraction"])
def test_a_forged_withholding_fails_in_the_browser_and_in_python(
        tmp_path: Path, retracted: tuple[Cli, dict[str, Any], str], seq: int, name: str,
        inner: dict[str, Any], says: str) -> None:
    """A withheld member cannot be opened, so a marker put in a bundle in place of a value
    hides it: the retraction's kind hidden made the page say 'Verified' and CURRENT. Both
    verifiers take a marker only for a member a purge may withhold, exactly as the record's
    purge in the bundle gives it, or for a purge after the checkpoint whose removal is too."""
    cli, bundle, vkey = retracted
    assert run_js(bundle, vkey, tmp_path)["verified"] == "yes"
    forged = _forge(bundle, seq, name, inner)
    if name == "kind" and seq == 4:
        assert forged["state"]["status"] != "RETRACTED"  # what the forgery would have shown
    js = run_js(forged, vkey, tmp_path)
    assert js["verified"] == "no" and js["mismatch"] and says in js["text"], js
    (tmp_path / "forged.json").write_bytes(orjson.dumps(forged))
    result = cli("verify-bundle", str(tmp_path / "forged.json"), "--vkey", vkey)
    assert result.exit_code == 1 and says in result.stderr, result.output


def test_a_purge_after_the_checkpoint_still_verifies(tmp_path: Path) -> None:
    """The genuine case the rule keeps: a record purged after the checkpoint its page states
    (the content is gone from the file): both verifiers accept the markers the purge wrote."""
    db = tmp_path / "l.db"
    Ledger.create(db, clock).close()
    cli = Cli(db, tmp_path)
    cli("publish", cli.file(manifest()))
    key = tmp_path / "pub.key"
    vkey = cli("keygen", "example.org/log", "-o", str(key)).stdout.strip()
    cli("checkpoint", "--key", str(key), "-o", str(tmp_path / "cp.txt"))
    assert cli("correct", "SRCH:03BE3A05", "--kind", "removal", "--reason", "Court order",
               "--purge").exit_code == 0
    cli("bundle", "SRCH:03BE3A05", "--checkpoint", str(tmp_path / "cp.txt"), "-o",
        str(tmp_path / "b.json"))
    bundle = orjson.loads((tmp_path / "b.json").read_bytes())
    js = run_js(bundle, vkey, tmp_path)
    assert js["verified"] == "yes" and js["withheld"] > 0, js
    assert cli("verify-bundle", str(tmp_path / "b.json"), "--vkey", vkey).exit_code == 0


def test_a_correction_withheld_by_a_later_purge_cannot_be_undone(tmp_path: Path) -> None:
    """A correction's changes withheld by a purge after the checkpoint name the members they
    set in a list no checkpoint covers. Emptied by whoever serves the bundle, the corrected
    review score read as before the correction, under 'Verified'. Both verifiers now fold the
    list widened to every member of the record's manifests, so each reads as withheld; the
    bundle's own state says the same, and the forger's state is refused."""
    from ledger.core.canonical import canonical_bytes
    from ledger.core.checkpoint import parse_checkpoint
    from ledger.model.purge import as_checkable, describe
    from ledger.ops.bundle import _check_item

    db = tmp_path / "l.db"
    Ledger.create(db, clock).close()
    cli = Cli(db, tmp_path)
    cli("publish", cli.file(manifest()))
    assert cli("correct", "SRCH:03BE3A05", "--kind", "correction", "--reason", "typo", "--set",
               "/review_score=9.1", "--notice-id", "C-1").exit_code == 0
    key = tmp_path / "pub.key"
    vkey = cli("keygen", "example.org/log", "-o", str(key)).stdout.strip()
    cli("checkpoint", "--key", str(key), "-o", str(tmp_path / "cp.txt"))  # size 2
    assert cli("correct", "SRCH:03BE3A05", "--kind", "removal", "--reason", "Court order",
               "--purge", "--purge-field", "changes").exit_code == 0
    assert cli.json("show", "SRCH:03BE3A05")["manifest"]["abstract"] == manifest()["abstract"]
    cli("bundle", "SRCH:03BE3A05", "--checkpoint", str(tmp_path / "cp.txt"), "-o",
        str(tmp_path / "b.json"))
    bundle = orjson.loads((tmp_path / "b.json").read_bytes())
    assert bundle["events"][1]["event"]["payload"]["changes"]["withheld"]["changed"] == ["review_score"]
    said = cli.json("verify-bundle", str(tmp_path / "b.json"), "--vkey", vkey)
    shown = said["state"]["manifest"]
    assert {"review_score", "title", "abstract"} <= {n for n, v in shown.items()
                                                      if isinstance(v, dict) and "withheld" in v}
    assert bundle["state"] == said["state"]

    # What a marker of a purge after the checkpoint says is unchecked, so neither verifier
    # shows it: the host rewrites its reason, and the record still reads only "withheld after
    # the checkpoint" (the forger's state, which shows the words, is refused).
    lying = orjson.loads(orjson.dumps(bundle))
    lying["events"][1]["event"]["payload"]["changes"]["withheld"]["reason"] = "Fraud, says a court"
    lying["state"] = _derived_state(lying)
    assert "Fraud" in orjson.dumps(lying["state"]).decode()
    (tmp_path / "l.json").write_bytes(orjson.dumps({**lying, "state": bundle["state"]}))
    told = cli.json("verify-bundle", str(tmp_path / "l.json"), "--vkey", vkey)
    assert "Fraud" not in orjson.dumps(told).decode()
    marker = told["state"]["manifest"]["review_score"]
    assert marker == {"withheld": {"after_checkpoint": 2}}, marker
    assert describe(marker) == "[withheld by a removal after the checkpoint of size 2]"
    js = run_js(lying, vkey, tmp_path)
    assert js["verified"] == "yes" and "Fraud" not in orjson.dumps(js["payloads"]).decode(), js

    checkpoint = parse_checkpoint(bundle["checkpoint"].split("\n\n")[0] + "\n")
    for changed in (["review_score"], []):  # genuine, then emptied by the host
        forged = orjson.loads(orjson.dumps(bundle))
        forged["events"][1]["event"]["payload"]["changes"]["withheld"]["changed"] = changed
        forged["state"] = _derived_state(forged)  # what the forger wants read
        js = run_js(forged, vkey, tmp_path)
        assert js["verified"] == "yes", js
        events = [_check_item(item, checkpoint, "SRCH:03BE3A05", n)
                  for n, item in enumerate(forged["events"])]
        want = [orjson.loads(canonical_bytes(e.payload)) for e in as_checkable(events, checkpoint.size)]
        assert [orjson.loads(canonical_bytes(p)) for p in js["payloads"]] == want
        assert {"review_score", "title"} <= set(js["payloads"][1]["changes"]["withheld"]["changed"])
        (tmp_path / "f.json").write_bytes(orjson.dumps(forged))
        result = cli("verify-bundle", str(tmp_path / "f.json"), "--vkey", vkey)
        if changed:
            assert result.exit_code == 1 and "stated record state differs" in result.stderr
        else:
            assert forged["state"]["manifest"]["review_score"] == manifest()["review_score"]
            assert result.exit_code == 1 and "stated record state differs" in result.stderr, \
                result.output


def test_the_browser_knows_what_a_purge_may_withhold_as_python_does() -> None:
    """verify.js carries its own copy of the members a purge may withhold (a page has no other
    source): it must be ledger.model.purge's, contract by contract."""
    from ledger.model.purge import PURGEABLE

    assert NODE is not None
    out = subprocess.run([NODE, "-e", f"console.log(JSON.stringify(require({str(VERIFY_JS)!r})"
                                      ".PURGEABLE))"],
                         capture_output=True, text=True, timeout=60, check=True)
    assert {k: sorted(v) for k, v in orjson.loads(out.stdout).items()} \
        == {k: sorted(v) for k, v in PURGEABLE.items()}


@pytest.mark.parametrize("edit", ["a salt for no member", "a marker with another key",
                                  "an envelope with another key", "a proof hash in an array",
                                  "a proof hash with a space"])
def test_what_python_refuses_in_a_bundle_the_browser_refuses(
        tmp_path: Path, retracted: tuple[Cli, dict[str, Any], str], edit: str) -> None:
    """The two verifiers of one bundle must not disagree: a salt stored for a member that is not
    committed to, a withheld marker with a key besides `withheld`, and a v2 envelope with a key
    no envelope has were taken by verify.js."""
    cli, bundle, vkey = retracted
    forged = orjson.loads(orjson.dumps(bundle))
    env = forged["events"][0]["event"]
    if edit == "a salt for no member":
        env["salts"]["zzz"] = "0" * 32
    elif edit == "an envelope with another key":
        env["note_to_readers"] = "unchecked words"
    elif edit == "a proof hash in an array":  # the same bytes, as atob reads it
        forged["events"][0]["proof"][0] = [forged["events"][0]["proof"][0]]
    elif edit == "a proof hash with a space":
        text = forged["events"][0]["proof"][0]
        forged["events"][0]["proof"][0] = text[:8] + " " + text[8:]
    else:
        env["payload"]["note"] = {"withheld": LATER, "also": 1}
        env["salts"].pop("note", None)
    js = run_js(forged, vkey, tmp_path)
    assert js["verified"] == "no" and js["mismatch"], js
    (tmp_path / "forged.json").write_bytes(orjson.dumps(forged))
    result = cli("verify-bundle", str(tmp_path / "forged.json"), "--vkey", vkey)
    # 1: it does not verify; 2: it is not a bundle (an envelope with another key)
    assert result.exit_code in (1, 2) and result.stderr.startswith("Error: "), result.output


def _mutations(bundle: dict[str, Any], seed: int, count: int) -> list[dict[str, Any]]:
    """``count`` copies of the bundle, each with one value somewhere in its events changed the
    way someone who edits the hosted files could: another text, upper case, an integer as a
    float or a string, a key deleted or added, null, a made-up withheld marker, a list
    shortened, a value wrapped in a list."""
    import random

    rnd = random.Random(seed)

    def paths(value: Any, prefix: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        found = [prefix]
        if isinstance(value, dict):
            for key, inner in value.items():
                found += paths(inner, (*prefix, key))
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                found += paths(inner, (*prefix, index))
        return found

    out = []
    for _ in range(count):
        copy = orjson.loads(orjson.dumps(bundle))
        path = rnd.choice(paths(copy["events"], ())[1:])
        parent: Any = copy["events"]
        for step in path[:-1]:
            parent = parent[step]
        key, value, how = path[-1], parent[path[-1]], rnd.randrange(9)
        is_int = isinstance(value, int) and not isinstance(value, bool)
        if how == 0:
            parent[key] = "x"
        elif how == 1 and isinstance(value, str):
            parent[key] = value.upper()
        elif how == 2 and is_int:
            parent[key] = float(value)
        elif how == 3 and is_int:
            parent[key] = str(value)
        elif how == 4 and isinstance(parent, dict):
            del parent[key]
        elif how == 5 and isinstance(value, dict):
            value["zz"] = 1
        elif how == 6:
            parent[key] = None
        elif how == 7:
            parent[key] = {"withheld": LATER}
        elif how == 8 and isinstance(value, list) and value:
            value.pop(rnd.randrange(len(value)))
        else:
            parent[key] = [value]
        out.append(copy)
    return out


@pytest.mark.parametrize("later", [False, True], ids=["purge covered", "purge after the checkpoint"])
def test_the_browser_and_python_agree_on_edited_bundles(tmp_path: Path, later: bool) -> None:
    """verify.js and verify-bundle, given the same 300 bundles each edited in one place (a
    record corrected, evaluated, retracted and removed with a purge; the checkpoint after the
    purge, or before it): each takes exactly the bundles the other takes, and Python never
    stops on an error of its own. (verify-bundle also compares the bundle's stated state, which
    the page does apart, in record.js: an edit only that comparison catches is left aside.)"""
    from ledger.core.note import parse_verifier
    from ledger.errors import LedgerError
    from ledger.ops.bundle import verify_bundle

    db = tmp_path / "l.db"
    Ledger.create(db, clock).close()
    cli = Cli(db, tmp_path)
    cli("publish", cli.file(manifest()))
    cli("correct", "SRCH:03BE3A05", "--kind", "correction", "--reason", "typo", "--set",
        "/review_score=9.1", "--notice-id", "C-1")
    cli("gate", "SRCH:03BE3A05", "--gate", "2", "--status", "FAILED", "--reason", "no")
    cli("correct", "SRCH:03BE3A05", "--kind", "retraction", "--reason", "Fabricated",
        "--notice-id", "R-1")
    key = tmp_path / "pub.key"
    vkey = cli("keygen", "example.org/log", "-o", str(key)).stdout.strip()
    if later:
        cli("checkpoint", "--key", str(key), "-o", str(tmp_path / "cp.txt"))
    assert cli("correct", "SRCH:03BE3A05", "--kind", "removal", "--reason", "Court order",
               "--purge", "--purge-field", "changes", "--purge-field", "abstract").exit_code == 0
    if not later:
        cli("checkpoint", "--key", str(key), "-o", str(tmp_path / "cp.txt"))
    bundle = orjson.loads(cli("bundle", "SRCH:03BE3A05", "--checkpoint",
                              str(tmp_path / "cp.txt")).stdout)
    edited = _mutations(bundle, seed=17 + later, count=300)
    path = tmp_path / "many.json"
    path.write_bytes(orjson.dumps(edited))
    assert NODE is not None
    out = subprocess.run([NODE, str(HARNESS.with_name("verify_many.js")), str(VERIFY_JS),
                          str(path), vkey, "SRCH:03BE3A05"],
                         capture_output=True, text=True, timeout=120, check=True)
    verifier, disagree = parse_verifier(vkey), []
    for n, (forged, js) in enumerate(zip(edited, orjson.loads(out.stdout), strict=True)):
        try:
            verify_bundle(forged, verifier)
            python = "yes"
        except LedgerError as exc:
            python = f"no: {exc}"
        if "stated record state differs" in python:
            continue
        if (python == "yes") != (js == "yes"):
            disagree.append((n, python[:120], js[:120]))
    assert not disagree, disagree
