"""The write path at the store's limit (issue 14), measured in one run on this machine.

    .venv/bin/python -m bench.write_path [--seconds 5] [--concurrency 1 4 16] [--watched-rate 50]
                                         [--lag-seconds S] [--profile]

Starts a private store (on disk, --sync-on-commit), a private vhost, all four services
and a bare echo service; measures the store's raw rate of one append-shaped transaction
per command (``bench.__main__.store_round_trips``, sequential), then calls/s of echo,
``create_invoice`` and ``update_field`` at each client concurrency (separate client
processes), each as a ratio to echo at the same concurrency and to that raw rate.
Targets (issue 14): at concurrency 16 >= 1.5x the raw rate and >= 0.5x echo; at
concurrency 1 >= 0.8x the raw rate.

It also counts, from the services' ``/metrics``, the appending store transactions
(``crm_store_transactions_total``) against the appends (``crm_store_group_size_sum``:
what one-transaction-per-append, the store before group commit, would have run), per
command and per watched-field change (``bench.approval`` at ``--watched-rate``).
Consumers' own transactions (projections, trackers) are not in these counters. A
measurement's window also holds its clients' warm-up calls (3 each) and, for
``update_field``, the invoice each client creates first, so per-call figures run high
at concurrency 16; transactions per append is exact.

Store commands per call (``crm_store_commands_total`` by database, command and
collection, over every service process) are net of what the idle system sends in the
same time (relays' polls and lease renewals, timers; measured first, 3 s with no calls).

Also: each service process's CPU ms per call (/proc/<pid>/stat); projection lag
(``bench.search_lag``: update_field at the best rate measured -> the search view shows
it; p50/p99, with the rate reached; target p99 <= 100 ms); approval inbox latency at
``--watched-rate`` (target p99 <= 200 ms at 50/s, with the rate reached); the highest RSS
of each service process over the run (target <= 150 MB). ``--profile`` records a py-spy
profile of the invoice process during each write measurement (``bench/profile.py``) and
prints its top frames.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# bench.__main__ imports the test fakes, which import every service's domain
sys.path[:0] = [str(ROOT)] + [str(ROOT / "services" / name)
                              for name in ("invoice", "customer", "approval", "search")]

from bench.__main__ import approval_latency, clients, measure, store_round_trips  # noqa: E402
from bench.profile import Recording, RssWatch, cpu_seconds, summarize  # noqa: E402
from bench.results import save_report, stop_stack  # noqa: E402
from bench.search_bench import projection_lag  # noqa: E402
from tests.support.infra import MongoProcess, RabbitVhost, ServiceProcess, service_env  # noqa: E402

SERVICES = ("customer", "invoice", "approval", "search")
COUNTERS = {"transactions": re.compile(r'^crm_store_transactions_total\{[^}]*\} (\S+)$'),
            "appends": re.compile(r'^crm_store_group_size_sum\{[^}]*\} (\S+)$')}
COMMANDS = re.compile(r'^crm_store_commands_total\{collection="([^"]*)",command="([^"]*)",'
                      r'database="([^"]*)"\} (\S+)$')


def store_counts(run_dir: str) -> dict[str, float]:
    """Appending transactions and appends so far, summed over every service process."""
    totals = dict.fromkeys(COUNTERS, 0.0)
    for port_file in Path(run_dir).glob("*.port"):
        url = json.loads(port_file.read_text())["metrics_url"]
        with urllib.request.urlopen(url, timeout=10) as response:
            for line in response.read().decode().splitlines():
                for name, pattern in COUNTERS.items():
                    if (match := pattern.match(line)):
                        totals[name] += float(match.group(1))
                if (match := COMMANDS.match(line)):
                    collection, command, database, value = match.groups()
                    key = f"{database.removeprefix('benchw_')} {command} {collection}".strip()
                    totals[key] = totals.get(key, 0.0) + float(value)
    return totals


ELAPSED = "elapsed_s"


def counted(run_dir: str, action: Callable[[], Any]) -> tuple[Any, dict[str, float]]:
    """What ``action`` returns, and the counters' growth meanwhile (with ``elapsed_s``)."""
    before, started = store_counts(run_dir), time.perf_counter()
    result = action()
    after = store_counts(run_dir)
    counts = {name: after[name] - before.get(name, 0.0) for name in after}
    counts[ELAPSED] = time.perf_counter() - started
    return result, counts


def idle_rates(run_dir: str, seconds: float = 3.0) -> dict[str, float]:
    """Store commands per second with no calls at all (relays' polls, lease renewals,
    timers), to take out of a measurement's per-call figures."""
    _, counts = counted(run_dir, lambda: time.sleep(seconds))
    elapsed = counts.pop(ELAPSED)
    return {name: n / elapsed for name, n in counts.items() if name not in COUNTERS and n}


