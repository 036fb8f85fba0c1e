"""The log's side of witnessing (C2SP tlog-witness): submit a signed checkpoint to every witness
of a policy that has a URL, in parallel, each with the consistency proof from the size that
witness last cosigned; collect and check their cosignatures; the caller stores the cosigned
checkpoint only if the policy's quorum is met.

The size a witness last cosigned is taken from the cosigned checkpoints the ledger stored (its
newest one that carries a valid cosignature of that witness), else 0; a 409 answer gives the
witness's size, and the request is sent again once from there."""

from __future__ import annotations

import re
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ledger.core.checkpoint import Checkpoint
from ledger.core.cosignature import check_cosignature
from ledger.core.escapes import url_shown
from ledger.core.note import parse_signature_line, signature_lines
from ledger.core.policy import Policy, Witness, cosigners
from ledger.errors import RefusedInput, SignatureError
from ledger.ops.files import TooSlow, at_most, within
from ledger.ops.proofs import consistency as consistency_proof
from ledger.ops.proofs import stored_checkpoints

TIMEOUT_S = 10.0
DEADLINE_S = 60.0  # a witness's whole answer (each wait for it: TIMEOUT_S)
_SIZE = re.compile(r"(0|[1-9][0-9]{0,18})\n")


@dataclass
class Outcome:
    """What one witness answered: its cosignature line, or why there is none."""

    witness: str
    url: str
    line: str | None = None
    problem: str | None = None


@dataclass
class Witnessed:
    """A checkpoint cosigned to the policy's quorum: the note, whether it was stored (False: a
    checkpoint of that size was stored before, and the table keeps it), a sentence per witness."""

    note: str
    stored: bool
    said: list[str]


def last_cosigned(conn: sqlite3.Connection, policy: Policy, origin: str) -> dict[str, int]:
    """Return, per witness of the policy, the largest size of a stored checkpoint of ``origin``
    that it validly cosigned."""
    sizes: dict[str, int] = {}
    good, _ = stored_checkpoints(conn)
    for checkpoint, note in good:
        if checkpoint.origin != origin:
            continue
        try:
            names, _ = cosigners(note, policy)
        except SignatureError:
            continue
        for name in names:
            sizes[name] = max(sizes.get(name, 0), checkpoint.size)
    return sizes


