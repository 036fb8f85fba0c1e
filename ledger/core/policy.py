"""C2SP tlog-policy files, and checking a checkpoint's cosignatures against one.

    log <vkey> [<url>]
    witness <name> <vkey> [<url>]
    group <name> all|any|<k> <name>...
    quorum <name>|none

Whitespace is spaces and tabs; blank lines and ``#`` comments are ignored; a group or the quorum
names only witnesses and groups defined on earlier lines, each member at most once; exactly one
quorum line; no two logs or witnesses with the same public key. Names are opaque octets.

A checkpoint satisfies a policy if it is signed by one of its logs (or by the log key the caller
gives, for a policy that lists none) and its valid cosignatures from the policy's witnesses meet
the quorum. A signature line that names a witness key (name and key id) but does not verify is
an error, as the signed-note specification makes it a malformed note; lines by unknown keys are
ignored.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ledger.core.checkpoint import Checkpoint, open_checkpoint
from ledger.core.clock import rfc3339_seconds
from ledger.core.cosignature import CosignerKey, check_cosignature, parse_cosigner_key
from ledger.core.escapes import quoted
from ledger.core.note import Verifier, parse_verifier, signature_lines
from ledger.errors import LedgerError, SignatureError

LIMIT = 256  # logs, witnesses and groups each: far above the 32 the specification asks for
_K = re.compile(r"[1-9][0-9]{0,5}")


class PolicyError(LedgerError):
    """A policy file does not follow tlog-policy; names the line."""


class QuorumError(SignatureError):
    """A checkpoint's cosignatures do not meet the policy's quorum; says who cosigned and what
    the quorum needs."""

    def __init__(self, message: str, cosigned: list[str]) -> None:
        self.cosigned = cosigned
        super().__init__(message)


@dataclass(frozen=True)
class Witness:
    name: str
    key: CosignerKey
    url: str | None


@dataclass(frozen=True)
class Group:
    name: str
    threshold: int
    members: tuple[str, ...]


@dataclass
class Policy:
    logs: list[tuple[Verifier, str | None]] = field(default_factory=list)
    witnesses: dict[str, Witness] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    quorum: str = "none"

    def satisfied(self, witnessed: set[str], name: str | None = None) -> bool:
        """Return whether the witnesses in ``witnessed`` meet ``name`` (default: the quorum)."""
        name = self.quorum if name is None else name
        if name == "none":
            return True
        if name in self.witnesses:
            return name in witnessed
        group = self.groups[name]
        return sum(self.satisfied(witnessed, m) for m in group.members) >= group.threshold

    def describe(self, name: str | None = None) -> str:
        """Return the quorum (or a group) in words: ``2 of (w1, w2, w3)``."""
        name = self.quorum if name is None else name
        if name == "none":
            return "no cosignature"
        if name in self.witnesses:
            return name
        group = self.groups[name]
        inner = ", ".join(self.describe(m) for m in group.members)
        return f"{group.threshold} of ({inner})"

    def log_for(self, origin: str) -> Verifier | None:
        """Return the policy's log key named ``origin`` (None if it lists none by that name)."""
        return next((v for v, _ in self.logs if v.name == origin), None)


def parse_policy(data: bytes) -> Policy:
    """Parse a policy file; raise PolicyError naming the line otherwise."""
    policy, publics, quorums = Policy(), set(), 0
    for number, raw in enumerate(data.split(b"\n"), 1):
        if any((b < 0x20 and b != 0x09) or b == 0x7F for b in raw):
            why = (" (a carriage return: the file has CR LF line ends, and a policy's lines end "
                   "with LF alone)" if raw.endswith(b"\r") else "")
            raise PolicyError(f"policy line {number}: a control character other than tab{why}")
        line = raw.decode("utf-8", errors="surrogateescape")
        words = line.replace("\t", " ").split(" ")
        words = [w for w in words if w]
        if not words or words[0].startswith("#"):
            continue
        keyword, args = words[0], words[1:]

        def fail(why: str, line_no: int = number) -> PolicyError:
            return PolicyError(f"policy line {line_no}: {why}")

        try:
            if keyword == "log":
                if len(args) not in (1, 2):
                    raise fail("expected `log <vkey> [<url>]`")
                verifier = parse_verifier(args[0])
                public = verifier.key.public_bytes_raw()
                if public in publics:
                    raise fail("a log or witness with this public key is already defined")
                publics.add(public)
                policy.logs.append((verifier, args[1] if len(args) == 2 else None))
            elif keyword == "witness":
                if len(args) not in (2, 3):
                    raise fail("expected `witness <name> <vkey> [<url>]`")
                name = _new_name(policy, args[0], fail)
                key = parse_cosigner_key(args[1])
                if key.public in publics:
                    raise fail("a log or witness with this public key is already defined")
                publics.add(key.public)
                policy.witnesses[name] = Witness(name, key, args[2] if len(args) == 3 else None)
            elif keyword == "group":
                if len(args) < 3:
                    raise fail("expected `group <name> all|any|<k> <name>...`")
                name = _new_name(policy, args[0], fail)
                members = tuple(args[2:])
                for member in members:
                    if member not in policy.witnesses and member not in policy.groups:
                        raise fail(f"{member!r} is not a witness or group defined on an earlier line")
                if len(set(members)) != len(members):
                    raise fail("a group lists a member more than once")
                k = args[1]
                threshold = (len(members) if k == "all" else 1 if k == "any"
                             else int(k) if _K.fullmatch(k) else 0)
                if not 1 <= threshold <= len(members):
                    raise fail(f"threshold {k!r} must be all, any or a decimal k with 1 <= k <= "
                               f"{len(members)}")
                policy.groups[name] = Group(name, threshold, members)
            elif keyword == "quorum":
                if len(args) != 1:
                    raise fail("expected `quorum <name>`")
                if args[0] != "none" and args[0] not in policy.witnesses and args[0] not in policy.groups:
                    raise fail(f"{args[0]!r} is not a witness or group defined on an earlier line")
                quorums += 1
                if quorums > 1:
                    raise fail("a policy has exactly one quorum line")
                policy.quorum = args[0]
            else:
                raise fail(f"unknown keyword {quoted(keyword, 40)}")
        except SignatureError as exc:
            raise fail(str(exc)) from None
        if max(len(policy.logs), len(policy.witnesses), len(policy.groups)) > LIMIT:
            raise fail(f"more than {LIMIT} logs, witnesses or groups")
    if quorums != 1:
        raise PolicyError("the policy has no quorum line (`quorum none` asks for no cosignature)")
    return policy


