"""Benchmark of the HTTP gateway (issue 11), in one run on this machine.

    .venv/bin/python -m bench.gateway [--seconds 6] [--concurrency 1 4] [--export-invoices 20000]

Starts a private store, vhost, the four services and one gateway; then, at the same
client concurrency (separate client processes), measures calls/s and p50/p99 of
``GET /api/invoices/{id}`` vs ``invoice.get_invoice`` over RPC, and ``PATCH
/api/invoices/{id}`` vs ``invoice.update_invoice``; then writes a search fixture of
N invoices (the projector's fold, as bench.search_bench does) into the search
service's views and streams ``GET /api/invoices/export.csv`` of all of them: rows/s
and the gateway's peak RSS (VmHWM). Targets: ≥ 0.8× the RPC throughput, p99 ≤ 2× the
RPC p99; export peak RSS ≤ 200 MB. Saves JSON under bench/results/.

    python -m bench.gateway client http|rpc get|patch SECONDS INDEX FIXTURE_JSON
is one client process (prints its latencies as JSON).
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "services" / "gateway")]

from bench.results import save_report, stop_stack  # noqa: E402


# -- one client process -------------------------------------------------------------
def http_client(base: dict[str, Any], operation: str, seconds: float, index: int) -> list[float]:
    connection = http.client.HTTPConnection("127.0.0.1", base["port"], timeout=30)
    headers = {"Authorization": base["authorization"], "Content-Type": "application/json"}
    invoice_id = base["invoice_ids"][index]

    def call(n: int) -> None:
        if operation == "get":
            connection.request("GET", f"/api/invoices/{invoice_id}", headers=headers)
        else:
            body = json.dumps({"remarks": f"h{index}-{n}"})
            connection.request("PATCH", f"/api/invoices/{invoice_id}", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{operation}: {response.status}")
    return loop(call, seconds)


def rpc_client(base: dict[str, Any], operation: str, seconds: float, index: int) -> list[float]:
    import eventlet
    eventlet.monkey_patch()
    import signal
    # `timeout` or Ctrl-C: still stop the services and remove the store and vhost (finally)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    from nameko.standalone.rpc import ClusterRpcProxy
    config = {"AMQP_URI": base["amqp_uri"], "serializer": "json"}
    invoice_id = base["invoice_ids"][index]
    with ClusterRpcProxy(config, context_data={"authorization": base["authorization"]},
                         timeout=30) as hub:
        def call(n: int) -> None:
            if operation == "get":
                hub.invoice.get_invoice(invoice_id)
            else:
                hub.invoice.update_invoice(invoice_id, {"remarks": f"r{index}-{n}"})
        return loop(call, seconds)


def loop(call: Any, seconds: float) -> list[float]:
    for n in range(3):   # warm up
        call(-n - 1)
    latencies, n = [], 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        call(n)
        latencies.append(time.perf_counter() - started)
        n += 1
    return latencies


# -- the run --------------------------------------------------------------------------
def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def measure(via: str, operation: str, concurrency: int, seconds: float,
            base: dict[str, Any]) -> dict[str, Any]:
    procs = [subprocess.Popen([sys.executable, "-W", "ignore", "-m", "bench.gateway", "client", via,
                               operation, str(seconds), str(i), json.dumps(base)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for i in range(concurrency)]
    outputs = [p.communicate(timeout=seconds + 120) for p in procs]
    if any(p.returncode != 0 for p in procs):
        raise RuntimeError(f"a {via} {operation} client failed: {outputs[0][1].decode()[-2000:]}")
    latencies = [lat for out, _ in outputs for lat in json.loads(out.decode().strip().splitlines()[-1])]
    return {"via": via, "operation": operation, "concurrency": concurrency, "calls": len(latencies),
            "calls_per_s": round(len(latencies) / seconds, 1),
            "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 2)}


def peak_rss_mb(pid: int) -> tuple[float, float]:
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                values[line.split(":")[0]] = round(int(line.split()[1]) / 1024, 1)
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def export_csv(port: int, authorization: str, query: str = "") -> dict[str, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1200)
    started = time.perf_counter()
    connection.request("GET", f"/api/invoices/export.csv{query}", headers={"Authorization": authorization})
    response = connection.getresponse()
    first_byte = time.perf_counter() - started
    size, lines = 0, 0
    while chunk := response.read(65536):
        size += len(chunk)
        lines += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    if response.status != 200:
        raise RuntimeError(f"export: {response.status}")
    rows = lines - 1
    return {"rows": rows, "bytes": size, "seconds": round(seconds, 2),
            "first_byte_s": round(first_byte, 2), "rows_per_s": round(rows / seconds, 1)}


def export_section(options: Any, mongo_url: str, gateway: Any, authorization: str) -> dict[str, Any]:
    import requests

    from bench.search_bench import build_fixture
    from tests.support.infra import wait_for

    print(f"\nexport: writing a search fixture of {options.export_invoices:,} invoices ...", flush=True)

    def served() -> bool:
        answer = requests.get(f"{gateway.url}/api/invoices?limit=1", timeout=60,
                              headers={"Authorization": authorization})
        if answer.status_code != 200:
            raise RuntimeError(f"{answer.status_code}: {answer.text[:300]}")
        return bool(answer.json()["total"] >= options.export_invoices)

    client, _db, built = build_fixture(mongo_url, options.export_invoices, db_name="gwbench_search")
    client.close()
    wait_for(served, timeout=300, interval=2, message="the fixture to be served")
    assert gateway.process.proc is not None
    rss_before, peak_before = peak_rss_mb(gateway.process.proc.pid)
    exported = export_csv(gateway.port, authorization)
    rss_after, peak = peak_rss_mb(gateway.process.proc.pid)
    exported.update(rss_before_mb=rss_before, peak_before_mb=peak_before, rss_after_mb=rss_after,
                    peak_rss_mb=peak, fixture=built)
    print(f"  export.csv: {exported['rows']:,} rows in {exported['seconds']} s = "
          f"{exported['rows_per_s']} rows/s (first byte {exported['first_byte_s']} s), "
          f"{exported['bytes'] / 1e6:.1f} MB; gateway RSS {rss_before} → {rss_after} MB, "
          f"peak {peak} MB (before the export {peak_before} MB; target ≤ 200)", flush=True)
    if options.compare_single_query:
        # the same rows through one query paged by cursor (an explicit sort takes that path)
        single = export_csv(gateway.port, authorization, "?sort=-issued_on")
        exported["single_query"] = single
        print(f"  export.csv?sort=-issued_on (one query paged): {single['rows']:,} rows in "
              f"{single['seconds']} s = {single['rows_per_s']} rows/s", flush=True)
    return exported


def main() -> int:
    if sys.argv[1:2] == ["client"]:
        via, operation, seconds, index, base = sys.argv[2:7]
        run = http_client if via == "http" else rpc_client
        print(json.dumps(run(json.loads(base), operation, float(seconds), int(index))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--export-invoices", type=int, default=20_000)
    parser.add_argument("--compare-single-query", action="store_true",
                        help="also export through one query paged by cursor (slow)")
    parser.add_argument("--sections", nargs="+", choices=["calls", "export"], default=["calls", "export"])
    options = parser.parse_args()

    import eventlet
    eventlet.monkey_patch()
    from nameko.standalone.rpc import ClusterRpcProxy

    from tests.support.actors import token_for
    from tests.support.gateway import GatewayProcess, write_users_file
    from tests.support.infra import MongoProcess, RabbitVhost, ServiceProcess, service_env

    print("bench.gateway: starting a private store, vhost, the four services and a gateway ...",
          flush=True)
    mongo, vhost = MongoProcess(on_disk=True), RabbitVhost()
    log_dir = tempfile.mkdtemp(prefix="bench-gateway-")
    env = service_env(vhost.amqp_uri, mongo.url, "gwbench_")
    env["NO_PROXY"] = "127.0.0.1,localhost"
    services = {name: ServiceProcess(name, env, log_dir).start()
                for name in ("customer", "invoice", "approval", "search")}
    users = write_users_file(Path(log_dir) / "users.json")
    # an unfiltered search over the whole fixture can take longer than the default 10 s here
    gateway = GatewayProcess(env, log_dir, users, GATEWAY_RPC_TIMEOUT="60")
    try:
        gateway.start()
        authorization = token_for(roles=["admin"], sub="bench-admin", ttl_seconds=3600)  # the services refuse longer-lived tokens
        config = {"AMQP_URI": vhost.amqp_uri, "serializer": "json"}
        with ClusterRpcProxy(config, context_data={"authorization": authorization}, timeout=60) as hub:
            customer = hub.customer.create_customer({"name": "压测客户"})
            invoice_ids = [hub.invoice.create_invoice(
                {"title": f"压测发票 {n}", "type": "vat_ordinary", "amount": "100.00",
                 "issued_on": "2026-05-01", "customer_id": customer["id"]})["id"]
                for n in range(max(options.concurrency) * 2)]
        rows = []
        for concurrency in (options.concurrency if "calls" in options.sections else []):
            for operation in ("get", "patch"):
                pair = {}
                for via in ("rpc", "http"):
                    # rpc clients use ids [0, c), http clients [c, 2c): no write races between them
                    offset = 0 if via == "rpc" else concurrency
                    base = {"port": gateway.port, "amqp_uri": vhost.amqp_uri,
                            "authorization": authorization,
                            "invoice_ids": invoice_ids[offset:offset + concurrency]}
                    pair[via] = measure(via, operation, concurrency, options.seconds, base)
                    row = pair[via]
                    print(f"  {operation:5} via {via:4} c={concurrency}  {row['calls_per_s']:8.1f} calls/s  "
                          f"p50 {row['p50_ms']:7.2f} ms  p99 {row['p99_ms']:7.2f} ms", flush=True)
                pair["http"]["throughput_ratio"] = round(pair["http"]["calls_per_s"] / pair["rpc"]["calls_per_s"], 3)
                pair["http"]["p99_ratio"] = round(pair["http"]["p99_ms"] / pair["rpc"]["p99_ms"], 3)
                rows += [pair["rpc"], pair["http"]]
        exported = export_section(options, mongo.url, gateway, authorization) \
            if "export" in options.sections else {}
        print("\nthrough the gateway vs direct RPC (targets: ≥ 0.8× calls/s, p99 ≤ 2×):")
        for row in rows:
            if row["via"] == "http":
                ok = row["throughput_ratio"] >= 0.8 and row["p99_ratio"] <= 2
                print(f"  {row['operation']:5} c={row['concurrency']}  {row['throughput_ratio']:.2f}× calls/s, "
                      f"p99 {row['p99_ratio']:.2f}×  {'ok' if ok else 'BELOW TARGET'}")
        report = {"at": dt.datetime.now(dt.timezone.utc).isoformat(), "seconds": options.seconds,
                  "cpus": os.cpu_count(), "rows": rows, "export": exported,
                  "targets": {"throughput_ratio_min": 0.8, "p99_ratio_max": 2.0,
                              "export_peak_rss_mb_max": 200}}
        save_report("gateway", report)
        return 0
    finally:
        stop_stack([gateway, *services.values()], mongo, vhost)


if __name__ == "__main__":
    sys.exit(main())
