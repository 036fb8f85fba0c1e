"""The public words for the ledger's derived values, as the publisher's pages print them: pure
data for the terminal, HTML and Markdown renderers and the page importer."""

from __future__ import annotations

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