def _new_name(policy: Policy, name: str, fail: Callable[..., PolicyError]) -> str:
    if name == "none" or name in policy.witnesses or name in policy.groups:
        raise fail(f"the name {name!r} is already defined (or is the reserved `none`)")
    return name


def cosigners(note: str, policy: Policy) -> tuple[list[str], dict[str, int]]:
    """Return (names of the policy's witnesses whose cosignature on ``note`` verifies, their
    timestamps); a line that names a policy witness's key but does not verify is an error."""
    body, lines = signature_lines(note)
    by_key = {(w.key.name, w.key.key_id): w for w in policy.witnesses.values()}
    found: dict[str, int] = {}
    for name, raw in lines:
        witness = by_key.get((name, int.from_bytes(raw[:4], "big")))
        if witness is not None:
            found[witness.name] = check_cosignature(witness.key, body, raw)
    return sorted(found), found


def witnessed_at(times: dict[str, int]) -> str | None:
    """Return the latest of the cosignature timestamps ``cosigners`` gives, as RFC 3339 UTC to
    the second (None for none): a witness cosigns only a checkpoint that extends the latest it
    has seen of the log, so then it knew of no later one. A copy of a checkpoint (a page, a
    bundle) served long after that time may be out of date."""
    if not times:
        return None
    latest = max(times.values())
    try:
        return rfc3339_seconds(dt.datetime.fromtimestamp(latest, dt.UTC))
    except (ValueError, OverflowError, OSError):  # a witness's clock beyond year 9999
        return f"{latest} seconds after 1970"


def open_cosigned(note: str, policy: Policy, log: Verifier | None = None) -> Checkpoint:
    """Return the checkpoint of a note signed by one of the policy's logs (or ``log``) whose
    cosignatures meet the policy's quorum; raise SignatureError (QuorumError) otherwise."""
    return open_witnessed(note, policy, log)[0]


def open_witnessed(note: str, policy: Policy, log: Verifier | None = None,
                   ) -> tuple[Checkpoint, list[str], str | None]:
    """``open_cosigned``, returning also the policy's witnesses whose cosignature verifies and
    the latest time one of them cosigned (``witnessed_at``)."""
    body, _ = signature_lines(note)
    origin = body.split("\n", 1)[0]
    verifier = log or policy.log_for(origin)
    if verifier is None:
        raise SignatureError(f"the policy lists no log {origin!r}")
    checkpoint = open_checkpoint(note, verifier)
    names, times = cosigners(note, policy)
    if not policy.satisfied(set(names)):
        got = ", ".join(names) if names else "none of its witnesses"
        raise QuorumError(f"the checkpoint of {origin} at size {checkpoint.size} is cosigned by "
                          f"{got}; the policy's quorum needs {policy.describe()}", names)
    return checkpoint, names, witnessed_at(times)


def parse_logs(data: bytes) -> dict[str, list[Verifier]]:
    """Parse a witness's list of logs: ``log <vkey> [<url>]`` lines (the policy syntax), with
    blank lines and ``#`` comments; return the trusted keys per origin (the key name)."""
    logs: dict[str, list[Verifier]] = {}
    for number, raw in enumerate(data.split(b"\n"), 1):
        words = [w for w in raw.decode("utf-8", errors="surrogateescape").replace("\t", " ").split(" ") if w]
        if not words or words[0].startswith("#"):
            continue
        if words[0] != "log" or len(words) not in (2, 3):
            bare = len(words) == 1 and words[0].count("+") >= 2  # a verifier key alone
            raise PolicyError(f"logs line {number}: expected `log <vkey> [<url>]`"
                              + (" (a verifier key alone: write `log ` before it)" if bare else ""))
        try:
            verifier = parse_verifier(words[1])
        except SignatureError as exc:
            raise PolicyError(f"logs line {number}: {exc}") from None
        logs.setdefault(verifier.name, []).append(verifier)
    if not logs:
        raise PolicyError("the logs file lists no log (`log <vkey>` lines)")
    return logs
