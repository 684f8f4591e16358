"""One benchmark client process: ``python -m bench.client AMQP_URI OPERATION SECONDS INDEX
FIXTURE_JSON`` calls OPERATION for SECONDS and prints its latencies as JSON.
``setup`` as OPERATION waits for the services and prints the fixture instead."""
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

from tests.support.actors import token_for  # noqa: E402
from tests.support.infra import wait_for  # noqa: E402


def setup(hub: Any) -> dict[str, Any]:
    wait_for(lambda: hub.bench_echo.echo(1) == 1, timeout=60, interval=0.5, message="echo")
    wait_for(lambda: hub.invoice.list_invoice_types(), timeout=60, interval=0.5, message="invoice")
    wait_for(lambda: hub.customer.list_customers(limit=1) is not None, timeout=60, interval=0.5,
             message="customer")
    customer = hub.customer.create_customer({"name": "压测客户"})
    return {"invoice": {"title": "压测发票", "type": "vat_ordinary", "amount": "100.00",
                        "issued_on": "2026-05-01", "customer_id": customer["id"]}}


def run(hub: Any, operation: str, seconds: float, index: int, fixture: dict[str, Any]) -> list[float]:
    invoice_id = hub.invoice.create_invoice(fixture["invoice"])["id"] \
        if operation == "update_field" else None
    call = {
        "echo": lambda n: hub.bench_echo.echo({"n": n, "payload": fixture["invoice"]}),
        "create_invoice": lambda n: hub.invoice.create_invoice(fixture["invoice"]),
        "update_field": lambda n: hub.invoice.update_field(invoice_id, "remarks", f"r{index}-{n}"),
    }[operation]
    for n in range(3):  # warm up connections and caches
        call(-n - 1)
    latencies, n = [], 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        call(n)
        latencies.append(time.perf_counter() - started)
        n += 1
    return latencies


def main() -> None:
    amqp_uri, operation, seconds, index, fixture = sys.argv[1:6]
    config = {"AMQP_URI": amqp_uri, "serializer": "json"}
    context = {"authorization": token_for(roles=["admin"], sub=f"bench-{index}")}
    with ClusterRpcProxy(config, context_data=context, timeout=60) as hub:
        if operation == "setup":
            print(json.dumps(setup(hub)))
        else:
            print(json.dumps(run(hub, operation, float(seconds), int(index), json.loads(fixture))))


if __name__ == "__main__":
    main()
