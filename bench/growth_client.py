"""The growth benchmark's client: ``python -m bench.growth_client AMQP_URI STEP ARGS_JSON``.

``customers``: waits for the services, creates ``count`` customers and prints their ids;
``ready``: waits until the invoice and search services answer;
``measure``: calls create_invoice, update_field, get_invoice, search by customer and
stats ``repeat`` times each (one at a time, through RPC as another system would) and
prints ``{call: [seconds, ...]}``."""
from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import eventlet
eventlet.monkey_patch()

import json  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path[:0] = [str(Path(__file__).resolve().parents[1])]

from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

from tests.support.actors import token_for  # noqa: E402
from tests.support.infra import wait_for  # noqa: E402


def customers(hub: Any, args: dict[str, Any]) -> list[str]:
    wait_for(lambda: hub.customer.list_customers(limit=1) is not None, timeout=90, interval=0.5,
             message="customer")
    return [hub.customer.create_customer({"name": f"增长客户{n:03d}有限公司"})["id"]
            for n in range(args["count"])]


def ready(hub: Any, args: dict[str, Any]) -> bool:
    wait_for(lambda: hub.invoice.list_invoice_types(), timeout=120, interval=0.5, message="invoice")
    wait_for(lambda: hub.search.search({"limit": 1}) is not None, timeout=120, interval=0.5,
             message="search")
    return True


def measure(hub: Any, args: dict[str, Any]) -> dict[str, list[float]]:
    rng = random.Random(7)
    customer_ids, existing = args["customers"], args["invoices"]
    new = {"title": "增长压测", "type": "vat_ordinary", "amount": "100.00",
           "issued_on": "2025-05-01", "customer_id": customer_ids[0]}
    month = ["2025-05-01", "2025-05-31"]
    calls: dict[str, Callable[[int], Any]] = {
        "create_invoice": lambda n: hub.invoice.create_invoice(new),
        "update_field": lambda n: hub.invoice.update_field(rng.choice(existing), "remarks", f"g{n}"),
        "get_invoice": lambda n: hub.invoice.get_invoice(rng.choice(existing)),
        "search_by_customer": lambda n: hub.search.search({"filters": [
            {"field": "customer_id", "op": "eq", "value": rng.choice(customer_ids)}], "limit": 20}),
        "stats": lambda n: hub.search.stats({"filters": [
            {"field": "issued_on", "op": "between", "value": month}]}, ["type"]),
    }
    result: dict[str, list[float]] = {}
    for name, call in calls.items():
        for n in range(3):  # warm up connections and caches
            call(-n - 1)
        times = []
        for n in range(args["repeat"]):
            started = time.perf_counter()
            call(n)
            times.append(time.perf_counter() - started)
        result[name] = times
    return result


def main() -> None:
    amqp_uri, step, args = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    config = {"AMQP_URI": amqp_uri, "serializer": "json"}
    context = {"authorization": token_for(roles=["admin"], sub="bench-growth")}
    with ClusterRpcProxy(config, context_data=context, timeout=120) as hub:
        print(json.dumps({"customers": customers, "ready": ready, "measure": measure}[step](hub, args)))


if __name__ == "__main__":
    main()
