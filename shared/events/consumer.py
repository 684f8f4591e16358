"""Consuming another service's events: one durable queue per consumer, every instance
of the consumer service competing on it (each message handled by one of them).

``EventStreamHandler`` is the entrypoint: it checks that the event is signed by the
source service (``shared.keys``; an event that is not is parked at once, no worker
runs), and never drops a failed message: it is republished with an attempt counter (bounded, with
backoff) and after the last attempt parked on a dead-letter queue ``<queue>.dlq`` that
an operator can list and replay (``python -m shared.dlq``).

``StreamTracker`` makes the handler idempotent and restores per-stream order: it keeps,
per stream, the last version applied (and its event id), applies an event and advances
the checkpoint in one transaction, skips what it has seen, and when an event arrives
early asks for the missing ones first. It applies only an event whose hash, signature
and link (``prev_hash`` = the hash of the version applied before) hold, and fetched
predecessors only when they chain into the delivered event: anything else raises
``Rejected`` and is parked without moving a checkpoint.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kombu import Connection, Exchange, Queue, binding
from kombu.messaging import Producer
from nameko.messaging import Consumer
from nameko.standalone.events import get_event_exchange
from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from shared import metrics
from shared.events.envelope import GENESIS_HASH, compute_hash
from shared.intake import TolerantQueueConsumer
from shared.keys import KeyRing, load_key_ring

log = logging.getLogger(__name__)

ATTEMPTS_HEADER = "x-crm-attempts"
ERROR_HEADER = "x-crm-error"
DEFAULT_MAX_ATTEMPTS = 5


class Rejected(Exception):
    """Raised for an event that must never be applied: not signed by its producer,
    altered, or not in the producer's chain. Parked at once, never retried."""


Signatures = Callable[[Mapping[str, Any]], list[str]]


def signatures_of(config: Mapping[str, Any], producer: str) -> Signatures:
    """The check every event of ``producer`` must pass (its public keys from config)."""
    ring = load_key_ring(config)

    def problems(envelope: Mapping[str, Any]) -> list[str]:
        return ring.problems(envelope, producer)
    return problems


def queue_name(source_service: str, service_name: str, method_name: str) -> str:
    return f"evt-{source_service}--{service_name}.{method_name}"


