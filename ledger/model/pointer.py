"""JSON Pointer (RFC 6901) replacement of values inside a manifest, for correction ``changes``."""

from __future__ import annotations

import copy
from typing import Any

import orjson

from ledger.core.canonical import canonical_bytes
from ledger.errors import RefusedInput

# Optional manifest members a correction may add although the current manifest lacks them.
ADDABLE = {
    "/note", "/review_score", "/quality", "/quality/basis", "/quality/dimensions",
    "/quality/dimensions/evidence_strength", "/quality/dimensions/citation_grounding",
    "/quality/dimensions/uncertainty_disclosure", "/quality/dimensions/reproducibility_status",
}


def parse_pointer(path: str) -> list[str]:
    """Return the reference tokens of a JSON Pointer; raise RefusedInput if it is malformed."""
    if not path.startswith("/"):
        raise RefusedInput(f"JSON Pointer {path!r} must start with '/'")
    return [t.replace("~1", "/").replace("~0", "~") for t in path[1:].split("/")]


def apply_changes(manifest: dict[str, Any], changes: list[dict[str, Any]]) -> dict[str, Any]:
    """Return a copy of ``manifest`` with every ``{"path", "value"}`` change applied in order.

    Each path must exist in the manifest (or name an optional member, see ADDABLE); ``/record_id``
    cannot be changed.
    """
    result: dict[str, Any] = _copy(manifest)
    for change in changes:
        _replace(result, str(change["path"]), _copy(change["value"]))
    return result


def change_text(change: dict[str, Any]) -> str:
    """Return a correction's change as readers are shown it: ``/review_score to 9.1``, the value
    in its canonical JSON (a string quoted), so that a page's ``import`` reads back the very
    value."""
    return f"{change['path']} to {canonical_bytes(change['value']).decode('utf-8')}"


def _copy(value: Any) -> Any:
    """Return a deep copy of a JSON value (orjson's round trip is exact for floats and several
    times faster than ``copy.deepcopy``; integers beyond 64 bits take deepcopy)."""
    try:
        return orjson.loads(orjson.dumps(value))
    except orjson.JSONEncodeError:
        return copy.deepcopy(value)


def _replace(doc: dict[str, Any], path: str, value: Any) -> None:
    tokens = parse_pointer(path)
    if tokens == ["record_id"]:
        raise RefusedInput("a correction cannot change /record_id")
    parent: Any = doc
    for depth, token in enumerate(tokens[:-1]):
        parent = _step(parent, token, path, tokens[: depth + 1])
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent and path not in ADDABLE:
            raise _missing(path, tokens, parent)
        parent[last] = value
    elif isinstance(parent, list):
        parent[_index(parent, last, path, tokens)] = value
    else:
        raise _missing(path, tokens, None)


def _step(node: Any, token: str, path: str, prefix: list[str]) -> Any:
    if isinstance(node, dict):
        if token not in node:
            if "/" + "/".join(prefix) in ADDABLE:
                node[token] = {}
                return node[token]
            raise _missing(path, prefix, node)
        return node[token]
    if isinstance(node, list):
        return node[_index(node, token, path, prefix)]
    raise _missing(path, prefix, None)


def _index(node: list[Any], token: str, path: str, tokens: list[str]) -> int:
    if not token.isdigit() or (token != "0" and token.startswith("0")) or int(token) >= len(node):
        raise _missing(path, tokens, node)
    return int(token)


def _missing(path: str, tokens: list[str], node: Any) -> RefusedInput:
    """The refusal of a pointer whose last token in ``tokens`` is not in ``node``: with the
    member of a close name (`/review_scor`: did you mean /review_score?), or an array's size."""
    hint, above = "", tokens[:-1]
    if isinstance(node, dict):
        import difflib

        addable = [a.rsplit("/", 1)[1] for a in ADDABLE if a.rsplit("/", 1)[0] == pointer(above)]
        close = difflib.get_close_matches(tokens[-1], [*map(str, node), *addable], n=1,
                                          cutoff=0.6)
        if close:
            hint = f"; did you mean {pointer([*above, close[0]])}?"
    elif isinstance(node, list):
        hint = (f"; {pointer(above) or 'the manifest'} holds {len(node)} item(s), numbered from 0"
                if node else f"; {pointer(above)} is an empty array")
    return RefusedInput(f"JSON Pointer {path} does not exist in the current manifest{hint}")


def pointer(tokens: list[str]) -> str:
    """Return the JSON Pointer of these reference tokens (``~`` and ``/`` escaped)."""
    return "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in tokens)


def resolve(doc: Any, path: str) -> Any:
    """Return the value at a JSON Pointer in ``doc``; raise KeyError if there is none."""
    node = doc
    for token in parse_pointer(path):
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise KeyError(path)
    return node
