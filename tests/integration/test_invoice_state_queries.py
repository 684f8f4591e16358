"""The invoice service's reads of its state collection on the real store: each examines
the few invoices it is about, however many invoices there are (issue 14)."""
from __future__ import annotations

from typing import Any

import pytest
from pymongo.database import Database

from invoice.adapters.invoices import MongoInvoiceRepository
from shared.events.store import EventStore
from tests.support.query_cost import watched

pytestmark = pytest.mark.integration


def state(n: int, **overrides: Any) -> dict[str, Any]:
    return {"_id": f"inv_q{n}", "number": f"INV-2026-{n:06d}", "type": "vat_special",
            "invoice_no": f"NO{n:06d}", "status": "active", **overrides}


def test_invoice_no_taken_examines_only_invoices_with_that_number(
        db: Database[Any], store: EventStore, mongo_server: Any) -> None:
    # given many invoices, one credited with NO000007 and one active with NO000008
    MongoInvoiceRepository.ensure_indexes(db)
    db["invoices"].insert_many([state(n) for n in range(300) if n not in (7, 8)])
    db["invoices"].insert_many([state(7, status="credited"), state(8)])

    with watched(mongo_server.url, db.name) as (watched_db, examined):
        repository = MongoInvoiceRepository(watched_db, store)
        # when a number is checked (for a new invoice, or for the invoice that has it)
        answers = [repository.invoice_no_taken("vat_special", "NO000007", None),
                   repository.invoice_no_taken("vat_special", "NO000008", "inv_q8"),
                   repository.invoice_no_taken("vat_ordinary", "NO000008", None),
                   repository.invoice_no_taken("vat_special", "NO999999", None)]

        # then the answers hold and each check read a handful of documents
        assert answers == [True, False, False, False]
        assert max(examined()) <= 3
