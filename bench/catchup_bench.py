"""Catch-up after a restart (issue 9, finding 6): how long the search projector -- the
costliest consumer (an 11-index view, its buckets and joins per event) -- takes to
apply 1,000 events it missed while it was down, on a store that already holds a few
thousand it applied before. Target: under 5 s on this machine.

A private store on disk with --sync-on-commit (as ``make run``); invoice events stored
through the real EventStore (bulk appends); the consumer is the search service's own
projector (its buffered batch apply), LockedTracker and the shared CatchUp, reading the log directly (no RPC, so
the figure is the consumer's side). Also times the first 200 of them applied one
transaction per event, as the live queue path does, for comparison.

    .venv/bin/python -m bench.catchup_bench [--stored 4000] [--missed 1000]   # saves bench/results/catchup-*.json
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "services" / "search")]

from eventlet.semaphore import Semaphore  # noqa: E402
from pymongo.database import Database  # noqa: E402

from search.adapters.views import MongoViews, ensure_indexes  # noqa: E402
from search.dependencies import LockedTracker, buffered_apply  # noqa: E402
from search.projector import Projector  # noqa: E402
from shared.events.catchup import CatchUp, Source  # noqa: E402
from shared.events.envelope import Metadata, PendingEvent, StreamHead, envelope_to_wire  # noqa: E402
from shared.events.store import EventStore  # noqa: E402
from shared.mongo import connect, database  # noqa: E402
from tests.support.infra import MongoProcess, key_ring, signing_key  # noqa: E402

TARGET_SECONDS = 5.0
RESULTS = ROOT / "bench" / "results"
META = Metadata(actor={"id": "bench", "name": "bench"})
TYPES = ("vat_special", "vat_ordinary", "receipt")


def invoice_fields(rng: random.Random, n: int) -> dict[str, Any]:
    return {"title": f"技术服务费 {n}", "content": "年度服务", "type": rng.choice(TYPES),
            "amount": str(Decimal(rng.randrange(100, 10_000_000)) / 100),
            "issued_on": f"2026-0{1 + rng.randrange(9)}-1{rng.randrange(10)}",
            "customer_id": f"cus_{rng.randrange(50):04d}", "contract_id": None, "payment_ids": [],
            "invoice_no": f"NO{n:08d}", "tracking_number": f"SF{1000000000 + n}", "courier": "顺丰",
            "owner_id": "u1", "department_id": "d1", "remarks": None, "custom": {}}


def store_invoices(store: EventStore, count: int, per_invoice: int, rng: random.Random) -> int:
    """``count`` events: invoices created then edited, each invoice in one append."""
    for n in range(count // per_invoice):
        pending = [PendingEvent("InvoiceCreated", {"number": f"INV-B-{uuid.uuid4().hex[:10]}",
                                                   "fields": invoice_fields(rng, n)})]
        pending += [PendingEvent("InvoiceFieldsChanged", {"changes": {"remarks": {
            "from": None if v == 1 else f"r{v - 1}", "to": f"r{v}"}}}) for v in range(1, per_invoice)]
        store.append(f"inv_{uuid.uuid4().hex[:12]}", "invoice", StreamHead(), pending, META)
    return store.last_position()


def log_source(store: EventStore) -> Source:
    def read_page(after: int, limit: int) -> dict[str, Any]:
        events = [envelope_to_wire(e) for e in store.read_all(after, limit)]
        return {"events": events, "last_position": events[-1]["position"] if events else after}

    def fetch(stream_id: str, after: int) -> list[dict[str, Any]]:
        return [envelope_to_wire(e) for e in store.stream(stream_id, after, upcast=False)]
    return Source(read_page, fetch)


def consumer(db: Database[Any], name: str, generation: int) -> tuple[LockedTracker, Projector]:
    ensure_indexes(db, generation)
    tracker = LockedTracker(db, name, Semaphore(1))
    return tracker, Projector(lambda tx: MongoViews(db, generation, tx.session))


def run(stored: int, missed: int, compare: int = 200, per_invoice: int = 5) -> dict[str, Any]:
    mongo = MongoProcess(on_disk=True)
    try:
        client = connect(mongo.url)
        source_db, search_db = database(client, "bench_invoice"), database(client, "bench_search")
        store = EventStore(source_db, signing_key("invoice"), keys=key_ring())
        store.ensure_indexes()
        rng = random.Random(9)
        events = log_source(store)
        # the consumer applied the first ``stored`` events, then stopped
        store_invoices(store, stored, per_invoice, rng)
        tracker, projector = consumer(search_db, "search.g1.invoice", 1)
        catch_up = CatchUp.of(tracker, projector.apply, apply_batch=buffered_apply(search_db, 1))
        catch_up.run(events)
        # ``missed`` events stored while it was down; then it restarts and catches up
        before = store.last_position()
        store_invoices(store, missed, per_invoice, rng)
        started = time.perf_counter()
        applied = catch_up.run(events)
        batched = time.perf_counter() - started
        # the same events, one transaction each (as the queue delivers them), for comparison
        tracker, projector = consumer(search_db, "search.g2.invoice", 2)
        missed_events = [envelope_to_wire(e) for e in store.read_all(before, compare)]
        started = time.perf_counter()
        for envelope in missed_events:
            tracker.handle(envelope, projector.apply, events.fetch)
        one_by_one = time.perf_counter() - started
        client.close()
    finally:
        mongo.stop()
    return {"stored_before": stored, "missed": missed, "applied": applied,
            "catch_up_seconds": round(batched, 2), "catch_up_events_per_s": round(applied / batched),
            "one_transaction_per_event_events_per_s": round(len(missed_events) / one_by_one, 1),
            "one_transaction_per_event_sample": len(missed_events),
            "target_seconds": TARGET_SECONDS}


def catch_up_section(stored: int = 4000, missed: int = 1000) -> dict[str, Any]:
    result = run(stored, missed)
    mark = "ok" if result["catch_up_seconds"] < TARGET_SECONDS else "ABOVE TARGET"
    print(f"catch-up after a restart: {result['missed']:,} missed events (store of "
          f"{result['stored_before'] + result['missed']:,}) in {result['catch_up_seconds']} s "
          f"= {result['catch_up_events_per_s']} events/s ({mark}, target < {TARGET_SECONDS:.0f} s); "
          f"one transaction per event: {result['one_transaction_per_event_events_per_s']} events/s",
          flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stored", type=int, default=4000)
    parser.add_argument("--missed", type=int, default=1000)
    options = parser.parse_args()
    result = catch_up_section(options.stored, options.missed)
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"catchup-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
