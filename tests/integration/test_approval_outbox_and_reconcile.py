"""On the real store: a held change's request opened by the reaction writes its webhook
deliveries in the same transaction; the sender retries, leases and parks them; the
reconcile round finds an invoice whose outcome report never arrived."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from pymongo.database import Database

from approval.adapters.flows import MongoFlowRepository
from approval.adapters.invoice_replica import InvoiceReplica
from approval.adapters.reaction import in_transaction
from approval.adapters.requests import MongoRequestRepository
from approval.adapters.webhooks import MongoDeliveries, MongoWebhooks
from approval.application import DeliveryApplication
from approval.dependencies import reaction_tracker
from approval.domain.flow import Flow, validate_definition
from approval.reactions import InvoiceEventReaction, Reconciler
from shared.auth import Actor
from shared.dates import format_timestamp
from shared.events.envelope import Metadata
from shared.events.store import EventStore
from shared.query import invoice_catalog
from tests.support.factories import chain

ADMIN = Metadata(actor={"id": "admin-1", "name": "admin"})


@pytest.fixture
def t0() -> dt.datetime:
    """The sender's clock: deliveries fall due when their request event is stored (during
    the test), so a minute after the test starts -- not after the module's import, long
    past when a full suite reaches these tests."""
    return dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=1)


def at(moment: dt.datetime) -> str:
    return format_timestamp(moment)


@pytest.fixture
def parts(db: Database[Any], store: EventStore) -> dict[str, Any]:
    MongoFlowRepository.ensure_indexes(db)
    MongoRequestRepository.ensure_indexes(db)
    MongoDeliveries.ensure_indexes(db)
    webhooks = MongoWebhooks(db)
    deliveries = MongoDeliveries(db, webhooks)
    flows = MongoFlowRepository(db, store)
    requests = MongoRequestRepository(db, store, outbox=deliveries)
    replica = InvoiceReplica(db)
    reaction = InvoiceEventReaction(flows, in_transaction(replica, flows, requests))
    flows.save(Flow.define("flow_1", validate_definition({
        "name": "大额", "watched_fields": ["amount"], "trigger_on_create": False,
        "condition": None, "stages": [{"name": "财务", "approvers": ["role:finance"], "mode": "any"}],
        "cc": [], "active": True, "hold": True}, invoice_catalog([], view_fields=False), {"finance"})),
        ADMIN)
    webhooks.add({"id": "whk_1", "url": "http://127.0.0.1:9/hook", "secret": "secret-123",
                  "events": ["approval_needed"], "format": "json", "created_at": "2026-05-01"})
    return {"reaction": reaction, "requests": requests, "replica": replica, "webhooks": webhooks,
            "deliveries": deliveries,
            "tracker": reaction_tracker(db, "test.invoices", store, reaction)}


def envelope(version: int, kind: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"event_id": uuid.uuid4().hex, "stream_id": "inv_1", "stream_type": "invoice",
            "version": version, "position": version, "type": kind, "data": data,
            "occurred_at": "2026-05-01T00:00:00.000Z", "correlation_id": "c1",
            "actor": {"id": "sales-1", "name": "销售", "roles": ["sales"]}}


def held_change(parts: dict[str, Any]) -> str:
    """InvoiceCreated, then InvoiceChangeProposed, through the tracked reaction."""
    events = [envelope(1, "InvoiceCreated", {"number": "INV-1", "fields": {"amount": "100.00"}}),
              envelope(2, "InvoiceChangeProposed", {
                  "request_id": "apr_held", "flow_id": "flow_1", "flow_version": 1,
                  "watched_fields": ["amount"],
                  "changes": {"amount": {"from": "100.00", "to": "150.00"}}})]
    chain(events)
    for event in events:
        parts["tracker"].handle(event, parts["reaction"].apply, lambda s, v: [])
    return "apr_held"


def test_a_held_request_opens_with_the_invoices_id_and_its_delivery_in_the_outbox(
        parts: dict[str, Any]) -> None:
    request_id = held_change(parts)

    request = parts["requests"].state(request_id)
    [delivery] = parts["deliveries"].find("pending")

    assert request["hold"] is True and request["changed_fields"]["amount"]["to"] == "150.00"
    assert delivery["id"] == f"{request_id}:1:approval_needed:whk_1"
    assert parts["replica"].get("inv_1")["pending_change"]["request_id"] == request_id


def test_deliveries_are_retried_with_back_off_leased_and_parked_after_24_hours(
        parts: dict[str, Any], t0: dt.datetime) -> None:
    held_change(parts)
    answers = [500, 0]
    sent: list[tuple[str, dict[str, str]]] = []

    def post(url: str, body: bytes, headers: Any, timeout: float) -> int:
        sent.append((url, dict(headers)))
        return answers.pop(0) if answers else 200

    sender = DeliveryApplication(parts["deliveries"], parts["webhooks"], post, base_seconds=10)
    sender.send_due(t0)                                      # 500
    assert sender.send_due(t0 + dt.timedelta(seconds=5)) == 0 and len(sent) == 1  # backing off
    sender.send_due(t0 + dt.timedelta(seconds=11))          # no answer
    assert sender.send_due(t0 + dt.timedelta(seconds=40)) == 1

    [delivery] = parts["deliveries"].find("delivered")
    assert delivery["attempts"] == 3 and len({h["X-Event-Id"] for _, h in sent}) == 1

    assert parts["deliveries"].claim_due(at(t0 + dt.timedelta(days=9)),
                                         at(t0 + dt.timedelta(days=10))) is None  # all sent


def test_a_failing_delivery_is_parked_after_24_hours(
        parts: dict[str, Any], t0: dt.datetime) -> None:
    held_change(parts)
    sender = DeliveryApplication(parts["deliveries"], parts["webhooks"],
                                 lambda *args: 503, base_seconds=3600)
    sender.send_due(t0)
    sender.send_due(t0 + dt.timedelta(hours=25))

    [parked] = parts["deliveries"].find("parked")
    assert parked["attempts"] == 2 and parked["last_error"] == "HTTP 503"


def test_a_claimed_delivery_is_not_claimed_twice_until_its_lease_ends(
        parts: dict[str, Any], t0: dt.datetime) -> None:
    held_change(parts)
    outbox = parts["deliveries"]

    def claim(second: int) -> Any:
        return outbox.claim_due(at(t0 + dt.timedelta(seconds=second)),
                                at(t0 + dt.timedelta(seconds=second + 30)))

    first, second, after_lease = claim(1), claim(2), claim(31)

    assert first is not None and second is None
    assert after_lease is not None and after_lease["_id"] == first["_id"]


def test_reconcile_finds_the_approved_held_change_the_invoice_never_heard_of(
        parts: dict[str, Any]) -> None:
    request_id = held_change(parts)
    request = parts["requests"].load(request_id)
    request.approve(Actor("fin-1", "财务", None, ("finance",)), "ok")
    parts["requests"].save(request, ADMIN)

    repairs = Reconciler(parts["replica"], parts["requests"]).repairs()

    assert [(kind, args[:3]) for kind, args in repairs] == [
        ("settle", ("inv_1", request_id, "approved"))]
