"""The customer service's DependencyProvider: one MongoDB client, the shared event store
with its outbox relay, and the repositories built on them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymongo.database import Database

from customer.adapters.contracts import MongoContractRepository
from customer.adapters.customers import MongoCustomerRepository
from customer.adapters.payments import MongoPaymentRepository
from customer.domain.events import upcasters
from shared.events.providers import EventStoreProvider
from shared.events.store import EventStore
from shared.idempotency_store import MongoIdempotencyKeys


@dataclass
class CustomerStorage:
    """What a worker gets: the three repositories and the raw event log."""

    customers: MongoCustomerRepository
    contracts: MongoContractRepository
    payments: MongoPaymentRepository
    log: EventStore


class CustomerStore(EventStoreProvider):
    """Database ``<MONGO_DB_PREFIX>customer``: events, outbox relay, state collections."""

    upcasters = upcasters

    def ensure_indexes(self, db: Database[Any]) -> None:
        for repository in (MongoCustomerRepository, MongoContractRepository, MongoPaymentRepository):
            repository.ensure_indexes(db)
        MongoIdempotencyKeys.ensure_indexes(db)

    def build(self, db: Database[Any], store: EventStore) -> CustomerStorage:
        return CustomerStorage(customers=MongoCustomerRepository(db, store),
                               contracts=MongoContractRepository(db, store),
                               payments=MongoPaymentRepository(db, store),
                               log=store)
