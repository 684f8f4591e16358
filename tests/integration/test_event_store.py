"""The shared event store against the real Mongo-protocol store."""
from __future__ import annotations

from typing import Any

import eventlet
import pytest
from eventlet import patcher

from shared.errors import ConcurrencyConflict
from shared.events.envelope import Metadata, PendingEvent, StreamHead, compute_hash
from shared.events.store import EventStore
from tests.support.infra import signing_key

META = Metadata(actor={"id": "u1", "name": "Ann"}, correlation_id="corr-1")


def append(store: EventStore, stream: str, head: StreamHead, *types: str, also: Any = None) -> list[dict]:
    return store.append(stream, "thing", head, [PendingEvent(t, {"t": t}) for t in types], META, also=also)


def test_one_command_appends_all_its_events_with_consecutive_versions_and_positions(store: EventStore) -> None:
    events = append(store, "s1", StreamHead(), "A", "B", "C")

    assert [e["version"] for e in events] == [1, 2, 3]
    assert [e["position"] for e in events] == [1, 2, 3]
    assert store.stream("s1") == events
    assert all(e["actor"] == {"id": "u1", "name": "Ann"} and e["correlation_id"] == "corr-1"
               for e in events)


def test_a_stale_head_is_a_concurrency_conflict_and_writes_nothing(store: EventStore) -> None:
    first = append(store, "s1", StreamHead(), "A")
    append(store, "s1", StreamHead.of(first), "B")

    with pytest.raises(ConcurrencyConflict) as error:
        append(store, "s1", StreamHead.of(first), "C")

    assert error.value.current_version == 2
    assert [e["type"] for e in store.stream("s1")] == ["A", "B"]
    assert store.last_position() == 2


def test_a_failure_in_the_same_transaction_leaves_no_event(store: EventStore) -> None:
    def fail(session: Any, envelopes: list[dict]) -> None:
        store.db["side"].insert_one({"x": 1}, session=session)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        append(store, "s1", StreamHead(), "A", "B", also=fail)

    assert store.stream("s1") == [] and store.db["side"].count_documents({}) == 0


def test_pymongo_runs_under_eventlet_and_concurrent_writers_lose_and_duplicate_nothing(store: EventStore) -> None:
    assert patcher.is_monkey_patched("socket") and patcher.is_monkey_patched("thread")

    def writer(n: int) -> int:
        head, written = StreamHead(), 0
        for _ in range(10):
            try:
                events = append(store, f"stream-{n % 4}", head, "X")
                written += 1
            except ConcurrencyConflict:
                events = store.stream(f"stream-{n % 4}")
            head = StreamHead.of(events) if len(events) > 0 and events[-1]["version"] > head.version \
                else StreamHead.of(store.stream(f"stream-{n % 4}"))
        return written

    pool = eventlet.GreenPool(12)
    written = sum(pool.imap(writer, range(12)))

    everything = store.read_all(limit=10_000)
    assert len(everything) == written
    assert [e["position"] for e in everything] == list(range(1, written + 1))
    for n in range(4):
        assert [e["version"] for e in store.stream(f"stream-{n}")] == \
            list(range(1, len(store.stream(f"stream-{n}")) + 1))
    assert store.verify()["ok"] is True


def test_verify_finds_an_event_changed_behind_the_stores_back(store: EventStore) -> None:
    events = append(store, "s1", StreamHead(), "A", "B")
    store.events.update_one({"_id": events[0]["event_id"]}, {"$set": {"data.t": "forged"}})

    report = store.verify()

    assert report["ok"] is False and report["checked"] == 2
    assert report["broken"] == [{"invoice_id": "s1", "version": 1,
                                 "reason": "hash does not match the event's content"}]


def test_read_all_pages_in_global_order(store: EventStore) -> None:
    a = append(store, "a", StreamHead(), "A1")
    b = append(store, "b", StreamHead(), "B1")
    append(store, "a", StreamHead.of(a), "A2")

    first = store.read_all(after_position=0, limit=2)
    rest = store.read_all(after_position=first[-1]["position"])

    assert [e["type"] for e in first + rest] == ["A1", "B1", "A2"]
    assert b[0]["position"] == 2


