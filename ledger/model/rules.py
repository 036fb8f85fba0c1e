"""Validation and refusal rules: decide what one submitted payload becomes.

``plan`` is pure: given the record's current state (or None), a payload already validated
against its contract, and a lookup for notice ids elsewhere in the ledger, it returns the event
to append (``Planned``), an idempotent no-op (``NoOp``), or raises ``RefusedInput``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ledger.core.canonical import canonical_bytes
from ledger.core.escapes import printable, quoted
from ledger.core.events import is_withheld
from ledger.errors import RefusedInput, UnknownRecord
from ledger.model.contracts import (
    CONTRACTS,
    LATEST_MANIFEST,
    MANIFEST_CONTRACTS,
    NOTICE_CONTRACTS,
    REASON_CODES,
    is_manifest,
    is_notice,
)
from ledger.model.pointer import apply_changes, resolve
from ledger.model.state import RecordState

NEEDS_NO_REASON = ("clarification", "addendum")
NoticeLookup = Callable[[str], "tuple[str, dict[str, Any]] | None"]


@dataclass(frozen=True)
class Planned:
    type: str
    record_id: str
    contract: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class NoOp:
    record_id: str
    message: str


def validate(contract: str, raw: Any) -> dict[str, Any]:
    """Return the payload normalised by its contract model; raise RefusedInput naming the problem."""
    model = CONTRACTS.get(contract)
    if model is None:
        raise RefusedInput(f"unknown contract {contract!r} (known: {', '.join(CONTRACTS)})")
    if not isinstance(raw, dict):
        raise RefusedInput(f"{contract}: the payload must be a JSON object")
    try:
        doc = model.model_validate(raw)
    except ValidationError as exc:
        raise RefusedInput(f"{contract}: {describe(exc)}") from None
    dumped: dict[str, Any] = doc.model_dump(mode="json", exclude_unset=True)
    return dumped


# Each family of contracts an editor appends from a file, oldest version first, and the command
# that does it: a document given to the wrong command is refused with the right one named.
_FILED_WITH: tuple[tuple[tuple[str, ...], str], ...] = (
    (MANIFEST_CONTRACTS, "ledger publish FILE"),
    (("source-provenance-v1",), "ledger provenance FILE"),
    (NOTICE_CONTRACTS, "ledger correct --from-file FILE"),
    (("gate-evaluation-v1",), "ledger gate --from-file FILE"),
)


def filed_with(raw: Any) -> tuple[str, str] | None:
    """Return (contract, command) of the one family of contracts that knows every key of
    ``raw``, and the command that appends it; None if none does, or more than one."""
    if not isinstance(raw, dict):
        return None
    fits = [(family[-1], command) for family, command in _FILED_WITH
            if raw.keys() <= CONTRACTS[family[-1]].model_fields.keys()]
    return fits[0] if len(fits) == 1 else None


# The members every stored event has, as `ledger log --json` and `history --json` print it
EVENT_KEYS = frozenset({"seq", "type", "record_id", "contract", "payload", "prev_hash", "hash"})


def stored_event(raw: Any) -> str | None:
    """Return the words naming ``raw`` if it is a stored event (``seq 8: notice.issued of
    SRCH:03BE3A05``) rather than a payload, None otherwise."""
    if not isinstance(raw, dict) or not raw.keys() >= EVENT_KEYS:
        return None
    seq, type_, rid = (printable(raw[key])[:40] for key in ("seq", "type", "record_id"))
    return f"seq {seq}: {type_} of {rid}"


def misfiled(contract: str, raw: Any) -> str | None:
    """Return the refusal of a payload submitted as ``contract`` that has keys its contract does
    not know and only keys of another family's (a provenance file given to ``publish``): it names
    that family's contract and command; or of a stored event given as a payload, naming its
    ``payload`` member. None if it is not such a payload."""
    event = stored_event(raw)
    if event is not None:
        inner = filed_with(raw["payload"])
        command = f", with `{inner[1]}`" if inner is not None else ""
        return (f"this is a stored event ({event}), as `ledger log --json` prints it, not a "
                f"payload: the document to append is its \"payload\" member (`jq .payload "
                f"FILE`){command}")
    found = filed_with(raw)
    if found is None or found[0] == _newest(contract):
        return None
    return (f"{contract} refused: these are the keys of a {found[0]} document; append it "
            f"with `{found[1]}`")


def _newest(contract: str) -> str:
    return next((family[-1] for family, _ in _FILED_WITH if contract in family), contract)


# What each pattern of a contract's strings asks, in words (pydantic would print the regex)
_PATTERNS = {
    r"^\S(.*\S)?$": " starts or ends with white space",
    r"^(/([^~/]|~[01])*)+$": " is not a JSON Pointer into the manifest (like /review_score)",
    r"^[0-9a-fA-F]{64}$": " is not a SHA-256 digest (64 hex digits)",
    r"^[A-Za-z][A-Za-z0-9]*:[0-9A-Fa-f]{8}$": (" is not a record id (an upper-case prefix, a "
                                              "colon and 8 hex digits, e.g. SRCH:03BE3A05)"),
}


def describe(exc: ValidationError) -> str:
    """Return a one-line description of a pydantic validation error."""
    parts = []
    for err in exc.errors(include_url=False)[:3]:
        where = "/".join(str(p) for p in err["loc"]) or "document"
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required key is missing"
        elif err["type"] == "string_pattern_mismatch":
            pattern = str((err.get("ctx") or {}).get("pattern", ""))
            msg = f"{quoted(str(err['input']), 80)}{_PATTERNS.get(pattern, f' does not match {pattern}')}"
        elif err["type"] == "literal_error" and isinstance(err["input"], str):
            allowed = re.findall(r"'([^']*)'", str((err.get("ctx") or {}).get("expected", "")))
            near = nearest(err["input"], allowed)
            msg = (f"{quoted(err['input'], 40)} is not one of {', '.join(map(repr, allowed))}"
                   + (f" (did you mean {near!r}?)" if near else ""))
        elif err["type"] in _EXPECTED:
            given = err["input"]
            shown = quoted(given, 40) if isinstance(given, str) else canonical_text(given)[:40]
            msg = f"expected {_EXPECTED[err['type']]}, not {json_kind(given)} ({shown})"
        parts.append(f"{where}: {msg}")
    return "; ".join(parts)


def words_key(value: str) -> str:
    """Return a value of one or more words as compared with a choice: lower case, its words
    joined by ``_`` whether given apart with spaces, ``_`` or ``-`` (``Flagship candidate`` →
    ``flagship_candidate``)."""
    return "_".join(value.lower().replace("-", " ").replace("_", " ").split())


def nearest(given: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    """Return the choice ``given`` most likely meant: the one it spells in another case or
    spacing, else the closest by ``difflib`` above ``cutoff``; None if none is close."""
    keyed = {words_key(choice): choice for choice in choices}
    key = words_key(given)
    if key in keyed:
        return keyed[key]
    close = difflib.get_close_matches(key, list(keyed), n=1, cutoff=cutoff)
    return keyed[close[0]] if close else None


# What a member of the wrong JSON type was expected to be (pydantic said `Input should be a valid
# dictionary or instance of Quality`, or `a valid number` for the text "9.1")
_EXPECTED = {"model_type": "a JSON object", "dict_type": "a JSON object", "list_type": "an array",
             "float_type": "a number", "int_type": "an integer", "string_type": "a string",
             "bool_type": "true or false"}


def json_kind(value: Any) -> str:
    """Name the kind of a parsed JSON value."""
    kinds = ((bool, "true or false"), (dict, "an object"), (list, "an array"), (str, "a string"),
             ((int, float), "a number"))
    return next((name for kind, name in kinds if isinstance(value, kind)), "null")


def canonical_text(value: Any) -> str:
    """A JSON value as text, for a message (its canonical form, or its repr if it has none)."""
    try:
        return canonical_bytes(value).decode("utf-8")
    except (RefusedInput, ValueError, TypeError):
        return repr(value)


def same(a: dict[str, Any], b: dict[str, Any], ignore: frozenset[str] = frozenset()) -> bool:
    """Return whether two payloads are identical, leaving out the keys in ``ignore``."""
    def strip(doc: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in doc.items() if k not in ignore}

    left, right = strip(a), strip(b)
    # Equal canonical bytes imply equal Python values, so inequality settles it cheaply; equality
    # is confirmed on the bytes (True and 1 are equal in Python, not in JSON).
    return left == right and canonical_bytes(left) == canonical_bytes(right)


def plan(
    contract: str, payload: dict[str, Any], state: RecordState | None,
    lookup: NoticeLookup, defaulted: frozenset[str] = frozenset(),
) -> Planned | NoOp:
    """Return what appending ``payload`` means for the ledger; raise RefusedInput if it may not."""
    rid = str(payload["record_id"])
    if is_manifest(contract):
        return _plan_manifest(rid, contract, payload, state)
    if state is None:
        raise UnknownRecord(rid, then="publish it first")
    if contract == "source-provenance-v1":
        if state.provenance is not None and same(state.provenance, payload):
            return NoOp(rid, f"no change: these provenance facts are already the latest for {rid}")
        return Planned("provenance.recorded", rid, contract, payload)
    if is_notice(contract):
        return _plan_notice(contract, payload, state, lookup, defaulted)
    return _plan_gate(payload, state, defaulted)


def _plan_manifest(rid: str, contract: str, payload: dict[str, Any],
                   state: RecordState | None) -> Planned | NoOp:
    if state is None or not state.versions:
        return Planned("record.published", rid, contract, payload)
    if same(state.versions[-1].manifest, payload):
        return NoOp(rid, f"no change: this manifest is already version {state.version} of {rid}")
    return Planned("record.revised", rid, contract, payload)


def _plan_notice(
    contract: str, payload: dict[str, Any], state: RecordState, lookup: NoticeLookup,
    defaulted: frozenset[str],
) -> Planned | NoOp:
    rid, nid = state.record_id, str(payload["notice_id"])
    existing = lookup(nid)
    if existing is not None:
        owner, stored = existing
        if owner == rid and same(stored, payload, defaulted):
            return NoOp(rid, f"no change: notice {nid} was already issued with this content")
        raise RefusedInput(f"notice_id {nid} is already used by another notice on {owner}")
    check_notice(payload, state, notice_subject(payload, defaulted))
    return Planned("notice.issued", rid, contract, payload)


def notice_subject(payload: dict[str, Any], defaulted: frozenset[str] = frozenset()) -> str:
    """Return how a refusal names a notice: by its id, unless the id was generated from the
    content (``defaulted``), which names nothing to the one who sent it."""
    if "notice_id" in defaulted:
        return f"the new {payload.get('kind')} of {payload.get('record_id')}"
    return f"notice {payload.get('notice_id')}"


def check_notice(payload: dict[str, Any], state: RecordState, subject: str | None = None) -> None:
    """Raise RefusedInput unless the notice may be issued against ``state`` (``subject``: how
    a refusal names the notice; by default ``notice ID``)."""
    kind, subject = payload["kind"], subject or notice_subject(payload)
    if kind not in NEEDS_NO_REASON and not (payload.get("reason") or "").strip():
        raise RefusedInput(f"{subject}: a reason is required for kind {kind}")
    _only_for(payload, "changes", "correction", subject)
    _only_for(payload, "claim_ids", "partial_retraction", subject)
    _only_for(payload, "lifts", "reinstatement", subject)
    target = payload.get("target_version", state.version)
    if target is None or not 1 <= target <= state.version:
        raise RefusedInput(f"{subject}: target_version {target} does not exist "
                           f"({state.record_id} has {state.version} version(s))")
    if kind == "reinstatement":
        _check_lifts(payload, state, subject)
    if payload.get("changes"):
        _check_changes(payload, state, int(target), subject)


def _only_for(payload: dict[str, Any], key: str, kind: str, subject: str) -> None:
    if payload.get(key) is not None and payload["kind"] != kind:
        raise RefusedInput(f"{subject}: {key} is only allowed on kind {kind}")


def _check_lifts(payload: dict[str, Any], state: RecordState, subject: str) -> None:
    lifts = payload.get("lifts")
    if not lifts:
        raise RefusedInput(f"{subject}: a reinstatement must name the notice it "
                           f"lifts (`--lifts`; `lifts` in a notice file) on {state.record_id}: "
                           f"{_liftable(state)}")
    lifted = state.notice(str(lifts))
    if lifted is None or not lifted.in_force or lifted.kind == "reinstatement":
        raise RefusedInput(f"{subject}: lifts {lifts} names no notice in force "
                           f"on {state.record_id}: {_liftable(state)}")


def _liftable(state: RecordState) -> str:
    """Say which notices of the record a reinstatement could lift."""
    found = [f"{n.notice_id} ({n.kind}, seq {n.seq})" for n in state.notices
             if n.in_force and n.kind != "reinstatement"]
    return "in force: " + ", ".join(found) if found else "nothing is in force there to lift"


def _check_changes(payload: dict[str, Any], state: RecordState, target: int,
                   subject: str) -> None:
    if target != state.version:
        raise RefusedInput(f"{subject}: changes can only apply to the current version "
                           f"{state.version}, not to version {target}")
    withheld = sorted(k for k, v in state.manifest.items() if is_withheld(v))
    if withheld:  # the manifest to correct lacks them: what it corrects to could not be checked
        marker = state.manifest[withheld[0]]["withheld"]
        raise RefusedInput(
            f"{subject}: version {state.version} of {state.record_id} has members withheld "
            f"by the purge of removal notice {marker.get('notice_id')} ({', '.join(withheld)}): "
            "a correction changes the whole manifest, so publish a new version with its content "
            "first (`ledger publish FILE`), then correct that")
    corrected = apply_changes(state.manifest, payload["changes"])
    try:
        LATEST_MANIFEST.model_validate(corrected)
    except ValidationError as exc:
        raise RefusedInput(f"{subject}: the corrected manifest would be invalid: "
                           f"{describe(exc)}") from None


def _plan_gate(payload: dict[str, Any], state: RecordState, defaulted: frozenset[str]) -> Planned | NoOp:
    rid, gate = state.record_id, int(payload["gate"])
    check_gate(payload)
    latest = state.gates.get(gate)
    if latest is not None and same(latest.payload, payload, defaulted):
        return NoOp(rid, f"no change: this is already the latest evaluation of gate {gate} of {rid}")
    return Planned("gate.evaluated", rid, "gate-evaluation-v1", payload)


def unbacked_verdict(payload: dict[str, Any]) -> bool:
    """Return whether ``payload`` is a VERIFIED evaluation with no artifact with a sha256."""
    return payload["status"] == "VERIFIED" and not any(a.get("sha256")
                                                       for a in payload.get("artifacts", []))


def check_gate(payload: dict[str, Any]) -> None:
    """Raise RefusedInput if a VERIFIED evaluation has no artifact with a sha256."""
    if unbacked_verdict(payload):
        raise RefusedInput(f"gate {payload['gate']} of {payload['record_id']}: VERIFIED requires at "
                           "least one artifact with a sha256 digest")


REPEAT_GUARDED = ("expression_of_concern", "withdrawal", "retraction", "removal")


def repeated_notice(payload: dict[str, Any], state: RecordState) -> str | None:
    """Return why a notice repeats one of the same status-setting kind already in force on the
    record (None if it does not): an editor's retry with a reworded reason would otherwise put
    two retractions in force. Refused at append time unless forced; not an integrity rule."""
    kind = payload.get("kind")
    if kind not in REPEAT_GUARDED:
        return None
    same = [n for n in state.notices if n.in_force and n.kind == kind]
    if not same:
        return None
    first = same[0]
    article = "an" if kind[0] in "aeiou" else "a"
    return (f"{state.record_id} already has {article} {kind} in force: notice {first.notice_id} "
            f"(seq {first.seq}, effective {first.payload.get('effective_date')}); give --force "
            "if a second one is meant")


def idle_changes(payload: dict[str, Any], state: RecordState,
                 subject: str | None = None) -> str | None:
    """Return why a correction's changes are most likely an editor's mistake (None if they are
    not): a path changed twice, so that only its last value stays, or changes that leave the
    current manifest as it is, which would still count as a correction on the record for good.
    Refused at append time unless forced; not an integrity rule."""
    changes = [c for c in payload.get("changes") or [] if isinstance(c, dict)]
    subject, paths = subject or notice_subject(payload), [str(c.get("path")) for c in changes]
    twice = next((path for i, path in enumerate(paths) if path in paths[:i]), None)
    if twice is not None:
        return (f"{subject}: {twice} is changed twice in its changes, and only the last value "
                "would stay: give each path once")
    if changes and same(apply_changes(state.manifest, changes), state.manifest):
        shown = "; ".join(f"{c['path']} is already {c['value']!r}" for c in changes[:3])
        return (f"{subject}: its changes leave the manifest of {state.record_id} as it is "
                f"({shown}); give --force if a correction that changes nothing is meant")
    return None


def set_back(payload: dict[str, Any], state: RecordState) -> str | None:
    """Return a warning if the manifest ``payload`` (to be the next version) is an earlier,
    replaced version of the record again — a stale copy sent or imported after a newer one sets
    the record back to it — else None. ``state``: the record before this version."""
    if not state.versions or same(state.versions[-1].manifest, payload):
        return None
    for earlier in reversed(state.versions[:-1]):
        if same(earlier.manifest, payload):
            return (f"this manifest is version {earlier.version} of {state.record_id} (seq "
                    f"{earlier.seq}) again, which version {state.version} replaced: it becomes "
                    f"version {state.version + 1}, setting the record back (a stale copy?)")
    return None


ACTOR_MOST = 256  # characters of an actor's name: it is shown wherever its events are


def actor_problem(actor: Any) -> str | None:
    """Return why ``actor`` cannot name who appends, or None: it must be a non-empty string of
    at most ACTOR_MOST characters, every one printable (no control, format — a bidirectional
    override — or separator character but the space), since every page, feed and terminal that
    names its events shows it."""
    if not isinstance(actor, str) or not actor.strip():
        return "the actor must be a non-empty string"
    if len(actor) > ACTOR_MOST:
        return f"the actor's name has {len(actor)} characters, more than {ACTOR_MOST}"
    if not actor.isprintable():
        bad = next(c for c in actor if not c.isprintable())
        return (f"the actor's name holds U+{ord(bad):04X}, which is not printable (a control, "
                "format or separator character)")
    return None


def removed_by(state: RecordState) -> str | None:
    """Return the id of the removal in force on the record, if there is one."""
    return next((n.notice_id for n in state.notices if n.kind == "removal" and n.in_force), None)


def _after_now(payload: dict[str, Any], now: dt.datetime) -> list[str]:
    """Warn of an effective date or an evaluation time still to come (a typo, most likely): the
    notice is in force, the evaluation the latest, from now on all the same, while every reader
    sees the date. A day's margin for a date (time zones run up to 14 hours ahead of UTC), five
    minutes for a time (clocks differ)."""
    out = []
    date = payload.get("effective_date")
    if isinstance(date, str) and date > (now + dt.timedelta(days=1)).date().isoformat():
        out.append(f"the notice's effective date {date} is still to come (today is "
                   f"{now.date().isoformat()}): it is in force from now on all the same, and "
                   "every reader sees that date")
    when = payload.get("evaluated_at")
    try:
        later = isinstance(when, str) and dt.datetime.fromisoformat(when) > now + _SKEW
    except (ValueError, TypeError):  # validated before; a naive time is no time to compare
        later = False
    if later:
        out.append(f"the evaluation's time {when} is still to come (it is now "
                   f"{now.isoformat(timespec='seconds')}): a typo? It is the gate's latest "
                   "evaluation from now on all the same")
    return out


_SKEW = dt.timedelta(minutes=5)


def _free_reason_code(code: str) -> str:
    """The warning for a reason code outside the vocabulary, in a notice of the version that
    keeps it as free text."""
    close = nearest(code, REASON_CODES, cutoff=0.75)
    return (f"reason code {quoted(code, 60)} is not in the vocabulary"
            + (f" (did you mean {close}?)" if close else "")
            + ": correction-record-v1 keeps it as free text, and exports show it as given "
            "(`ledger schema correction-record-v1.1` lists the codes)")


QUARANTINE_BELOW = 5.0


def tier_contradiction(manifest: dict[str, Any]) -> str | None:
    """Return how a manifest's quality tier contradicts its review score (a score below
    QUARANTINE_BELOW must be a 'Quarantine candidate'), None if it does not or either is
    absent or withheld: the rule ``audit`` flags for every record."""
    score, quality = manifest.get("review_score"), manifest.get("quality")
    if is_withheld(score) or is_withheld(quality) or not isinstance(quality, dict):
        return None
    tier = quality.get("tier")
    if isinstance(score, int | float) and tier is not None and score < QUARANTINE_BELOW \
            and tier != "Quarantine candidate":
        return (f"review score {canonical_text(score)} is below {QUARANTINE_BELOW} but the tier "
                f"is {tier!r}, not 'Quarantine candidate'")
    return None


def _tier_after(contract: str, payload: dict[str, Any], state: RecordState | None) -> str | None:
    """The warning for an append that leaves the record's tier contradicting its review score
    (a new version, or a correction's changes), None otherwise."""
    if contract.startswith("paper-manifest-"):
        manifest = payload
    elif payload.get("kind") == "correction" and state is not None \
            and isinstance(payload.get("changes"), list) and payload["changes"]:
        try:
            manifest = apply_changes(state.manifest, payload["changes"])
        except (KeyError, IndexError, ValueError, TypeError, RefusedInput):
            return None
    else:
        return None
    found = tier_contradiction(manifest)
    if found is None:
        return None
    mend = ("with --set '/quality/tier=Quarantine candidate'" if manifest is not payload
            else "in the manifest's quality.tier")
    return f"{found}: `ledger audit` will flag it (the tier is set {mend})"


def editorial_warnings(contract: str, payload: dict[str, Any], state: RecordState | None,
                       now: dt.datetime | None = None) -> list[str]:
    """Return warnings about an append that is valid but may hurt the record unknowingly: a new
    version that sets the record back to an earlier one (``set_back``) or a member back from the
    value a correction in force gave it, a VERIFIED gate on a retracted, withdrawn or removed
    record, a notice's effective date or an evaluation's time after ``now``, a partial
    retraction that names no claims, and a tier that the new version or the correction's
    changes leave contradicting the review score."""
    tier = _tier_after(contract, payload, state)
    if state is None:
        return [tier] if tier is not None else []
    out = [] if now is None else _after_now(payload, now)
    if tier is not None:
        out.append(tier)
    if contract.startswith("paper-manifest-"):
        back = set_back(payload, state)
        if back is not None:
            out.append(back)
        removal = removed_by(state)
        if removal is not None:
            out.append(f"{state.record_id} is REMOVED (removal {removal} in force): this "
                       "version's content is in the ledger for good, public to every reader of "
                       "its history, unless another removal purges it")
        for notice in state.notices:
            if notice.kind != "correction" or not notice.in_force:
                continue
            for change in notice.payload.get("changes") or []:
                if not isinstance(change, dict):
                    continue
                path = str(change.get("path", ""))
                try:
                    value = resolve(payload, path)
                except (KeyError, IndexError, ValueError, TypeError):
                    continue
                if value != change.get("value"):
                    out.append(f"this version sets {path} to {value!r}, which correction "
                               f"{notice.notice_id} (seq {notice.seq}) set to {change.get('value')!r}: "
                               "publishing it reverts that correction")
    lifted = state.notice(str(payload["lifts"])) if payload.get("kind") == "reinstatement" \
        and payload.get("lifts") else None
    if lifted is not None and lifted.kind == "correction" and isinstance(
            lifted.payload.get("changes"), list) and lifted.payload["changes"]:
        paths = ", ".join(str(c.get("path")) for c in lifted.payload["changes"][:3]
                          if isinstance(c, dict))
        out.append(f"correction {lifted.notice_id} no longer counts in the record's status, but "
                   f"its changes stay in the manifest ({paths}): to undo them, issue a correction "
                   "that sets them back")
    if payload.get("kind") == "partial_retraction" and not payload.get("claim_ids"):
        out.append(f"this partial retraction of {state.record_id} names no claims (`--claim-id`; "
                   "`claim_ids` in a notice file): readers will not see which claims it retracts")
    if contract == "correction-record-v1":  # v1.1 refuses a code outside the vocabulary
        out += [_free_reason_code(code) for code in payload.get("reason_codes") or []
                if isinstance(code, str) and code not in REASON_CODES]
    if contract.startswith("gate-evaluation-") and payload.get("status") == "VERIFIED" \
            and state.status in ("RETRACTED", "WITHDRAWN", "REMOVED"):
        out.append(f"{state.record_id} is {state.status}: a VERIFIED gate does not change that "
                   "status, and readers will see both")
    return out

