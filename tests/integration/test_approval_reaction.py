"""The approval service's reaction to invoice events, on the real store: exactly one
request per triggering event however often it arrives, supersede, inbox and
notifications written with the events."""
from __future__ import annotations

from typing import Any

import pytest
from pymongo.database import Database

from approval.adapters.flows import MongoFlowRepository
from approval.adapters.invoice_replica import InvoiceReplica
from approval.adapters.reaction import in_transaction
from approval.adapters.requests import MongoNotificationStore, MongoRequestRepository
from approval.dependencies import reaction_tracker
from approval.domain.flow import Flow, validate_definition
from approval.reactions import InvoiceEventReaction
from shared.events.envelope import Metadata
from shared.events.store import EventStore
from shared.query import invoice_catalog
from tests.support.factories import amount_changed as amount
from tests.support.factories import chain
from tests.support.factories import invoice_event as envelope

ADMIN = Metadata(actor={"id": "admin-1", "name": "admin"})


@pytest.fixture
def parts(db: Database[Any], store: EventStore) -> dict[str, Any]:
    MongoFlowRepository.ensure_indexes(db)
    MongoRequestRepository.ensure_indexes(db)
    flows, requests = MongoFlowRepository(db, store), MongoRequestRepository(db, store)
    reaction = InvoiceEventReaction(flows, in_transaction(InvoiceReplica(db), flows, requests))
    flows.save(Flow.define("flow_1", validate_definition({
        "name": "大额", "watched_fields": ["amount"], "trigger_on_create": False,
        "condition": [{"field": "amount", "op": "gte", "value": "10000"}],
        "stages": [{"name": "财务", "approvers": ["role:finance"], "mode": "any"}],
        "cc": [], "active": True}, invoice_catalog([], view_fields=False), {"finance"})), ADMIN)
    return {"reaction": reaction, "requests": requests, "store": store,
            "notices": MongoNotificationStore(db),
            "tracker": reaction_tracker(db, "test.invoices", store, reaction)}


def feed(parts: dict[str, Any], event: dict[str, Any], fetch: Any = None) -> int:
    return int(parts["tracker"].handle(event, parts["reaction"].apply, fetch or (lambda s, v: [])))


def test_a_trigger_delivered_three_times_opens_one_request(parts: dict[str, Any]) -> None:
    created = envelope(1, "InvoiceCreated", {"number": "INV-1", "fields": {"amount": "100.00"}})
    change = amount(2, "100.00", "20000.00")
    chain([created, change])

    applied = [feed(parts, created)] + [feed(parts, change) for _ in range(3)]

    assert applied == [1, 1, 0, 0]
    [request] = parts["requests"].for_invoice("inv_1")
    assert request["id"] == f"apr_{change['event_id']}" and request["waiting_on"] == ["role:finance"]
    assert request["submitter"] == {"id": "sales-1", "name": "销售"}
    [note] = parts["notices"].for_recipients(["role:finance"], "fin-1", unread_only=True)
    assert note["kind"] == "approval_needed" and note["request_id"] == request["id"]
    [opened] = parts["store"].stream(request["id"])
    assert opened["causation_id"] == change["event_id"] and opened["actor"]["id"] == "sales-1"


def test_an_early_event_fetches_its_predecessors_and_the_newest_trigger_supersedes(
        parts: dict[str, Any]) -> None:
    history = [envelope(1, "InvoiceCreated", {"number": "INV-1", "fields": {"amount": "100.00"}}),
               amount(2, "100.00", "20000.00"), amount(3, "20000.00", "30000.00")]
    chain(history)

    feed(parts, history[2], fetch=lambda stream, after: history[after:])

    first, second = parts["requests"].for_invoice("inv_1")
    assert (first["status"], first["superseded_by"]) == ("superseded", second["id"])
    assert second["status"] == "pending" and second["invoice_version"] == 3
    assert parts["requests"].latest_for_invoice("inv_1")["id"] == second["id"]
