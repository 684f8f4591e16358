"""Catching up with a source's stored events: the one loop every consumer runs at start.

A consumer's durable queue holds what is published while it is down; what no queue
held (events stored before the queue existed, or while it was being declared) the
consumer reads from the source's ``read_events`` at start, from its catch-up
checkpoint (collection ``consumer_catch_up``), through its ``StreamTracker`` -- so each
event is still applied exactly once, in per-stream order, whichever path brings it.

Where a restart resumes: once a catch-up has read to the end with the consumer's
queues declared, every later event reaches the queue, and the consumer's applied
position (``consumer_positions``, moved by every event it applies) is a safe place to
resume from: anything before it that is not applied yet is still in the queue (or
parked on its dead-letter queue). So the checkpoint is marked ``complete`` then, and a
restart reads only what was stored after the last event applied -- what it missed --
instead of everything since the previous start. A catch-up that has not finished (a
first start interrupted, a rebuilt generation) resumes from its own checkpoint.

Pages are applied in batches, one transaction per batch with the streams' tracker
checkpoints (``StreamTracker.handle_batch``), and the catch-up checkpoint moves once
per page. ``until_caught_up`` runs a catch-up until the source answers, with back-off,
and reports it done for readiness (``shared.health``).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import eventlet
from pymongo.database import Database

from shared.events.consumer import Apply, ApplyBatch, Fetch, StreamTracker
from shared.health import CATCH_UPS
from shared.rpc import system_rpc

log = logging.getLogger(__name__)

PAGE_SIZE = 500
# Events per transaction: a batch must commit well inside the store's 3 s transaction
# lifetime (README, "A writer killed mid-transaction") even on a loaded machine.
BATCH_SIZE = 50
ReadPage = Callable[[int, int], Mapping[str, Any]]
Wanted = Callable[[Mapping[str, Any]], bool]
Sleep = Callable[[float], Any]
T = TypeVar("T")


@dataclass(frozen=True)
class Source:
    """A source service's log as a catch-up reads it: ``read_page(after_position,
    limit)`` answers like ``read_events``; ``fetch(stream_id, after_version)`` like
    ``get_events``."""

    read_page: ReadPage
    fetch: Fetch


@contextmanager
def rpc_source(config: Mapping[str, Any], caller: str, source: str) -> Iterator[Source]:
    """``source``'s ``read_events`` and ``get_events`` over RPC, called as ``caller``."""
    with system_rpc(config, caller) as rpc_client:
        service = getattr(rpc_client, source)
        yield Source(read_page=lambda after, limit: service.read_events(after, limit),
                     fetch=lambda stream_id, after: list(service.get_events(stream_id, after)))


class Checkpoint(Protocol):
    """Port: where a consumer's next catch-up starts."""

    def resume_position(self) -> int: ...

    def advance(self, position: int, complete: bool = False) -> None: ...


def resume_position(saved: int, complete: bool, applied: int) -> int:
    """Where a catch-up starts: after the last event applied once a previous catch-up
    completed (the queue holds everything since), else at its own checkpoint."""
    return max(saved, applied) if complete else saved


class CatchUpCheckpoint:
    """The Checkpoint in the consumer's database: ``consumer_catch_up`` (position,
    complete) next to the tracker's ``consumer_positions``."""

    def __init__(self, db: Database[Any], consumer: str) -> None:
        self.collection = db["consumer_catch_up"]
        self.positions = db["consumer_positions"]
        self.consumer = consumer

    def resume_position(self) -> int:
        doc = self.collection.find_one({"_id": self.consumer}) or {}
        applied = self.positions.find_one({"_id": self.consumer}) or {}
        return resume_position(int(doc.get("position") or 0), bool(doc.get("complete")),
                               int(applied.get("position") or 0))

    def completed(self) -> bool:
        """Has a catch-up of this consumer ever read to the end? From then on its durable
        queue holds whatever it has not applied yet."""
        doc = self.collection.find_one({"_id": self.consumer}, {"complete": 1}) or {}
        return bool(doc.get("complete"))

    def advance(self, position: int, complete: bool = False) -> None:
        update: dict[str, Any] = {"$max": {"position": position}}
        if complete:
            update["$set"] = {"complete": True}
        self.collection.update_one({"_id": self.consumer}, update, upsert=True)


