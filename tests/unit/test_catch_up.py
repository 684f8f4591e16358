"""The one catch-up loop (shared.events.catchup) with fakes: where it resumes, what it
reads, how it batches, and how it waits for its source."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from shared.events.catchup import CatchUp, Source, retrying, until_caught_up
from shared.health import CATCH_UPS
from tests.support.fakes import InMemoryCatchUpCheckpoint, PagedEventSource, synthetic_events


class FakeTracker:
    """A StreamTracker's batch side: applies each stream's next version once, in order,
    and moves the applied position as the real one does."""

    def __init__(self, checkpoint: InMemoryCatchUpCheckpoint) -> None:
        self.checkpoint = checkpoint
        self.versions: dict[str, int] = {}
        self.batches: list[int] = []

    def handle_batch(self, envelopes: Sequence[Mapping[str, Any]], apply: Any, fetch: Any,
                     apply_batch: Any = None) -> int:
        self.batches.append(len(envelopes))
        applied = 0
        for envelope in envelopes:
            stream_id, version = envelope["stream_id"], int(envelope["version"])
            done = self.versions.get(stream_id, 0)
            missing = [e for e in fetch(stream_id, done) if int(e["version"]) < version] \
                if version > done + 1 else []
            for event in [*missing, envelope] if version > done else []:
                assert int(event["version"]) == self.versions.get(stream_id, 0) + 1, "out of order"
                apply(event, None)
                self.versions[stream_id] = int(event["version"])
                self.checkpoint.applied = max(self.checkpoint.applied, int(event["position"]))
                applied += 1
        return applied

    def deliver(self, envelopes: Sequence[Mapping[str, Any]], log: list[dict[str, Any]]) -> None:
        """What the queue hands the running consumer (predecessors fetched from ``log``)."""
        self.handle_batch(envelopes, lambda envelope, session: None, fetch_from(log))


def fetch_from(log: list[dict[str, Any]]) -> Any:
    def fetch(stream_id: str, after_version: int) -> list[dict[str, Any]]:
        return [e for e in log if e["stream_id"] == stream_id and e["version"] > after_version]
    return fetch


class CountingSource(PagedEventSource):
    def __init__(self, events: list[dict[str, Any]]) -> None:
        super().__init__(events)
        self.read = 0

    def read_events(self, after_position: int = 0, limit: int = 1000) -> dict[str, Any]:
        page = super().read_events(after_position, limit)
        self.read += len(page["events"])
        return page

    def source(self) -> Source:
        return Source(read_page=self.read_events, fetch=fetch_from(self.events))


def catch_up_of(tracker: FakeTracker, applied: list[Mapping[str, Any]], **options: Any) -> CatchUp:
    return CatchUp(tracker, tracker.checkpoint, lambda envelope, session: applied.append(envelope),
                   **options)


def test_a_restart_after_a_completed_catch_up_reads_only_what_the_consumer_missed() -> None:
    # given a consumer that caught up at its first start, then applied 300 events live
    events = synthetic_events(streams=40, per_stream=40)  # 1,600 in the log
    checkpoint, applied = InMemoryCatchUpCheckpoint(), []
    tracker = FakeTracker(checkpoint)
    catch_up_of(tracker, applied).run(CountingSource(events[:300]).source())
    tracker.deliver(events[300:600], events)
    # when it restarts with 1,000 events stored while it was down
    source = CountingSource(events)
    new = catch_up_of(tracker, applied, page_size=100).run(source.source())
    # then it read those 1,000 only
    assert new == 1000 and source.read == 1000
    assert [e["position"] for e in applied] == [e["position"] for e in events[:300] + events[600:]]


def test_an_unfinished_catch_up_resumes_at_its_own_checkpoint_not_at_live_events() -> None:
    # given a first catch-up stopped after 200 events while the queue delivered later ones
    events = synthetic_events(streams=10, per_stream=50)
    checkpoint, applied = InMemoryCatchUpCheckpoint(), []
    tracker = FakeTracker(checkpoint)
    catch_up_of(tracker, applied, page_size=100).run(CountingSource(events[:200]).source())
    checkpoint.complete = False  # it never saw the end of the log
    tracker.deliver([e for e in events[400:] if e["stream_id"] < "inv_000005"], events)
    # when it runs again, it reads from its checkpoint, not from the last event applied
    source = CountingSource(events)
    caught = catch_up_of(tracker, applied, page_size=100).run(source.source())
    # so the other streams' events stored before then are not skipped
    assert source.read == 300 and caught == 5 * 30
    assert sorted(tracker.versions.values()) == [50] * 10


def test_pages_are_applied_in_batches_in_global_order_and_the_checkpoint_moves_per_page() -> None:
    events = synthetic_events(streams=7, per_stream=10)
    checkpoint, applied = InMemoryCatchUpCheckpoint(), []
    tracker = FakeTracker(checkpoint)

    catch_up_of(tracker, applied, page_size=30, batch_size=20).run(CountingSource(events).source())

    assert tracker.batches == [20, 10, 20, 10, 10]
    assert [e["position"] for e in applied] == [e["position"] for e in events]
    assert checkpoint.position == events[-1]["position"] and checkpoint.complete


def test_events_the_consumer_does_not_want_are_read_past_to_the_end() -> None:
    settings = synthetic_events(streams=3, per_stream=20, prefix="set")
    invoices = [dict(e, position=e["position"] + 60) for e in synthetic_events(streams=2, per_stream=5)]
    checkpoint, applied = InMemoryCatchUpCheckpoint(), []

    caught = catch_up_of(FakeTracker(checkpoint), applied, page_size=25,
                         wanted=lambda e: e["stream_id"].startswith("inv")
                         ).run(CountingSource(settings + invoices).source())

    assert caught == 10 and {e["stream_id"][:3] for e in applied} == {"inv"}
    assert checkpoint.position == 70


def test_retrying_backs_off_until_the_source_answers() -> None:
    slept: list[float] = []
    answers = iter([ConnectionError("down")] * 8 + [42])

    def attempt() -> int:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert retrying("test", attempt, sleep=slept.append, first_delay=0.5, max_delay=30.0) == 42
    assert slept == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_a_consumer_is_reported_caught_up_only_after_its_queues_and_its_catch_up() -> None:
    order: list[str] = []
    CATCH_UPS.expect("unit.consumer")

    def attempt() -> int:
        assert CATCH_UPS.pending() == ["unit.consumer"] or "unit.consumer" in CATCH_UPS.pending()
        order.append("catch-up")
        return 3

    applied = until_caught_up("unit.consumer", attempt, ready=lambda: order.append("queues"),
                              sleep=pytest.fail)

    assert applied == 3 and order == ["queues", "catch-up"]
    assert "unit.consumer" not in CATCH_UPS.pending()


def test_a_restarted_consumer_is_ready_before_it_drains_what_it_missed() -> None:
    """Once an earlier catch-up read to the end, the durable queue holds the rest: a
    backlog must not keep the restarted process out of service (issue 9, kill -9 of
    search/approval under load left them unready for 40-90 s)."""
    CATCH_UPS.expect("unit.restarted")
    pending_during: list[list[str]] = []

    def attempt() -> int:
        pending_during.append(CATCH_UPS.pending())
        return 419

    applied = until_caught_up("unit.restarted", attempt, ready=lambda: None,
                              completed=lambda: True, sleep=pytest.fail)

    assert applied == 419
    assert "unit.restarted" not in pending_during[0]
    assert "unit.restarted" not in CATCH_UPS.pending()


def test_a_first_catch_up_keeps_the_consumer_unready_until_it_reached_the_end() -> None:
    CATCH_UPS.expect("unit.first")
    pending_during: list[list[str]] = []

    def attempt() -> int:
        pending_during.append(CATCH_UPS.pending())
        return 0

    until_caught_up("unit.first", attempt, completed=lambda: False, sleep=pytest.fail)

    assert "unit.first" in pending_during[0] and "unit.first" not in CATCH_UPS.pending()
