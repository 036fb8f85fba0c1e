"""JSON Schemas of the contracts, the export and the bundle, generated from the pydantic models.

Run ``python -m ledger.ops.schemas schemas`` (``make schemas``) to regenerate ``schemas/``; a
test fails when the checked-in files differ from what the models give.
"""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
from pydantic import BaseModel

from ledger.errors import RefusedInput
from ledger.model.contracts import CONTRACTS
from ledger.model.exported import Bundle, Export

# Every published schema: its name (the file's stem and its $id) and its model. The export's
# root is the ``json`` document; ``#/$defs/ExportHeader`` and ``#/$defs/RecordState`` are its
# ``jsonl`` lines and ``show --json``'s object. The bundle's is what ``ledger bundle`` writes.
SCHEMAS: dict[str, type[BaseModel]] = {**CONTRACTS, "provenance-ledger-export-v1": Export,
                                       "provenance-ledger-bundle-v1": Bundle}
# What each one describes, as ``ledger schema`` lists them.
DESCRIBES = {
    "paper-manifest-v1.1": "the payload of a record version (record.published, record.revised)",
    "paper-manifest-v1.2": "the payload of a record version, with the record's own DOI",
    "source-provenance-v1": "the payload of provenance facts (provenance.recorded)",
    "correction-record-v1": "the payload of a notice (notice.issued)",
    "correction-record-v1.1": "the payload of a notice, with its DOI, URL and coded reasons",
    "gate-evaluation-v1": "the payload of a gate evaluation (gate.evaluated)",
    "actor-key-v1": "the payload of a keyring change (key.added, key.revoked)",
    "purge-record-v1": "the payload of a purge (record.purged)",
    "provenance-ledger-export-v1": "`export --format json`; its $defs ExportHeader and RecordState "
                                   "are the `jsonl` lines, RecordState `show --json`'s object",
    "provenance-ledger-bundle-v1": "the file `ledger bundle` writes",
}
SCHEMA_BASE = "https://provenance-ledger.invalid/schemas/"  # each schema's $id: this, NAME.json


def schema_bytes(name: str) -> bytes:
    """Return the JSON Schema named ``name`` (a contract, the export or the bundle) as stable,
    indented bytes."""
    schema = SCHEMAS[name].model_json_schema()
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
              "$id": f"{SCHEMA_BASE}{name}.json", **schema}
    return orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def schema_name(asked: str) -> str:
    """Return the schema ``asked`` names (its name, its file name or its $id); raise
    RefusedInput naming the schemas otherwise."""
    name = asked.strip().rpartition("/")[2].removesuffix(".json")  # a path's or $id's last part
    if name in SCHEMAS:
        return name
    import difflib

    close = difflib.get_close_matches(name.lower(), SCHEMAS, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}? " if close else ""
    raise RefusedInput(f"no schema is named {asked!r}: {hint}the schemas are "
                       f"{', '.join(SCHEMAS)} (`ledger schema` lists them)")


def write_schemas(directory: Path) -> list[Path]:
    """Write one ``<name>.json`` per schema into ``directory``; return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in SCHEMAS:
        path = directory / f"{name}.json"
        path.write_bytes(schema_bytes(name))
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write_schemas(Path(sys.argv[1] if len(sys.argv) > 1 else "schemas")):
        print(written_path)
