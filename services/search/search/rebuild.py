"""Rebuild every search projection from the event stores, into fresh collections.

    PYTHONPATH=.:services/search .venv/bin/python -m search.rebuild [--page 1000]

Reads customer.read_events then invoice.read_events (over RPC, with a service token)
into generation N+1 while generation N keeps answering; shows a progress bar with
events/s and ETA; Ctrl-C (or a crash) leaves a checkpoint and the next run resumes.
When both sources are read to the end it switches the served generation in one write,
then feeds what arrived meanwhile through the ordinary exactly-once tracker, and drops
the old generation. projection_status() reports ``rebuilding: true`` while it runs.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from pymongo import UpdateOne
from pymongo.database import Database

from search.adapters.buffered import BufferedViews, count_buckets
from search.adapters.views import (
    COLLECTIONS,
    Generations,
    collection_name,
    drop_generation,
    ensure_indexes,
)
from search.dependencies import SOURCES, SearchStorage, consumer_name
from search.projector import Projector
from shared.dates import utc_now
from shared.events.consumer import Rejected, Signatures, StreamTracker, signatures_of
from shared.mongo import connect, database, database_name
from shared.rpc import system_rpc

ReadPage = Callable[[int, int], Mapping[str, Any]]
Progress = Callable[[int, int, float], None]
# customer records first: invoices then find their customer, contract and payment views
ORDER = ("customer", "invoice")


def apply_page(db: Database[Any], generation: int, source: str,
               events: list[Mapping[str, Any]], last_position: int, buckets: bool = False) -> int:
    """Apply one page of events (in global order) to ``generation`` in one transaction,
    with the tracker checkpoints of that generation and the rebuild's position."""
    consumer = consumer_name(generation, source)
    tracker = StreamTracker(db, consumer)
    applied = 0

    def step(session: Any) -> None:
        nonlocal applied
        applied = 0
        views = BufferedViews(db, generation, session, buckets=buckets)
        projector = Projector(lambda _: views)
        streams = sorted({str(e["stream_id"]) for e in events})
        known = {doc["_id"]: int(doc["version"]) for doc in tracker.collection.find(
            {"_id": {"$in": [f"{consumer}:{s}" for s in streams]}}, session=session)}
        heads: dict[str, Mapping[str, Any]] = {}
        for envelope in events:
            key = f"{consumer}:{envelope['stream_id']}"
            version = int(envelope["version"])
            if version <= known.get(key, 0):
                continue
            if version != known.get(key, 0) + 1:
                raise RuntimeError(f"{key}: v{version} after v{known.get(key, 0)} in the global log")
            projector.apply(envelope, session)
            known[key] = version
            heads[key] = envelope
            applied += 1
        views.flush()
        if heads:
            tracker.collection.bulk_write([UpdateOne(
                {"_id": key}, {"$set": {"version": int(e["version"]), "event_id": e["event_id"],
                                        "hash": e.get("hash"), "position": e.get("position")}}, upsert=True)
                for key, e in heads.items()], ordered=False, session=session)
        db["consumer_positions"].update_one({"_id": consumer}, {"$max": {"position": last_position}},
                                            upsert=True, session=session)
        db["consumer_catch_up"].update_one({"_id": consumer}, {"$max": {"position": last_position}},
                                           upsert=True, session=session)

    with db.client.start_session() as session:
        session.with_transaction(step)
    return applied


def replay(db: Database[Any], generation: int, source: str, read_page: ReadPage,
           page_size: int, progress: Progress | None = None, total: int = 0,
           signatures: Signatures | None = None) -> int:
    """Read ``source`` from the rebuild's checkpoint to the end; return the events read.
    With ``signatures``, an event not signed by ``source`` stops the rebuild."""
    checkpoint = db["consumer_catch_up"].find_one({"_id": consumer_name(generation, source)})
    position = int(checkpoint["position"]) if checkpoint else 0
    done, started = 0, time.monotonic()
    while True:
        page = read_page(position, page_size)
        events = list(page.get("events") or [])
        if not events:
            return done
        position = int(page["last_position"])
        for envelope in events:
            if signatures is not None and (problems := signatures(envelope)):
                raise Rejected(f"{source} {envelope.get('stream_id')} v{envelope.get('version')}: "
                               + "; ".join(problems))
        apply_page(db, generation, source, events, position)
        done += len(events)
        if progress is not None:
            progress(position, total, done / max(time.monotonic() - started, 1e-6))


def replay_all(db: Database[Any], config: Mapping[str, Any], current: int, target: int,
               page_size: int, progress: Callable[[str, int, int, float], None] | None) -> dict[str, int]:
    counts = {}
    with system_rpc(config, "search") as rpc_client:
        for source in ORDER:
            total = StreamTracker(db, consumer_name(current, source)).last_position()
            counts[source] = replay(db, target, source, _reader(getattr(rpc_client, source)),
                                    page_size, _reporter(progress, source), total,
                                    signatures_of(config, source))
    counts["buckets"] = count_buckets(db, target)
    return counts


