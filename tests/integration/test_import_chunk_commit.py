"""A committed import chunk on the real Mongo-protocol store: its rows are appended
concurrently, so group commit stores them in far fewer transactions than rows, and a
row that fails inside a shared transaction neither stops nor duplicates the others."""
from __future__ import annotations

from typing import Any

from invoice.adapters.invoices import MongoInvoiceRepository
from invoice.adapters.parallel import green_runner
from invoice.application import InvoiceApplication
from invoice.domain.importing import ImportRow
from invoice.service import _import_row
from shared.events.store import EventStore
from tests.unit.test_invoice_application import ADMIN, POLICY, World

ROWS = 40


def wire_row(n: int, **overrides: Any) -> dict[str, Any]:
    row = {"external_id": f"erp-{n}", "title": f"导入 {n}", "type": "receipt",
           "amount": f"{n + 1}.00", "issued_on": "2026-05-01", "customer_id": "cus_a", **overrides}
    return {k: v for k, v in row.items() if v is not None}


def importer(db: Any, store: EventStore) -> InvoiceApplication:
    MongoInvoiceRepository.ensure_indexes(db)
    world = World()   # its settings and customer directory; the invoices on the real store
    return InvoiceApplication(MongoInvoiceRepository(db, store), world.settings, world.directory,
                              world.log, POLICY, ADMIN, run_rows=green_runner(16))


def test_a_chunk_is_committed_in_fewer_transactions_than_rows_each_row_once(
        db: Any, store: EventStore) -> None:
    # given 40 rows: two share an invoice_no (only the store's unique index sees it, inside
    # a group), one repeats an earlier row's external_id, one has none
    rows: list[ImportRow] = [_import_row(wire_row(n)) for n in range(ROWS - 4)]
    rows += [_import_row(wire_row(90, invoice_no="NO-1")), _import_row(wire_row(91, invoice_no="NO-1")),
             _import_row(wire_row(0, title="重复的外部编号")), _import_row(wire_row(92, external_id=None))]
    before = store.transactions

    results = importer(db, store).import_invoices(rows, commit=True)

    # then every row has its own answer, in order
    statuses = [r["status"] for r in results]
    assert statuses[:ROWS - 4] == ["created"] * (ROWS - 4)
    assert sorted(statuses[ROWS - 4:ROWS - 2]) == ["created", "error"]
    clash = next(r for r in results[ROWS - 4:ROWS - 2] if r["status"] == "error")
    assert list(clash["errors"]) == ["invoice_no"]
    assert results[ROWS - 2]["status"] == "skipped"
    assert results[ROWS - 2]["invoice_id"] == results[0]["invoice_id"]
    assert results[ROWS - 1]["status"] == "created"
    # and each created row is stored once, with its import key, in few transactions
    created = [r["invoice_id"] for r in results if r["status"] == "created"]
    assert len(created) == ROWS - 2 == len(set(created)) == db["invoices"].count_documents({})
    assert db["import_keys"].count_documents({}) == ROWS - 3
    used = store.transactions - before
    assert used < len(created) // 2
