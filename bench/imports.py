"""Benchmark of the bulk import (issue 15): 10,000 rows committed through the gateway.

    .venv/bin/python -m bench.imports [--rows 10000]

Starts a private store (on disk), vhost, the four services and one gateway; builds a
CSV of N rows in the export's columns (customer by name, an external_id each), sends
it as a dry run, then with ``commit=true``, then once more (every row is skipped: its
external_id was imported), each time following the job to its end. Prints and saves
(bench/results/imports-*.json) the seconds and rows/s of each pass and checks that the
commit created N invoices and the re-send none. No target: the figure is the result.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "services" / "gateway")]

from bench.results import save_report, stop_stack  # noqa: E402


def csv_rows(customer_name: str, count: int) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["external_id", "title", "type", "amount", "issued_on", "customer_name"])
    for n in range(count):
        writer.writerow([f"bench-{n}", f"导入压测 {n}", "receipt", f"{1 + n % 97}.00",
                         f"2026-{1 + n % 12:02d}-10", customer_name])
    return buffer.getvalue().encode("utf-8")


def one_pass(base_url: str, authorization: str, content: bytes, commit: bool) -> dict[str, Any]:
    import requests
    headers = {"Authorization": authorization}
    started = time.monotonic()
    answer = requests.post(f"{base_url}/api/invoices/import", headers=headers,
                           params={"commit": "true"} if commit else None,
                           files={"file": ("bench.csv", content, "text/csv")}, timeout=120)
    answer.raise_for_status()
    job = answer.json()
    while job["status"] in ("queued", "running"):
        time.sleep(0.5)
        job = requests.get(f"{base_url}/api/imports/{job['id']}", headers=headers,
                           params={"limit": 1}, timeout=60).json()
    seconds = time.monotonic() - started
    return {"commit": commit, "status": job["status"], "total": job["total"],
            "summary": job["summary"], "seconds": round(seconds, 1),
            "rows_per_s": round(job["total"] / seconds, 1), "message": job.get("message")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    options = parser.parse_args()

    from nameko.standalone.rpc import ClusterRpcProxy

    from tests.support.actors import token_for
    from tests.support.gateway import GatewayProcess, environ_without_proxy, write_users_file
    from tests.support.infra import MongoProcess, RabbitVhost, ServiceProcess, service_env

    print("bench.imports: starting a private store, vhost, the four services and a gateway ...",
          flush=True)
    environ_without_proxy()
    mongo, vhost = MongoProcess(on_disk=True), RabbitVhost()
    log_dir = tempfile.mkdtemp(prefix="bench-imports-")
    env = service_env(vhost.amqp_uri, mongo.url, "impbench_")
    services = {name: ServiceProcess(name, env, log_dir).start()
                for name in ("customer", "invoice", "approval", "search")}
    gateway = GatewayProcess(env, log_dir, write_users_file(Path(log_dir) / "users.json"))
    try:
        gateway.start()
        authorization = token_for(roles=["admin"], sub="bench-admin", ttl_seconds=3600)
        config = {"AMQP_URI": vhost.amqp_uri, "serializer": "json"}
        with ClusterRpcProxy(config, context_data={"authorization": authorization}, timeout=60) as hub:
            customer = hub.customer.create_customer({"name": "导入压测客户"})
        content = csv_rows(customer["name"], options.rows)
        passes = []
        for commit in (False, True, True):
            result = one_pass(gateway.url, authorization, content, commit)
            passes.append(result)
            print(f"  {'commit' if commit else 'dry run':8} {result['status']:6} {result['seconds']:7.1f} s  "
                  f"{result['rows_per_s']:7.1f} rows/s  {result['summary']}", flush=True)
        created, resent = passes[1]["summary"], passes[2]["summary"]
        assert created["created"] == options.rows, created
        assert resent["skipped"] == options.rows and resent["created"] == 0, resent
        report = {"at": dt.datetime.now(dt.timezone.utc).isoformat(), "rows": options.rows,
                  "cpus": os.cpu_count(), "passes": passes}
        save_report("imports", report)
        return 0
    finally:
        stop_stack([gateway, *services.values()], mongo, vhost)


if __name__ == "__main__":
    sys.exit(main())
