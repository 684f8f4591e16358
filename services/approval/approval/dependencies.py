"""The approval service's DependencyProvider: one MongoDB client, the shared event store
with its outbox relay, and the narrow objects built on them."""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import eventlet
from prometheus_client.core import GaugeMetricFamily
from pymongo.database import Database

from approval.adapters.flows import MongoFlowRepository
from approval.adapters.invoice_replica import InvoiceReplica
from approval.adapters.reaction import in_transaction
from approval.adapters.requests import MongoNotificationStore, MongoRequestRepository
from approval.adapters.webhooks import MongoDeliveries, MongoWebhooks, http_post, now_utc
from approval.application import DeliveryApplication, TimeoutApplication
from approval.domain.events import upcasters
from approval.reactions import InvoiceEventReaction, Reconciler, is_invoice_event, run_repairs
from shared import metrics
from shared.dates import parse_timestamp, utc_now
from shared.events.catchup import CatchUp, CatchUpCheckpoint, rpc_source, until_caught_up
from shared.events.consumer import (
    Fetch,
    Signatures,
    StreamTracker,
    signatures_of,
    wait_for_queues,
)
from shared.events.providers import EventStoreProvider
from shared.events.store import EventStore
from shared.events.unit_of_work import UnitOfWork
from shared.health import CATCH_UPS
from shared.rpc import system_rpc

log = logging.getLogger(__name__)
INVOICE_CONSUMER = "approval.invoice_events"


@dataclass
class ApprovalStorage:
    """What a worker gets: repositories, notifications, and the invoice-event reaction
    with its tracker."""

    flows: MongoFlowRepository
    requests: MongoRequestRepository
    notices: MongoNotificationStore
    reaction: InvoiceEventReaction
    tracker: StreamTracker
    log: EventStore
    webhooks: MongoWebhooks
    deliveries: MongoDeliveries
    replica: InvoiceReplica

    def handle_invoice_events(self, envelopes: Sequence[Mapping[str, Any]], fetch: Fetch) -> int:
        """Exactly once per invoice stream version (missing predecessors fetched), the
        batch in one transaction with its checkpoints."""
        wanted = [e for e in envelopes if is_invoice_event(e)]
        if not wanted:
            return 0
        return self.tracker.handle_batch(wanted, self.reaction.apply, fetch)


def reaction_tracker(db: Database[Any], consumer: str, store: EventStore,
                     reaction: InvoiceEventReaction, signatures: Signatures | None = None) -> StreamTracker:
    """The invoice-event reaction's tracker: its transactions are units of work on this
    service's store (the append lock held, the relay woken after a commit), and events
    that cannot open a request (``may_open``) skip the lock."""
    return StreamTracker(db, consumer, signatures, UnitOfWork(db, store), may_append=reaction.may_open)


