"""The outbox relay: publishes stored events to RabbitMQ, in position order, in batches
with publisher confirms (one wait for the broker per batch), and only then advances its
checkpoint.

The events collection *is* the outbox: nothing is marked or deleted. One relay per
service database holds a lease at a time (several service instances may run; the others
wait to take over), so a crash between store and publish, or a broker outage, delays
delivery but never loses it. Delivery is at least once: after a crash the new lease
holder republishes from the last checkpoint, and consumers drop what they have seen.

The store hands the relay what each commit of this process stored (``hand``); the
relay publishes those without reading them back as long as they continue its position
without a gap. Anything else (another instance's events, a consumer's ``append_in``,
a relay that just took the lease) is read from the store as before.
"""
from __future__ import annotations

import copy
import datetime as dt
import logging
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from amqp.exceptions import MessageNacked
from kombu import Connection, Producer
from nameko.standalone.events import get_event_exchange
from pymongo.errors import DuplicateKeyError, PyMongoError

from shared import metrics
from shared.events.envelope import envelope_to_wire
from shared.events.store import EventStore

log = logging.getLogger(__name__)

LEASE_ID = "outbox"
HANDED_MAX = 2000  # handed events kept while not publishing (no lease); the rest is read
Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class OutboxLease:
    """A lease document that names the one relay allowed to publish, and its checkpoint."""

    def __init__(self, store: EventStore, owner: str, ttl_seconds: float,
                 clock: Clock = utc_now) -> None:
        self.collection = store.db["outbox_relay"]
        self.owner = owner
        self.ttl = dt.timedelta(seconds=ttl_seconds)
        self.clock = clock

    def acquire(self) -> int | None:
        """Take or renew the lease; return the checkpoint position, or None if held elsewhere."""
        now = self.clock()
        try:
            doc = self.collection.find_one_and_update(
                {"_id": LEASE_ID, "$or": [{"owner": self.owner}, {"expires_at": {"$lt": now}}]},
                {"$set": {"owner": self.owner, "expires_at": now + self.ttl},
                 "$setOnInsert": {"position": 0}},
                upsert=True, return_document=True)
        except DuplicateKeyError:
            return None  # another relay holds a live lease
        return int(doc.get("position") or 0)

    def advance(self, position: int) -> bool:
        """Record that everything up to ``position`` is published; False if the lease was lost."""
        now = self.clock()
        result = self.collection.update_one(
            {"_id": LEASE_ID, "owner": self.owner, "position": {"$lte": position}},
            {"$set": {"position": position, "expires_at": now + self.ttl}})
        return result.matched_count == 1

    def release(self) -> None:
        self.collection.update_one({"_id": LEASE_ID, "owner": self.owner},
                                   {"$set": {"expires_at": dt.datetime.fromtimestamp(0, dt.timezone.utc)}})

    def checkpoint(self) -> int:
        doc = self.collection.find_one({"_id": LEASE_ID})
        return int(doc.get("position") or 0) if doc else 0


class AmqpPublisher:
    """Publishes wire envelopes to the service's nameko event exchange with publisher
    confirms: a batch is sent whole, then the broker's confirms for all of it are awaited
    at once (one wait per batch, not one per event). ``publish_batch`` returns only when
    every message of the batch is confirmed, and raises when one is refused (nack), the
    connection breaks or ``confirm_timeout`` passes: the caller then sends it again."""

    def __init__(self, amqp_uri: str, service_name: str, config: Mapping[str, Any],
                 confirm_timeout: float = 30.0) -> None:
        self.amqp_uri = amqp_uri
        self.service_name = service_name
        self.exchange = get_event_exchange(service_name, config)
        self.confirm_timeout = confirm_timeout
        self._connection: Connection | None = None
        self._producer: Producer | None = None
        self._sent = 0  # delivery tags handed out on this channel (confirm mode: 1, 2, ...)
        self._unconfirmed: set[int] = set()
        self._refused = False
        self.batches = 0  # confirm waits: one per batch
        self.confirmed = 0

    def _ensure(self) -> Producer:
        if self._producer is None:
            self._connection = Connection(self.amqp_uri)
            self._connection.ensure_connection(max_retries=1)
            channel = self._connection.channel()
            channel.events["basic_ack"].add(self._on_ack)
            channel.events["basic_nack"].add(self._on_nack)
            channel.confirm_select()
            self._sent, self._unconfirmed, self._refused = 0, set(), False
            self._producer = Producer(channel, exchange=self.exchange)
            self.exchange(self._producer.channel).declare()
        return self._producer

    def _settle(self, delivery_tag: int, multiple: bool) -> set[int]:
        settled = {t for t in self._unconfirmed if t <= delivery_tag} if multiple \
            else {delivery_tag} & self._unconfirmed
        self._unconfirmed -= settled
        return settled

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        self.confirmed += len(self._settle(delivery_tag, multiple))

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        if self._settle(delivery_tag, multiple):
            self._refused = True

    def publish(self, envelope: Mapping[str, Any]) -> None:
        """One event, confirmed before it returns (a batch of one)."""
        self.publish_batch([envelope])

    def publish_batch(self, envelopes: Sequence[Mapping[str, Any]]) -> None:
        """Send ``envelopes`` in order, then wait until the broker confirmed all of them."""
        if not envelopes:
            return
        producer = self._ensure()
        for envelope in envelopes:
            # No token: the envelope's signature says who produced it, and a bearer token
            # on the bus is one more for anyone who can read the bus to lift.
            headers = {"nameko.correlation_id": envelope.get("correlation_id") or ""}
            producer.publish(envelope_to_wire(envelope), routing_key=envelope["type"],
                             serializer="json", delivery_mode=2, headers=headers,
                             message_id=envelope["event_id"], retry=False)
            self._sent += 1
            self._unconfirmed.add(self._sent)
        self.batches += 1
        deadline = time.monotonic() + self.confirm_timeout
        assert self._connection is not None
        while self._unconfirmed and not self._refused:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"the broker confirmed {self._sent - len(self._unconfirmed)} "
                                   f"of {self._sent} events within {self.confirm_timeout} s")
            self._connection.drain_events(timeout=left)
        if self._refused:
            raise MessageNacked("the broker refused (nack) an event of the batch")

    def close(self) -> None:
        try:
            if self._connection is not None:
                self._connection.release()
        except Exception:  # noqa: BLE001 - closing a broken connection may fail again
            log.debug("closing the relay's AMQP connection failed", exc_info=True)
        self._connection, self._producer = None, None


