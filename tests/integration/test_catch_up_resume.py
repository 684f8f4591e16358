"""Catching up after a restart on the real store: a consumer that ran to its checkpoint,
was stopped while 1,000 events were stored, and starts again reads those 1,000 (plus
at most one page of overlap), however many events the store held before."""
from __future__ import annotations

import uuid
from typing import Any

from pymongo.database import Database

from shared.events.catchup import catch_up
from shared.events.consumer import StreamTracker
from shared.events.envelope import Metadata, PendingEvent, StreamHead, envelope_to_wire
from shared.events.store import EventStore

META = Metadata(actor={"id": "u1", "name": "Ann"})
PAGE = 200


class CountingSource:
    """The source service's ``read_events`` and ``get_events``, counting every event
    they hand out: what a catch-up reads is what it costs."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.read = 0

    def read_page(self, after: int, limit: int) -> dict[str, Any]:
        page = [envelope_to_wire(e) for e in self.store.read_all(after_position=after, limit=limit)]
        self.read += len(page)
        return {"events": page, "last_position": page[-1]["position"] if page else after}

    def fetch(self, stream_id: str, after_version: int) -> list[dict[str, Any]]:
        events = [envelope_to_wire(e) for e in self.store.stream(stream_id, after_version=after_version)]
        self.read += len(events)
        return events


def stored_in_bulk(store: EventStore, streams: int, versions: int) -> list[dict[str, Any]]:
    """``streams`` streams of ``versions`` events, each stream in one append (the bulk path),
    interleaved in the global log by appending the streams in rounds."""
    heads = {f"s-{uuid.uuid4().hex[:8]}": StreamHead() for _ in range(streams)}
    events: list[dict[str, Any]] = []
    rounds, per_round = 2, max(versions // 2, 1)
    for _ in range(rounds):
        for stream_id, head in heads.items():
            pending = [PendingEvent("Happened", {"n": head.version + i}) for i in range(per_round)]
            batch = store.append(stream_id, "thing", head, pending, META)
            heads[stream_id] = StreamHead.of(batch)
            events += batch
    return events


def projected(db: Database[Any]) -> dict[str, list[int]]:
    return {d["_id"]: d["versions"] for d in db["things"].find()}


def expected(events: list[dict[str, Any]]) -> dict[str, list[int]]:
    streams: dict[str, list[int]] = {}
    for e in sorted(events, key=lambda e: e["position"]):
        streams.setdefault(e["stream_id"], []).append(e["version"])
    return streams


def apply_to(db: Database[Any]) -> Any:
    def apply(envelope: Any, tx: Any) -> None:
        db["things"].update_one({"_id": envelope["stream_id"]},
                                {"$push": {"versions": envelope["version"]}},
                                upsert=True, session=tx.session)
    return apply


def test_a_restarted_consumer_reads_only_the_events_it_missed(
        db: Database[Any], store: EventStore) -> None:
    # given a consumer that caught up with 1,500 events at its first start, then ran to
    # its checkpoint while 300 more were delivered to it
    tracker, apply, source = StreamTracker(db, "resume-test"), apply_to(db), CountingSource(store)
    first = stored_in_bulk(store, streams=30, versions=50)
    catch_up(tracker, apply, source.read_page, source.fetch, page_size=PAGE)
    delivered = stored_in_bulk(store, streams=6, versions=50)
    for envelope in delivered:
        tracker.handle(envelope_to_wire(envelope), apply, source.fetch)
    # and 1,000 events stored while it was stopped
    missed = stored_in_bulk(store, streams=20, versions=50)

    # when it starts again and catches up
    source.read = 0
    applied = catch_up(tracker, apply, source.read_page, source.fetch, page_size=PAGE)

    # then it applied the missed events, having read them and at most one page more
    assert applied == len(missed) == 1000
    assert projected(db) == expected(first + delivered + missed)
    assert source.read <= len(missed) + PAGE, \
        f"read {source.read} events to catch up with {len(missed)} (store: {store.last_position()})"


def test_a_batch_skips_what_was_applied_and_fetches_what_is_missing_once(
        db: Database[Any], store: EventStore) -> None:
    # given a stream whose v1 was applied live, and a second stream not seen at all
    tracker, apply, source = StreamTracker(db, "batch-test"), apply_to(db), CountingSource(store)
    one, two = stored_in_bulk(store, streams=1, versions=4), stored_in_bulk(store, streams=1, versions=2)
    tracker.handle(envelope_to_wire(one[0]), apply, source.fetch)

    # when a batch brings v1 again, skips v2, brings v3 and v4, and the other stream
    batch = [envelope_to_wire(e) for e in (one[0], one[2], one[3], *two)]
    applied = tracker.handle_batch(batch, apply, source.fetch)

    # then each version is applied once, in order, v2 fetched; a repeat applies nothing
    assert applied == 5
    assert projected(db) == expected(one + two)
    assert tracker.handle_batch(batch, apply, source.fetch) == 0
    assert projected(db) == expected(one + two)
