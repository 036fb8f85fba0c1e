"""Time, passed in: the library never reads the clock except through a ``Clock``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    """Return the current UTC time."""
    return dt.datetime.now(dt.UTC)


def rfc3339(moment: dt.datetime) -> str:
    """Return ``moment`` as RFC 3339 UTC with microseconds and ``Z`` (2026-11-25T10:00:00.000000Z)."""
    if moment.tzinfo is not dt.UTC:
        moment = moment.astimezone(dt.UTC)
    return moment.isoformat(timespec="microseconds")[:26] + "Z"  # without "+00:00"


def rfc3339_seconds(moment: dt.datetime) -> str:
    """Return ``moment`` as RFC 3339 UTC to the second, with ``Z`` (2026-11-25T10:00:00Z)."""
    return moment.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
