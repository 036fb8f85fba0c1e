"""One exception tree for the whole library; the CLI turns each into ``Error: …`` and an exit
status (1 for evidence of tampering, 2 for refused input or a file that is not a ledger)::

    LedgerError
    ├── RefusedInput              input that breaks a contract or a rule; nothing was written (2)
    │   ├── LineRefused           line N of a page or a JSON Lines input: .line, .reason
    │   │   └── PageError         (ledger.pages.layout) a page that cannot be read
    │   ├── KeyFormatError        a key string or key file is malformed
    │   └── JsonInputError        (ledger.core.canonical) not one strict JSON document: .line, .column
    ├── NotALedger                missing, not a ledger, or a newer format (2)
    ├── StoreError                SQLite could not do it: busy, read-only, disk full (2)
    ├── CorruptEvent              the file was edited behind the ledger's back, or SQLite finds
    │                             a ledger file corrupt: .seq, .table (1)
    ├── SignatureError            a signed note is not signed by the expected key (1)
    ├── VerificationError         the log does not verify: .seq, .reason, .expected, .computed (1)
    └── ProofError                (ledger.core.merkle) a proof does not verify: .expected, .computed
"""

from __future__ import annotations

import re

_WHERE = re.compile(r"(?:seq (?P<seq>-?\d+):|table (?P<table>\w+))")


class LedgerError(Exception):
    """Base of every error the library raises on purpose."""


class RefusedInput(LedgerError):
    """Input that violates a contract or a rule; nothing was written."""


class LineRefused(RefusedInput):
    """Line ``line`` of an input (a record page, a JSON Lines file) was refused for ``reason``."""

    def __init__(self, line: int, reason: str) -> None:
        self.line, self.reason = line, reason
        super().__init__(f"{line}: {reason}")


class UnknownRecord(RefusedInput):
    """No event names record ``record_id``; ``similar`` are the ids of records in the ledger one
    typing slip away from it (a digit changed, two swapped, another prefix), ``then`` what to do."""

    def __init__(self, record_id: str, similar: tuple[str, ...] = (), then: str = "") -> None:
        self.record_id, self.similar, self.then = record_id, similar, then
        hint = f" (did you mean {' or '.join(similar)}?)" if similar else ""
        super().__init__(f"unknown record {record_id}{': ' + then if then else ''}{hint}")


class NotALedger(LedgerError):
    """The file is missing, is not a ledger, or has an unsupported format version."""


class StoreError(LedgerError):
    """SQLite could not do what was asked (locked too long, read-only, disk full)."""


class CorruptEvent(LedgerError):
    """A stored event or table cannot be read or applied: the file was edited behind the ledger's
    back. ``seq`` names the event and ``table`` the table, when known; a message that starts
    ``seq N:`` or ``table T`` (the house style) gives them when they are not passed."""

    def __init__(self, message: str, seq: int | None = None, table: str | None = None) -> None:
        said = _WHERE.match(message)
        if said is not None:
            seq = seq if seq is not None or said["seq"] is None else int(said["seq"])
            table = table or said["table"]
        self.seq, self.table = seq, table
        super().__init__(message)


class KeyFormatError(RefusedInput):
    """A key string or key file is malformed."""


class SignatureError(LedgerError):
    """A signed note is not signed by the expected key, or is malformed."""


class VerificationError(LedgerError):
    """The chain does not verify: names the first bad ``seq`` and what was expected."""

    def __init__(self, seq: int, reason: str, expected: str = "", computed: str = "") -> None:
        self.seq = seq
        self.reason = reason
        self.expected = expected
        self.computed = computed
        super().__init__(f"seq {seq}: {reason}")


class CheckpointRefused(VerificationError):
    """A log's signed checkpoint goes back on what a monitor saw: smaller than the last one seen
    (a rollback), another root at its size (a fork), or a root the log's entries do not give.
    ``kept`` names the file the refused checkpoint was kept in, if any."""

    def __init__(self, seq: int, reason: str, expected: str = "", computed: str = "",
                 kept: str | None = None) -> None:
        super().__init__(seq, reason, expected, computed)
        self.kept = kept
