"""The Prometheus metrics of a service process (prometheus_client, one registry per
process, served at ``/metrics`` by shared.ops).

Counters are bumped where things happen (RPC workers in shared.ops, appends in the
event store, consumers in shared.events.consumer); positions, lags and queue depths are
read when Prometheus scrapes, by ``StateCollector``, from the relays and queues this
process registered. Names start with ``crm_``; docs/operations.md lists them."""
from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

from kombu import Connection
from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

RPC_CALLS = Counter("crm_rpc_calls", "RPC calls handled, by method and outcome (ok or the error type)",
                    ["service", "method", "outcome"])
RPC_SECONDS = Histogram("crm_rpc_duration_seconds", "RPC call duration in the worker",
                        ["service", "method"], buckets=LATENCY_BUCKETS)
RPC_REPLIES_DROPPED = Counter(
    "crm_rpc_replies_dropped", "RPC replies that could not be sent (broker unreachable) and were dropped",
    ["service", "method"])
RPC_EXPIRED = Counter(
    "crm_rpc_expired_requests", "RPC requests dropped unexecuted: their deadline had passed on arrival",
    ["service", "method"])
EVENTS_HANDLED = Counter("crm_event_handlers", "Event handler runs, by handler and outcome",
                         ["service", "handler", "outcome"])
EVENTS_APPENDED = Counter("crm_events_appended", "Events appended to a service's store", ["store"])
STORE_TX_SECONDS = Histogram("crm_store_transaction_seconds",
                             "Duration of an appending store transaction", ["store"],
                             buckets=LATENCY_BUCKETS)
STORE_TRANSACTIONS = Counter("crm_store_transactions",
                             "Appending store transactions run (tries included)", ["store"])
STORE_GROUP_SIZE = Histogram("crm_store_group_size", "Appends committed together (group commit)",
                             ["store"], buckets=(1, 2, 4, 8, 16, 32, 64))
STORE_COMMANDS = Counter("crm_store_commands",
                         "Commands sent to the store (round trips), by database, command and collection",
                         ["database", "command", "collection"])
RELAY_PUBLISHED = Counter("crm_relay_published", "Events the outbox relay published", ["store"])
CONSUMER_EVENTS = Counter(
    "crm_consumer_events", "Events a consumer's tracker saw, by result: applied, duplicate (skipped)",
    ["consumer", "result"])
QUEUE_FAILURES = Counter(
    "crm_queue_failures",
    "Failed deliveries on a consumer queue, by what happened: retried, parked, batch_split",
    ["queue", "result"])
CONSUMER_BATCH_SIZE = Histogram(
    "crm_consumer_batch_size", "Events a batched consumer handed to one worker (one transaction)",
    ["queue"], buckets=(1, 2, 4, 8, 16, 32, 64, 128))


def count_consumer(consumer: str, result: str, amount: int = 1) -> None:
    CONSUMER_EVENTS.labels(consumer, result).inc(amount)


def count_failure(queue: str, result: str) -> None:
    QUEUE_FAILURES.labels(queue, result).inc()


def observe_batch(queue: str, size: int) -> None:
    CONSUMER_BATCH_SIZE.labels(queue).observe(size)


