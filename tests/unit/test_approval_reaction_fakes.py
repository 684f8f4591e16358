"""The invoice-event reaction over fakes of its ports: it reads and writes only through
the repositories its transaction binds (no session, no MongoDB)."""
from __future__ import annotations

from typing import Any

from approval.domain.flow import Flow, validate_definition
from approval.reactions import InvoiceEventReaction
from shared.events.envelope import Metadata
from shared.query import invoice_catalog
from tests.support.factories import amount_changed as amount
from tests.support.factories import chain
from tests.support.factories import invoice_event as envelope
from tests.support.fakes import (
    FakeFlowRepository,
    FakeReactionRepositories,
    FakeRequestRepository,
    InMemoryEventLog,
)

ADMIN = Metadata(actor={"id": "admin-1", "name": "admin"})


def given_a_flow_on_amounts(flows: FakeFlowRepository) -> None:
    flows.save(Flow.define("flow_1", validate_definition({
        "name": "大额", "watched_fields": ["amount"], "trigger_on_create": False,
        "condition": [{"field": "amount", "op": "gte", "value": "10000"}],
        "stages": [{"name": "财务", "approvers": ["role:finance"], "mode": "any"}],
        "cc": [], "active": True}, invoice_catalog([], view_fields=False), {"finance"})), ADMIN)


def test_a_triggering_change_supersedes_the_pending_request_through_the_bound_repositories() -> None:
    log = InMemoryEventLog()
    flows, requests = FakeFlowRepository(log), FakeRequestRepository(log)
    given_a_flow_on_amounts(flows)
    repos = FakeReactionRepositories(flows, requests)
    transactions: list[Any] = []

    def bind(transaction: Any) -> FakeReactionRepositories:
        transactions.append(transaction)
        return repos

    reaction = InvoiceEventReaction(flows, bind)
    events = [envelope(1, "InvoiceCreated", {"number": "INV-1", "fields": {"amount": "100.00"}}),
              amount(2, "100.00", "20000.00"), amount(3, "20000.00", "30000.00")]
    chain(events)

    for number, event in enumerate(events):
        reaction.apply(event, f"tx-{number}")

    first, second = (f"apr_{e['event_id']}" for e in events[1:])
    assert [(r["id"], r["status"]) for r in requests.for_invoice("inv_1")] == [
        (first, "superseded"), (second, "pending")]
    assert repos.invoice("inv_1")["amount"] == "30000.00"  # type: ignore[index]
    assert transactions == ["tx-0", "tx-1", "tx-2"]