def start(run_dir: str) -> tuple[MongoProcess, RabbitVhost, dict[str, ServiceProcess]]:
    mongo, vhost = MongoProcess(on_disk=True), RabbitVhost()
    log_dir = tempfile.mkdtemp(prefix="bench-write-")
    env = service_env(vhost, mongo.url, "benchw_")
    env["PYTHONPATH"] += os.pathsep + str(ROOT / "bench")
    env["RUN_DIR"] = run_dir  # this run's port files only: their /metrics are counted
    env["STORE_COUNT_COMMANDS"] = "1"  # crm_store_commands_total (shared/mongo.py)
    for key in [k for k in env if k.startswith("APPROVAL_")]:
        env.pop(key)  # the services' own timer intervals, not the tests' fast ones
    services = {name: ServiceProcess(name, env, log_dir).start() for name in SERVICES}
    echo = ServiceProcess("bench_echo", env, log_dir)
    echo.proc = subprocess.Popen([sys.executable, "-W", "ignore", "-m", "nameko", "run",
                                  "--broker", vhost.amqp_uri, "echo_service"],
                                 cwd=ROOT / "bench", env=env,
                                 stdout=open(echo.log_path, "ab"), stderr=subprocess.STDOUT)
    services["bench_echo"] = echo
    return mongo, vhost, services


def cpu_per_call(pids: dict[str, int], action: Callable[[], dict[str, Any]],
                 profile: str | None = None, seconds: float = 0.0) -> dict[str, Any]:
    """Run one measurement; add each process's CPU ms per call (services and store) to its
    row, and with ``profile`` (a name) py-spy profiles of the invoice and store processes."""
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    recordings = [Recording(pids[name], f"{profile}-{name}", seconds + 2)
                  for name in ("invoice", "store")] if profile else []
    row = action()
    used = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
    calls = row["calls"] or 1
    row["cpu_ms_per_call"] = {name: round(seconds_used * 1000 / calls, 2)
                              for name, seconds_used in used.items()}
    for name, recording in zip(("invoice", "store"), recordings, strict=False):
        if (path := recording.finish()) is not None:
            row.setdefault("profile", {})[name] = dict(summarize(path), file=str(path.relative_to(ROOT)))
    return row


def print_profile(row: dict[str, Any], name: str) -> None:
    profile = row["profile"][name]
    print(f"\n  {name} process, {row['operation']} c={row['concurrency']}: {profile['samples']} "
          f"samples holding the GIL ({profile['file']})")
    print("    top self:      " + "; ".join(f"{n} {s:.0%}" for n, s in profile["self"][:8]))
    print("    our code (incl): " + "; ".join(f"{n} {s:.0%}" for n, s in profile["ours_inclusive"][:14]),
          flush=True)


