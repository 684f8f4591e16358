"""The unit of work on the real store: what a work appends and writes commits together or
not at all, under the store's append lock, and the relay is woken once it committed."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
from pymongo.database import Database

from shared.events.aggregate import Aggregate
from shared.events.envelope import Metadata, PendingEvent, StreamHead
from shared.events.repository import AggregateRepository
from shared.events.store import EventStore
from shared.events.unit_of_work import Transaction, UnitOfWork
from tests.support.infra import key_ring, signing_key

META = Metadata(actor={"id": "u1", "name": "Ann"}, correlation_id="corr-1")


class Wakes:
    """Counts the relay's wake-ups."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


@pytest.fixture
def woken(db: Database[Any]) -> tuple[EventStore, Wakes]:
    wakes = Wakes()
    store = EventStore(db, signing_key("teststore"), keys=key_ring(), on_append=wakes)
    store.ensure_indexes()
    return store, wakes


def open_two(db: Database[Any], fail: bool = False) -> Callable[[Transaction], list[dict[str, Any]]]:
    """A work: events of two streams and a checkpoint, then perhaps a failure."""
    def work(tx: Transaction) -> list[dict[str, Any]]:
        first = tx.append("r1", "thing", StreamHead(), [PendingEvent("Opened", {})], META)
        second = tx.append("r2", "thing", StreamHead(), [PendingEvent("Opened", {}),
                                                         PendingEvent("Noted", {})], META)
        db["tracking"].update_one({"_id": "c"}, {"$set": {"version": 1}}, upsert=True,
                                  session=tx.session)
        if fail:
            raise RuntimeError("the work failed after appending")
        return first + second
    return work


def test_what_a_work_appends_commits_with_its_writes_and_wakes_the_relay_once(
        db: Database[Any], woken: tuple[EventStore, Wakes]) -> None:
    store, wakes = woken

    appended = UnitOfWork(db, store).run(open_two(db))

    assert [e["position"] for e in appended] == [1, 2, 3]
    assert store.stream("r1") == appended[:1] and store.stream("r2") == appended[1:]
    assert db["tracking"].find_one({"_id": "c"}) == {"_id": "c", "version": 1}
    assert wakes.count == 1


def test_a_work_that_fails_leaves_nothing_and_wakes_nothing(
        db: Database[Any], woken: tuple[EventStore, Wakes]) -> None:
    store, wakes = woken

    with pytest.raises(RuntimeError):
        UnitOfWork(db, store).run(open_two(db, fail=True))

    assert store.stream("r1") == [] and store.stream("r2") == [] and store.last_position() == 0
    assert db["tracking"].count_documents({}) == 0
    assert wakes.count == 0


def test_a_work_that_may_append_holds_the_append_lock_and_one_that_cannot_does_not(
        db: Database[Any], woken: tuple[EventStore, Wakes]) -> None:
    store, _ = woken

    held = UnitOfWork(db, store).run(lambda tx: store.append_lock.locked())
    skipped = UnitOfWork(db, store).run(lambda tx: store.append_lock.locked(), may_append=False)
    projection = UnitOfWork(db).run(lambda tx: store.append_lock.locked())

    assert (held, skipped, projection) == (True, False, False)


def test_a_unit_of_work_without_a_store_cannot_append(db: Database[Any]) -> None:
    with pytest.raises(RuntimeError, match="no event store"):
        UnitOfWork(db).run(lambda tx: tx.append("r1", "thing", StreamHead(),
                                                [PendingEvent("Opened", {})], META))
    assert db["events"].count_documents({}) == 0


@dataclass
class Counter(Aggregate):
    STREAM_TYPE: ClassVar[str] = "counter"
    count: int = 0

    def bump(self) -> None:
        self.record("Bumped", {})

    APPLY: ClassVar[dict[str, Any]] = {"Bumped": lambda self, data: setattr(self, "count", self.count + 1)}


class Counters(AggregateRepository[Counter]):
    aggregate_type = Counter

    def state_document(self, counter: Counter) -> dict[str, Any]:
        return {"_id": counter.id, "count": counter.count, "version": counter.version}


@pytest.mark.parametrize("fail", [False, True])
def test_a_repository_saves_in_a_unit_of_work_with_its_state_or_not_at_all(
        db: Database[Any], woken: tuple[EventStore, Wakes], fail: bool) -> None:
    # the same save a command makes alone (group commit), here inside a consumer's work
    store, wakes = woken
    counters = Counters(store, db["counters"])

    def work(tx: Transaction) -> None:
        counter = Counter(id="c1")
        counter.bump()
        counters.save(counter, META, tx=tx)
        if fail:
            raise RuntimeError("the work failed after saving")

    if fail:
        with pytest.raises(RuntimeError):
            UnitOfWork(db, store).run(work)
        assert store.stream("c1") == [] and db["counters"].find_one({"_id": "c1"}) is None
        assert wakes.count == 0
    else:
        UnitOfWork(db, store).run(work)
        assert [e["type"] for e in store.stream("c1")] == ["Bumped"]
        assert db["counters"].find_one({"_id": "c1"}) == {"_id": "c1", "count": 1, "version": 1}
        assert counters.load("c1").count == 1 and wakes.count == 1
