"""Cost as data grows (issue 14): ``python -m bench.growth [--sizes 1000 100000]``.

For each size: a fresh private store (on disk, --sync-on-commit) and vhost, the four
services, customers made through RPC, then the bulk fixture (bench/fixture.py: the
invoices as the services would have written them, services stopped meanwhile), the
services started again, and p50/p99 of create_invoice, update_field, get_invoice, search
by customer and stats through RPC, and the peak RSS (VmHWM) of each service process.
Prints the table with each call's p50 ratio largest/smallest size (target <= 1.3x; RSS
<= 150 MB) and saves it with bench.results.save_report.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from bench.fixture import load_invoices  # noqa: E402
from bench.results import save_report  # noqa: E402
from bench.search_bench import ms  # noqa: E402
from search.adapters.views import MongoViews  # noqa: E402
from shared.mongo import connect, database  # noqa: E402
from tests.support.infra import (  # noqa: E402
    MongoProcess,
    RabbitVhost,
    ServiceProcess,
    service_env,
    signing_key,
    wait_for,
)

SERVICES = ("customer", "invoice", "approval", "search")
STOPPED_FOR_FIXTURE = ("invoice", "approval", "search")
PREFIX = "growth_"
P50_RATIO_MAX, RSS_MB_MAX = 1.3, 150


def client(amqp_uri: str, step: str, args: dict[str, Any], timeout: float = 900) -> Any:
    out = subprocess.run([sys.executable, "-W", "ignore", "-m", "bench.growth_client", amqp_uri, step,
                          json.dumps(args)], cwd=ROOT, capture_output=True, timeout=timeout, check=True).stdout
    return json.loads(out.decode().strip().splitlines()[-1])


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


class Phases:
    """Prints each phase as it starts and keeps its seconds."""

    def __init__(self, size: int) -> None:
        self.size, self.seconds, self._name, self._started = size, dict[str, float](), "", 0.0

    def __call__(self, name: str) -> None:
        self.end()
        self._name, self._started = name, time.perf_counter()
        print(f"  [{self.size:,}] {name} ...", flush=True)

    def end(self) -> None:
        if self._name:
            self.seconds[self._name] = round(time.perf_counter() - self._started, 1)
            print(f"  [{self.size:,}] {self._name}: {self.seconds[self._name]} s", flush=True)
            self._name = ""


def run_size(size: int, options: Any) -> dict[str, Any]:
    phase = Phases(size)
    phase("private store, vhost, services")
    mongo, vhost = MongoProcess(on_disk=True), RabbitVhost()
    env = service_env(vhost, mongo.url, PREFIX)
    for key in [k for k in env if k.startswith("APPROVAL_")]:
        env.pop(key)  # the services' own timer intervals, not the tests' fast ones
    log_dir = tempfile.mkdtemp(prefix="bench-growth-")
    services = {name: ServiceProcess(name, env, log_dir).start() for name in SERVICES}
    db_client = connect(mongo.url)
    dbs = {name: database(db_client, f"{PREFIX}{name}") for name in SERVICES}
    try:
        phase("customers through RPC")
        customers = client(vhost.amqp_uri, "customers", {"count": options.customers})
        views = MongoViews(dbs["search"], 0)
        wait_for(lambda: all(views.customer_name(c) for c in customers), timeout=120, interval=0.2,
                 message="the search views of the customers")

        def relayed() -> bool:
            counter = dbs["invoice"]["counters"].find_one({"_id": "position"}) or {}
            lease = dbs["invoice"]["outbox_relay"].find_one({"_id": "outbox"}) or {}
            return bool(counter) and counter.get("value") == lease.get("position")
        wait_for(relayed, timeout=60, interval=0.2, message="the invoice relay to publish its events")
        phase("stop invoice, approval, search")
        for name in STOPPED_FOR_FIXTURE:
            services[name].stop()
        phase(f"bulk fixture of {size:,} invoices")
        fixture = load_invoices(dbs["invoice"], dbs["search"], dbs["approval"], signing_key("invoice"),
                                size, customers, indexes_after=options.indexes_after,
                                progress=lambda line: print(line, flush=True))
        phase("start invoice, approval, search")
        for name in STOPPED_FOR_FIXTURE:
            services[name] = ServiceProcess(name, env, log_dir).start()
        client(vhost.amqp_uri, "ready", {})
        phase(f"measure ({options.repeat} calls each)")
        invoices = [f"inv_fx{n:07d}" for n in range(0, size, max(1, size // 500))]
        times = client(vhost.amqp_uri, "measure", {"customers": customers, "invoices": invoices,
                                                    "repeat": options.repeat})
        phase.end()
        rss = {name: peak_rss_mb(p.proc.pid) for name, p in services.items()
               if p.alive() and p.proc is not None}
        return {"invoices": size, "fixture": fixture, "phases_s": phase.seconds,
                "calls": {name: ms(values) for name, values in times.items()}, "peak_rss_mb": rss,
                "load_avg": os.getloadavg()}
    finally:
        for process in services.values():
            process.stop()
        db_client.close()
        mongo.stop()
        vhost.delete()


def table(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Print the p50/p99 per call and size, and p50 ratio largest/smallest."""
    first, last = runs[0], runs[-1]
    ratios: dict[str, float] = {}
    print("\ncall                  " + "".join(f"{r['invoices']:>10,} p50/p99 ms  " for r in runs)
          + f"  p50 {last['invoices']:,}/{first['invoices']:,}")
    for name in first["calls"]:
        cells = "".join(f"{r['calls'][name]['p50_ms']:>10.1f} /{r['calls'][name]['p99_ms']:>7.1f}   "
                        for r in runs)
        ratios[name] = round(last["calls"][name]["p50_ms"] / max(first["calls"][name]["p50_ms"], 1e-6), 2)
        mark = "ok" if ratios[name] <= P50_RATIO_MAX else "ABOVE TARGET"
        print(f"{name:22}{cells}  {ratios[name]:.2f}x {mark}")
    for run in runs:
        worst = max(run["peak_rss_mb"].values(), default=0.0)
        mark = "ok" if worst <= RSS_MB_MAX else "ABOVE TARGET"
        print(f"peak RSS at {run['invoices']:,} (target <= {RSS_MB_MAX} MB): "
              + ", ".join(f"{k} {v} MB" for k, v in run["peak_rss_mb"].items()) + f"  {mark}")
        print(f"fixture at {run['invoices']:,}: {run['fixture']}")
    return ratios


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--repeat", type=int, default=60, help="calls of each kind per size")
    parser.add_argument("--customers", type=int, default=50)
    # measured (README): SecantusDB builds an index on existing data far slower than it
    # maintains it while inserting, so the indexes stay by default
    parser.add_argument("--indexes-after", action="store_true",
                        help="drop the big collections' indexes for the fixture and build them after")
    options = parser.parse_args()
    runs = []
    for size in sorted(options.sizes):
        print(f"growth: {size:,} invoices", flush=True)
        runs.append(run_size(size, options))
    ratios = table(runs)
    save_report("growth", {"runs": runs, "p50_ratio": ratios, "cpus": os.cpu_count(),
                           "targets": {"p50_ratio_max": P50_RATIO_MAX, "rss_mb_max": RSS_MB_MAX}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
