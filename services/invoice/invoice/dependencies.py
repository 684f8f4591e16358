"""The invoice service's DependencyProvider: one MongoDB client, the shared event store
with its outbox relay, and the narrow objects built on them."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pymongo.database import Database

from invoice.adapters.customers import CustomerReplica
from invoice.adapters.invoices import MongoInvoiceRepository
from invoice.adapters.settings import MongoSettingsRepository
from invoice.application import InvoiceApplication
from invoice.domain.events import upcasters
from shared.auth import Actor, Policy
from shared.events.consumer import StreamTracker
from shared.events.providers import EventStoreProvider
from shared.events.store import EventStore

log = logging.getLogger(__name__)

SYSTEM_ACTOR = Actor(id="system:invoice", name="invoice service", roles=("admin",))


@dataclass
class InvoiceStorage:
    """What a worker gets: repositories, the raw log, the customer replica and its tracker."""

    invoices: MongoInvoiceRepository
    settings: MongoSettingsRepository
    log: EventStore
    replica: CustomerReplica
    tracker: StreamTracker


class InvoiceStore(EventStoreProvider):
    upcasters = upcasters

    def ensure_indexes(self, db: Database[Any]) -> None:
        MongoInvoiceRepository.ensure_indexes(db)

    def build(self, db: Database[Any], store: EventStore) -> InvoiceStorage:
        return InvoiceStorage(
            invoices=MongoInvoiceRepository(db, store),
            settings=MongoSettingsRepository(db, store),
            log=store,
            replica=CustomerReplica(db),
            tracker=StreamTracker(db, consumer="invoice.customer_replica"),
        )

    def start(self) -> None:
        storage: InvoiceStorage = self.target
        app = InvoiceApplication(storage.invoices, storage.settings, directory=None,  # type: ignore[arg-type]
                                 log=storage.log, policy=Policy.load(
                                     self.container.config.get("POLICY_FILE") or None),
                                 actor=SYSTEM_ACTOR)
        created = app.seed_invoice_types()
        if created:
            log.info("seeded %d invoice types", created)
        super().start()