class StateCollector(Collector):
    """Gauges read at scrape time: relay position and lag, queue and DLQ depths, and any
    service-specific gauges (open approval requests by age) registered as callables."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.relays: dict[str, Any] = {}           # store name -> OutboxRelay
        self.queues: dict[str, tuple[str, str]] = {}  # queue -> (dlq, amqp uri)
        self.gauges: dict[str, Callable[[], Iterator[GaugeMetricFamily]]] = {}

    def watch_relay(self, store: str, relay: Any) -> None:
        with self._lock:
            self.relays[store] = relay

    def watch_queue(self, queue: str, dead_letter_queue: str, amqp_uri: str) -> None:
        with self._lock:
            self.queues[queue] = (dead_letter_queue, amqp_uri)

    def watch_gauges(self, name: str, produce: Callable[[], Iterator[GaugeMetricFamily]]) -> None:
        with self._lock:
            self.gauges[name] = produce

    def forget(self, name: str) -> None:
        with self._lock:
            self.relays.pop(name, None)
            self.gauges.pop(name, None)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            relays, queues = dict(self.relays), dict(self.queues)
            gauges = list(self.gauges.values())
        if relays:
            yield from relay_gauges(relays)
        if queues:
            yield from queue_gauges(queues)
        for produce in gauges:
            try:
                yield from produce()
            except Exception:  # noqa: BLE001 - a failing gauge must not fail the scrape
                log.warning("metrics: a gauge could not be read", exc_info=True)


def relay_gauges(relays: dict[str, Any]) -> Iterator[GaugeMetricFamily]:
    position = GaugeMetricFamily("crm_relay_position", "Last position the relay published", labels=["store"])
    head = GaugeMetricFamily("crm_store_head_position", "Last position appended to the store", labels=["store"])
    lag = GaugeMetricFamily("crm_relay_lag_events", "Events stored but not yet published", labels=["store"])
    lag_s = GaugeMetricFamily("crm_relay_lag_seconds",
                              "Age of the oldest stored event not yet published (0 when none)",
                              labels=["store"])
    leader = GaugeMetricFamily("crm_relay_leader", "1 when this process holds the relay lease", labels=["store"])
    for store, relay in relays.items():
        try:
            published = relay.position if relay.position is not None else relay.lease.checkpoint()
            last = relay.store.last_position()
            oldest = relay.store.read_all(after_position=published, limit=1) if last > published else []
        except Exception:  # noqa: BLE001 - store down: the health probe says so
            log.debug("metrics: relay state unreadable", exc_info=True)
            continue
        position.add_metric([store], published)
        head.add_metric([store], last)
        lag.add_metric([store], max(last - published, 0))
        lag_s.add_metric([store], _age_seconds(oldest[0]["occurred_at"]) if oldest else 0.0)
        leader.add_metric([store], 1.0 if relay.position is not None else 0.0)
    yield from (position, head, lag, lag_s, leader)


def queue_gauges(queues: dict[str, tuple[str, str]]) -> Iterator[GaugeMetricFamily]:
    depth = GaugeMetricFamily("crm_queue_messages", "Messages waiting on a consumer's queue (its lag)",
                              labels=["queue"])
    parked = GaugeMetricFamily("crm_dlq_messages", "Messages parked on a consumer's dead-letter queue",
                               labels=["queue"])
    by_uri: dict[str, list[tuple[str, str]]] = {}
    for queue, (dlq, uri) in queues.items():
        by_uri.setdefault(uri, []).append((queue, dlq))
    for uri, pairs in by_uri.items():
        try:
            with Connection(uri, connect_timeout=2) as connection:
                for queue, dlq in pairs:
                    depth.add_metric([queue], queue_depth(connection, queue))
                    parked.add_metric([queue], queue_depth(connection, dlq))
        except Exception:  # noqa: BLE001 - broker down: the health probe says so
            log.debug("metrics: queue depths unreadable", exc_info=True)
    yield from (depth, parked)


def queue_depth(connection: Connection, queue: str) -> int:
    """Messages ready on ``queue``; 0 when it does not exist (a DLQ before the first park)."""
    channel = connection.channel()
    try:
        _, count, _ = channel.queue_declare(queue=queue, passive=True)
        return int(count)
    except Exception as exc:  # noqa: BLE001 - 404: not declared yet
        if getattr(exc, "code", None) == 404 or "NOT_FOUND" in str(exc):
            return 0
        raise
    finally:
        try:
            channel.close()
        except Exception:  # noqa: BLE001 - a channel the broker closed (404) is gone already
            pass


def _age_seconds(timestamp: str) -> float:
    then = dt.datetime.fromisoformat(str(timestamp).replace("Z", "+00:00"))
    return max((dt.datetime.now(dt.timezone.utc) - then).total_seconds(), 0.0)


STATE = StateCollector()
REGISTRY.register(STATE)
