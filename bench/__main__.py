"""Benchmark of the write side, measured in one run on this machine.

Starts a private store (on disk, --sync-on-commit, as `make run` does), a private
RabbitMQ vhost, the customer and invoice services and a bare echo service; then, for
client concurrency 1 and 4 (separate client processes), measures calls/s and p50/p99
latency of echo, create_invoice and update_field, prints each ratio to the echo
baseline and the RSS of each service process, and saves everything as JSON under
bench/results/. Targets (issue 2): create_invoice and update_field >= 0.6x echo
throughput; RSS <= 150 MB per service.
"""
from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import eventlet
eventlet.monkey_patch()

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from tests.support.actors import token_for  # noqa: E402
from tests.support.infra import (  # noqa: E402
    MongoProcess,
    RabbitVhost,
    ServiceProcess,
    service_env,
    wait_for,
)

RESULTS = ROOT / "bench" / "results"


def worker(args: tuple[str, str, float, dict[str, Any], int]) -> dict[str, Any]:
    """One client process: call ``operation`` for ``seconds``; return latencies."""
    amqp_uri, operation, seconds, fixture, index = args
    from nameko.standalone.rpc import ClusterRpcProxy
    config = {"AMQP_URI": amqp_uri, "serializer": "json"}
    context = {"authorization": token_for(roles=["admin"], sub=f"bench-{index}")}
    latencies: list[float] = []
    with ClusterRpcProxy(config, context_data=context, timeout=30) as hub:
        invoice_id = None
        if operation == "update_field":
            invoice_id = hub.invoice.create_invoice(fixture["invoice"])["id"]
        call = {
            "echo": lambda n: hub.bench_echo.echo({"n": n, "payload": fixture["invoice"]}),
            "create_invoice": lambda n: hub.invoice.create_invoice(fixture["invoice"]),
            "update_field": lambda n: hub.invoice.update_field(invoice_id, "remarks", f"r{index}-{n}"),
        }[operation]
        for n in range(3):  # warm up connections and caches
            call(-n - 1)
        deadline = time.perf_counter() + seconds
        n = 0
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            call(n)
            latencies.append(time.perf_counter() - started)
            n += 1
    return {"latencies": latencies}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def measure(pool: Any, amqp_uri: str, operation: str, concurrency: int, seconds: float,
            fixture: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    results = pool.map(worker, [(amqp_uri, operation, seconds, fixture, i) for i in range(concurrency)])
    elapsed = time.perf_counter() - started
    latencies = [lat for r in results for lat in r["latencies"]]
    wall = max(seconds, min(elapsed, seconds * 1.5))
    return {"operation": operation, "concurrency": concurrency, "calls": len(latencies),
            "calls_per_s": round(len(latencies) / wall, 1),
            "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 2)}


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="per measurement")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    options = parser.parse_args()

    print("bench: starting a private store, vhost and services ...", flush=True)
    mongo, vhost = MongoProcess(on_disk=True), RabbitVhost()
    log_dir = tempfile.mkdtemp(prefix="bench-")
    env = service_env(vhost.amqp_uri, mongo.url, "bench_")
    env["PYTHONPATH"] += os.pathsep + str(ROOT / "bench")
    services = {name: ServiceProcess(name, env, log_dir).start() for name in ("customer", "invoice")}
    echo = ServiceProcess("bench_echo", env, log_dir)
    echo.proc = subprocess.Popen([sys.executable, "-m", "nameko", "run", "--broker", vhost.amqp_uri,
                                  "echo_service"], cwd=ROOT / "bench", env=env,
                                 stdout=open(echo.log_path, "ab"), stderr=subprocess.STDOUT)
    services["bench_echo"] = echo
    try:
        from nameko.standalone.rpc import ClusterRpcProxy
        config = {"AMQP_URI": vhost.amqp_uri, "serializer": "json"}
        with ClusterRpcProxy(config, context_data={"authorization": token_for(roles=["admin"])}) as hub:
            wait_for(lambda: hub.bench_echo.echo(1) == 1, timeout=60, interval=0.5, message="echo")
            wait_for(lambda: hub.invoice.list_invoice_types(), timeout=60, interval=0.5, message="invoice")
            wait_for(lambda: hub.customer.list_customers(limit=1) is not None, timeout=60, interval=0.5,
                     message="customer")
            customer = hub.customer.create_customer({"name": "压测客户"})
        fixture = {"invoice": {"title": "压测发票", "type": "vat_ordinary", "amount": "100.00",
                               "issued_on": "2026-05-01", "customer_id": customer["id"]}}
        rows = []
        context = multiprocessing.get_context("spawn")
        with context.Pool(max(options.concurrency)) as pool:
            for concurrency in options.concurrency:
                for operation in ("echo", "create_invoice", "update_field"):
                    row = measure(pool, vhost.amqp_uri, operation, concurrency, options.seconds, fixture)
                    rows.append(row)
                    print(f"  {operation:15} c={concurrency}  {row['calls_per_s']:8.1f} calls/s  "
                          f"p50 {row['p50_ms']:7.2f} ms  p99 {row['p99_ms']:7.2f} ms", flush=True)
        for row in rows:
            baseline = next(r for r in rows if r["operation"] == "echo"
                            and r["concurrency"] == row["concurrency"])
            row["ratio_to_echo"] = round(row["calls_per_s"] / baseline["calls_per_s"], 3)
        memory = {name: rss_mb(p.proc.pid) for name, p in services.items() if p.alive()}
        report = {"at": dt.datetime.now(dt.timezone.utc).isoformat(), "seconds": options.seconds,
                  "cpus": os.cpu_count(), "rows": rows, "rss_mb": memory,
                  "targets": {"ratio_to_echo_min": 0.6, "rss_mb_max": 150}}
        print("\nratio to echo (target >= 0.6):")
        for row in rows:
            if row["operation"] != "echo":
                mark = "ok" if row["ratio_to_echo"] >= 0.6 else "BELOW TARGET"
                print(f"  {row['operation']:15} c={row['concurrency']}  {row['ratio_to_echo']:.2f}x  {mark}")
        print("RSS per service (target <= 150 MB):",
              ", ".join(f"{k} {v} MB" for k, v in memory.items()))
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"bench-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
        path.write_text(json.dumps(report, indent=2, ensure_ascii=False))
        print(f"saved {path.relative_to(ROOT)}")
        return 0
    finally:
        for process in services.values():
            process.stop()
        mongo.stop()
        vhost.delete()


if __name__ == "__main__":
    sys.exit(main())