def verify(db: Database[Any], config: Mapping[str, Any], page_size: int = 1000,
           progress: Callable[[str, int, int, float], None] | None = None) -> list[str]:
    """Fold both event stores into a scratch generation and compare it with the served
    one; return the differences (none when the projections are exactly the fold)."""
    current = Generations(db).active()
    scratch = 1_000_000 + current
    drop_generation(db, scratch)
    db["consumer_catch_up"].delete_many({"_id": {"$in": [consumer_name(scratch, s) for s in SOURCES]}})
    db["tracking"].delete_many({"_id": {"$regex": f"^search\\.g{scratch}\\."}})
    try:
        replay_all(db, config, current, scratch, page_size, progress)
        return compare(db, current, scratch)
    finally:
        drop_generation(db, scratch)


def compare(db: Database[Any], left: int, right: int) -> list[str]:
    """Differences between two generations' collections, document by document."""
    differences = []
    for name in COLLECTIONS:
        a = {d["_id"]: _normal(d) for d in db[collection_name(left, name)].find()}
        b = {d["_id"]: _normal(d) for d in db[collection_name(right, name)].find()}
        for key in sorted(set(a) | set(b), key=str):
            left_doc, right_doc = a.get(key), b.get(key)
            if left_doc is None or right_doc is None:
                if left_doc != right_doc:
                    differences.append(f"{name} {key}: only in generation {left if right_doc is None else right}")
                continue
            for field in sorted(set(left_doc) | set(right_doc)):
                if left_doc.get(field) != right_doc.get(field):
                    differences.append(f"{name} {key} {field}: {left_doc.get(field)!r} != {right_doc.get(field)!r}")
    return differences


def _normal(doc: dict[str, Any]) -> dict[str, Any]:
    if "invoice_ids" in doc:
        doc["invoice_ids"] = sorted(doc["invoice_ids"])
    return doc


def rebuild(db: Database[Any], config: Mapping[str, Any], page_size: int = 1000,
            progress: Callable[[str, int, int, float], None] | None = None,
            keep_old: bool = False) -> dict[str, Any]:
    """Run (or resume) a rebuild to the switch; return what it did."""
    generations = Generations(db)
    current = generations.active()
    state = generations.rebuild()
    target = int(state["generation"]) if state and state.get("state") != "done" \
        and state.get("generation", 0) > current else current + 1
    generations.set_rebuild({"state": "running", "generation": target, "from": current,
                             "started_at": (state or {}).get("started_at") or utc_now()})
    ensure_indexes(db, target)
    storage = SearchStorage(db, config)
    started = time.monotonic()
    counts: dict[str, int] = replay_all(db, config, current, target, page_size, progress)
    replay_seconds = time.monotonic() - started
    generations.switch(target)
    # what the live consumer applied to the old generation during the switch
    for source in SOURCES:
        counts[f"{source}_after_switch"] = storage.catch_up(source, target)
    generations.set_rebuild({"state": "done", "finished_at": utc_now(), "generation": target})
    if not keep_old:
        time.sleep(1.0)  # let queries that started on the old generation finish
        drop_generation(db, current)
    return {"generation": target, "previous": current, "events": counts,
            "replay_seconds": replay_seconds}


def _reader(service: Any) -> ReadPage:
    def read(after: int, limit: int) -> Mapping[str, Any]:
        return service.read_events(after, limit)  # type: ignore[no-any-return]
    return read


def _reporter(progress: Callable[[str, int, int, float], None] | None, source: str) -> Progress | None:
    if progress is None:
        return None
    report = progress

    def show(position: int, total: int, rate: float) -> None:
        report(source, position, total, rate)
    return show


def config_from_env() -> dict[str, Any]:
    return {"AMQP_URI": os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"),
            "MONGO_URL": os.environ.get("MONGO_URL"),
            "MONGO_DB_PREFIX": os.environ.get("MONGO_DB_PREFIX", "crm_"),
            "AUTH_SECRET": os.environ.get("INVOICE_AUTH_SECRET"), "serializer": "json",
            "EVENT_KEYS_DIR": os.environ.get("EVENT_KEYS_DIR")}


def show_progress(source: str, position: int, total: int, rate: float) -> None:
    width = 30
    share = min(position / total, 1.0) if total else 0.0
    bar = "#" * int(share * width) + "." * (width - int(share * width))
    eta = f"{max(total - position, 0) / rate:5.0f}s" if rate and total else "   ?"
    print(f"\r{source:>8} [{bar}] {position:>9,}/{total:<9,} {rate:>8,.0f} events/s  ETA {eta}",
          end="", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m search.rebuild", description=__doc__.splitlines()[0])
    parser.add_argument("--page", type=int, default=1000, help="events per transaction")
    parser.add_argument("--keep-old", action="store_true", help="keep the old generation's collections")
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    parser.add_argument("--verify", action="store_true",
                        help="only compare the served projections with a fresh fold of the event stores")
    args = parser.parse_args(argv)
    config = config_from_env()
    client = connect(config["MONGO_URL"])
    db = database(client, database_name(config, "search"))
    try:
        if args.verify:
            differences = verify(db, config, args.page, show_progress)
            print(f"\n{len(differences)} differences", file=sys.stderr)
            for line in differences[:50]:
                print(line)
            return 1 if differences else 0
        result = rebuild(db, config, args.page, show_progress, args.keep_old)
    except KeyboardInterrupt:
        Generations(db).set_rebuild({"state": "interrupted"})
        print("\ninterrupted: run again to resume", file=sys.stderr)
        return 130
    finally:
        client.close()
    print(f"\nswitched to generation {result['generation']}: {result['events']}", file=sys.stderr)
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
