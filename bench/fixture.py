"""A bulk fixture: N invoices put into a store *as the services would have written them*,
in minutes for 100,000 (issue 14), instead of one command per invoice.

Given a store where the services ran (customers and invoice types made through their
RPC, the search views of those projected) and are now stopped, ``load_invoices`` writes,
in batches of BATCH outside transactions:

- the invoice service: each invoice's ``InvoiceCreated`` as ``EventStore`` numbers, chains,
  hashes and signs it (``build_envelopes``, the service's own key), its stream head and
  its state document (the aggregate's own fold and ``state_document``); the position
  counter and the outbox relay's checkpoint after them, so the relay does not publish
  them again;
- the search service: each view as the projector folds it (``apply_invoice_event``,
  joins read from the views already there), the buckets (``count_buckets``), and the
  consumer's per-stream checkpoints, position and completed catch-up;
- the approval service: its invoice replica (``fold_invoice``) and checkpoints.

With ``indexes_after=True`` the secondary indexes of the big collections are dropped
first and built again after the data with the services' own ``ensure_indexes``; on
SecantusDB that measured slower than inserting into indexed collections (README), so it
is not the default. Memory stays bounded: one batch at a time.
"""
from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from pymongo.database import Database

from approval.adapters.invoice_replica import replica_document
from approval.domain.triggers import fold_invoice
from bench.search_bench import CachedDirectory
from invoice.adapters.invoices import MongoInvoiceRepository
from invoice.domain.events import STREAM_INVOICE
from invoice.domain.model import Invoice
from invoice.domain.vat import tax_figures
from search.adapters.buffered import count_buckets
from search.adapters.views import MongoViews, collection_name
from search.adapters.views import ensure_indexes as ensure_view_indexes
from search.dependencies import consumer_name
from search.domain.views import apply_invoice_event
from shared.events.envelope import Metadata, envelope_to_wire
from shared.events.relay import LEASE_ID
from shared.events.store import EventStore, build_envelopes
from shared.keys import SigningKey

BATCH = 5000
INVOICE_CONSUMER_APPROVAL = "approval.invoice_events"
TYPES = ("vat_special", "vat_ordinary", "receipt")
TITLES = ("技术服务费", "软件许可费", "咨询服务费", "硬件采购")
Progress = Callable[[str], None]


def invoice_values(n: int, rng: random.Random, customers: list[str]) -> dict[str, Any]:
    """Values of the n-th fixture invoice, as create_invoice would have checked them."""
    owner = rng.randrange(50)
    amount = Decimal(rng.randrange(100, 10_000_000)) / 100
    values: dict[str, Any] = {
        "title": f"{rng.choice(TITLES)} {n}", "content": "年度服务", "type": rng.choice(TYPES),
        "amount": amount, "issued_on": f"2025-{1 + rng.randrange(12):02d}-{1 + rng.randrange(28):02d}",
        "customer_id": rng.choice(customers), "contract_id": None, "payment_ids": [],
        "invoice_no": None, "tracking_number": f"SF{1000000000 + n}", "courier": "顺丰",
        "owner_id": f"u{owner}", "department_id": f"d{owner % 10}", "remarks": None, "custom": {}}
    values.update(tax_figures(amount, "0.13", None))
    return values


def created_invoices(count: int, customers: list[str], signer: SigningKey, first_position: int,
                     seed: int = 42) -> Iterator[tuple[Invoice, list[dict[str, Any]]]]:
    """Each invoice after its InvoiceCreated (folded) with that event's envelope."""
    rng = random.Random(seed)
    meta = Metadata(actor={"id": "bench", "name": "bench fixture"})
    occurred_at = time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime())
    for n in range(count):
        invoice = Invoice.create(f"inv_fx{n:07d}", f"INV-2025-{900000 + n:07d}",
                                 invoice_values(n, rng, customers))
        envelopes = build_envelopes(invoice.id, STREAM_INVOICE, invoice.head, invoice.pending, meta,
                                    occurred_at, first_position + n, signer)
        after = copy.deepcopy(invoice)
        for envelope in envelopes:
            after.apply(envelope)
        after.pending.clear()
        yield after, envelopes


