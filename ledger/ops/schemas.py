"""JSON Schemas of the contracts, the export and the bundle, generated from the pydantic models.

Run ``python -m ledger.ops.schemas schemas`` (``make schemas``) to regenerate ``schemas/``; a
test fails when the checked-in files differ from what the models give.
"""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
from pydantic import BaseModel

from ledger.model.contracts import CONTRACTS
from ledger.model.exported import Bundle, Export

# Every published schema: its name (the file's stem and its $id) and its model. The export's
# root is the ``json`` document; ``#/$defs/ExportHeader`` and ``#/$defs/RecordState`` are its
# ``jsonl`` lines and ``show --json``'s object. The bundle's is what ``ledger bundle`` writes.
SCHEMAS: dict[str, type[BaseModel]] = {**CONTRACTS, "provenance-ledger-export-v1": Export,
                                       "provenance-ledger-bundle-v1": Bundle}


def schema_bytes(name: str) -> bytes:
    """Return the JSON Schema named ``name`` (a contract, the export or the bundle) as stable,
    indented bytes."""
    schema = SCHEMAS[name].model_json_schema()
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
              "$id": f"https://provenance-ledger.invalid/schemas/{name}.json", **schema}
    return orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


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
