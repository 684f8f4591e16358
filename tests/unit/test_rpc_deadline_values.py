"""The ``deadline`` context value: written as ISO 8601 UTC, read back as seconds left,
and a new call's wait bounded by the deadline of the call being handled."""
from __future__ import annotations

import datetime as dt

import pytest

from shared.rpc_client import _remaining, deadline_after, seconds_left

NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.timezone.utc)


def test_a_deadline_is_an_iso_timestamp_that_reads_back_as_the_seconds_left() -> None:
    deadline = deadline_after(2.5, now=NOW)
    assert deadline == "2026-05-01T12:00:02.500Z"
    assert seconds_left(deadline, now=NOW) == 2.5


def test_a_passed_deadline_has_negative_seconds_left() -> None:
    assert seconds_left("2026-05-01T11:59:59Z", now=NOW) == -1.0


def test_no_deadline_has_no_limit() -> None:
    assert seconds_left(None, now=NOW) is None


@pytest.mark.parametrize("value", ["soon", "2026-05-01T12:00:00", 1767225600, ""])
def test_a_deadline_that_is_not_a_zoned_timestamp_is_refused(value: object) -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        seconds_left(value, now=NOW)


def test_a_call_waits_its_timeout_unless_the_call_being_handled_ends_sooner() -> None:
    assert _remaining({}, 30) == 30
    assert _remaining({}, None) is None
    soon = deadline_after(5)
    assert 4 < (_remaining({"deadline": soon}, 30) or 0) <= 5
    assert 4 < (_remaining({"deadline": soon}, None) or 0) <= 5
    assert _remaining({"deadline": deadline_after(60)}, 30) == 30


def test_a_malformed_inherited_deadline_is_ignored() -> None:
    assert _remaining({"deadline": "soon"}, 30) == 30
