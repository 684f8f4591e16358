"""Projection lag client: ``python -m bench.search_lag AMQP_URI MONGO_URL RATE SECONDS [DB]``
(DB: the search service's database, default bench_search).

Issues update_field commands at a steady RATE per second for SECONDS (one client,
scheduled, not back to back) and, for each acknowledged command, polls the search
view collection by _id until it shows that version. Prints the lags (s) as JSON."""
from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import eventlet
eventlet.monkey_patch()

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path[:0] = [str(Path(__file__).resolve().parents[1])]

from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402
from pymongo import MongoClient  # noqa: E402

from tests.support.actors import token_for  # noqa: E402
from tests.support.infra import wait_for  # noqa: E402


def main() -> None:
    amqp_uri, mongo_url, rate, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    config = {"AMQP_URI": amqp_uri, "serializer": "json"}
    context = {"authorization": token_for(roles=["admin"], sub="bench-lag")}
    client: MongoClient[Any] = MongoClient(mongo_url)
    views = client[sys.argv[5] if len(sys.argv) > 5 else "bench_search"]["g0_invoices"]
    lags: list[float] = []
    pending: list[tuple[str, int, float]] = []
    done = False

    def poll() -> None:
        """One query per round for every pending invoice (light on the store's one lock)."""
        while not done or pending:
            if pending:
                ids = sorted({item[0] for item in pending})
                versions = {d["_id"]: d["version"] for d in views.find({"_id": {"$in": ids}}, {"version": 1})}
                now = time.perf_counter()
                for item in list(pending):
                    if versions.get(item[0], 0) >= item[1]:
                        lags.append(now - item[2])
                        pending.remove(item)
            eventlet.sleep(0.003)

    with ClusterRpcProxy(config, context_data=context, timeout=60) as hub:
        wait_for(lambda: hub.search.projection_status() is not None, timeout=60, interval=0.5)
        customer = hub.customer.create_customer({"name": "压测延迟客户"})
        invoices = [hub.invoice.create_invoice({"title": "延迟", "type": "receipt", "amount": "1.00",
                                                "issued_on": "2026-05-01", "customer_id": customer["id"]})
                    for _ in range(20)]
        wait_for(lambda: all(views.find_one({"_id": i["id"]}) for i in invoices), timeout=60)
        poller = eventlet.spawn(poll)
        started = time.perf_counter()
        n = 0
        while time.perf_counter() - started < seconds:
            target = started + n / rate
            if target > time.perf_counter():
                eventlet.sleep(target - time.perf_counter())
            invoice = invoices[n % len(invoices)]
            updated = hub.invoice.update_field(invoice["id"], "remarks", f"lag-{n}")
            pending.append((invoice["id"], updated["version"], time.perf_counter()))
            n += 1
        achieved = n / (time.perf_counter() - started)
        done = True
        poller.wait()
    client.close()
    print(json.dumps({"lags": lags, "achieved_rate": achieved}))


if __name__ == "__main__":
    main()