class EventStreamHandler(Consumer):
    """``@event_stream("invoice")``: receive every event of a source service (or only
    ``event_types``) as wire envelopes, in one queue for this service's method."""

    queue_consumer = TolerantQueueConsumer()

    def __init__(self, source_service: str, event_types: Iterable[str] | None = None,
                 max_attempts: int = DEFAULT_MAX_ATTEMPTS, **kwargs: Any) -> None:
        self.source_service = source_service
        self.event_types = list(event_types) if event_types else ["#"]
        self.max_attempts = max_attempts
        super().__init__(queue=None, requeue_on_error=False, **kwargs)

    def setup(self) -> None:
        exchange = get_event_exchange(self.source_service, self.container.config)
        name = queue_name(self.source_service, self.container.service_name, self.method_name)
        self.queue = Queue(name, exchange=exchange, durable=True, auto_delete=False,
                           bindings=[binding(exchange, routing_key=k) for k in self.event_types])
        self.dead_letter_queue = Queue(f"{name}.dlq", exchange=Exchange(""), routing_key=f"{name}.dlq",
                                       durable=True, auto_delete=False)
        self.keys: KeyRing = load_key_ring(self.container.config)
        metrics.STATE.watch_queue(name, self.dead_letter_queue.name, self.container.config["AMQP_URI"])
        super().setup()

    def handle_message(self, body: Any, message: Any) -> None:
        problems = self.keys.problems(body, self.source_service) if isinstance(body, dict) \
            else ["not an event envelope"]
        if problems:
            log.error("event parked on %s, not signed by %s: %s", self.dead_letter_queue.name,
                      self.source_service, "; ".join(problems))
            try:
                self._park(body, message, f"Rejected: {'; '.join(problems)}")
            except Exception:  # noqa: BLE001 - cannot park: let the broker redeliver
                log.exception("could not park a rejected event; requeueing it")
                self.queue_consumer.requeue_message(message)
                return
            self.queue_consumer.ack_message(message)
            return
        super().handle_message(body, message)

    def handle_undecodable(self, message: Any, reason: str) -> None:
        """A body that cannot be decoded is parked as it came, bytes and content type."""
        try:
            self._publish(message.body, message, self.dead_letter_queue.name, 0, f"Undecodable: {reason}",
                          declare=[self.dead_letter_queue], raw=True)
        except Exception:  # noqa: BLE001 - cannot park it now: let the broker redeliver
            log.exception("could not park an undecodable event; requeueing it")
            self.queue_consumer.requeue_message(message)
            return
        self.queue_consumer.ack_message(message)

    def handle_message_processed(self, message: Any, result: Any = None,
                                 exc_info: Any = None) -> None:
        if exc_info is not None and issubclass(exc_info[0], Rejected):
            log.error("event parked on %s: %s", self.dead_letter_queue.name, exc_info[1])
            attempts = self.max_attempts  # no retry can make it genuine
            try:
                self._park(message.payload, message, f"Rejected: {exc_info[1]}", attempts)
            except Exception:  # noqa: BLE001 - cannot park: let the broker redeliver
                log.exception("could not park a rejected event; requeueing it")
                self.queue_consumer.requeue_message(message)
                return
            self.queue_consumer.ack_message(message)
            return
        if exc_info is not None:
            attempts = int((message.headers or {}).get(ATTEMPTS_HEADER, 0)) + 1
            error = f"{exc_info[0].__name__}: {exc_info[1]}"
            try:
                if attempts < self.max_attempts:
                    time.sleep(min(0.1 * 2 ** attempts, 5.0))
                    self._publish(message.payload, message, self.queue.name, attempts, error)
                    metrics.count_failure(self.queue.name, "retried")
                else:
                    log.error("event parked on %s after %d attempts: %s",
                              self.dead_letter_queue.name, attempts, error)
                    self._park(message.payload, message, error, attempts)
            except Exception:  # noqa: BLE001 - cannot republish: let the broker redeliver
                log.exception("could not republish a failed event; requeueing it")
                self.queue_consumer.requeue_message(message)
                return
        self.queue_consumer.ack_message(message)

    def _park(self, body: Any, message: Any, error: str, attempts: int = 0) -> None:
        self._publish(body, message, self.dead_letter_queue.name, attempts, error,
                      declare=[self.dead_letter_queue])
        metrics.count_failure(self.queue.name, "parked")

    def _publish(self, body: Any, message: Any, routing_key: str, attempts: int, error: str,
                 declare: list[Queue] | None = None, raw: bool = False) -> None:
        headers = dict(message.headers or {})
        headers[ATTEMPTS_HEADER] = attempts
        headers[ERROR_HEADER] = error[:1000]
        headers["x-crm-original-queue"] = self.queue.name
        with Connection(self.container.config["AMQP_URI"],
                        transport_options={"confirm_publish": True}) as connection:
            producer = Producer(connection.channel())
            encoding: dict[str, Any] = {"serializer": "json"} if not raw else {
                "content_type": message.content_type or "application/octet-stream",
                "content_encoding": message.content_encoding or "binary"}
            producer.publish(body, exchange="", routing_key=routing_key, headers=headers,
                             delivery_mode=2, declare=declare or [],
                             message_id=message.properties.get("message_id"), **encoding)


event_stream = EventStreamHandler.decorator


class OutOfOrder(Exception):
    """Raised when an event's predecessor has not been applied yet."""


Fetch = Callable[[str, int], list[dict[str, Any]]]
Apply = Callable[[Mapping[str, Any], ClientSession], None]