class OutboxRelay:
    """The relay loop; ``run`` is started as a managed thread by EventStoreProvider.

    While it holds the lease it keeps its position in memory and writes the checkpoint
    (which also renews the lease) at most every ``flush_seconds``: after a crash the
    successor resends at most that much, which consumers drop as duplicates.
    ``clock`` (UTC now) times the lease; tests inject one instead of sleeping."""

    def __init__(self, store: EventStore, publish: AmqpPublisher, *,
                 batch_size: int = 500, poll_seconds: float = 0.25,
                 lease_seconds: float = 10.0, flush_seconds: float = 0.5,
                 clock: Clock = utc_now) -> None:
        self.store = store
        self.publisher = publish
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.flush_seconds = min(flush_seconds, lease_seconds / 3)
        owner = f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self.lease = OutboxLease(store, owner, lease_seconds, clock)
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self.position: int | None = None  # None: not holding the lease
        self._saved_at = 0.0
        self.published = 0
        self.reads = 0  # batches read from the store (not handed over)
        self._handed: deque[dict[str, Any]] = deque()
        self._handed_lock = threading.Lock()

    def wake(self) -> None:
        """Called after a local append so the event goes out without waiting for a poll."""
        self._wake.set()

    def hand(self, envelopes: Iterable[Mapping[str, Any]]) -> None:
        """Take what a commit of this process just stored (in position order), to publish
        it without reading it back; wakes the relay."""
        copies = [copy.deepcopy(dict(e)) for e in envelopes]  # the writer keeps its own
        with self._handed_lock:
            self._handed.extend(copies)
            while len(self._handed) > HANDED_MAX:
                self._handed.popleft()
        self._wake.set()

    def _take_handed(self, after: int) -> list[dict[str, Any]]:
        """The handed events right after ``after``, without a gap (else none)."""
        batch: list[dict[str, Any]] = []
        with self._handed_lock:
            while self._handed and int(self._handed[0]["position"]) <= after:
                self._handed.popleft()
            while self._handed and len(batch) < self.batch_size \
                    and int(self._handed[0]["position"]) == after + len(batch) + 1:
                batch.append(self._handed.popleft())
        return batch

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()

    def run(self) -> None:
        backoff = self.poll_seconds
        while not self._stopped.is_set():
            self._wake.clear()  # a hand or wake from here on is seen by this round or ends its wait
            try:
                sent = self.run_once()
                backoff = self.poll_seconds
            except Exception:  # noqa: BLE001 - broker or store down: retry, never drop
                log.warning("outbox relay: publishing failed, retrying in %.1fs", backoff,
                            exc_info=True)
                self.publisher.close()
                self.position = None  # re-read the checkpoint: resend, never skip
                self._wake.wait(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if sent < self.batch_size:
                # a short batch was all there was: no store read until a commit hands more,
                # an append wakes the relay, or the poll comes round (another instance's events)
                self._wake.wait(self.poll_seconds)
        self._shutdown()

    def _shutdown(self) -> None:
        self.publisher.close()
        try:
            self.flush()
            self.lease.release()
        except PyMongoError:
            log.debug("outbox relay: could not save the checkpoint on stop", exc_info=True)

    def flush(self) -> bool:
        """Save the position (renewing the lease); False when the lease was lost."""
        if self.position is None:
            return False
        if not self.lease.advance(self.position):
            log.warning("outbox relay: lease lost; another instance publishes now")
            self.position = None
            return False
        self._saved_at = time.monotonic()
        return True

    def run_once(self) -> int:
        """Publish one batch if this relay holds the lease; return how many went out."""
        if self.position is None:
            checkpoint = self.lease.acquire()
            if checkpoint is None:
                return 0
            self.position, self._saved_at = checkpoint, time.monotonic()
        elif time.monotonic() - self._saved_at >= self.flush_seconds and not self.flush():
            return 0
        assert self.position is not None
        batch = self._take_handed(self.position)
        if not batch:
            batch = self.store.read_all(after_position=self.position, limit=self.batch_size)
            self.reads += 1
        self.publisher.publish_batch(batch)  # returns once the broker confirmed all of it
        if batch:
            self.position = int(batch[-1]["position"])
            self.published += len(batch)
            metrics.RELAY_PUBLISHED.labels(self.store.db.name).inc(len(batch))
        return len(batch)
