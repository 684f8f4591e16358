"""Auditor's tool: replay a service's whole event history through RPC and verify it
independently of the service's own ``verify``.

    python -m shared.audit invoice            # or: customer, approval
    python -m shared.audit invoice --token "Bearer …" --amqp-uri amqp://…
    python -m shared.audit invoice --export-heads heads-2026-05-01.json
    python -m shared.audit invoice --against heads-2026-05-01.json

Checks every stream's hash chain, every event's signature (the producer's public keys
from ``--keys-dir``, default ``EVENT_KEYS_DIR`` or ``var/keys``), the global order, that
each stream still reaches its recorded, signed head (``read_heads``: a deleted tail is
found), and the service's own check of its state documents against their events
(``verify``). ``--export-heads`` saves the signed head of every stream to a file kept
apart from the system; ``--against`` that file later proves that nothing up to those
heads changed (each stream must still pass through its exported head, and the chain
ties every earlier event to it).

Without ``--token`` it signs a short-lived ``auditor`` token with INVOICE_AUTH_SECRET
(dev mode). Prints progress (events, events/s) while it reads, then the streams and
events checked and every break found; exits 1 when anything is broken.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shared.auth import DEFAULT_SECRET, bearer, issue_token
from shared.dates import utc_now
from shared.events.envelope import ChainChecker, problem
from shared.keys import DEFAULT_KEYS_DIR, KeyRing, public_dir
from shared.rpc_client import client_proxy


def read_heads(service: Any, page_size: int = 1000) -> dict[str, dict[str, Any]]:
    """Every recorded stream head of ``service``, by stream id."""
    heads: dict[str, dict[str, Any]] = {}
    after = ""
    while True:
        page = service.read_heads(after_stream_id=after, limit=page_size)
        if not page["heads"]:
            return heads
        heads.update({h["stream_id"]: h for h in page["heads"]})
        after = page["last_stream_id"]


def audit(service: Any, page_size: int = 1000, progress: Any = None, *,
          producer: str | None = None, keys: KeyRing | None = None,
          exported: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """Read ``read_events`` from the start and check every stream: chain, signatures
    (given ``keys`` and ``producer``), recorded heads, state documents (the service's
    ``verify``) and, given ``exported`` heads, that every stream passes through them.
    The result's ``heads`` are the last events seen, ready to export."""
    signatures = None if keys is None or producer is None else \
        functools.partial(keys.problems, producer=producer)
    recorded = read_heads(service, page_size)
    checker, broken = ChainChecker(signatures, recorded), []
    last: dict[str, dict[str, Any]] = {}
    passed: dict[str, bool] = {}
    position, started, last_position_seen = 0, time.monotonic(), 0
    while True:
        page = service.read_events(after_position=position, limit=page_size)
        events = page["events"]
        if not events:
            break
        for event in events:
            if event["position"] <= last_position_seen:
                broken.append(problem(event["stream_id"], event["version"],
                                      "global position not increasing"))
            last_position_seen = event["position"]
            broken.extend(checker.feed(event))
            stream_id = event["stream_id"]
            last[stream_id] = {k: event.get(k) for k in ("version", "hash", "key_id", "signature")}
            wanted = (exported or {}).get(stream_id)
            if wanted is not None and int(wanted["version"]) == event["version"]:
                passed[stream_id] = wanted.get("hash") == event.get("hash")
        position = page["last_position"]
        if progress is not None:
            elapsed = max(time.monotonic() - started, 1e-6)
            progress(checker.checked, checker.checked / elapsed)
    later: dict[str, dict[str, Any]] | None = None

    def recorded_now(stream_id: str) -> Mapping[str, Any] | None:
        nonlocal later  # streams begun while reading: their heads are read once more
        if later is None:
            later = read_heads(service, page_size)
        return later.get(stream_id)
    broken.extend(checker.head_breaks(recorded_now))
    broken.extend(b for b in service.verify()["broken"]
                  if str(b.get("reason", "")).startswith("state document"))
    if exported is not None:
        broken.extend(exported_breaks(exported, passed, last, keys, producer))
    return {"ok": not broken, "checked": checker.checked, "streams": len(checker.heads),
            "broken": broken, "heads": last}


