"""The invoice service's DependencyProvider: one MongoDB client, the shared event store
with its outbox relay, and the narrow objects built on them."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pymongo.database import Database

from invoice.adapters.attachments import GridFSAttachmentStore
from invoice.adapters.customers import CustomerReplica
from invoice.adapters.flows import MongoFlowRules
from invoice.adapters.invoices import MongoInvoiceRepository
from invoice.adapters.settings import MongoSettingsRepository
from invoice.domain.events import upcasters
from shared.events.catchup import CatchUp, CatchUpCheckpoint, retrying, rpc_source, until_caught_up
from shared.events.consumer import StreamTracker, signatures_of, wait_for_queues
from shared.events.providers import EventStoreProvider
from shared.events.store import EventStore
from shared.health import CATCH_UPS
from shared.rpc import system_rpc

log = logging.getLogger(__name__)

REPLICA_CONSUMER = "invoice.customer_replica"


@dataclass
class InvoiceStorage:
    """What a worker gets: repositories, the raw log, the customer replica and its tracker."""

    invoices: MongoInvoiceRepository
    settings: MongoSettingsRepository
    log: EventStore
    replica: CustomerReplica
    tracker: StreamTracker
    flows: MongoFlowRules
    attachments: GridFSAttachmentStore


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
            tracker=StreamTracker(db, consumer=REPLICA_CONSUMER,
                                  signatures=signatures_of(self.container.config, "customer")),
            flows=MongoFlowRules(db),
            attachments=GridFSAttachmentStore(db),
        )

    def setup(self) -> None:
        super().setup()
        # before any extension starts (the health port among them): not ready until done
        CATCH_UPS.expect(REPLICA_CONSUMER)

    def start(self) -> None:
        super().start()
        self.container.spawn_managed_thread(self._catch_up_customer_events)
        self.container.spawn_managed_thread(self._catch_up_flow_rules)

    def _catch_up_flow_rules(self) -> None:
        """Bring the approval flows' replica up to date (flows defined while this
        service was down; ``define_flow`` then failed for its caller), retrying until
        the approval service answers."""
        storage: InvoiceStorage = self.target

        def attempt() -> None:
            with system_rpc(self.container.config, "invoice") as rpc_client:
                rules = rpc_client.approval.flow_rules()
            kept = sum(storage.flows.put(rule) for rule in rules)
            log.info("approval flows replica caught up (%d of %d kept)", kept, len(rules))
        retrying("flow replica", attempt)

    def _catch_up_customer_events(self) -> None:
        """Bring the customer replica up to date with what the customer service stored
        before this service's queue existed (retrying until the customer service answers)."""
        storage: InvoiceStorage = self.target

        def attempt() -> int:
            with rpc_source(self.container.config, "invoice", "customer") as source:
                return CatchUp.of(storage.tracker, storage.replica.apply).run(source)
        until_caught_up(REPLICA_CONSUMER, attempt, ready=lambda: wait_for_queues(self.container),
                        completed=CatchUpCheckpoint(storage.tracker.db, storage.tracker.consumer).completed)
