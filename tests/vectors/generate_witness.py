"""Write the witness test vectors (run: make vectors):

- tests/vectors/cosignature/: C2SP tlog-cosignature ``cosignature/v1`` (Ed25519) — for a fixed seed,
  name, checkpoint body and timestamp: the key id's preimage and value (algorithm byte 0x04), the
  private and verifier key texts, the exact signed message and the signature line;
- tests/vectors/policy/: C2SP tlog-policy files, valid ones with the quorum's answer for sets of
  cosigning witnesses, and invalid ones with the line and reason they are refused for.

Ed25519 is deterministic, so the files are reproducible. Do not edit them by hand: change this
script and re-run it; tests/test_vectors.py checks every file, recomputing cosignatures with
``hashlib`` and ``cryptography`` alone.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ledger.core.cosignature import cosign, cosigned_message, encode_cosigner, parse_cosigner
from ledger.core.note import encode_keys
from ledger.core.policy import PolicyError, parse_policy

HERE = Path(__file__).parent
BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
EMPTY_BODY = "ledger.assignee.example\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"


def seed(label: str) -> bytes:
    return hashlib.sha256(b"provenance-ledger test vector seed\n" + label.encode()).digest()


def cosignature_case(label: str, name: str, body: str, timestamp: int) -> dict[str, Any]:
    private, vkey = encode_cosigner(name, seed(label))
    cosigner = parse_cosigner(private)
    public = cosigner.key.public_key().public_bytes_raw()
    preimage = name.encode() + b"\n" + b"\x04" + public
    return {
        "description": f"cosignature/v1 by {name} at time {timestamp}",
        "name": name, "seed_hex": seed(label).hex(), "public_key_hex": public.hex(),
        "key_id_preimage_hex": preimage.hex(),
        "key_id_hex": hashlib.sha256(preimage).digest()[:4].hex(),
        "private_key": private, "vkey": vkey, "checkpoint_body": body, "timestamp": timestamp,
        "signed_message": cosigned_message(body, timestamp).decode(),
        "signature_line": cosign(cosigner, body, timestamp),
    }


def policy_text(witnesses: int, extra: str) -> str:
    _, log = encode_keys("example.com/log", seed("log"))
    lines = [f"log {log} https://log.example/"]
    for n in range(1, witnesses + 1):
        _, vkey = encode_cosigner(f"witness.example/w{n}", seed(f"w{n}"))
        lines.append(f"witness w{n} {vkey}" + (f" https://w{n}.example/" if n % 2 else ""))
    return "\n".join(lines) + "\n" + extra


VALID = {
    "single": (1, "quorum w1\n", [[], ["w1"]]),
    "none": (0, "# no witnesses needed\nquorum none\n", [[]]),
    "threshold": (3, "group g 2 w1 w2 w3\nquorum g\n", [[], ["w1"], ["w1", "w3"], ["w1", "w2", "w3"]]),
    "nested": (6, "group X 2 w1 w2 w3\ngroup Y any w4 w5 w6\ngroup XY all X Y\nquorum XY\n",
               [["w1", "w2"], ["w1", "w2", "w6"], ["w4", "w5", "w6", "w3"], ["w2", "w3", "w5"]]),
    "whitespace-and-comments": (2, "  \t# comment\n\t group  g\tall  w1 w2  \n\nquorum g\n",
                                [["w1"], ["w1", "w2"]]),
}
INVALID = {
    "no-quorum": (2, "group g any w1 w2\n"),
    "two-quorums": (1, "quorum w1\nquorum none\n"),
    "undefined-member": (2, "group g any w1 w9\nquorum g\n"),
    "forward-reference": (2, "quorum g\ngroup g any w1 w2\n"),
    "threshold-above-members": (2, "group g 3 w1 w2\nquorum g\n"),
    "threshold-zero": (2, "group g 0 w1 w2\nquorum g\n"),
    "member-twice": (2, "group g any w1 w1\nquorum g\n"),
    "none-as-member": (2, "group g any w1 none\nquorum g\n"),
    "name-reused": (2, "group w1 any w2\nquorum w1\n"),
    "unknown-keyword": (1, "witnesses w1\nquorum w1\n"),
    "control-character": (1, "quorum w1\r\n"),
    "log-key-as-witness": (1, "witness bad " + encode_keys("x.example", seed("x"))[1] + "\nquorum w1\n"),
}


def policy_case(name: str, witnesses: int, extra: str, sets: list[list[str]] | None) -> dict[str, Any]:
    text = policy_text(witnesses, extra)
    case: dict[str, Any] = {"description": name, "policy": text}
    try:
        policy = parse_policy(text.encode())
    except PolicyError as exc:
        assert sets is None, (name, exc)
        case.update(valid=False, error=str(exc))
        return case
    assert sets is not None, name
    case.update(valid=True, quorum=policy.describe(),
                checks=[{"cosigned_by": s, "satisfied": policy.satisfied(set(s))} for s in sets])
    return case


def write(folder: Path, name: str, doc: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")


def main(out: Path = HERE) -> None:
    write(out / "cosignature", "spec-example", cosignature_case("w1", "witness.example.com/w1",
                                                                BODY, 1679315147))
    write(out / "cosignature", "empty-tree", cosignature_case("w2", "witness.example/w2",
                                                              EMPTY_BODY, 1764374400))
    write(out / "cosignature", "unicode-name", cosignature_case("w3", "témoin.example/€",
                                                                BODY, 2**40))
    for name, (n, extra, sets) in VALID.items():
        write(out / "policy", name, policy_case(name, n, extra, sets))
    for name, (n, extra) in INVALID.items():
        write(out / "policy", name, policy_case(name, n, extra, None))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