class StreamTracker:
    """Per-stream checkpoints of one consumer, kept in the consumer's own database.

    ``signatures`` (``signatures_of(config, producer)``) checks who signed each event;
    without it only hashes and links are checked (the handler checked the delivered
    event's signature; catch-up pages and fetched events need the tracker's)."""

    def __init__(self, db: Database[Any], consumer: str,
                 signatures: Signatures | None = None) -> None:
        self.db = db
        self.collection = db["tracking"]
        self.consumer = consumer
        self.signatures = signatures

    def check(self, envelope: Mapping[str, Any]) -> None:
        """Raise Rejected unless ``envelope`` is unaltered (and signed by its producer)."""
        if self.signatures is not None:
            problems = self.signatures(envelope)
        else:
            problems = [] if compute_hash(envelope) == envelope.get("hash") else \
                ["hash does not match the event's content"]
        if problems:
            raise Rejected(f"{envelope.get('stream_id')} v{envelope.get('version')}: "
                           + "; ".join(problems))

    def _key(self, stream_id: str) -> str:
        return f"{self.consumer}:{stream_id}"

    def applied_version(self, stream_id: str, session: ClientSession | None = None) -> int:
        doc = self.collection.find_one({"_id": self._key(stream_id)}, session=session)
        return int(doc["version"]) if doc else 0

    def last_position(self) -> int:
        doc = self.db["consumer_positions"].find_one({"_id": self.consumer})
        return int(doc["position"]) if doc else 0

    def handle(self, envelope: Mapping[str, Any], apply: Apply, fetch: Fetch) -> int:
        """Apply ``envelope`` (and any missing predecessors) exactly once, in order.

        Returns how many events were applied (0 for a duplicate)."""
        stream_id, version = envelope["stream_id"], int(envelope["version"])
        self.check(envelope)
        applied = self.applied_version(stream_id)
        if version <= applied:
            metrics.count_consumer(self.consumer, "duplicate")
            return 0
        todo = [envelope] if version == applied + 1 else \
            self._predecessors(envelope, applied, fetch)
        count = 0
        for event in todo:
            count += self._apply_one(event, apply)
        metrics.count_consumer(self.consumer, "applied", count)
        if count == 0:
            metrics.count_consumer(self.consumer, "duplicate")
        return count

    def _predecessors(self, envelope: Mapping[str, Any], applied: int,
                      fetch: Fetch) -> list[Mapping[str, Any]]:
        """The stream from ``applied + 1`` up to ``envelope``, each event checked and
        chaining into the next: a delivered event the producer's stream does not hold
        (a forged version, say) is Rejected."""
        stream_id, version = envelope["stream_id"], int(envelope["version"])
        fetched = {int(e["version"]): e for e in fetch(stream_id, applied)
                   if applied < int(e["version"]) <= version}
        if version not in fetched:
            raise Rejected(f"{stream_id} v{version}: the producer's stream has no such version")
        if fetched[version].get("hash") != envelope.get("hash"):
            raise Rejected(f"{stream_id} v{version}: not the event the producer stored")
        todo = [fetched[v] for v in range(applied + 1, version) if v in fetched]
        for event in todo:
            self.check(event)
        return [*todo, envelope]

    def _apply_one(self, envelope: Mapping[str, Any], apply: Apply) -> int:
        stream_id, version = envelope["stream_id"], int(envelope["version"])

        def step(session: ClientSession) -> int:
            checkpoint = self.collection.find_one({"_id": self._key(stream_id)}, session=session)
            applied = int(checkpoint["version"]) if checkpoint else 0
            if version <= applied:
                return 0
            if version != applied + 1:
                raise OutOfOrder(f"{stream_id} v{version} before v{applied + 1}")
            # Checkpoints written before hashes were kept have none: nothing to link to.
            previous = checkpoint.get("hash") if checkpoint else GENESIS_HASH
            if previous is not None and envelope.get("prev_hash") != previous:
                raise Rejected(f"{stream_id} v{version}: prev_hash is not the hash of the "
                               f"v{applied} applied")
            self.collection.update_one(
                {"_id": self._key(stream_id), "version": applied},
                {"$set": {"version": version, "event_id": envelope["event_id"],
                          "hash": envelope.get("hash"), "position": envelope.get("position")}},
                upsert=True, session=session)
            apply(envelope, session)
            return 1

        try:
            with self.db.client.start_session() as session:
                applied = int(session.with_transaction(step))
        except DuplicateKeyError:
            return 0  # another instance applied it at the same moment
        # Outside the transaction: every event of this consumer would write this one
        # document, so a transaction orphaned by a kill -9 would block them all until the
        # store reaps it (60 s). $max makes a late or repeated write harmless.
        self.db["consumer_positions"].update_one(
            {"_id": self.consumer}, {"$max": {"position": envelope.get("position") or 0}},
            upsert=True)
        return applied


ReadPage = Callable[[int, int], Mapping[str, Any]]


def catch_up(tracker: StreamTracker, apply: Apply, read_page: ReadPage, fetch: Fetch,
             page_size: int = 500) -> int:
    """Feed every source event after this consumer's catch-up checkpoint through the
    tracker, in global order; return how many were newly applied.

    Run at start-up, it covers what no queue held for this consumer: events published
    before its queue existed, or while it was being set up. Already applied events are
    skipped by the tracker, so running it again is harmless."""
    checkpoints = tracker.db["consumer_catch_up"]
    doc = checkpoints.find_one({"_id": tracker.consumer})
    position = int(doc["position"]) if doc else 0
    applied = 0
    while True:
        page = read_page(position, page_size)
        events = page.get("events") or []
        if not events:
            return applied
        for envelope in events:
            applied += tracker.handle(envelope, apply, fetch)
        position = int(page["last_position"])
        checkpoints.update_one({"_id": tracker.consumer}, {"$max": {"position": position}},
                               upsert=True)
