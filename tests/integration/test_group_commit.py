"""Group commit against the real Mongo-protocol store: concurrent appends of one
process share one transaction, each with its own version check and its own ``also``.

The first writer is held inside its transaction (its ``also`` waits) until the others
have queued behind it, so the groups the tests see do not depend on timing."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import eventlet
import pytest

from shared.errors import ConcurrencyConflict
from shared.events.envelope import Metadata, PendingEvent, StreamHead
from shared.events.store import MAX_GROUP, EventStore

META = Metadata(actor={"id": "u1", "name": "Ann"}, correlation_id="corr-group")
QUEUE_TIMEOUT = 20.0  # seconds the held writer waits for the others to queue


def append(store: EventStore, stream: str, head: StreamHead = StreamHead(), *types: str,
           also: Any = None) -> list[dict[str, Any]]:
    return store.append(stream, "thing", head, [PendingEvent(t, {"t": t}) for t in types or ("A",)],
                        META, also=also)


def held_until_queued(store: EventStore, followers: int) -> Callable[[Any, list[dict]], None]:
    """An ``also`` that keeps its transaction open until ``followers`` appends wait."""
    def hold(session: Any, envelopes: list[dict]) -> None:
        deadline = time.monotonic() + QUEUE_TIMEOUT
        while store.waiting < followers:
            assert time.monotonic() < deadline, f"only {store.waiting} of {followers} appends queued"
            eventlet.sleep(0.005)
    return hold


def run_behind_a_held_writer(store: EventStore, writers: list[Callable[[], Any]]) -> list[Any]:
    """Start a held first append, then ``writers`` at once; their results (or errors) in order."""
    def outcome(write: Callable[[], Any]) -> Any:
        try:
            return write()
        except Exception as exc:  # noqa: BLE001 - the test looks at each writer's answer
            return exc

    pool = eventlet.GreenPool(len(writers) + 1)
    first = pool.spawn(append, store, "held", StreamHead(), "H",
                       also=held_until_queued(store, len(writers)))
    eventlet.sleep(0)  # the first writer leads
    results = [pool.spawn(outcome, write) for write in writers]
    first.wait()
    return [r.wait() for r in results]


def test_concurrent_appends_to_distinct_streams_commit_in_fewer_transactions(store: EventStore) -> None:
    # given 12 writers queued behind one in its transaction
    before = store.transactions
    results = run_behind_a_held_writer(
        store, [lambda n=n: append(store, f"s{n}", StreamHead(), "A", "B") for n in range(12)])

    # then every append is stored, the 12 in one transaction after the first one's
    assert all(isinstance(r, list) and [e["version"] for e in r] == [1, 2] for r in results)
    assert store.transactions - before == 2
    everything = store.read_all(limit=100)
    assert [e["position"] for e in everything] == list(range(1, 26))
    assert [e["stream_id"] for e in everything] == ["held"] + [f"s{n}" for n in range(12) for _ in "AB"]


def test_grouped_appends_keep_their_chains_heads_and_signatures(store: EventStore) -> None:
    first = append(store, "old", StreamHead(), "A")

    results = run_behind_a_held_writer(store, [
        lambda: append(store, "old", StreamHead.of(first), "B", "C"),
        lambda: append(store, "new", StreamHead(), "X"),
    ])

    assert [e["version"] for e in results[0]] == [2, 3]
    for stream, written in (("old", results[0]), ("new", results[1])):
        head = store.head(stream)
        assert head is not None and (head["version"], head["hash"], head["signature"]) == \
            (written[-1]["version"], written[-1]["hash"], written[-1]["signature"])
    assert store.verify() == {"ok": True, "checked": 5, "broken": []}


def test_a_stale_head_in_a_group_fails_only_its_own_append(store: EventStore) -> None:
    # given a stream at version 1
    append(store, "taken", StreamHead(), "A")

    # when one writer of a group appends to it after version 0
    results = run_behind_a_held_writer(
        store, [lambda n=n: append(store, f"ok{n}", StreamHead()) for n in range(3)]
        + [lambda: append(store, "taken", StreamHead(), "Late")]
        + [lambda n=n: append(store, f"ok{n}", StreamHead()) for n in range(3, 6)])

    # then it alone gets the conflict; the others are stored
    conflict = results[3]
    assert isinstance(conflict, ConcurrencyConflict) and conflict.current_version == 1
    assert all(isinstance(r, list) and r[0]["version"] == 1 for r in results[:3] + results[4:])
    assert [e["type"] for e in store.stream("taken")] == ["A"]
    assert store.verify()["ok"] is True
    positions = [e["position"] for e in store.read_all(limit=100)]
    assert positions == sorted(set(positions)) and len(positions) == 8


def test_two_appends_after_the_same_head_in_one_group_store_one(store: EventStore) -> None:
    results = run_behind_a_held_writer(store, [
        lambda: append(store, "raced", StreamHead(), "First"),
        lambda: append(store, "raced", StreamHead(), "Second"),
    ])

    assert isinstance(results[0], list) and isinstance(results[1], ConcurrencyConflict)
    assert results[1].current_version == 1
    assert [e["type"] for e in store.stream("raced")] == ["First"]


def test_a_failing_write_alongside_fails_only_its_own_append_and_undoes_its_writes(
        store: EventStore) -> None:
    def side(name: str, fail: bool = False) -> Callable[[Any, list[dict]], None]:
        def write(session: Any, envelopes: list[dict]) -> None:
            store.db["side"].insert_one({"_id": name, "version": envelopes[-1]["version"]},
                                        session=session)
            if fail:
                raise RuntimeError(f"{name}: the state write failed")
        return write

    results = run_behind_a_held_writer(store, [
        lambda: append(store, "a", StreamHead(), also=side("a")),
        lambda: append(store, "b", StreamHead(), also=side("b", fail=True)),
        lambda: append(store, "c", StreamHead(), also=side("c")),
    ])

    assert isinstance(results[1], RuntimeError) and str(results[1]) == "b: the state write failed"
    assert isinstance(results[0], list) and isinstance(results[2], list)
    assert sorted(d["_id"] for d in store.db["side"].find()) == ["a", "c"]
    assert store.stream("b") == [] and store.head("b") is None


def test_a_group_is_bounded_in_appends(store: EventStore) -> None:
    writers = MAX_GROUP + 4
    before = store.transactions

    results = run_behind_a_held_writer(
        store, [lambda n=n: append(store, f"s{n}", StreamHead()) for n in range(writers)])

    assert all(isinstance(r, list) for r in results)
    assert store.transactions - before == 3  # the held one, a full group, the rest


def test_an_append_alone_commits_at_once_in_one_transaction(store: EventStore) -> None:
    before = store.transactions

    append(store, "alone", StreamHead())

    assert store.transactions - before == 1 and store.waiting == 0


@pytest.mark.parametrize("count", [1, 3])
def test_the_relay_is_woken_once_per_commit(store: EventStore, count: int) -> None:
    woken: list[int] = []
    store.on_append = lambda: woken.append(1)

    if count == 1:
        append(store, "one", StreamHead())
    else:
        run_behind_a_held_writer(store, [lambda n=n: append(store, f"s{n}") for n in range(count - 1)])

    assert len(woken) == (1 if count == 1 else 2)
