"""Search service benchmarks (called from bench/__main__.py; ratios measured in one run).

- projection lag: update_field at a steady rate -> visible in the search views (p50/p99);
- rebuild: events/s of ``python -m search.rebuild`` vs raw insert_many of the views it wrote;
- search and stats at 100,000 invoices (a fixture written by the projector's own batch
  code) vs the equivalent raw pymongo query on the same collection (p50/p95).
"""
from __future__ import annotations

import json
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "services" / "search")]

from pymongo import DESCENDING, MongoClient  # noqa: E402

from search.adapters.buffered import count_buckets  # noqa: E402
from search.adapters.views import (  # noqa: E402
    BUCKET_INDEXES,
    INVOICE_INDEXES,
    MongoViews,
    collection_name,
    ensure_indexes,
)
from search.application.queries import Queries  # noqa: E402
from search.domain.views import apply_invoice_event  # noqa: E402
from search.rebuild import apply_page  # noqa: E402
from shared.auth import Actor, Policy  # noqa: E402
from shared.mongo import connect, database  # noqa: E402

TYPES = ("vat_special", "vat_ordinary", "receipt")
LABELS = {"vat_special": "增值税专用发票", "vat_ordinary": "增值税普通发票", "receipt": "收据"}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def ms(values: list[float]) -> dict[str, float]:
    return {"p50_ms": round(percentile(values, 0.5) * 1000, 2),
            "p95_ms": round(percentile(values, 0.95) * 1000, 2),
            "p99_ms": round(percentile(values, 0.99) * 1000, 2)}


# -- projection lag ---------------------------------------------------------------------
def projection_lag(amqp_uri: str, mongo_url: str, rate: float, seconds: float,
                   database: str = "bench_search") -> dict[str, Any]:
    """update_field at ``rate``/s (one client) -> the search view showing that version."""
    out = subprocess.run([sys.executable, "-W", "ignore", "-m", "bench.search_lag", amqp_uri, mongo_url,
                          str(rate), str(seconds), database], cwd=ROOT, capture_output=True, timeout=seconds + 180,
                         check=True).stdout
    result = json.loads(out.decode().strip().splitlines()[-1])
    return {"rate_requested": rate, "rate_achieved": round(result["achieved_rate"], 1),
            "commands": len(result["lags"]), **ms(result["lags"])}


# -- rebuild vs insert_many ---------------------------------------------------------------
def rebuild_rate(env: dict[str, str], mongo_url: str) -> dict[str, Any]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-W", "ignore", "-m", "search.rebuild", "--keep-old", "--json"],
                          cwd=ROOT, env=env, capture_output=True, timeout=900, check=True)
    wall = time.perf_counter() - started
    result = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    events = result["events"]["invoice"] + result["events"]["customer"]
    rate = events / result["replay_seconds"]
    client = connect(mongo_url)
    db = database(client, "bench_search")
    docs = list(db[collection_name(result["generation"], "invoices")].find())
    target = db["raw_insert_many"]
    target.drop()
    for keys in INVOICE_INDEXES:
        target.create_index(list(keys))
    started = time.perf_counter()
    for start in range(0, len(docs), 1000):
        target.insert_many(docs[start:start + 1000], ordered=False)
    insert_rate = len(docs) / max(time.perf_counter() - started, 1e-9)
    target.drop()
    client.close()
    return {"events": events, "replay_seconds": round(result["replay_seconds"], 2),
            "wall_seconds": round(wall, 2), "rebuild_events_per_s": round(rate, 1),
            "insert_many_docs_per_s": round(insert_rate, 1), "view_docs": len(docs),
            "ratio": round(rate / insert_rate, 3)}


# -- 100k fixture and query latency -------------------------------------------------------
def envelope(stream_id: str, kind: str, data: dict[str, Any], position: int,
             stream_type: str) -> dict[str, Any]:
    return {"event_id": uuid.uuid4().hex, "stream_id": stream_id, "stream_type": stream_type,
            "version": 1, "position": position, "type": kind, "schema_version": 1,
            "occurred_at": "2025-06-01T00:00:00Z", "actor": {"id": "bench", "name": "bench"}, "data": data}


def build_fixture(mongo_url: str, count: int,
                  db_name: str = "bench_search_fixture") -> tuple[Any, Any, dict[str, Any]]:
    client = connect(mongo_url)
    client.drop_database(db_name)
    db = database(client, db_name)
    ensure_indexes(db, 0)
    rng = random.Random(42)
    customers = [f"cus_{n:04d}" for n in range(500)]
    settings = [envelope(f"invoice_type-{t}", "InvoiceTypeCreated",
                         {"key": t, "label": LABELS[t], "color": "#D9534F", "active": True}, n + 1, "invoice_type")
                for n, t in enumerate(TYPES)]
    apply_page(db, 0, "invoice", settings, len(settings))
    apply_page(db, 0, "customer", [envelope(c, "CustomerCreated", {"name": f"客户{n}号有限公司", "owner_id": "u0"},
                                            n + 1, "customer") for n, c in enumerate(customers)], len(customers))
    cached = CachedDirectory(MongoViews(db, 0))
    # the views themselves: the projector's own fold and joins, written with insert_many
    # (the transactional page path is measured by the rebuild figure)
    started = time.perf_counter()
    batch: list[dict[str, Any]] = []
    for n in range(count):
        day = 1 + rng.randrange(365)
        issued = time.strftime("%Y-%m-%d", time.gmtime(1735689600 + (day - 1) * 86400))
        owner = rng.randrange(50)
        event = envelope(f"inv_{n:07d}", "InvoiceCreated", {"number": f"INV-2025-{n:06d}", "fields": {
            "title": rng.choice(["技术服务费", "软件许可费", "咨询服务费", "硬件采购"]) + f" {n}",
            "content": "年度服务", "type": rng.choice(TYPES),
            "amount": str(Decimal(rng.randrange(100, 10_000_000)) / 100), "issued_on": issued,
            "customer_id": rng.choice(customers), "contract_id": None, "payment_ids": [],
            "invoice_no": f"NO{n:08d}", "tracking_number": f"SF{1000000000 + n}", "courier": "顺丰",
            "owner_id": f"u{owner}", "department_id": f"d{owner % 10}", "remarks": None, "custom": {}}},
            n + 10, "invoice")
        batch.append(apply_invoice_event(None, event, cached))
        if len(batch) == 5000 or n == count - 1:
            db[collection_name(0, "invoices")].insert_many(batch, ordered=False)
            batch = []
    count_buckets(db, 0)
    seconds = time.perf_counter() - started
    return client, db, {"invoices": count, "seconds": round(seconds, 1),
                        "events_per_s": round(count / seconds, 1)}


