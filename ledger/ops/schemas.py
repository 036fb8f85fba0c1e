"""JSON Schemas of the contracts, generated from the pydantic models.

Run ``python -m ledger.schemas schemas`` to regenerate ``schemas/``; a test fails when the
checked-in files differ from what the models give.
"""

from __future__ import annotations

import sys
from pathlib import Path

import orjson

from ledger.model.contracts import CONTRACTS


def schema_bytes(contract: str) -> bytes:
    """Return the JSON Schema of one contract as stable, indented bytes."""
    schema = CONTRACTS[contract].model_json_schema()
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
              "$id": f"https://provenance-ledger.invalid/schemas/{contract}.json", **schema}
    return orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def write_schemas(directory: Path) -> list[Path]:
    """Write one ``<contract>.json`` per contract into ``directory``; return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for contract in CONTRACTS:
        path = directory / f"{contract}.json"
        path.write_bytes(schema_bytes(contract))
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write_schemas(Path(sys.argv[1] if len(sys.argv) > 1 else "schemas")):
        print(written_path)
