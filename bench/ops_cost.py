"""What metrics and JSON logging cost: ``update_field`` throughput (one client) with the
per-call hooks (metrics, log context, one JSON log line per call) on and off, in the
same run, alternating on/off, off/on, ... against one store (medians compared). Target (issue 16): on >= 0.95x off.

    .venv/bin/python -m bench.ops_cost [--seconds 8] [--rounds 4]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

from tests.support.actors import token_for  # noqa: E402
from tests.support.infra import MongoProcess, RabbitVhost, ServiceProcess, service_env, wait_for  # noqa: E402

MODES = {"on": {"WORKER_HOOKS": "true", "LOG_FORMAT": "json", "LOG_LEVEL": "INFO"},
         "off": {"WORKER_HOOKS": "false", "LOG_FORMAT": "text", "LOG_LEVEL": "INFO"}}


def update_field_rate(amqp_uri: str, seconds: float, fixture: dict[str, Any]) -> float:
    output = subprocess.run([sys.executable, "-W", "ignore", "-m", "bench.client", amqp_uri, "update_field",
                             str(seconds), "0", json.dumps(fixture)], cwd=ROOT, capture_output=True,
                            timeout=seconds + 120, check=True).stdout
    return len(json.loads(output.decode().strip().splitlines()[-1])) / seconds


def ops_cost(seconds: float = 8.0, rounds: int = 4) -> dict[str, Any]:
    mongo, vhost = MongoProcess(on_disk=True), RabbitVhost()
    log_dir = tempfile.mkdtemp(prefix="bench-ops-")
    env = service_env(vhost.amqp_uri, mongo.url, "opsbench_")
    customer = ServiceProcess("customer", env, log_dir).start()
    invoice: ServiceProcess | None = None
    rates: dict[str, list[float]] = {"on": [], "off": []}
    try:
        context = {"authorization": token_for(roles=["admin"], sub="bench")}
        with ClusterRpcProxy({"AMQP_URI": vhost.amqp_uri, "serializer": "json"}, context_data=context,
                             timeout=30) as hub:
            wait_for(lambda: hub.customer.list_customers(limit=1) is not None, timeout=60, interval=0.5)
            customer_id = hub.customer.create_customer({"name": "压测客户"})["id"]
            fixture = {"invoice": {"title": "压测发票", "type": "vat_ordinary", "amount": "100.00",
                                   "issued_on": "2026-05-01", "customer_id": customer_id}}
            for round_ in range(rounds):
                # alternate which goes first: the machine's load drifts
                for mode in ("on", "off") if round_ % 2 == 0 else ("off", "on"):
                    invoice = ServiceProcess("invoice", {**env, **MODES[mode]}, log_dir).start()
                    wait_for(lambda: hub.invoice.list_invoice_types(), timeout=60, interval=0.3)
                    rates[mode].append(update_field_rate(vhost.amqp_uri, seconds, fixture))
                    print(f"  update_field, hooks {mode:3}: {rates[mode][-1]:6.1f} calls/s", flush=True)
                    invoice.stop()
                    invoice = None
    finally:
        if invoice is not None:
            invoice.stop()
        customer.stop()
        mongo.stop()
        vhost.delete()
    on, off = statistics.median(rates["on"]), statistics.median(rates["off"])
    return {"seconds": seconds, "rounds": rounds, "on_calls_per_s": rates["on"],
            "off_calls_per_s": rates["off"], "ratio_on_to_off": round(on / off, 3), "target_ratio": 0.95}


def hook_cost_us(calls: int = 20_000) -> dict[str, float]:
    """CPU time of the hooks alone per call (worker_setup + worker_result with a JSON log
    line formatted and written to /dev/null), in microseconds: machine load drifts far
    more than the hooks cost, so this is the steadier figure."""
    import io
    import logging
    import time
    from types import SimpleNamespace

    from shared import logs
    from shared.ops import WorkerObserver
    from shared.rpc import AuthenticatedRpc

    handler = logging.StreamHandler(io.StringIO())
    handler.addFilter(logs.ContextFilter())
    handler.setFormatter(logs.make_formatter())
    ops_log = logging.getLogger("shared.ops")
    ops_log.addHandler(handler)
    ops_log.setLevel(logging.INFO)
    ops_log.propagate = False
    observer = WorkerObserver()
    observer.container = SimpleNamespace(service_name="invoice", config={})  # type: ignore[assignment]
    observer.setup()
    entrypoint = AuthenticatedRpc.__new__(AuthenticatedRpc)
    entrypoint.method_name = "update_field"
    service = SimpleNamespace(actor=SimpleNamespace(id="user-1"))
    started = time.process_time()
    for n in range(calls):
        worker_ctx = SimpleNamespace(entrypoint=entrypoint, data={}, call_id=f"invoice.update_field.{n}",
                                     service=service)
        observer.worker_setup(worker_ctx)
        observer.worker_result(worker_ctx, None, None)
    per_call = (time.process_time() - started) / calls * 1e6
    handler.stream.seek(0)
    assert json.loads(handler.stream.readline())["method"] == "update_field"
    return {"hooks_us_per_call": round(per_call, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--hooks-only", action="store_true", help="only the in-process hook cost")
    options = parser.parse_args()
    result = hook_cost_us() if options.hooks_only else {**hook_cost_us(), **ops_cost(options.seconds, options.rounds)}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
