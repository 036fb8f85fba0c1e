"""The progress callback long commands take: called with how many more items (events, records)
are done, so a terminal can draw a bar with a true total. None means no one is watching."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int], None]
