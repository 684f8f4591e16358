"""The MongoDB InvoiceRepository honours the port's contract."""
from typing import Any

import pytest

from invoice.adapters.invoices import MongoInvoiceRepository
from shared.events.store import EventStore
from tests.contracts.invoice_repository import InvoiceRepositoryContract


class TestMongoInvoiceRepository(InvoiceRepositoryContract):
    @pytest.fixture
    def repository(self, db: Any, store: EventStore) -> MongoInvoiceRepository:
        MongoInvoiceRepository.ensure_indexes(db)
        return MongoInvoiceRepository(db, store)

    @pytest.fixture
    def tamper(self, db: Any) -> Any:
        def change(invoice_id: str, field: str, value: Any) -> None:
            db["invoices"].update_one({"_id": invoice_id}, {"$set": {field: value}})
        return change