def gather(conn: sqlite3.Connection, note: str, checkpoint: Checkpoint, policy: Policy,
           timeout: float = TIMEOUT_S) -> tuple[str, list[Outcome]]:
    """Submit ``note`` to the policy's witnesses; return (the note with every valid cosignature
    added, each witness's outcome). Nothing is stored here."""
    import httpx  # loaded only when witnesses are asked

    witnesses = [w for w in policy.witnesses.values() if w.url]
    if not witnesses:
        raise RefusedInput("the policy gives no witness a URL: nothing to submit to "
                           "(`witness <name> <vkey> <url>`)")
    sizes = last_cosigned(conn, policy, checkpoint.origin)

    def proof_from(old: int) -> list[str]:  # in this thread: the connection stays in it
        if old in (0, checkpoint.size):
            return []
        return list(consistency_proof(conn, old, checkpoint.size)["proof"])

    def submit(witness: Witness, old: int, proof: list[str]) -> tuple[Outcome, int | None]:
        """Return (outcome, the size a 409 gave, to send again from)."""
        url = str(witness.url).rstrip("/") + "/add-checkpoint"
        outcome = Outcome(witness.name, url_shown(url))
        body = f"old {old}\n" + "".join(f"{h}\n" for h in proof) + "\n" + note
        try:
            with client.stream("POST", url, content=body.encode(),
                               headers={"Content-Type": "text/plain; charset=utf-8"}) as response:
                status, kind = response.status_code, response.headers.get("content-type", "")
                moved = response.headers.get("location")
                answer = at_most(within(response.iter_bytes(), DEADLINE_S), MAX_ANSWER)
        except TooSlow:
            outcome.problem = f"its answer did not arrive in full within {DEADLINE_S:g} s"
            return outcome, None
        except httpx.HTTPError as exc:
            outcome.problem = f"could not reach it ({type(exc).__name__}: {exc})"
            return outcome, None
        except (httpx.InvalidURL, UnicodeError) as exc:  # the policy's URL for it (`http://[::1`,
            # a bad port, a host name with an empty label or one over 63 characters)
            outcome.problem = f"its URL in the policy cannot be used ({exc})"
            return outcome, None
        if answer is None:
            outcome.problem = (f"its answer (HTTP {status}) is longer than {MAX_ANSWER:,} bytes, "
                               "more than a witness has to say: not read")
            return outcome, None
        text = answer.decode("utf-8", errors="replace")
        if status == 409:
            match = _SIZE.fullmatch(text)
            if match is None or not kind.startswith("text/x.tlog.size"):
                outcome.problem = f"409 without a text/x.tlog.size body ({text[:40]!r})"
                return outcome, None
            said = int(match.group(1))
            if said > checkpoint.size:
                outcome.problem = (f"409 Conflict: it has cosigned size {said} of this log, larger "
                                   f"than this checkpoint ({checkpoint.size})")
                return outcome, None
            outcome.problem = f"409 Conflict: it last cosigned size {said}, not {old}"
            return outcome, said
        outcome.problem = _status_problem(status, text)
        if 300 <= status < 400 and moved:
            outcome.problem = (f"HTTP {status}: it redirects to {moved[:200]}, which is not "
                               "followed (give that URL for it in the policy)")
        if outcome.problem is None:
            outcome.line = _cosignature(text, witness, note)
            if outcome.line is None:
                outcome.problem = "it answered 200 without a valid cosignature of its key"
        return outcome, None

    # An https witness's certificate is checked against the system's authorities (or
    # SSL_CERT_FILE's), as the monitor checks a log's host, where httpx would take certifi's.
    import ssl

    with httpx.Client(timeout=timeout, verify=ssl.create_default_context()) as client, \
            ThreadPoolExecutor(min(16, len(witnesses))) as pool:
        first = {w.name: sizes.get(w.name, 0) for w in witnesses}
        jobs = [(w, first[w.name], proof_from(first[w.name])) for w in witnesses]
        results = list(pool.map(lambda job: submit(*job), jobs))
        again = [(w, said, proof_from(said)) for (w, _, _), (_, said) in zip(jobs, results, strict=True)
                 if said is not None and said != first[w.name]]
        retried = dict(zip([w.name for w, _, _ in again],
                           pool.map(lambda job: submit(*job), again), strict=True))
    outcomes = [retried[w.name][0] if w.name in retried else outcome
                for w, (outcome, _) in zip(witnesses, results, strict=True)]
    lines = sorted({o.line for o in outcomes if o.line})
    return note + "".join(lines), outcomes


MAX_ANSWER = 1 << 16  # a witness's answer: its cosignature lines, a size or a short error


def _status_problem(status: int, text: str) -> str | None:
    said = text.strip().splitlines()[0][:200] if text.strip() else ""
    explained = {
        403: "403 Forbidden: it does not accept this log's signature (is the log key in its "
             "logs file?)",
        404: "404 Not Found: it does not know this log's origin (add the log to its logs file)",
        422: "422 Unprocessable: the checkpoint is not consistent with the one it cosigned before "
             "(a fork or a rewritten history), or the proof is wrong",
        400: "400 Bad Request: it could not read the request",
        413: "413: the request was too large for it",
        408: "408: it did not receive the request in full in time (a slow network?)",
    }
    if status == 200:
        return None
    base = explained.get(status, f"HTTP {status}")
    return base + (f" — it said: {said}" if said else "")


def _cosignature(text: str, witness: Witness, note: str) -> str | None:
    """Return the line of ``text`` that is a valid cosignature of ``witness`` on ``note``."""
    body, _ = signature_lines(note)
    for line in text.splitlines():
        try:
            name, raw = parse_signature_line(line)
            if name == witness.key.name:
                check_cosignature(witness.key, body, raw)
                return line + "\n"
        except SignatureError:
            continue
    return None


def describe(outcomes: list[Outcome]) -> list[str]:
    """Return one sentence per witness."""
    return [f"witness {o.witness} ({o.url}): " + ("cosigned" if o.line else str(o.problem))
            for o in outcomes]



__all__ = ["Outcome", "Witnessed", "describe", "gather", "last_cosigned"]
