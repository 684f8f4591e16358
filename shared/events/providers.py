"""The DependencyProvider that owns a service's MongoDB client, its event store and
the outbox relay that publishes what the store appends."""
from __future__ import annotations

import logging
from typing import Any

from nameko.extensions import DependencyProvider
from pymongo import MongoClient
from pymongo.database import Database

from shared import metrics
from shared.events.relay import AmqpPublisher, OutboxRelay
from shared.events.store import EventStore
from shared.events.upcasting import UpcasterRegistry
from shared.keys import load_key_ring, load_signing_key
from shared.mongo import connect, database, database_name

log = logging.getLogger(__name__)


class EventStoreProvider(DependencyProvider):
    """Builds one client from config in ``setup``, runs the relay while the container
    runs, closes everything in ``stop``. Subclasses turn the store into the narrow
    object their service needs (a repository) in ``build``."""

    service_database: str = ""  # defaults to the container's service name
    upcasters: UpcasterRegistry | None = None

    def setup(self) -> None:
        config = self.container.config
        self.client: MongoClient[Any] = connect(config.get("MONGO_URL"))
        name = database_name(config, self.service_database or self.container.service_name)
        self.db: Database[Any] = database(self.client, name)
        publisher = AmqpPublisher(config["AMQP_URI"], self.container.service_name, config)
        # No keys, no start: a service never stores an event it cannot sign.
        signer = load_signing_key(config, self.container.service_name)
        self.store = EventStore(self.db, signer, self.upcasters, keys=load_key_ring(config))
        self.relay = OutboxRelay(self.store, publisher)
        self.store.on_append = self.relay.wake
        self.store.on_commit = self.relay.hand
        self.store.ensure_indexes()
        self.ensure_indexes(self.db)
        self.target = self.build(self.db, self.store)
        metrics.STATE.watch_relay(self.db.name, self.relay)

    def start(self) -> None:
        self._relay_thread = None
        if str(self.container.config.get("OUTBOX_RELAY", True)).lower() not in ("false", "0", "no"):
            self._relay_thread = self.container.spawn_managed_thread(self.relay.run)

    def stop(self) -> None:
        """Let the relay save its checkpoint and finish before the client closes."""
        self.relay.stop()
        if self._relay_thread is not None:
            self._relay_thread.wait()
        metrics.STATE.forget(self.db.name)
        self.client.close()

    def kill(self) -> None:
        self.relay.stop()

    def ensure_indexes(self, db: Database[Any]) -> None:
        """Create the service's own indexes (called once at setup)."""

    def build(self, db: Database[Any], store: EventStore) -> Any:
        return store

    def get_dependency(self, worker_ctx: Any) -> Any:
        return self.target
