"""Wait until each service answers one cheap RPC call, or fail after a timeout.

    .venv/bin/python scripts/wait_ready.py [SERVICE ...] [--timeout 120] [--pid-file F]

Calls, with an admin token signed by INVOICE_AUTH_SECRET: customer.list_customers,
invoice.list_invoice_types, approval.list_flows, search.projection_status; for the HTTP
gateway, GET /api/health on GATEWAY_HOST:GATEWAY_PORT answering 200.
With --pid-file, gives up at once when that process (supervisord) has exited.
Run from the repository root (``shared`` must be importable).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import urllib.request
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
logging.getLogger("amqp").setLevel(logging.ERROR)  # "Received method ... during closing"


from shared import rpc_errors  # noqa: E402, F401 - replies carry the contract errors by type
from shared.auth import DEFAULT_SECRET, bearer, issue_token  # noqa: E402
from shared.rpc_client import client_proxy  # noqa: E402

PROBES: dict[str, Callable[[Any], Any]] = {
    "customer": lambda hub: hub.customer.list_customers(limit=1),
    "invoice": lambda hub: hub.invoice.list_invoice_types(),
    "approval": lambda hub: hub.approval.list_flows(),
    "search": lambda hub: hub.search.projection_status(),
    "gateway": lambda hub: None,   # HTTP, not RPC: see probe_gateway
}


def client_uri() -> str:
    """The internal-caller account's URI (run.sh exports it), else AMQP_URI."""
    return os.environ.get("INVOICE_CLIENT_AMQP_URI") or os.environ.get("AMQP_URI") \
        or "amqp://invoice-client:invoice-client-dev@127.0.0.1:5672/"


def authorization() -> str:
    secret = os.environ.get("INVOICE_AUTH_SECRET") or DEFAULT_SECRET
    return bearer(issue_token(secret, sub="ops", name="ops", roles=["admin"]))


def process_alive(pid_file: str | None) -> bool:
    if not pid_file:
        return True
    try:
        os.kill(int(Path(pid_file).read_text().strip()), 0)
        return True
    except (OSError, ValueError):
        return False


def probe_gateway(call_timeout: float) -> None:
    host = os.environ.get("GATEWAY_HOST") or "127.0.0.1"
    port = os.environ.get("GATEWAY_PORT") or "8000"
    url = f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}/api/health"
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    with direct.open(url, timeout=call_timeout) as response:
        if response.status != 200:
            raise RuntimeError(f"GET {url}: {response.status}")


def probe(service: str, call_timeout: float) -> None:
    if service == "gateway":
        probe_gateway(call_timeout)
        return
    with client_proxy(client_uri(), authorization(), timeout=call_timeout) as hub:
        PROBES[service](hub)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("services", nargs="*", default=list(PROBES), choices=[*PROBES, []])
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds, for all services")
    parser.add_argument("--pid-file", help="give up when this process is gone")
    args = parser.parse_args(argv)

    deadline = time.monotonic() + args.timeout
    waiting = list(dict.fromkeys(args.services))
    last_error: dict[str, str] = {}
    started = next_report = time.monotonic()
    while waiting:
        for service in list(waiting):
            if not process_alive(args.pid_file):
                print(f"    the service runner exited before {', '.join(waiting)} answered", flush=True)
                return 1
            try:
                probe(service, call_timeout=5)
            except Exception as exc:  # noqa: BLE001 - not ready yet: report and retry
                last_error[service] = f"{type(exc).__name__}: {exc}"
            else:
                waiting.remove(service)
                print(f"    {service:<9} ready ({time.monotonic() - started:.1f}s)", flush=True)
        if not waiting:
            break
        if time.monotonic() >= deadline:
            for service in waiting:
                print(f"    {service:<9} NOT ready after {args.timeout:.0f}s; last error: "
                      f"{last_error.get(service, '-')}", flush=True)
            return 1
        if time.monotonic() >= next_report:
            print(f"    waiting for {', '.join(waiting)} "
                  f"({deadline - time.monotonic():.0f}s left)", flush=True)
            next_report = time.monotonic() + 5
        time.sleep(0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
