"""Saving aggregates: the stream in the shared event store plus a state document in the
service's own collection, written in the same transaction (fast reads, and unique
indexes on the state that reject a whole append). Also the "decide again on the latest
state" loop every edit without ``expected_version`` uses."""
from __future__ import annotations

import contextlib
import copy
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, ClassVar, Generic, TypeVar

import bson
from pymongo.client_session import ClientSession
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from shared.errors import ConcurrencyConflict, NotFound
from shared.events.aggregate import Aggregate
from shared.events.envelope import Metadata
from shared.events.store import EventStore
from shared.events.unit_of_work import Transaction
from shared.idempotency import IdempotencyKey, ImportKey, KeyRecord, RecordKey
from shared.idempotency_store import MongoIdempotencyKeys, MongoImportKeys
from shared.mongo import CODEC_OPTIONS

A = TypeVar("A", bound=Aggregate)
SAVE_ATTEMPTS = 12
RETRY_PAUSE_CAP = 0.2  # seconds: 12 tries wait ~1.3 s at most in all


class AggregateRepository(Generic[A]):
    """Load by replay, save atomically with a state document. Hooks for subclasses:
    ``state_document`` (what to store), ``write_state`` (how, when more than one
    document changes) and ``on_duplicate`` (unique index -> contract error)."""

    aggregate_type: ClassVar[type[Aggregate]]

    def __init__(self, store: EventStore, states: Collection[Any]) -> None:
        self.store = store
        self.states = states
        self.keys = MongoIdempotencyKeys(states.database)
        self.import_keys = MongoImportKeys(states.database)

    def load(self, aggregate_id: str) -> A:
        events = self.store.stream(aggregate_id)
        if events and events[0].get("stream_type") != self.aggregate_type.STREAM_TYPE:
            raise NotFound(f"{self.aggregate_type.STREAM_TYPE} {aggregate_id} not found")
        return self.aggregate_type.replay(aggregate_id, events)  # type: ignore[return-value]

    def save(self, aggregate: A, meta: Metadata, key: RecordKey | None = None,
             tx: Transaction | None = None) -> list[dict[str, Any]]:
        """Append the pending events and write the state; then apply them to ``aggregate``.
        With ``key`` (an idempotency key or an import's external_id), store it in the same
        transaction (KeyTaken if another call has it). Alone, the append is the event
        store's (group commit); with ``tx``, it is part of that unit of work's transaction
        (a consumer's reaction), committed with whatever else the work writes."""
        def write_state(session: ClientSession, envelopes: list[dict[str, Any]]) -> None:
            if key is not None:  # first: a racing second call fails here, nothing written
                self.claim_in(session, key, aggregate.id)
            # Fold onto a copy: the transaction may be retried with fresh envelopes.
            after = copy.deepcopy(aggregate)
            for envelope in envelopes:
                after.apply(envelope)
            self.write_state(aggregate, after, session)

        try:
            if tx is None:
                envelopes = self.store.append(aggregate.id, aggregate.stream_type(), aggregate.head,
                                              aggregate.pending, meta, also=write_state)
            else:
                envelopes = tx.append(aggregate.id, aggregate.stream_type(), aggregate.head,
                                      aggregate.pending, meta)
                write_state(tx.session, envelopes)
        except DuplicateKeyError as exc:
            self.on_duplicate(aggregate, exc)
            raise
        for envelope in envelopes:
            aggregate.apply(envelope)
        aggregate.pending.clear()
        return envelopes

    def claim_in(self, session: ClientSession, key: RecordKey, record_id: str) -> None:
        """Store ``key`` in its collection inside the append's transaction."""
        if isinstance(key, ImportKey):
            self.import_keys.claim_in(session, key, record_id)
        else:
            self.keys.claim_in(session, key, record_id)

    def created_with(self, key: IdempotencyKey) -> KeyRecord | None:
        """What an earlier save with this idempotency key stored, if one did."""
        return self.keys.find(key)

    # -- auditing --------------------------------------------------------------------
    def state_breaks(self, aggregate_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """State documents that are not what their streams' events fold to (changed,
        missing, or without events), for the given aggregates (all when None):
        ``[{invoice_id, version, reason}]`` as ``EventStore.verify`` reports breaks."""
        stream_type = self.aggregate_type.STREAM_TYPE
        if aggregate_ids is None:
            ids = [h["stream_id"] for h in self.store.all_heads() if h.get("stream_type") == stream_type]
            known = set(ids)
            orphans = [d["_id"] for d in self.states.find({}, {"_id": 1}) if d["_id"] not in known]
        else:
            ids, orphans = list(aggregate_ids), []
        broken = [{"invoice_id": i, "version": 0, "reason": "state document without events"}
                  for i in orphans]
        for aggregate_id in ids:
            events = self.store.stream(aggregate_id)
            if not events or events[0].get("stream_type") != stream_type:
                continue
            stored = self.states.find_one({"_id": aggregate_id})
            folded = self.state_document(
                self.aggregate_type.replay(aggregate_id, events))  # type: ignore[arg-type]
            version = int(events[-1]["version"])
            if stored is None:
                broken.append({"invoice_id": aggregate_id, "version": version,
                               "reason": "state document missing"})
            elif (differ := _differing(stored, folded)):
                broken.append({"invoice_id": aggregate_id, "version": version,
                               "reason": "state document differs from the fold of its events: "
                                         + ", ".join(differ)})
        return broken

    # -- hooks -----------------------------------------------------------------------
    def write_state(self, before: A, after: A, session: ClientSession) -> None:
        """Store ``after``'s state (``before`` is the aggregate as it was loaded)."""
        self.states.replace_one({"_id": after.id}, self.state_document(after),
                                upsert=True, session=session)

    def state_document(self, aggregate: A) -> dict[str, Any]:
        raise NotImplementedError

    def on_duplicate(self, aggregate: A, exc: DuplicateKeyError) -> None:
        """Raise the contract error for a violation of the state's own unique index."""


class Turns:
    """Writers of one record in this process take turns: each loads, decides and saves
    while the others of that record wait. Racing instead, they would only conflict and
    decide again, and under load one could lose every try. Writers in other processes
    still race; ``decide_and_save``'s retries settle those."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._turns: dict[str, tuple[threading.RLock, int]] = {}  # key -> (lock, holders)

    @contextlib.contextmanager
    def of(self, key: str) -> Iterator[None]:
        with self._guard:
            lock, holders = self._turns.get(key) or (threading.RLock(), 0)
            self._turns[key] = (lock, holders + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, holders = self._turns[key]
                if holders == 1:
                    del self._turns[key]  # nobody waits: forget the record
                else:
                    self._turns[key] = (lock, holders - 1)

    def __len__(self) -> int:
        with self._guard:
            return len(self._turns)


TURNS = Turns()


def save_pause(attempt: int) -> float:
    """The jittered pause before try ``attempt + 2`` of a lost save."""
    return random.uniform(0.5, 1.0) * min(0.005 * 2 ** attempt, RETRY_PAUSE_CAP)


def decide_and_save(load: Callable[[], A], decide: Callable[[A], Any],
                    save: Callable[[A], Any], expected_version: int | None,
                    record_id: str | None = None) -> A:
    """Load, check ``expected_version``, decide, save. Without ``expected_version`` the
    caller asked for "apply to the latest": a race is decided again on the new state,
    up to SAVE_ATTEMPTS tries, with a jittered back-off (5 ms doubling, capped at 200 ms;
    ~1.3 s in all at most)
    so losers do not collide in lockstep; with it, the conflict is the answer. With
    ``record_id`` the writers of that record in this process take turns
    (``Turns``), so only writers in other instances can make a try fail."""
    with TURNS.of(record_id) if record_id is not None else contextlib.nullcontext():
        for attempt in range(SAVE_ATTEMPTS):
            aggregate = load()
            if expected_version is not None and expected_version != aggregate.version:
                raise ConcurrencyConflict({"current_version": aggregate.version,
                                           "message": f"expected version {expected_version}"})
            decide(aggregate)
            if not aggregate.pending:
                return aggregate
            try:
                save(aggregate)
                return aggregate
            except ConcurrencyConflict:
                if expected_version is not None or attempt == SAVE_ATTEMPTS - 1:
                    raise
                time.sleep(save_pause(attempt))
    raise AssertionError("unreachable")


def _as_stored(doc: Mapping[str, Any]) -> dict[str, Any]:
    """``doc`` as the store would give it back (Decimals, dates, tuples normalised)."""
    return bson.decode(bson.encode(doc, codec_options=CODEC_OPTIONS), codec_options=CODEC_OPTIONS)


def _differing(stored: Mapping[str, Any], folded: Mapping[str, Any]) -> list[str]:
    """The top-level fields where two state documents differ."""
    left, right = _as_stored(stored), _as_stored(folded)
    return sorted(k for k in left.keys() | right.keys() if left.get(k) != right.get(k))
