"""For any generated sequence of submissions with a site run after each step, no incremental run
is refused (a ledger only appends, so each record has the events of the last run plus those
appended since), and the incremental site ends as a build of every page from scratch."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ledger.api import Ledger
from ledger.errors import RefusedInput
from tests.conftest import clock
from tests.test_views_property import operations


def files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.name != "ledger-site-state.json"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations, st.lists(st.integers(1, 6), min_size=1, max_size=8))
def test_incremental_site_runs_are_never_refused_and_end_as_a_full_build(
        ops: list[tuple[str, dict[str, Any]]], steps: list[int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out, fresh = Path(tmp) / "site", Path(tmp) / "fresh"
        with Ledger.create(Path(tmp) / "l.db", clock) as ledger:
            at = 0
            for step in [*steps, len(ops)]:
                for contract, payload in ops[at:at + step]:
                    try:
                        ledger.submit(contract, payload, "prop")
                    except RefusedInput:
                        continue
                at += step
                if ledger.count():
                    ledger.site(out, None, None)  # incremental after the first: never refused
            if not ledger.count():
                return
            ledger.site(fresh, None, None, full=True)
        built = files(out)
        event(f"files: {min(len(built), 10)}+")  # (statistics: sites of several pages)
        assert built == files(fresh)