def exported_breaks(exported: Mapping[str, Mapping[str, Any]], passed: Mapping[str, bool],
                    last: Mapping[str, Mapping[str, Any]], keys: KeyRing | None,
                    producer: str | None) -> list[dict[str, Any]]:
    """Exported heads the streams no longer pass through (or whose signature in the
    file is not the producer's: a file edited to match a rewritten store)."""
    broken = []
    for stream_id, head in exported.items():
        version = int(head["version"])
        if keys is not None and producer is not None:
            for reason in keys.signature_problems(head.get("hash"), head.get("key_id"),
                                                  head.get("signature"), producer):
                broken.append(problem(stream_id, version, f"exported head: {reason}"))
        if stream_id not in passed:
            ends = int(last[stream_id]["version"]) if stream_id in last else 0
            broken.append(problem(stream_id, version, f"exported head missing: the stream "
                                                      f"ends at version {ends}"))
        elif not passed[stream_id]:
            broken.append(problem(stream_id, version,
                                  "the event at the exported head has changed"))
    return broken


def export_heads(path: str | Path, service_name: str, heads: Mapping[str, Any]) -> None:
    Path(path).write_text(json.dumps({"service": service_name, "exported_at": utc_now(),
                                      "heads": heads}, indent=1, sort_keys=True), encoding="utf-8")


def load_heads(path: str | Path, service_name: str) -> dict[str, dict[str, Any]]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if data.get("service") != service_name:
        raise SystemExit(f"{path} holds the heads of {data.get('service')!r}, not {service_name!r}")
    return dict(data["heads"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.audit", description=__doc__.splitlines()[0])
    parser.add_argument("service", choices=["invoice", "customer", "approval"])
    parser.add_argument("--amqp-uri", default=os.environ.get("INVOICE_CLIENT_AMQP_URI") or os.environ.get(
        "AMQP_URI", "amqp://invoice-client:invoice-client-dev@127.0.0.1:5672/"))
    parser.add_argument("--token", help='"Bearer <JWT>" of an auditor, admin or finance user')
    parser.add_argument("--keys-dir", default=os.environ.get("EVENT_KEYS_DIR", DEFAULT_KEYS_DIR),
                        help="keys directory; its public/ holds the producers' <service>-<n>.pub")
    parser.add_argument("--export-heads", metavar="FILE", help="save every stream's signed head")
    parser.add_argument("--against", metavar="FILE", help="prove nothing up to these heads changed")
    args = parser.parse_args(argv)
    keys = KeyRing.from_dir(public_dir(args.keys_dir))
    if not keys.keys:
        print(f"no public event keys (<service>-<n>.pub) in {public_dir(args.keys_dir)}",
              file=sys.stderr)
        return 2
    token = args.token or bearer(issue_token(
        os.environ.get("INVOICE_AUTH_SECRET", DEFAULT_SECRET), sub="audit-cli", name="audit",
        roles=["auditor"], ttl_seconds=3600))
    exported = load_heads(args.against, args.service) if args.against else None

    def show(count: int, rate: float) -> None:
        print(f"\r  {count:>10,} events checked  {rate:>9,.0f} events/s", end="", flush=True)

    with client_proxy(args.amqp_uri, token, timeout=120) as hub:
        report = audit(getattr(hub, args.service), progress=show, producer=args.service,
                       keys=keys, exported=exported)
    print(f"\n{args.service}: {report['checked']} events in {report['streams']} streams, "
          f"{'all chains intact' if report['ok'] else str(len(report['broken'])) + ' problems'}")
    for found in report["broken"]:
        print(f"  {found['invoice_id']} v{found['version']}: {found['reason']}")
    if args.export_heads:
        export_heads(args.export_heads, args.service, report["heads"])
        print(f"signed heads of {len(report['heads'])} streams saved to {args.export_heads}")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
