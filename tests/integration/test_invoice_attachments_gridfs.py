"""Attachments on the real store: GridFS keeps the bytes, verify re-hashes them against
the chain and finds a file changed or removed behind the service's back."""
from __future__ import annotations

from typing import Any

import gridfs

from invoice.adapters.attachments import GridFSAttachmentStore
from invoice.adapters.invoices import MongoInvoiceRepository
from invoice.application import InvoiceApplication, SettingsApplication
from shared.auth import Actor, Policy
from shared.events.store import EventStore
from tests.support.fakes import FakeCustomerDirectory, FakeSettingsRepository, InMemoryEventLog

ADMIN = Actor("admin-1", "Ada", "hq", ("admin",))
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40


def test_gridfs_keeps_the_bytes_and_verify_catches_a_changed_or_missing_file(db: Any, store: EventStore) -> None:
    MongoInvoiceRepository.ensure_indexes(db)
    settings = FakeSettingsRepository(InMemoryEventLog())
    SettingsApplication(settings, Policy.load(), ADMIN).seed_invoice_types()
    directory = FakeCustomerDirectory()
    directory.add("customer", "cus_a", name="A")
    files = GridFSAttachmentStore(db)
    app = InvoiceApplication(MongoInvoiceRepository(db, store), settings, directory, store,
                             Policy.load(), ADMIN, attachments=files)
    invoice = app.create_invoice({"title": "发票", "type": "receipt", "amount": "10.00",
                                  "issued_on": "2026-05-01", "customer_id": "cus_a"})
    first = app.add_attachment(invoice["id"], "扫描件.pdf", PNG)
    second = app.add_attachment(invoice["id"], "b.png", PNG)

    assert files.get(first["attachment_id"]) == PNG and first["content_type"] == "image/png"
    assert app.verify(invoice["id"])["ok"]

    bucket = gridfs.GridFSBucket(db, bucket_name="attachments")
    bucket.delete(first["attachment_id"])
    bucket.upload_from_stream_with_id(first["attachment_id"], "扫描件.pdf", PNG + b"x")
    bucket.delete(second["attachment_id"])
    report = app.verify(invoice["id"])

    assert not report["ok"]
    assert {b["attachment_id"]: b["reason"].split(" (")[0] for b in report["broken"]} == {
        first["attachment_id"]: "attachment file changed", second["attachment_id"]: "attachment file missing"}
    assert {b["attachment_id"] for b in app.verify(None)["broken"]} >= {first["attachment_id"]}