class BatchTracker(Protocol):
    """What a catch-up needs of a StreamTracker."""

    def handle_batch(self, envelopes: Sequence[Mapping[str, Any]], apply: Apply,
                     fetch: Fetch, apply_batch: ApplyBatch | None = None) -> int: ...


class CatchUp:
    """Feeds a source's events after the checkpoint through the tracker, in global
    order, ``batch_size`` events per transaction (through ``apply_batch`` when the
    consumer has one); ``wanted`` keeps only the events the consumer handles (the others
    are read past). ``CatchUp.of(tracker, apply)`` keeps the checkpoint next to the
    tracker's."""

    def __init__(self, tracker: BatchTracker, checkpoint: Checkpoint, apply: Apply, *,
                 page_size: int = PAGE_SIZE, batch_size: int = BATCH_SIZE,
                 wanted: Wanted | None = None, apply_batch: ApplyBatch | None = None) -> None:
        self.tracker = tracker
        self.checkpoint = checkpoint
        self.apply = apply
        self.apply_batch = apply_batch
        self.page_size = page_size
        self.batch_size = batch_size
        self.wanted = wanted

    @classmethod
    def of(cls, tracker: StreamTracker, apply: Apply, **options: Any) -> CatchUp:
        return cls(tracker, CatchUpCheckpoint(tracker.db, tracker.consumer), apply, **options)

    def run(self, source: Source) -> int:
        """Read to the end of ``source``; return how many events were newly applied."""
        position = self.checkpoint.resume_position()
        applied = 0
        while True:
            page = source.read_page(position, self.page_size)
            events = list(page.get("events") or [])
            if not events:
                self.checkpoint.advance(position, complete=True)
                return applied
            applied += self._apply(events, source.fetch)
            position = int(page["last_position"])
            self.checkpoint.advance(position)

    def _apply(self, events: list[Mapping[str, Any]], fetch: Fetch) -> int:
        if self.wanted is not None:
            events = [e for e in events if self.wanted(e)]
        return sum(self.tracker.handle_batch(events[i:i + self.batch_size], self.apply, fetch,
                                             self.apply_batch)
                   for i in range(0, len(events), self.batch_size))


def catch_up(tracker: StreamTracker, apply: Apply, read_page: ReadPage, fetch: Fetch,
             page_size: int = PAGE_SIZE, batch_size: int = BATCH_SIZE,
             wanted: Wanted | None = None) -> int:
    """Run one catch-up (``CatchUp``); return how many events were newly applied.
    Already applied events are skipped by the tracker, so running it again is harmless."""
    return CatchUp.of(tracker, apply, page_size=page_size, batch_size=batch_size,
                      wanted=wanted).run(Source(read_page, fetch))


def retrying(what: str, attempt: Callable[[], T], sleep: Sleep = eventlet.sleep,
             first_delay: float = 0.5, max_delay: float = 5.0) -> T:
    """``attempt()`` until it returns (its source service may not be up yet), waiting
    ``first_delay`` after the first failure, doubling up to ``max_delay``."""
    delay = first_delay
    while True:
        try:
            return attempt()
        except Exception:  # noqa: BLE001 - the source or the store is away: try again
            log.info("%s: waiting for its source, retrying in %.1fs", what, delay, exc_info=True)
            sleep(delay)
            delay = min(delay * 2, max_delay)


def until_caught_up(name: str, attempt: Callable[[], int], *,
                    ready: Callable[[], Any] | None = None,
                    completed: Callable[[], bool] | None = None,
                    sleep: Sleep = eventlet.sleep) -> int:
    """Run the catch-up ``attempt`` until it succeeds, then report ``name`` caught up
    (``CATCH_UPS``). ``ready`` first waits until the consumer's queues are declared:
    from then on nothing is published that neither the queue nor this catch-up sees.
    When ``completed()`` says an earlier catch-up already read to the end (a restart),
    the durable queue holds everything not applied yet: the process is ready at once
    and this catch-up only speeds up draining what was missed (it applies in batches);
    a backlog does not keep a restarted process out of service."""
    if ready is not None:
        retrying(f"{name} queues", ready, sleep)
    if completed is not None and retrying(f"{name} checkpoint", completed, sleep):
        CATCH_UPS.done(name)
    applied = retrying(name, attempt, sleep)
    log.info("%s caught up (%d events applied)", name, applied)
    CATCH_UPS.done(name)
    return applied
