"""Consuming another service's events: one durable queue per consumer, every instance
of the consumer service competing on it (each message handled by one of them).

``EventStreamHandler`` is the entrypoint: it checks that the event is signed by the
source service (``shared.keys``; an event that is not is parked at once, no worker
runs), and never drops a failed message: it is republished with an attempt counter (bounded, with
backoff) and after the last attempt parked on a dead-letter queue ``<queue>.dlq`` that
an operator can list and replay (``python -m shared.dlq``).

``@event_stream(source, batch=True)`` hands the method a *list* of envelopes: the handler
keeps up to ``EVENT_BATCH_SIZE`` delivered events (its queue's prefetch is at least that)
and hands them over when the buffer is full or no further event arrived for
``EVENT_BATCH_LINGER_MS`` (so a quiet queue adds milliseconds, not a batch's worth of
waiting); the method applies them with ``StreamTracker.handle_batch``, one transaction
for the run and its checkpoints, and every message of the batch is acked once the method
returned. When a batch fails, its events are handed over again one by one, each on the
path above (retried, parked): one bad event neither holds nor loses the others.

``StreamTracker`` makes the handler idempotent and restores per-stream order: it keeps,
per stream, the last version applied (and its event id), applies an event and advances
the checkpoint in one transaction, skips what it has seen, and when an event arrives
early asks for the missing ones first. It applies only an event whose hash, signature
and link (``prev_hash`` = the hash of the version applied before) hold, and fetched
predecessors only when they chain into the delivered event: anything else raises
``Rejected`` and is parked without moving a checkpoint. ``handle_batch`` does the same
for a run of events in one transaction (a catch-up page, ``shared.events.catchup``).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any

import eventlet
from kombu import Connection, Exchange, Queue, binding
from kombu.messaging import Producer
from nameko.containers import WorkerContext
from nameko.exceptions import ContainerBeingKilled
from nameko.messaging import Consumer
from nameko.standalone.events import get_event_exchange
from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from shared import metrics
from shared.events.envelope import GENESIS_HASH, compute_hash
from shared.events.unit_of_work import Transaction, UnitOfWork
from shared.intake import TolerantQueueConsumer
from shared.keys import KeyRing, load_key_ring

log = logging.getLogger(__name__)

ATTEMPTS_HEADER = "x-crm-attempts"
ERROR_HEADER = "x-crm-error"
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_BATCH_SIZE = 50          # events per batch; a batch commits well inside 3 s
DEFAULT_BATCH_LINGER_MS = 5.0    # a batch is handed over after this long without a new event
MAX_LINGERS = 10                 # ... and at the latest this many lingers after its first


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


def batch_size(config: Mapping[str, Any]) -> int:
    return max(1, int(config.get("EVENT_BATCH_SIZE") or DEFAULT_BATCH_SIZE))


class EventQueueConsumer(TolerantQueueConsumer):
    """The event handlers' own queue consumer (RPC keeps its own): its prefetch is at
    least the batch size, so a batch can fill from what the broker already sent."""

    @property
    def prefetch_count(self) -> int:
        return max(int(self.container.max_workers), batch_size(self.container.config))


Delivery = tuple[Any, Any]  # (body, message)


class EventStreamHandler(Consumer):
    """``@event_stream("invoice")``: receive every event of a source service (or only
    ``event_types``) as wire envelopes, in one queue for this service's method; with
    ``batch=True`` the method gets a list of envelopes (see the module's docstring)."""

    queue_consumer = EventQueueConsumer()

    def __init__(self, source_service: str, event_types: Iterable[str] | None = None,
                 max_attempts: int = DEFAULT_MAX_ATTEMPTS, batch: bool = False,
                 **kwargs: Any) -> None:
        self.source_service = source_service
        self.event_types = list(event_types) if event_types else ["#"]
        self.max_attempts = max_attempts
        self.batch = batch
        self._buffer: list[Delivery] = []
        self._first = self._last = 0.0
        self._flusher: Any = None
        super().__init__(queue=None, requeue_on_error=False, **kwargs)

    def setup(self) -> None:
        exchange = get_event_exchange(self.source_service, self.container.config)
        name = queue_name(self.source_service, self.container.service_name, self.method_name)
        self.queue = Queue(name, exchange=exchange, durable=True, auto_delete=False,
                           bindings=[binding(exchange, routing_key=k) for k in self.event_types])
        self.dead_letter_queue = Queue(f"{name}.dlq", exchange=Exchange(""), routing_key=f"{name}.dlq",
                                       durable=True, auto_delete=False)
        self.keys: KeyRing = load_key_ring(self.container.config)
        self.batch_size = batch_size(self.container.config) if self.batch else 1
        self.linger = float(self.container.config.get("EVENT_BATCH_LINGER_MS")
                            or DEFAULT_BATCH_LINGER_MS) / 1000
        metrics.STATE.watch_queue(name, self.dead_letter_queue.name, self.container.config["AMQP_URI"])
        super().setup()

    def stop(self) -> None:
        if self._buffer:  # hand over what is buffered: the workers finish before the stop
            self._flush()
        super().stop()

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
        if not self.batch:
            super().handle_message(body, message)
            return
        self._last = time.monotonic()
        if not self._buffer:
            self._first = self._last
        self._buffer.append((body, message))
        if len(self._buffer) >= self.batch_size:
            self._flush()
        elif self._flusher is None:
            self._flusher = self.container.spawn_managed_thread(
                self._flush_when_quiet, identifier=f"{self.method_name}.flush_when_quiet")

    def _flush_when_quiet(self) -> None:
        """Hand the buffer over once no event arrived for ``linger`` (or its first has
        waited ``MAX_LINGERS`` lingers)."""
        try:
            while self._buffer:
                due = min(self._last + self.linger, self._first + MAX_LINGERS * self.linger)
                wait = due - time.monotonic()
                if wait > 0:
                    eventlet.sleep(wait)
                else:
                    self._flush()
        finally:
            self._flusher = None

    def _flush(self) -> None:
        deliveries, self._buffer = self._buffer, []
        metrics.observe_batch(self.queue.name, len(deliveries))
        self._spawn(deliveries)

    def _spawn(self, deliveries: list[Delivery]) -> None:
        """One worker for ``deliveries``: the method gets their envelopes as a list."""
        try:
            self.container.spawn_worker(
                self, ([body for body, _ in deliveries],), {},
                context_data=self.unpack_message_headers(deliveries[0][1]),
                handle_result=partial(self._batch_done, deliveries))
        except ContainerBeingKilled:
            for _, message in deliveries:
                self.queue_consumer.requeue_message(message)

    def _batch_done(self, deliveries: list[Delivery], worker_ctx: WorkerContext,
                    result: Any = None, exc_info: Any = None) -> tuple[Any, Any]:
        if exc_info is None:  # committed: ack every message of the batch
            for _, message in deliveries:
                self.queue_consumer.ack_message(message)
        elif len(deliveries) == 1:
            self.handle_message_processed(deliveries[0][1], result, exc_info)
        else:
            log.warning("a batch of %d events on %s failed (%s: %s): applying them one by one",
                        len(deliveries), self.queue.name, exc_info[0].__name__, exc_info[1])
            metrics.count_failure(self.queue.name, "batch_split")
            # not from this worker: spawning waits for a free worker, which may be this one
            self.container.spawn_managed_thread(
                partial(self._one_by_one, deliveries), identifier=f"{self.method_name}.one_by_one")
        return result, exc_info

    def _one_by_one(self, deliveries: list[Delivery]) -> None:
        for delivery in deliveries:
            self._spawn([delivery])

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


def wait_for_queues(container: Any) -> None:
    """Block until every ``event_stream`` queue of ``container`` is declared and consumed:
    from then on every event published reaches them (a catch-up waits for this)."""
    for entrypoint in container.entrypoints:
        if isinstance(entrypoint, EventStreamHandler):
            entrypoint.queue_consumer.wait_ready()


class OutOfOrder(Exception):
    """Raised when an event's predecessor has not been applied yet."""


Fetch = Callable[[str, int], list[dict[str, Any]]]
# applies one event inside the unit of work's transaction (its repositories bind to it)
Apply = Callable[[Mapping[str, Any], Transaction], None]
# applies a run of checked, in-order events in one transaction (a consumer that can
# write a batch more cheaply than event by event: search's buffered views)
ApplyBatch = Callable[[Sequence[Mapping[str, Any]], Transaction], None]
MayAppend = Callable[[Mapping[str, Any]], bool]


class StreamTracker:
    """Per-stream checkpoints of one consumer, kept in the consumer's own database.

    ``signatures`` (``signatures_of(config, producer)``) checks who signed each event;
    without it only hashes and links are checked (the handler checked the delivered
    event's signature; catch-up pages and fetched events need the tracker's).

    Each application runs in a ``unit_of_work`` (by default one without an event store:
    a projection); a consumer whose reaction appends to its own store passes the store's,
    and ``may_append`` -- a cheap look at an event -- lets the events that cannot append
    skip its append lock."""

    def __init__(self, db: Database[Any], consumer: str,
                 signatures: Signatures | None = None,
                 unit_of_work: UnitOfWork | None = None,
                 may_append: MayAppend | None = None) -> None:
        self.db = db
        self.collection = db["tracking"]
        self.consumer = consumer
        self.signatures = signatures
        self.unit_of_work = unit_of_work or UnitOfWork(db)
        self.may_append = may_append

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
        return self._handle(envelope, apply, fetch)

    def _handle(self, envelope: Mapping[str, Any], apply: Apply, fetch: Fetch) -> int:
        # what handle() does; subclasses that wrap handle() in a lock call this inside it
        stream_id, version = envelope["stream_id"], int(envelope["version"])
        self.check(envelope)
        checkpoint = self.collection.find_one({"_id": self._key(stream_id)})
        applied = int(checkpoint["version"]) if checkpoint else 0
        if version <= applied:
            metrics.count_consumer(self.consumer, "duplicate")
            return 0
        todo = [envelope] if version == applied + 1 else \
            self._predecessors(envelope, applied, fetch)
        count = 0
        for event in todo:
            count += self._apply_one(event, apply, checkpoint)
            checkpoint = _checkpoint(event)
        metrics.count_consumer(self.consumer, "applied", count)
        if count == 0:
            metrics.count_consumer(self.consumer, "duplicate")
        return count

    def handle_batch(self, envelopes: Sequence[Mapping[str, Any]], apply: Apply,
                     fetch: Fetch, apply_batch: ApplyBatch | None = None) -> int:
        """Apply a run of events in global order (a catch-up page) exactly once, in
        per-stream order, in ONE transaction with their streams' checkpoints: what
        ``handle`` does event by event, at one commit per batch. Missing predecessors
        are fetched first; when another instance moves a checkpoint meanwhile, the
        batch falls back to ``handle`` per event. ``apply_batch``, when given, applies
        the new events of the batch at once instead of ``apply`` one by one. Returns how
        many were applied."""
        for envelope in envelopes:
            self.check(envelope)
        todo = self._batch_todo(envelopes, fetch)
        if not todo:
            metrics.count_consumer(self.consumer, "duplicate", len(envelopes))
            return 0
        try:
            count = int(self.unit_of_work.run(
                lambda tx: self._apply_batch(todo, apply_batch or _one_by_one(apply), tx),
                self._may_append(todo)))
        except (DuplicateKeyError, OutOfOrder):
            return sum(self._handle(envelope, apply, fetch) for envelope in envelopes)
        metrics.count_consumer(self.consumer, "applied", count)
        self._advance_position(max(int(e.get("position") or 0) for e in todo))
        return count

    def _batch_todo(self, envelopes: Sequence[Mapping[str, Any]],
                    fetch: Fetch) -> list[Mapping[str, Any]]:
        """The events of ``envelopes`` not applied yet, each preceded by any missing
        predecessor of its stream (fetched and checked), in order."""
        known = self._versions({str(e["stream_id"]) for e in envelopes})
        todo: list[Mapping[str, Any]] = []
        for envelope in envelopes:
            stream_id, version = str(envelope["stream_id"]), int(envelope["version"])
            applied = known.get(stream_id, 0)
            if version <= applied:
                continue
            todo += [envelope] if version == applied + 1 else \
                self._predecessors(envelope, applied, fetch)
            known[stream_id] = version
        return todo

    def _versions(self, stream_ids: set[str]) -> dict[str, int]:
        docs = self.collection.find({"_id": {"$in": [self._key(s) for s in sorted(stream_ids)]}})
        prefix = len(self._key(""))
        return {str(d["_id"])[prefix:]: int(d["version"]) for d in docs}

    def _may_append(self, envelopes: Sequence[Mapping[str, Any]]) -> bool:
        return self.may_append is None or any(self.may_append(e) for e in envelopes)

    def _apply_batch(self, todo: list[Mapping[str, Any]], apply_batch: ApplyBatch,
                     tx: Transaction) -> int:
        """Inside the transaction: re-read the checkpoints, apply what is still new,
        then move each stream's checkpoint once (guarded by the version read)."""
        session = tx.session
        checkpoints = {str(d["_id"]): d for d in self.collection.find(
            {"_id": {"$in": sorted({self._key(str(e["stream_id"])) for e in todo})}},
            session=session)}
        read = {key: int(doc["version"]) for key, doc in checkpoints.items()}
        heads: dict[str, Mapping[str, Any]] = {}
        new: list[Mapping[str, Any]] = []
        for envelope in todo:
            key = self._key(str(envelope["stream_id"]))
            if self._is_next(envelope, heads.get(key) or checkpoints.get(key)):
                new.append(envelope)
                heads[key] = envelope
        apply_batch(new, tx)
        for key, envelope in heads.items():
            self.collection.update_one({"_id": key, "version": read.get(key, 0)},
                                       {"$set": _checkpoint(envelope)}, upsert=True, session=session)
        return sum(int(e["version"]) - read.get(key, 0) for key, e in heads.items())

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

    def _apply_one(self, envelope: Mapping[str, Any], apply: Apply,
                   checkpoint: Mapping[str, Any] | None) -> int:
        """Apply ``envelope`` after ``checkpoint`` (the stream's tracking document as read
        before the transaction). Not read again inside it: the checkpoint's update is
        guarded by the version it follows, so an instance that moved it meanwhile makes
        the upsert collide (DuplicateKeyError: applied there, 0 here) or the transaction
        conflict and retry into that collision -- one store read per event fewer."""
        stream_id, version = envelope["stream_id"], int(envelope["version"])
        if not self._is_next(envelope, checkpoint):
            return 0

        def step(tx: Transaction) -> int:
            self.collection.update_one(
                {"_id": self._key(stream_id), "version": version - 1},
                {"$set": _checkpoint(envelope)}, upsert=True, session=tx.session)
            apply(envelope, tx)
            return 1

        try:
            applied = int(self.unit_of_work.run(step, self._may_append([envelope])))
        except DuplicateKeyError:
            return 0  # another instance applied it at the same moment
        self._advance_position(int(envelope.get("position") or 0))
        return applied

    @staticmethod
    def _is_next(envelope: Mapping[str, Any], checkpoint: Mapping[str, Any] | None) -> bool:
        """False for a version already applied; True for the next one when it links to
        the one applied; OutOfOrder for a gap, Rejected for a broken link."""
        stream_id, version = envelope["stream_id"], int(envelope["version"])
        applied = int(checkpoint["version"]) if checkpoint else 0
        if version <= applied:
            return False
        if version != applied + 1:
            raise OutOfOrder(f"{stream_id} v{version} before v{applied + 1}")
        # Checkpoints written before hashes were kept have none: nothing to link to.
        previous = checkpoint.get("hash") if checkpoint else GENESIS_HASH
        if previous is not None and envelope.get("prev_hash") != previous:
            raise Rejected(f"{stream_id} v{version}: prev_hash is not the hash of the "
                           f"v{applied} applied")
        return True

    def _advance_position(self, position: int) -> None:
        # Outside the transaction: every event of this consumer would write this one
        # document, so a transaction orphaned by a kill -9 would block them all until the
        # store reaps it (60 s). $max makes a late or repeated write harmless.
        self.db["consumer_positions"].update_one(
            {"_id": self.consumer}, {"$max": {"position": position}}, upsert=True)


def _one_by_one(apply: Apply) -> ApplyBatch:
    def apply_all(envelopes: Sequence[Mapping[str, Any]], tx: Transaction) -> None:
        for envelope in envelopes:
            apply(envelope, tx)
    return apply_all


def _checkpoint(envelope: Mapping[str, Any]) -> dict[str, Any]:
    """A stream's tracking document after ``envelope`` was applied."""
    return {"version": int(envelope["version"]), "event_id": envelope["event_id"],
            "hash": envelope.get("hash"), "position": envelope.get("position")}
