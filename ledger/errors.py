"""One exception tree for the whole library; the CLI turns each into ``Error: …``."""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every error the library raises on purpose."""


class RefusedInput(LedgerError):
    """Input that violates a contract or a rule; nothing was written."""


class NotALedger(LedgerError):
    """The file is missing, is not a ledger, or has an unsupported format version."""


class StoreError(LedgerError):
    """SQLite could not do what was asked (locked too long, read-only, disk full, corrupt)."""


class CorruptEvent(LedgerError):
    """A stored event cannot be read or applied: the file was edited behind the ledger's back."""


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
