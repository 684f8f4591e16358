"""MongoDB adapter of InvoiceRepository: the shared event store plus an ``invoices``
state collection written in the same transaction (fast reads, invoice_no uniqueness)."""
from __future__ import annotations

import copy
import threading
from collections.abc import Iterable
from typing import Any

from pymongo import ASCENDING
from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from invoice.domain.events import STREAM_INVOICE
from invoice.domain.importing import AlreadyImported
from invoice.domain.model import ACTIVE, CREDITED, Invoice
from shared.errors import Conflict, NotFound
from shared.events.envelope import Metadata
from shared.events.repository import AggregateRepository
from shared.events.store import EventStore
from shared.idempotency import IdempotencyKey, ImportKey, KeyTaken
from shared.idempotency_store import MongoIdempotencyKeys
from shared.mongo import is_duplicate_of

INVOICE_NO_INDEX = "invoice_no_unique_active"
INVOICE_NO_LOOKUP = "invoice_no_type"  # every invoice's number: the checks read by it
NUMBER_BLOCK = 20


class MongoInvoiceRepository(AggregateRepository[Invoice]):
    aggregate_type = Invoice

    def __init__(self, db: Database[Any], store: EventStore) -> None:
        super().__init__(store, db["invoices"])
        self.counters = db["counters"]
        self._number_lock = threading.Lock()
        self._number_block: tuple[int, int, int] = (0, 1, 0)

    @staticmethod
    def ensure_indexes(db: Database[Any]) -> None:
        MongoIdempotencyKeys.ensure_indexes(db)
        db["invoices"].create_index(
            [("type", ASCENDING), ("invoice_no", ASCENDING)], unique=True,
            name=INVOICE_NO_INDEX,
            partialFilterExpression={"status": ACTIVE, "invoice_no": {"$type": "string"}})
        db["invoices"].create_index([("number", ASCENDING)], unique=True, name="number_unique")
        db["invoices"].create_index([("invoice_no", ASCENDING), ("type", ASCENDING)],
                                    name=INVOICE_NO_LOOKUP)

    def load(self, invoice_id: str, up_to_version: int | None = None,
             as_of: str | None = None) -> Invoice:
        """Now: from the state written with the last append (one read); at an earlier
        version or time: by replaying the stream up to there."""
        if up_to_version is None and as_of is None:
            doc = self.states.find_one({"_id": invoice_id})
            if doc is not None and doc.get("head_hash"):
                head_hash = doc.pop("head_hash")
                doc["id"] = doc.pop("_id")
                return Invoice.from_snapshot(doc, head_hash)
        events = self.store.stream(invoice_id, up_to_version=up_to_version)
        if as_of is not None:
            events = [e for e in events if e["occurred_at"] <= as_of]
        if events and events[0].get("stream_type") != STREAM_INVOICE:
            raise NotFound(f"invoice {invoice_id} not found")
        return Invoice.replay(invoice_id, events)

    def save_imported(self, invoice: Invoice, meta: Metadata, external_id: str) -> list[dict[str, Any]]:
        """``save`` with the external_id as the key: the invoice's first event, its state
        and its import key in one transaction (a kill at any point leaves all or none);
        AlreadyImported, nothing written, when the external_id is stored."""
        try:
            return self.save(invoice, meta, ImportKey(external_id, meta.actor.get("id")))
        except KeyTaken:
            found = self.import_keys.records([external_id])
            raise AlreadyImported(external_id, found.get(external_id, "")) from None

    def imported(self, external_ids: Iterable[str]) -> dict[str, str]:
        return self.import_keys.records(external_ids)

    def save_together(self, first: Invoice, second: Invoice, meta: Metadata,
                      key: IdempotencyKey | None = None) -> None:
        """``second``'s events go into ``first``'s append transaction (EventStore.append_in);
        ``key`` (second's idempotency key) too."""
        def also(session: ClientSession, envelopes: list[dict[str, Any]]) -> None:
            if key is not None:
                self.keys.claim_in(session, key, second.id)
            for invoice, written in ((first, envelopes), (second, self.store.append_in(
                    session, second.id, second.stream_type(), second.head, second.pending, meta))):
                after = copy.deepcopy(invoice)
                for envelope in written:
                    after.apply(envelope)
                self.write_state(invoice, after, session)
                done[invoice.id] = written

        done: dict[str, list[dict[str, Any]]] = {}
        try:
            self.store.append(first.id, first.stream_type(), first.head, first.pending, meta,
                              also=also)
        except DuplicateKeyError as exc:
            self.on_duplicate(second, exc)
            self.on_duplicate(first, exc)
            raise
        for invoice in (first, second):
            for envelope in done[invoice.id]:
                invoice.apply(envelope)
            invoice.pending.clear()

    def state_document(self, invoice: Invoice) -> dict[str, Any]:
        doc = invoice.to_dict()
        doc["_id"] = doc.pop("id")
        doc["head_hash"] = invoice.head.hash
        return doc

    def on_duplicate(self, invoice: Invoice, exc: DuplicateKeyError) -> None:
        if is_duplicate_of(exc, INVOICE_NO_INDEX):
            raise Conflict({"invoice_no": [
                f"{invoice.fields.get('invoice_no')!r} is already used by an active "
                f"invoice of type {invoice.fields.get('type')!r}"]}) from None

    def state(self, invoice_id: str) -> dict[str, Any] | None:
        doc = self.states.find_one({"_id": invoice_id}, {"head_hash": 0})
        if doc is None:
            return None
        doc["id"] = doc.pop("_id")
        return doc

    def with_attachments(self) -> list[dict[str, Any]]:
        found = []
        for doc in self.states.find({"attachments.0": {"$exists": True}}, {"head_hash": 0}):
            doc["id"] = doc.pop("_id")
            found.append(doc)
        return found

    def invoice_no_taken(self, invoice_type: str, invoice_no: str, except_id: str | None) -> bool:
        # a credited invoice keeps its number (the unique index covers active ones only).
        # Equalities only, then the rest here: the local store scans the whole collection
        # for a $ne, and ignores the partial index for a status $in.
        found = self.states.find({"invoice_no": invoice_no, "type": invoice_type},
                                 {"_id": 1, "status": 1})
        return any(doc["status"] in (ACTIVE, CREDITED) and doc["_id"] != except_id for doc in found)

    def next_number(self, year: int) -> str:
        """Numbers come from blocks reserved in the store (hi/lo): unique across
        instances, gap-tolerant (an instance's unused block is skipped), one write per
        block instead of one per invoice."""
        with self._number_lock:
            block_year, following, end = self._number_block
            if block_year != year or following > end:
                counter = self.counters.find_one_and_update(
                    {"_id": f"invoice_number:{year}"}, {"$inc": {"value": NUMBER_BLOCK}},
                    upsert=True, return_document=True)
                end = int(counter["value"])
                following = end - NUMBER_BLOCK + 1
            self._number_block = (year, following + 1, end)
            return f"INV-{year}-{following:06d}"

    def events(self, invoice_id: str, after_version: int = 0) -> list[dict[str, Any]]:
        events = self.store.stream(invoice_id, after_version=after_version, upcast=False)
        if events and events[0].get("stream_type") != STREAM_INVOICE:
            return []
        return events