def per_command(row: dict[str, Any], counts: dict[str, float], idle: dict[str, float]) -> dict[str, Any]:
    """The row with its store figures per call; store commands net of what the idle
    system sends in the same time (``idle``: per second)."""
    calls = row["calls"] or 1
    net = {name: n - idle.get(name, 0.0) * counts[ELAPSED] for name, n in counts.items()
           if name not in COUNTERS and name != ELAPSED}
    commands = {name: round(n / calls, 2) for name, n in sorted(net.items(), key=lambda kv: -kv[1])
                if round(n / calls, 2) > 0}
    appends = counts["appends"] or 1  # every command the clients sent, warm-ups included
    per_append = {name: round(n / appends, 2) for name, n in sorted(net.items(), key=lambda kv: -kv[1])
                  if round(n / appends, 2) > 0}
    return dict(row, store_commands_per_call=commands,
                store_commands_per_call_total=round(sum(commands.values()), 1),
                store_commands_per_append=per_append,
                store_commands_per_append_total=round(sum(per_append.values()), 1), store_transactions=int(counts["transactions"]), appends=int(counts["appends"]),
                transactions_per_call=round(counts["transactions"] / calls, 2),
                appends_per_call=round(counts["appends"] / calls, 2),
                transactions_per_append=round(counts["transactions"] / (counts["appends"] or 1), 2))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--watched-rate", type=float, default=50.0,
                        help="watched-field changes/s asked: approval inbox latency and per-change count (0: skip)")
    parser.add_argument("--lag-seconds", type=float, default=None,
                        help="how long to measure projection lag (default: --seconds)")
    parser.add_argument("--profile", action="store_true",
                        help="record a py-spy profile of the invoice process during each write "
                             "measurement (raw files under bench/results, not committed)")
    options = parser.parse_args()

    print("bench.write_path: starting a private store, vhost and the four services ...", flush=True)
    run_dir = tempfile.mkdtemp(prefix="bench-write-run-")
    mongo, vhost, services = start(run_dir)
    pids = {name: p.proc.pid for name, p in services.items() if p.proc is not None}
    pids["store"] = mongo.proc.pid
    rss = RssWatch(pids).start()
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    try:
        fixture: dict[str, Any] = clients(vhost.amqp_uri, "setup", 1, 0, {})[0][0]  # type: ignore[assignment]
        raw = store_round_trips(mongo.url)
        raw_rate = round(1000 / raw["append_transaction_ms"], 1)
        print(f"  store alone: one append-shaped transaction {raw['append_transaction_ms']} ms "
              f"= {raw_rate} commands/s (raw rate)", flush=True)
        idle = idle_rates(run_dir)
        print(f"  idle: {round(sum(idle.values()), 1)} store commands/s with no calls (taken out of the "
              "per-call counts below)", flush=True)
        rows = []
        for concurrency in options.concurrency:
            for operation in ("echo", "create_invoice", "update_field"):
                profile = f"{stamp}-{operation}-c{concurrency}" \
                    if options.profile and operation != "echo" else None

                def one(o: str = operation, c: int = concurrency, p: str | None = profile) -> dict[str, Any]:
                    return cpu_per_call(
                        pids, lambda: measure(vhost.amqp_uri, o, c, options.seconds, fixture),
                        p, options.seconds)
                row, counts = counted(run_dir, one)
                rows.append(per_command(row, counts, idle))
        for row in rows:
            echo = next(r for r in rows if r["operation"] == "echo" and r["concurrency"] == row["concurrency"])
            row["ratio_to_echo"] = round(row["calls_per_s"] / echo["calls_per_s"], 3)
            row["ratio_to_raw"] = round(row["calls_per_s"] / raw_rate, 3)
        print("\n  call            c   calls/s   p50 ms   p99 ms  x echo  x raw  "
              "store tx/call (appends/call) tx/append")
        for row in rows:
            tx = "" if row["operation"] == "echo" else \
                f"{row['transactions_per_call']:.2f} ({row['appends_per_call']:.2f}) " \
                f"{row['transactions_per_append']:.2f}"
            print(f"  {row['operation']:15} {row['concurrency']:2}  {row['calls_per_s']:8.1f} "
                  f"{row['p50_ms']:8.2f} {row['p99_ms']:8.2f}  {row['ratio_to_echo']:5.2f}  "
                  f"{row['ratio_to_raw']:5.2f}  {tx}", flush=True)
        print("\n  CPU ms per call (services' processes):")
        for row in rows:
            print(f"  {row['operation']:15} {row['concurrency']:2}  " + "  ".join(
                f"{name} {ms:.1f}" for name, ms in row["cpu_ms_per_call"].items()), flush=True)
        print("\n  store commands per command handled (= per append, the clients' warm-up calls included;"
              " all processes; top 12 by database, command, collection):")
        for row in rows:
            if row["operation"] != "echo":
                top = list(row["store_commands_per_append"].items())[:12]
                print(f"  {row['operation']:15} {row['concurrency']:2}  {row['store_commands_per_append_total']} in all: "
                      + "; ".join(f"{name} {n}" for name, n in top), flush=True)
        for row in rows:
            for name in row.get("profile", {}):
                print_profile(row, name)
        best = max((r for r in rows if r["operation"] == "update_field"), key=lambda r: r["calls_per_s"])
        print(f"\nprojection lag: update_field asked at {best['calls_per_s']}/s (the best rate measured, "
              f"c={best['concurrency']}) -> visible in search", flush=True)
        lag = projection_lag(vhost.amqp_uri, mongo.url, best["calls_per_s"],
                             options.lag_seconds or options.seconds, database="benchw_search")
        print(f"  reached {lag['rate_achieved']}/s ({lag['commands']} commands): p50 {lag['p50_ms']} ms  "
              f"p99 {lag['p99_ms']} ms  (target p99 <= 100 ms)", flush=True)
        watched: dict[str, Any] = {}
        if options.watched_rate > 0:
            print(f"\nwatched-field changes at {options.watched_rate}/s (approval flow holding them):", flush=True)
            watched, counts = counted(run_dir, lambda: approval_latency(
                vhost.amqp_uri, options.watched_rate, options.seconds))
            counts.pop(ELAPSED)
            changes = max(1, int(watched.get("changes") or watched.get("seen") or 1))
            watched.update(appends_per_change=round(counts["appends"] / changes, 2),
                           transactions_per_change=round(counts["transactions"] / changes, 2))
            # the window includes creating the invoice each held change needs (bench.approval)
            print(f"  appending store transactions per watched change: {watched['transactions_per_change']} "
                  f"(one per append, as before group commit: {watched['appends_per_change']}; "
                  "both include creating the change's invoice)", flush=True)
        memory = rss.stop()
        print("  RSS per process, max over the run (target <= 150 MB): "
              + ", ".join(f"{name} {mb} MB" for name, mb in memory.items()), flush=True)
        report = {"at": dt.datetime.now(dt.timezone.utc).isoformat(), "load_average": os.getloadavg(),
                  "cpus": os.cpu_count(), "seconds": options.seconds, "store": raw,
                  "raw_rate": raw_rate, "rows": rows, "watched": watched, "projection_lag": lag,
                  "rss_max_mb": memory, "idle_store_commands_per_s": idle,
                  "targets": {"c16_ratio_to_raw_min": 1.5, "c16_ratio_to_echo_min": 0.5,
                              "c1_ratio_to_raw_min": 0.8, "lag_p99_ms_max": 100,
                              "approval_p99_ms_max_at_50_per_s": 200, "rss_mb_max": 150}}
        save_report("write-path", report)
        print(f"load average {os.getloadavg()}")
        return 0
    finally:
        rss.stop()
        stop_stack(services.values(), mongo, vhost)


if __name__ == "__main__":
    sys.exit(main())
