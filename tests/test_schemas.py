"""The checked-in JSON Schemas (of the contracts, the export and the bundle) are what the models
generate, a published one never changes, and `ledger schema` prints them."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from cli.main import app
from ledger.ops.schemas import DESCRIBES, SCHEMA_BASE, schema_bytes
from ledger.ops.schemas import SCHEMAS as PUBLISHED

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_schema_is_up_to_date(name: str) -> None:
    path = SCHEMAS / f"{name}.json"
    assert path.exists(), f"missing {path}: run `make schemas`"
    assert path.read_bytes() == schema_bytes(name), f"{path} is stale: run `make schemas`"


def test_no_stray_schema_files() -> None:
    assert {p.stem for p in SCHEMAS.glob("*.json")} == set(PUBLISHED)


# The SHA-256 of each published schema's bytes. A published contract or format is never changed
# in place: a change gets a new version name, a new file and a new line here.
PINNED = {
    "actor-key-v1": "06cb7beba740bcfe06172fc104bfa2bb217aeaf9d6ffbcba7b747dec629dc09b",
    "correction-record-v1.1": "5d78cf5de6f890a3069763cad1108a7105a9bc65c8542e943c0298dac1107282",
    "correction-record-v1": "7aed5aedcfdfdde8e6c454a54f869708f4a91d3d071b20fcd361d4447e14d20c",
    "gate-evaluation-v1": "ad12be4f1a31f08690b2130de316b808a81be8befbe24dacf81345d071971c9a",
    "paper-manifest-v1.1": "b6b1c61cb2793a01124414d7fbb55a3a5ec0a512d413882579db4dccb3c1e2cf",
    "paper-manifest-v1.2": "5c663d734ba9ddc2a21087cdaee7ddb0e9196c2bb006134774873a97a9cdd512",
    "provenance-ledger-bundle-v1": "9339e22383d4fe66c4cdfac56e703aac14924d63a1d224441ba7d6bcceb1f1a2",
    "provenance-ledger-export-v1": "0e0a6309bd3329d650a9ab11561ed2c14605e89140612ec17bef10d3d1f09d58",
    "purge-record-v1": "09088c614123a041c6b75112723c92c32e2789ad500be3e3f3b7e8799a0bbb83",
    "source-provenance-v1": "127b282127f3453a17f24506c69ce16364799486038af410e4f4327bf015b053",
}


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_a_published_schema_never_changes(name: str) -> None:
    digest = hashlib.sha256((SCHEMAS / f"{name}.json").read_bytes()).hexdigest()
    assert digest == PINNED.get(name), (
        f"schemas/{name}.json changed: a published schema is never changed in place; give the "
        "change a new version name (a new contract or export format) and pin its file here")


# -- `ledger schema`: the same bytes, from the models, wherever it runs ------------------------

LEDGER = str(Path(sys.executable).with_name("ledger"))


def test_every_schema_is_described() -> None:
    assert list(DESCRIBES) == list(PUBLISHED)
    assert all(text and "\n" not in text for text in DESCRIBES.values())


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_ledger_schema_prints_the_published_file(name: str) -> None:
    published = (SCHEMAS / f"{name}.json").read_bytes()
    for asked in (name, f"{name}.json", f"schemas/{name}.json", f"{SCHEMA_BASE}{name}.json"):
        result = CliRunner().invoke(app, ["schema", asked])
        assert result.exit_code == 0, result.output
        assert result.stdout_bytes == published, asked
    assert CliRunner().invoke(app, ["schema", name, "--json"]).stdout_bytes == published


def test_ledger_schema_lists_every_schema() -> None:
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == list(PUBLISHED)
    listed = orjson.loads(CliRunner().invoke(app, ["schema", "--json"]).stdout_bytes)
    assert listed == {"schemas": [{"name": n, "id": f"{SCHEMA_BASE}{n}.json",
                                   "describes": DESCRIBES[n]} for n in PUBLISHED]}
    for entry in listed["schemas"]:  # each id is the one its schema declares
        assert orjson.loads(schema_bytes(entry["name"]))["$id"] == entry["id"]


@pytest.mark.parametrize(("asked", "hint"), [
    ("corection-record-v1", "did you mean correction-record-v1?"),
    ("provenance-ledger-export-v2", "did you mean provenance-ledger-export-v1?"),
    ("nothing", "the schemas are paper-manifest-v1.1,"),
    ("", "the schemas are"),
])
def test_an_unknown_schema_is_refused_naming_the_schemas(asked: str, hint: str) -> None:
    result = CliRunner().invoke(app, ["schema", asked])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: no schema is named")
    assert hint in result.stderr


def test_ledger_schema_needs_no_checkout(tmp_path: Path) -> None:
    """The command reads no schemas/ folder and no ledger: it makes the schemas from the models
    (the wheel ships no schemas/), so run from a folder with neither it prints the same bytes."""
    made = subprocess.run([LEDGER, "schema", "provenance-ledger-export-v1"], cwd=tmp_path,
                          capture_output=True, check=True)
    assert made.stdout == (SCHEMAS / "provenance-ledger-export-v1.json").read_bytes()
    assert list(tmp_path.iterdir()) == []  # no ledger.db was made
