"""Auditor's tool: replay a service's whole event history through RPC and verify every
hash chain independently of the service's own ``verify``.

    python -m shared.audit invoice            # or: customer, approval
    python -m shared.audit invoice --token "Bearer …" --amqp-uri amqp://…

Without ``--token`` it signs a short-lived ``auditor`` token with INVOICE_AUTH_SECRET.
Prints progress (events, events/s) while it reads, then the streams and events checked
and every break found; exits 1 when anything is broken.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from nameko.standalone.rpc import ClusterRpcProxy

from shared.auth import DEFAULT_SECRET, bearer, issue_token
from shared.events.envelope import ChainChecker


def audit(service: Any, page_size: int = 1000, progress: Any = None) -> dict[str, Any]:
    """Read ``read_events`` from the start and check every stream's chain."""
    checker, broken, position, started = ChainChecker(), [], 0, time.monotonic()
    last_position_seen = 0
    while True:
        page = service.read_events(after_position=position, limit=page_size)
        events = page["events"]
        if not events:
            break
        for event in events:
            if event["position"] <= last_position_seen:
                broken.append({"invoice_id": event["stream_id"], "version": event["version"],
                               "reason": "global position not increasing"})
            last_position_seen = event["position"]
            broken.extend(checker.feed(event))
        position = page["last_position"]
        if progress is not None:
            elapsed = max(time.monotonic() - started, 1e-6)
            progress(checker.checked, checker.checked / elapsed)
    return {"ok": not broken, "checked": checker.checked, "streams": len(checker.heads),
            "broken": broken}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.audit", description=__doc__.splitlines()[0])
    parser.add_argument("service", choices=["invoice", "customer", "approval"])
    parser.add_argument("--amqp-uri", default=os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"))
    parser.add_argument("--token", help='"Bearer <JWT>" of an auditor, admin or finance user')
    args = parser.parse_args(argv)
    token = args.token or bearer(issue_token(
        os.environ.get("INVOICE_AUTH_SECRET", DEFAULT_SECRET), sub="audit-cli", name="audit",
        roles=["auditor"], ttl_seconds=3600))

    def show(count: int, rate: float) -> None:
        print(f"\r  {count:>10,} events checked  {rate:>9,.0f} events/s", end="", flush=True)

    config = {"AMQP_URI": args.amqp_uri, "serializer": "json"}
    with ClusterRpcProxy(config, context_data={"authorization": token}, timeout=120) as hub:
        report = audit(getattr(hub, args.service), progress=show)
    print(f"\n{args.service}: {report['checked']} events in {report['streams']} streams, "
          f"{'all chains intact' if report['ok'] else str(len(report['broken'])) + ' problems'}")
    for problem in report["broken"]:
        print(f"  {problem['invoice_id']} v{problem['version']}: {problem['reason']}")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