def test_read_all_pages_across_gaps_in_the_positions(store: EventStore) -> None:
    # given positions with a gap (a counter taken and its transaction aborted, say)
    a = append(store, "a", StreamHead(), "A1", "A2", "A3")
    store.counters.update_one({"_id": "position"}, {"$inc": {"value": 700}})
    append(store, "a", StreamHead.of(a), "A4", "A5", "A6")

    # when read in pages smaller than the gap, then from just before it
    first = store.read_all(after_position=0, limit=5)
    rest = store.read_all(after_position=first[-1]["position"], limit=5)
    across = store.read_all(after_position=2, limit=2)

    # then nothing is skipped or repeated, and a page is full whenever events remain
    assert [e["type"] for e in first + rest] == ["A1", "A2", "A3", "A4", "A5", "A6"]
    assert [e["type"] for e in across] == ["A3", "A4"]
    assert store.read_all(after_position=rest[-1]["position"]) == []


def test_append_in_stores_events_only_when_the_callers_transaction_commits(store: EventStore) -> None:
    def react(session: Any, fail: bool) -> list[dict]:
        store.db["checkpoints"].update_one({"_id": "c"}, {"$inc": {"n": 1}}, upsert=True, session=session)
        appended = store.append_in(session, "r1", "thing", StreamHead(), [PendingEvent("Opened", {})], META)
        if fail:
            raise RuntimeError("the reaction failed after appending")
        return appended

    with store.db.client.start_session() as session, pytest.raises(RuntimeError):
        session.with_transaction(lambda s: react(s, fail=True))
    assert store.stream("r1") == [] and store.db["checkpoints"].find_one({"_id": "c"}) is None

    with store.db.client.start_session() as session:
        appended = session.with_transaction(lambda s: react(s, fail=False))
    later = append(store, "s2", StreamHead(), "B")

    assert store.stream("r1") == appended and appended[0]["version"] == 1
    assert later[0]["position"] == appended[0]["position"] + 1
    assert store.verify()["ok"] is True


def reasons(report: dict[str, Any]) -> list[tuple[int, str]]:
    return [(b["version"], b["reason"]) for b in report["broken"]]


def test_verify_finds_a_deleted_tail_by_the_recorded_stream_head(store: EventStore) -> None:
    events = append(store, "s1", StreamHead(), "A", "B", "C")
    store.events.delete_one({"_id": events[-1]["event_id"]})

    for report in (store.verify(), store.verify(["s1"])):
        assert report["ok"] is False
        assert reasons(report) == [(3, "events missing: the stream ends at version 2, "
                                       "its head is version 3")]


def test_verify_finds_an_event_changed_with_its_hash_recomputed(store: EventStore) -> None:
    events = append(store, "s1", StreamHead(), "A", "B")
    forged = dict(events[-1], data={"t": "forged"})
    forged["hash"] = compute_hash(forged)
    store.events.replace_one({"_id": forged["event_id"]}, forged)

    report = store.verify()

    assert (2, "signature does not match the event's hash") in reasons(report)


def test_verify_finds_an_inserted_or_reordered_event(store: EventStore) -> None:
    events = append(store, "s1", StreamHead(), "A", "B")
    inserted = dict(events[-1], event_id="x1", version=3, position=99, prev_hash=events[-1]["hash"],
                    data={"t": "C"}, key_id=None, signature=None)
    inserted["hash"] = compute_hash(inserted)
    store.events.insert_one(dict(inserted, _id="x1"))
    assert (3, "event is not signed") in reasons(store.verify())

    store.events.delete_one({"_id": "x1"})
    store.events.update_one({"_id": events[0]["event_id"]}, {"$set": {"position": 50}})
    store.events.update_one({"_id": events[1]["event_id"]}, {"$set": {"position": events[0]["position"]}})
    assert any("position is not after" in reason or "gap" in reason
               for _, reason in reasons(store.verify()))


def test_verify_finds_an_event_signed_by_another_services_key(store: EventStore) -> None:
    events = append(store, "s1", StreamHead(), "A")
    other = signing_key("customer")
    store.events.update_one({"_id": events[0]["event_id"]}, {"$set": {
        "key_id": other.key_id, "signature": other.sign(events[0]["hash"])}})

    assert reasons(store.verify()) == [(1, "signed with key 'customer-1', not a key of 'teststore'")]
