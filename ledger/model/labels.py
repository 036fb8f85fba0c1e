"""The public words for the ledger's derived values, as the publisher's pages print them: pure
data for the terminal, HTML and Markdown renderers and the page importer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledger.model.pointer import change_text

VERIFICATION_LABELS = {"L1": "Literature synthesis", "L2": "Source-grounded claims"}
# Gates every record lists, as NOT_EVALUATED until evaluated, with their names.
DEFAULT_GATES = {2: "Verification (formal proof or sandbox reproduction)"}
PROVENANCE_LABELS = {
    "L1": "Minimal record", "L2": "Public artifact record",
    "L3": "Claim aggregate record", "L4": "External archival record",
}


def level_text(level: str, labels: dict[str, str]) -> str:
    """Return a level with its public label: ``L2, Source-grounded claims``."""
    if level == "WITHHELD":  # state.WITHHELD_VALUE: its input was purged by a removal
        return "Withheld (what it is derived from was removed)"
    return f"{level}, {labels[level]}" if level in labels else level


def notice_effects(notice: Mapping[str, Any], version: int | None = None) -> list[str]:
    """Return what a notice did, in sentences for readers (a page's banner, the feed): the
    version it is about, when the record has another one now (``version``, the current: ``It is
    about version 1 of the record; this page shows version 2.``), a correction's
    changes (``It changed /review_score to 9.1.``), a partial retraction's claims (``Claims
    retracted: C-3, C-7.``); none for what a removal withheld."""
    changes, claims = notice.get("changes"), notice.get("claim_ids")
    out = []
    about = earlier_version(notice, version) if version is not None else None
    if about is not None:
        out.append(f"It is about version {about} of the record; this page shows version "
                   f"{version}.")
    if isinstance(changes, list) and changes:
        out.append(f"It changed {'; '.join(change_text(c) for c in changes)}.")
    if isinstance(claims, list) and claims:
        out.append(f"Claims retracted: {', '.join(str(c) for c in claims)}.")
    return out


def earlier_version(notice: Mapping[str, Any], version: int) -> int | None:
    """Return the version a notice is about when the record has another one now (``version``,
    the current) — most often a notice issued before a later version was published, whose
    changes that version may have set again; None when it is about the current one."""
    target = notice.get("target_version")
    return target if type(target) is int and target != version else None
