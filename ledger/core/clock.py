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
    # isoformat's text without its "+00:00", formatted directly: ~25% faster than isoformat, and
    # ~45% faster than the same with format specifiers (an f-string), on every append
    return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (  # noqa: UP031
        moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second,
        moment.microsecond)


def rfc3339_seconds(moment: dt.datetime) -> str:
    """Return ``moment`` as RFC 3339 UTC to the second, with ``Z`` (2026-11-25T10:00:00Z)."""
    return moment.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
