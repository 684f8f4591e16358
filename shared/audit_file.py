"""An auditor's offline copy of the event stores: export to JSON lines, check without
services, broker or store.

The file (``crm-audit/1``) is one JSON object per line:

    {"kind": "header", "format": "crm-audit/1", "exported_at": "...", "stores": [...]}
    {"kind": "event", "store": "invoice", "event": {<envelope as read_events gives it>}}
    ...
    {"kind": "head", "store": "invoice", "events": 1234, "last_position": 1234,
     "streams": {"<stream_id>": {"version": 7, "hash": "..."}}}

Each store's events come in global position order, then its head line: what every
stream's last version and hash were when the export read them (a ``signature`` there,
when the service signs its heads, is kept as given).

``check`` recomputes every hash chain (gaps, broken links, altered content), checks
positions increase, and that the chains end exactly at the heads and the counts match;
a per-event signature check can be plugged in (``SignatureCheck``): it runs on every
envelope that carries a ``signature`` when public keys are given.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from shared.dates import utc_now
from shared.events.envelope import ChainChecker

FORMAT = "crm-audit/1"
STORES = ("invoice", "customer", "approval")

SignatureCheck = Callable[[Mapping[str, Any], Mapping[str, Any]], str | None]
"""(envelope, public keys) -> None when the signature holds, else the reason."""

SIGNATURE_CHECK: SignatureCheck | None = None
"""The installed per-event signature check (None: hashes and heads only). Signing
envelopes lives elsewhere; whoever adds it sets this."""

Progress = Callable[[str, int, int], None]  # (store, events so far, last position of the store)


def export(services: Mapping[str, Any], out: IO[str], page_size: int = 1000,
           progress: Progress | None = None) -> dict[str, int]:
    """Write every event of each store (``services``: name -> RPC proxy offering
    ``read_events``) to ``out``; return the number of events per store."""
    out.write(json.dumps({"kind": "header", "format": FORMAT, "exported_at": utc_now(),
                          "stores": list(services)}) + "\n")
    counts = {}
    for store, service in services.items():
        heads: dict[str, dict[str, Any]] = {}
        position, count = 0, 0
        while True:
            page = service.read_events(after_position=position, limit=page_size)
            events = page["events"]
            if not events:
                break
            out.write("".join(json.dumps({"kind": "event", "store": store, "event": event},
                                         ensure_ascii=False) + "\n" for event in events))
            for event in events:
                heads[event["stream_id"]] = {"version": event["version"], "hash": event["hash"]}
            count += len(events)
            position = int(page["last_position"])
            if progress is not None:
                progress(store, count, position)
        out.write(json.dumps({"kind": "head", "store": store, "events": count,
                              "last_position": position, "streams": heads}) + "\n")
        counts[store] = count
    return counts


@dataclass
class StoreCheck:
    checker: ChainChecker = field(default_factory=ChainChecker)
    last_position: int = 0
    events: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    head_seen: bool = False


@dataclass
class Report:
    stores: dict[str, StoreCheck] = field(default_factory=dict)
    problems: list[dict[str, Any]] = field(default_factory=list)
    events: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems and all(not s.problems and s.head_seen for s in self.stores.values())

    def to_dict(self) -> dict[str, Any]:
        problems = list(self.problems)
        for name, store in self.stores.items():
            problems += store.problems
            if not store.head_seen:
                problems.append({"store": name, "stream_id": None, "version": None,
                                 "reason": "no head line: the file ends early"})
        return {"ok": not problems, "events": self.events, "seconds": round(self.seconds, 3),
                "events_per_second": round(self.events / self.seconds) if self.seconds else None,
                "stores": {name: {"events": s.events, "streams": len(s.checker.heads),
                                  "last_position": s.last_position}
                           for name, s in self.stores.items()},
                "problems": problems}


def check(lines: Iterable[str], public_keys: Mapping[str, Any] | None = None,
          verify_signature: SignatureCheck | None = None,
          progress: Callable[[int], None] | None = None) -> Report:
    """Verify an export file line by line (constant memory per stream)."""
    report, started = Report(), time.perf_counter()
    header_seen = False
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            kind = record["kind"]
        except (ValueError, KeyError, TypeError):
            report.problems.append({"store": None, "stream_id": None, "version": None,
                                    "reason": f"line {number} is not a record of this format"})
            continue
        if kind == "event":
            _check_event(report, record, number, public_keys, verify_signature)
            if progress is not None and report.events % 10_000 == 0:
                progress(report.events)
        elif kind == "head":
            _check_head(report, record)
        elif kind == "header":
            header_seen = record.get("format") == FORMAT
    if not header_seen:
        report.problems.append({"store": None, "stream_id": None, "version": None,
                                "reason": f"no {FORMAT} header line"})
    report.seconds = time.perf_counter() - started
    return report


def _check_event(report: Report, record: Mapping[str, Any], number: int,
                 public_keys: Mapping[str, Any] | None, verify_signature: SignatureCheck | None) -> None:
    store = report.stores.setdefault(str(record.get("store")), StoreCheck())
    event = record.get("event") or {}
    report.events += 1
    store.events += 1
    try:
        position = int(event["position"])
        breaks = store.checker.feed(event)
    except (KeyError, TypeError, ValueError) as exc:
        store.problems.append({"store": record.get("store"), "stream_id": event.get("stream_id"),
                               "version": event.get("version"),
                               "reason": f"line {number}: not an event envelope ({exc})"})
        return
    for problem in breaks:
        store.problems.append({"store": record["store"], "stream_id": problem["invoice_id"],
                               "version": problem["version"], "reason": f"line {number}: {problem['reason']}"})
    if position <= store.last_position:
        store.problems.append({"store": record["store"], "stream_id": event["stream_id"],
                               "version": event["version"],
                               "reason": f"line {number}: position {position} not after {store.last_position}"})
    store.last_position = max(store.last_position, position)
    if public_keys and verify_signature is not None and event.get("signature") is not None:
        reason = verify_signature(event, public_keys)
        if reason:
            store.problems.append({"store": record["store"], "stream_id": event["stream_id"],
                                   "version": event["version"], "reason": f"line {number}: {reason}"})


def _check_head(report: Report, record: Mapping[str, Any]) -> None:
    name = str(record.get("store"))
    store = report.stores.setdefault(name, StoreCheck())
    store.head_seen = True
    heads = record.get("streams") or {}
    if int(record.get("events", -1)) != store.events:
        store.problems.append({"store": name, "stream_id": None, "version": None,
                               "reason": f"head says {record.get('events')} events, the file holds {store.events}"})
    for stream_id in sorted(set(heads) | set(store.checker.heads)):
        expected = heads.get(stream_id)
        actual = store.checker.heads.get(stream_id)
        if expected is None or actual is None or \
                (int(expected["version"]), str(expected["hash"])) != (actual[0], actual[1]):
            store.problems.append({
                "store": name, "stream_id": stream_id, "version": actual[0] if actual else None,
                "reason": f"stream ends at {_head(actual)}, the head says {_head(expected)}"})


def _head(head: Any) -> str:
    if head is None:
        return "nothing"
    version, digest = (head["version"], head["hash"]) if isinstance(head, Mapping) else head
    return f"v{version} {str(digest)[:12]}…"


def read_lines(path: str) -> Iterator[str]:
    with open(path, encoding="utf-8") as handle:
        yield from handle
