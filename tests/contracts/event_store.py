"""What every event log (the MongoDB EventStore or the in-memory fake) must do."""
from __future__ import annotations

import uuid
from typing import Any

import pytest

from shared.errors import ConcurrencyConflict
from shared.events.envelope import Metadata, PendingEvent, StreamHead, chain_breaks

META = Metadata(actor={"id": "u1", "name": "Ann"}, correlation_id="c-1")


def stream_id() -> str:
    return f"thing_{uuid.uuid4().hex[:12]}"


def pending(*labels: str) -> list[PendingEvent]:
    return [PendingEvent("ThingChanged", {"label": label}) for label in labels]


def head_of(envelopes: list[dict[str, Any]]) -> StreamHead:
    return StreamHead(envelopes[-1]["version"], envelopes[-1]["hash"])


class EventLogContract:
    """Subclasses provide the ``log`` fixture (a fresh, empty log)."""

    def test_appends_number_versions_and_positions_and_chain_the_hashes(self, log: Any) -> None:
        first, second = stream_id(), stream_id()
        a = log.append(first, "thing", StreamHead(), pending("a1", "a2"), META)
        b = log.append(second, "thing", StreamHead(), pending("b1"), META)
        c = log.append(first, "thing", head_of(a), pending("a3"), META)

        assert [e["version"] for e in a + c] == [1, 2, 3]
        positions = [e["position"] for e in a + b + c]
        assert positions == sorted(positions) and len(set(positions)) == 4
        assert [e["data"]["label"] for e in log.stream(first)] == ["a1", "a2", "a3"]
        assert chain_breaks(log.stream(first)) == [] and log.verify()["ok"] is True
        assert all(e["stream_type"] == "thing" and e["actor"]["id"] == "u1"
                   and e["correlation_id"] == "c-1" for e in a + b + c)

    def test_a_stale_head_is_a_concurrency_conflict_and_writes_nothing(self, log: Any) -> None:
        sid = stream_id()
        log.append(sid, "thing", StreamHead(), pending("one", "two"), META)

        with pytest.raises(ConcurrencyConflict) as conflict:
            log.append(sid, "thing", StreamHead(), pending("late"), META)

        assert conflict.value.current_version == 2
        assert log.current_version(sid) == 2
        assert [e["data"]["label"] for e in log.stream(sid)] == ["one", "two"]

    def test_a_failing_write_alongside_aborts_the_append(self, log: Any) -> None:
        sid = stream_id()

        def fail(session: Any, envelopes: list[dict[str, Any]]) -> None:
            assert [e["version"] for e in envelopes] == [1]
            raise RuntimeError("the state write failed")

        with pytest.raises(RuntimeError):
            log.append(sid, "thing", StreamHead(), pending("x"), META, also=fail)

        assert log.stream(sid) == [] and log.current_version(sid) == 0
        assert log.append(sid, "thing", StreamHead(), pending("y"), META)[0]["version"] == 1

    def test_a_stream_reads_between_versions(self, log: Any) -> None:
        sid = stream_id()
        appended = log.append(sid, "thing", StreamHead(), pending("1", "2", "3", "4"), META)

        assert [e["version"] for e in log.stream(sid, after_version=1)] == [2, 3, 4]
        assert [e["version"] for e in log.stream(sid, after_version=1, up_to_version=3)] == [2, 3]
        assert [e["event_id"] for e in log.stream(sid)] == [e["event_id"] for e in appended]
        assert log.stream("thing_unknown") == [] and log.current_version("thing_unknown") == 0

    def test_read_all_pages_in_position_order(self, log: Any) -> None:
        for _ in range(3):
            log.append(stream_id(), "thing", StreamHead(), pending("p", "q"), META)
        everything = log.read_all()

        page = log.read_all(after_position=everything[1]["position"], limit=3)

        assert [e["position"] for e in everything] == sorted(e["position"] for e in everything)
        assert len(everything) == 6 and page == everything[2:5]

    def test_verify_checks_only_the_streams_asked_for(self, log: Any) -> None:
        first, second = stream_id(), stream_id()
        log.append(first, "thing", StreamHead(), pending("a", "b"), META)
        log.append(second, "thing", StreamHead(), pending("c"), META)

        report = log.verify([first])

        assert report == {"ok": True, "checked": 2, "broken": []}
