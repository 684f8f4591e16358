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


class CountingFlowRules:
    """The flows a reaction looks at, counting how often the active ones are read."""

    def __init__(self, flows: FakeFlowRepository) -> None:
        self.flows, self.reads = flows, 0

    def active(self) -> list[dict[str, Any]]:
        self.reads += 1
        return self.flows.active()

    def load_version(self, flow_id: str, version: int) -> Flow:
        return self.flows.load_version(flow_id, version)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_look_before_the_transaction_reads_the_active_flows_once_a_second_not_per_event() -> None:
    flows = FakeFlowRepository(InMemoryEventLog())
    given_a_flow_on_amounts(flows)
    rules, clock = CountingFlowRules(flows), Clock()
    reaction = InvoiceEventReaction(rules, lambda transaction: None, clock=clock)
    remarks = envelope(2, "InvoiceFieldsChanged", {"changes": {"remarks": {"from": "", "to": "x"}}})

    looks = [reaction.may_open(amount(2, "1.00", "20000.00")), reaction.may_open(remarks),
             reaction.may_open(amount(3, "20000.00", "30000.00"))]
    reads_within_a_second = rules.reads
    clock.now += 1.0
    reaction.may_open(remarks)

    assert looks == [True, False, True]
    assert reads_within_a_second == 1
    assert rules.reads == 2