class CachedDirectory:
    """The fold's lookups, read once (the fixture has few customers and types)."""

    def __init__(self, views: MongoViews) -> None:
        self.views = views
        self.memo: dict[tuple[str, Any], Any] = {}

    def _memo(self, kind: str, key: Any, load: Callable[[], Any]) -> Any:
        if (kind, key) not in self.memo:
            self.memo[(kind, key)] = load()
        return self.memo[(kind, key)]

    def customer_name(self, customer_id: str | None) -> str | None:
        return self._memo("customer", customer_id, lambda: self.views.customer_name(customer_id))  # type: ignore[no-any-return]

    def contract_number(self, contract_id: str | None) -> str | None:
        return None

    def payment(self, payment_id: str) -> Any:
        return None

    def invoice_type(self, key: str | None) -> Any:
        return self._memo("type", key, lambda: self.views.invoice_type(key))

    def custom_kind(self, key: str) -> str | None:
        return None


def timed(call: Callable[[], Any], repeat: int) -> list[float]:
    call()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


def query_latency(db: Any, repeat: int = 20) -> list[dict[str, Any]]:
    queries = Queries(MongoViews(db, 0), Policy.load(), Actor(id="admin", name="a", roles=("admin",)))
    raw = db[collection_name(0, "invoices")]
    month = ["2025-05-01", "2025-05-31"]
    sort = [("issued_on", DESCENDING), ("_id", 1)]

    def raw_group(match: dict[str, Any], key: str) -> list[Any]:
        return list(raw.aggregate([{"$match": match}, {"$group": {
            "_id": f"${key}", "count": {"$sum": 1}, "amount": {"$sum": "$amount"}}}]))

    cases: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
        ("search type + 31-day range, 50 per page",
         lambda: queries.search({"filters": [{"field": "type", "op": "eq", "value": "vat_special"},
                                             {"field": "issued_on", "op": "between", "value": month}]}),
         lambda: (list(raw.find({"type": "vat_special", "issued_on": {"$gte": month[0], "$lte": month[1]}})
                       .sort(sort).limit(50)),
                  raw.count_documents({"type": "vat_special", "issued_on": {"$gte": month[0], "$lte": month[1]}}))),
        ("search customer, 20 per page",
         lambda: queries.search({"filters": [{"field": "customer_id", "op": "eq", "value": "cus_0042"}], "limit": 20}),
         lambda: (list(raw.find({"customer_id": "cus_0042"}).sort(sort).limit(20)),
                  raw.count_documents({"customer_id": "cus_0042"}))),
        ("search tracking_number",
         lambda: queries.search({"filters": [{"field": "tracking_number", "op": "eq", "value": "SF1000054321"}]}),
         lambda: list(raw.find({"tracking_number": "SF1000054321"}))),
        ("search text 'SF10000543' (raw: $regex)",
         lambda: queries.search({"text": "SF10000543"}),
         lambda: list(raw.find({"tracking_number": {"$regex": "SF10000543", "$options": "i"}}).limit(50))),
        ("stats by type, one month",
         lambda: queries.stats({"filters": [{"field": "issued_on", "op": "between", "value": month}]}, ["type"]),
         lambda: raw_group({"issued_on": {"$gte": month[0], "$lte": month[1]}}, "type")),
        ("stats by month, whole year",
         lambda: queries.stats(None, ["month"]),
         lambda: raw_group({}, "month")),
        ("calendar one month",
         lambda: queries.calendar(2025, 5, None),
         lambda: raw_group({"issued_on": {"$gte": month[0], "$lte": month[1]}}, "issued_on")),
        ("customer tab (20 + totals)",
         lambda: queries.customer_invoices("cus_0042", 20, None),
         lambda: (list(raw.find({"customer_id": "cus_0042"}).sort(sort).limit(20)),
                  raw_group({"customer_id": "cus_0042"}, "customer_id"))),
    ]
    rows = []
    for name, ours, theirs in cases:
        repeats = max(3, repeat // 4) if "whole year" in name or "regex" in name else repeat
        mine, baseline = ms(timed(ours, repeats)), ms(timed(theirs, repeats))
        rows.append({"query": name, "search": mine, "raw_pymongo": baseline,
                     "ratio_p50": round(mine["p50_ms"] / max(baseline["p50_ms"], 1e-6), 2)})
    return rows


def run_fixture_bench(mongo_url: str, count: int) -> dict[str, Any]:
    client, db, built = build_fixture(mongo_url, count)
    try:
        return {"fixture": built, "queries": query_latency(db)}
    finally:
        client.drop_database("bench_search_fixture")
        client.close()


__all__ = ["projection_lag", "rebuild_rate", "run_fixture_bench", "MongoClient", "BUCKET_INDEXES"]