class ApprovalStore(EventStoreProvider):
    upcasters = upcasters

    def ensure_indexes(self, db: Database[Any]) -> None:
        MongoFlowRepository.ensure_indexes(db)
        MongoRequestRepository.ensure_indexes(db)
        MongoDeliveries.ensure_indexes(db)
        InvoiceReplica.ensure_indexes(db)

    def build(self, db: Database[Any], store: EventStore) -> ApprovalStorage:
        webhooks = MongoWebhooks(db)
        deliveries = MongoDeliveries(db, webhooks)
        flows = MongoFlowRepository(db, store)
        requests = MongoRequestRepository(db, store, outbox=deliveries)
        replica = InvoiceReplica(db)
        reaction = InvoiceEventReaction(flows, in_transaction(replica, flows, requests))
        metrics.STATE.watch_gauges(f"{db.name}.requests", lambda: open_request_gauges(requests))
        return ApprovalStorage(
            flows=flows, requests=requests, notices=MongoNotificationStore(db), reaction=reaction,
            tracker=reaction_tracker(db, INVOICE_CONSUMER, store, reaction,
                                     signatures_of(self.container.config, "invoice")),
            log=store, webhooks=webhooks, deliveries=deliveries, replica=replica)

    def setup(self) -> None:
        super().setup()
        # before any extension starts (the health port among them): not ready until done
        CATCH_UPS.expect(INVOICE_CONSUMER)

    def start(self) -> None:
        super().start()
        self.container.spawn_managed_thread(self._catch_up_invoice_events)
        self.container.spawn_managed_thread(self._run_timeouts)
        self.container.spawn_managed_thread(self._send_webhooks)
        self.container.spawn_managed_thread(self._reconcile)

    def _reconcile(self) -> None:
        """Every ``RECONCILE_SECONDS``: make invoices' approval_status and pending_change
        agree with their latest request (see reactions.Reconciler)."""
        storage: ApprovalStorage = self.target
        interval = float(self.container.config.get("RECONCILE_SECONDS") or 60)
        reconciler = Reconciler(storage.replica, storage.requests)
        while True:
            eventlet.sleep(interval)
            try:
                repairs = reconciler.repairs()
                if repairs:
                    with system_rpc(self.container.config, "approval") as rpc_client:
                        run_repairs(repairs, rpc_client.invoice.record_approval_status,
                                    rpc_client.invoice.settle_change)
                    log.info("reconcile: %d outcome(s) reported again", len(repairs))
            except Exception:  # noqa: BLE001 - a service or the store is away: next round
                log.warning("reconcile: round failed", exc_info=True)

    def _send_webhooks(self) -> None:
        """Every ``WEBHOOK_POLL_SECONDS``: send the due webhook deliveries."""
        storage: ApprovalStorage = self.target
        config = self.container.config
        sender = DeliveryApplication(
            storage.deliveries, storage.webhooks, http_post,
            base_seconds=float(config.get("WEBHOOK_RETRY_BASE_SECONDS") or 5),
            lease_seconds=float(config.get("WEBHOOK_LEASE_SECONDS") or 30),
            timeout=float(config.get("WEBHOOK_TIMEOUT_SECONDS") or 5))
        interval = float(config.get("WEBHOOK_POLL_SECONDS") or 1)
        while True:
            try:
                sender.send_due(now_utc())
            except Exception:  # noqa: BLE001 - the store is away: next round
                log.warning("webhooks: round failed", exc_info=True)
            eventlet.sleep(interval)

    def _run_timeouts(self) -> None:
        """Every ``TIMEOUT_CHECK_SECONDS``: apply the stage timeouts that fell due (also
        those that fell due while no instance ran)."""
        storage: ApprovalStorage = self.target
        interval = float(self.container.config.get("TIMEOUT_CHECK_SECONDS") or 30)
        timeouts = TimeoutApplication(storage.requests)
        while True:
            try:
                applied = timeouts.apply_due(utc_now())
                if applied:
                    log.info("stage timeouts applied: %d", applied)
            except Exception:  # noqa: BLE001 - the store is away: next round
                log.warning("stage timeouts: round failed", exc_info=True)
            eventlet.sleep(interval)

    def _catch_up_invoice_events(self) -> None:
        """Apply invoice events stored before this service's queue existed (retrying
        until the invoice service answers)."""
        storage: ApprovalStorage = self.target

        def attempt() -> int:
            with rpc_source(self.container.config, "approval", "invoice") as source:
                return CatchUp.of(storage.tracker, storage.reaction.apply,
                                  wanted=is_invoice_event).run(source)
        until_caught_up(INVOICE_CONSUMER, attempt, ready=lambda: wait_for_queues(self.container),
                        completed=CatchUpCheckpoint(storage.tracker.db, storage.tracker.consumer).completed)


AGE_BUCKETS = (("1h", 3600.0), ("1d", 86400.0), ("3d", 3 * 86400.0), ("7d", 7 * 86400.0))


def open_request_gauges(requests: MongoRequestRepository) -> Iterator[GaugeMetricFamily]:
    """Open approval requests by age (cumulative: created at most ``le`` ago) and the
    age of the oldest, for the "approval past due" alert."""
    now = dt.datetime.now(dt.timezone.utc)
    ages = [(now - _moment(created)).total_seconds() for created in requests.open_since()]
    by_age = GaugeMetricFamily("crm_approval_open_requests",
                               "Open approval requests created at most `le` ago", labels=["le"])
    for label, limit in AGE_BUCKETS:
        by_age.add_metric([label], sum(1 for age in ages if age <= limit))
    by_age.add_metric(["+Inf"], len(ages))
    oldest = GaugeMetricFamily("crm_approval_oldest_open_request_seconds",
                               "Age of the oldest open approval request (0 when none)")
    oldest.add_metric([], max(ages, default=0.0))
    yield from (by_age, oldest)


def _moment(timestamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(parse_timestamp(timestamp))