def _batches(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _drop_secondary_indexes(db: Database[Any], names: list[str]) -> None:
    for name in names:
        db[name].drop_indexes()  # every index but _id's


def _checkpoint(consumer: str, envelope: dict[str, Any]) -> dict[str, Any]:
    return {"_id": f"{consumer}:{envelope['stream_id']}", "version": int(envelope["version"]),
            "event_id": envelope["event_id"], "hash": envelope["hash"], "position": envelope["position"]}


def load_invoices(invoice_db: Database[Any], search_db: Database[Any], approval_db: Database[Any],
                  signer: SigningKey, count: int, customers: list[str], *, indexes_after: bool = False,
                  progress: Progress = print) -> dict[str, Any]:
    """Write ``count`` invoices (see the module docstring); the services must be stopped.
    Returns the seconds of each phase."""
    timings: dict[str, float] = {}
    store = EventStore(invoice_db, signer)
    repository = MongoInvoiceRepository(invoice_db, store)
    generation = int((search_db["projection_meta"].find_one({"_id": "active"}) or {}).get("generation") or 0)
    search_consumer = consumer_name(generation, "invoice")
    views = search_db[collection_name(generation, "invoices")]
    directory = CachedDirectory(MongoViews(search_db, generation))
    position = int((invoice_db["counters"].find_one({"_id": "position"}) or {}).get("value") or 0)
    published = int((invoice_db["outbox_relay"].find_one({"_id": LEASE_ID}) or {}).get("position") or 0)
    if published != position:
        raise RuntimeError(f"the invoice relay has not published up to {position} (at {published})")
    started = time.perf_counter()
    if indexes_after:
        _drop_secondary_indexes(invoice_db, ["events", "invoices"])
        _drop_secondary_indexes(search_db, [views.name])
    written = 0
    for batch in _batches(created_invoices(count, customers, signer, position + 1), BATCH):
        envelopes = [e for _, written_events in batch for e in written_events]
        invoice_db["events"].insert_many([dict(e, _id=e["event_id"]) for e in envelopes], ordered=False)
        invoice_db["stream_heads"].insert_many([{
            "_id": e["stream_id"], **{k: e[k] for k in ("stream_type", "version", "hash", "position",
                                                         "key_id", "signature")}} for e in envelopes],
            ordered=False)
        invoice_db["invoices"].insert_many([repository.state_document(i) for i, _ in batch], ordered=False)
        wire = [envelope_to_wire(e) for e in envelopes]  # what the consumers receive
        views.insert_many([apply_invoice_event(None, e, directory) for e in wire], ordered=False)
        search_db["tracking"].insert_many([_checkpoint(search_consumer, e) for e in envelopes], ordered=False)
        approval_db["invoice_replica"].insert_many(
            [replica_document(fold_invoice(None, e)) for e in wire], ordered=False)
        approval_db["tracking"].insert_many(
            [_checkpoint(INVOICE_CONSUMER_APPROVAL, e) for e in envelopes], ordered=False)
        written += len(batch)
        progress(f"    {written:,} / {count:,} invoices ({time.perf_counter() - started:.0f} s)")
    timings["documents_s"] = round(time.perf_counter() - started, 1)
    last = position + count
    invoice_db["counters"].update_one({"_id": "position"}, {"$max": {"value": last}}, upsert=True)
    invoice_db["outbox_relay"].update_one({"_id": LEASE_ID}, {"$max": {"position": last}}, upsert=True)
    for db, consumer in ((search_db, search_consumer), (approval_db, INVOICE_CONSUMER_APPROVAL)):
        db["consumer_positions"].update_one({"_id": consumer}, {"$max": {"position": last}}, upsert=True)
        db["consumer_catch_up"].update_one({"_id": consumer}, {"$max": {"position": last},
                                                               "$set": {"complete": True}}, upsert=True)
    step = time.perf_counter()
    count_buckets(search_db, generation)
    timings["buckets_s"] = round(time.perf_counter() - step, 1)
    step = time.perf_counter()
    if indexes_after:
        for name, ensure in (("events", store.ensure_indexes),
                             ("invoice states", lambda: MongoInvoiceRepository.ensure_indexes(invoice_db)),
                             ("search views", lambda: ensure_view_indexes(search_db, generation))):
            began = time.perf_counter()
            ensure()
            progress(f"    indexes of the {name}: {time.perf_counter() - began:.1f} s")
    timings["indexes_s"] = round(time.perf_counter() - step, 1)
    timings["total_s"] = round(time.perf_counter() - started, 1)
    return {"invoices": count, "indexes_after": indexes_after, **timings,
            "invoices_per_s": round(count / max(timings["total_s"], 1e-9), 1)}
