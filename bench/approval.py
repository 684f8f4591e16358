"""Approval latency client: ``python -m bench.approval AMQP_URI RATE SECONDS`` makes
watched-field changes at RATE per second for SECONDS and prints, as JSON, how long each
took from the change being acknowledged to its request being visible in the approver's
``list_requests(mine=True)``.

The flow holds changes (issue 13; ``BENCH_HOLD=0`` measures the after-the-fact review
instead): a held invoice refuses a second watched change until the first is decided, so
every change goes to an invoice of its own (created beforehand); the approver's inbox
grows to one request per change. Without hold, changes go round-robin over 20 invoices
(the inbox stays at 20) and a request superseded before the poller saw it counts as
``missed``. One poller reads the inbox every 20 ms (its cost is part of what is
measured)."""
from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import eventlet
eventlet.monkey_patch()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path[:0] = [str(Path(__file__).resolve().parents[1])]

from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

from tests.support.actors import token_for  # noqa: E402
from tests.support.infra import wait_for  # noqa: E402

WRITERS = 6


def hub(config: dict[str, Any], **claims: Any) -> Any:
    return ClusterRpcProxy(config, context_data={"authorization": token_for(**claims)}, timeout=60)


def main() -> None:
    amqp_uri, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    config = {"AMQP_URI": amqp_uri, "serializer": "json"}
    hold = os.environ.get("BENCH_HOLD", "1") != "0"
    approver_id = f"bench-approver-{uuid.uuid4().hex[:8]}"  # an inbox of this run only
    invoices_count = int(rate * seconds) if hold else 20
    with hub(config, roles=["admin"], sub="bench-admin") as admin, \
            hub(config, roles=["sales_manager"], sub=approver_id) as approver:
        wait_for(lambda: admin.approval.list_flows() is not None, timeout=60, interval=0.5,
                 message="approval")
        customer = admin.customer.create_customer({"name": f"审批压测客户-{uuid.uuid4().hex[:6]}"})
        admin.approval.define_flow({
            "name": "压测流程", "watched_fields": ["amount"],
            "condition": [{"field": "customer_id", "op": "eq", "value": customer["id"]}],
            "stages": [{"name": "经理", "approvers": [f"user:{approver_id}"], "mode": "any"}],
            "hold": hold})
        invoices = [admin.invoice.create_invoice({
            "title": "审批压测", "type": "vat_ordinary", "amount": "100.00",
            "issued_on": "2026-05-01", "customer_id": customer["id"]})["id"]
            for _ in range(invoices_count)]

        acked: dict[tuple[str, str], float] = {}
        seen: dict[tuple[str, str], float] = {}
        stop = False

        def poll() -> None:
            while not stop:
                for request in approver.approval.list_requests(mine=True):
                    key = (request["invoice_id"], request["changed_fields"]["amount"]["to"])
                    seen.setdefault(key, time.perf_counter())
                eventlet.sleep(0.02)

        total = int(rate * seconds)
        started = time.perf_counter()

        def change(n: int, writer: Any) -> None:
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                eventlet.sleep(delay)
            invoice_id = invoices[n % len(invoices)]
            amount = f"{1000 + n}.00"
            writer.invoice.update_field(invoice_id, "amount", amount)
            acked[(invoice_id, amount)] = time.perf_counter()

        writers = [hub(config, roles=["admin"], sub=f"bench-writer-{i}") for i in range(WRITERS)]
        entered = [w.__enter__() for w in writers]
        poller = eventlet.spawn(poll)
        pool = eventlet.GreenPool(WRITERS)
        free = eventlet.queue.Queue()
        for w in entered:
            free.put(w)

        def run(n: int) -> None:
            writer = free.get()
            try:
                change(n, writer)
            finally:
                free.put(writer)
        for n in range(total):
            pool.spawn_n(run, n)
        pool.waitall()
        write_seconds = time.perf_counter() - started
        deadline = time.perf_counter() + 30
        while time.perf_counter() < deadline and len(set(acked) - set(seen)) > 0:
            eventlet.sleep(0.05)
            if all(k in seen for k in acked):
                break
        stop = True
        poller.wait()
        for w in writers:
            w.__exit__(None, None, None)
        latencies = sorted(max(0.0, seen[k] - t) for k, t in acked.items() if k in seen)
        print(json.dumps({"rate_asked": rate, "changes": len(acked),
                          "rate_reached": round(len(acked) / write_seconds, 1), "hold": hold,
                          "seen": len(latencies), "missed": len(acked) - len(latencies),
                          "latencies": latencies}))


if __name__ == "__main__":
    main()
