"""The search service's DependencyProvider: one MongoDB client, the views of the
served generation, the projector and its stream trackers, and the catch-up threads."""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from eventlet.semaphore import Semaphore
from nameko.extensions import DependencyProvider
from pymongo import MongoClient
from pymongo.client_session import ClientSession
from pymongo.database import Database

from search.adapters.buffered import BufferedViews
from search.adapters.views import Generations, MongoViews, ensure_indexes, mark_if_empty
from search.projector import Projector
from shared.events.catchup import CatchUp, CatchUpCheckpoint, rpc_source, until_caught_up
from shared.events.consumer import ApplyBatch, Signatures, StreamTracker, signatures_of, wait_for_queues
from shared.events.unit_of_work import Transaction
from shared.health import CATCH_UPS
from shared.mongo import connect, database, database_name
from shared.rpc import system_rpc

log = logging.getLogger(__name__)

SOURCES = ("invoice", "customer")


def consumer_name(generation: int, source: str) -> str:
    return f"search.g{generation}.{source}"


class LockedTracker(StreamTracker):
    """A StreamTracker taking the process's projection lock around each event."""

    def __init__(self, db: Database[Any], consumer: str, lock: Semaphore,
                 signatures: Signatures | None = None) -> None:
        super().__init__(db, consumer, signatures)
        self.lock = lock

    def handle(self, envelope: Mapping[str, Any], apply: Any, fetch: Any) -> int:
        with self.lock:
            return super().handle(envelope, apply, fetch)

    def handle_batch(self, envelopes: Sequence[Mapping[str, Any]], apply: Any, fetch: Any,
                     apply_batch: Any = None) -> int:
        with self.lock:
            return super().handle_batch(envelopes, apply, fetch, apply_batch)


class SearchStorage:
    """What a worker gets: the served generation's views, and the projector entry."""

    def __init__(self, db: Database[Any], config: Mapping[str, Any]) -> None:
        self.db, self.config = db, config
        self.generations = Generations(db)
        # One projection transaction at a time in this process: the store has one global
        # lock (parallel transactions add no throughput), and concurrent ones on the
        # same buckets or stream would only conflict and retry.
        self.projection_lock = Semaphore(1)
        self.signatures = {source: signatures_of(config, source) for source in SOURCES}

    def generation(self) -> int:
        return self.generations.active()

    def views(self, generation: int | None = None,
              session: ClientSession | None = None) -> MongoViews:
        return MongoViews(self.db, self.generation() if generation is None else generation, session)

    def position(self, generation: int, source: str) -> int:
        return self.tracker(generation, source).last_position()

    def rebuilding(self) -> bool:
        rebuild = self.generations.rebuild()
        return bool(rebuild and rebuild.get("state") == "running")

    def consumers(self, generation: int) -> list[str]:
        return [consumer_name(generation, source) for source in SOURCES]

    def tracker(self, generation: int, source: str) -> StreamTracker:
        return StreamTracker(self.db, consumer=consumer_name(generation, source),
                             signatures=self.signatures[source])

    def project(self, source: str, envelopes: Sequence[Mapping[str, Any]]) -> int:
        """Apply delivered events (and any missing predecessors) to the served views, in
        one transaction with their checkpoints (the catch-up's batch path)."""
        with self.projection_lock:
            generation = self.generation()
            projector = Projector(lambda tx: self.views(generation, tx.session))
            return self.tracker(generation, source).handle_batch(
                envelopes, projector.apply, lambda stream, after: self.fetch(source, stream, after),
                buffered_apply(self.db, generation))

    def fetch(self, source: str, stream_id: str, after_version: int) -> list[dict[str, Any]]:
        with system_rpc(self.config, "search") as rpc_client:
            return list(getattr(rpc_client, source).get_events(stream_id, after_version))

    def catch_up_completed(self, source: str) -> bool:
        """Has a catch-up of the current generation from ``source`` read to the end?"""
        return CatchUpCheckpoint(self.db, consumer_name(self.generation(), source)).completed()

    def catch_up(self, source: str, generation: int | None = None) -> int:
        """Project what ``source`` stored after this generation's catch-up checkpoint."""
        generation = self.generation() if generation is None else generation
        projector = Projector(lambda tx: self.views(generation, tx.session))
        tracker = LockedTracker(self.db, consumer_name(generation, source), self.projection_lock,
                                self.signatures[source])
        with rpc_source(self.config, "search", source) as events:
            return CatchUp.of(tracker, projector.apply,
                              apply_batch=buffered_apply(self.db, generation)).run(events)


def buffered_apply(db: Database[Any], generation: int) -> ApplyBatch:
    """A catch-up batch through buffered views: read once, written in bulk at the end
    of the batch's transaction (the rebuild's fold, with the join locks kept)."""
    def apply_all(envelopes: Sequence[Mapping[str, Any]], tx: Transaction) -> None:
        views = BufferedViews(db, generation, tx.session, locks=True)
        projector = Projector(lambda _: views)
        for envelope in envelopes:
            projector.apply(envelope, tx)
        views.flush()
    return apply_all


class SearchStore(DependencyProvider):
    """Builds one client in ``setup`` and creates the indexes; with ``catch_up`` (the
    projector's) it also catches up with both sources in ``start``."""

    def __init__(self, catch_up: bool = False) -> None:
        self.catch_up = catch_up
        if catch_up:
            # Already when the projector class is defined: its container starts
            # concurrently with the read side's, whose health port may answer before
            # this container's setup has run. The process is not ready until caught up.
            for source in SOURCES:
                CATCH_UPS.expect(f"search.{source}")

    def setup(self) -> None:
        config = self.container.config
        self.client: MongoClient[Any] = connect(config.get("MONGO_URL"))
        self.db: Database[Any] = database(self.client, database_name(config, "search"))
        self.storage = SearchStorage(self.db, config)
        ensure_indexes(self.db, self.storage.generation())
        mark_if_empty(self.db, self.storage.generation())

    def start(self) -> None:
        if not self.catch_up:
            return
        for source in SOURCES:
            self.container.spawn_managed_thread(lambda source=source: self._catch_up(source))

    def _catch_up(self, source: str) -> None:
        """Project what the source stored before this service's queue existed (retrying
        until the source service answers)."""
        until_caught_up(f"search.{source}", lambda: self.storage.catch_up(source),
                        ready=lambda: wait_for_queues(self.container),
                        completed=lambda: self.storage.catch_up_completed(source))

    def stop(self) -> None:
        self.client.close()

    def get_dependency(self, worker_ctx: Any) -> SearchStorage:
        return self.storage
