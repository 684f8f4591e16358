"""Held changes end to end: a holding flow's watched change is proposed, not applied,
until its request is approved (the seed's promise: a watched change takes effect only
when approved)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from shared.errors import Conflict
from tests.e2e.approval_support import People, flow_data, new_invoice, people, requests_opened
from tests.support.factories import World
from tests.support.infra import wait_for


@pytest.fixture
def who(clients: Any) -> People:
    return people(clients)


def holding_flow(customer_id: str, **overrides: Any) -> dict[str, Any]:
    return flow_data(customer_id, **{"hold": True, **overrides})


def search_view(hub: Any, invoice_id: str, check: Any, message: str) -> dict[str, Any]:
    return wait_for(lambda: (v := hub.search.get_invoice_view(invoice_id)) and check(v) and v,
                    timeout=30, message=message)


def customer_stats(hub: Any, customer_id: str) -> list[dict[str, Any]]:
    return hub.search.stats({"filters": [{"field": "customer_id", "op": "eq", "value": customer_id}]},
                            ["approval_status"])["rows"]


def test_a_held_change_is_pending_everywhere_until_approved_then_applied_as_the_submitters(
        who: People, world: World) -> None:
    # given a holding flow on amount and an invoice of 1,000
    customer_id, invoice = new_invoice(world, who.sales, amount="1000.00")
    assert who.admin.approval.define_flow(holding_flow(customer_id))["hold"] is True

    # when the salesperson changes the amount to 1,500
    answer = who.sales.invoice.update_field(invoice["id"], "amount", "1500.00")

    # then the answer, the invoice, search and stats still say 1,000, with the change pending
    assert answer["amount"] == "1000.00" and answer["approval_status"] == "pending"
    pending = answer["pending_change"]
    # the computed figure waits with the amount it follows (issue 15; rate 0: no tax)
    assert pending["changes"] == {"amount": {"from": "1000.00", "to": "1500.00"},
                                  "amount_excluding_tax": {"from": "1000.00", "to": "1500.00"}}
    assert pending["proposed_by"]["id"] == who.sales_id and pending["proposed_at"]
    assert who.admin.invoice.get_invoice(invoice["id"])["amount"] == "1000.00"
    [request] = requests_opened(who.admin, invoice["id"])
    assert request["id"] == pending["request_id"] and request["hold"] is True
    assert request["changed_fields"] == pending["changes"]
    view = search_view(who.admin, invoice["id"], lambda v: v["approval_status"] == "pending",
                       "the pending change in search")
    assert Decimal(view["amount"]) == Decimal("1000.00")
    assert view["pending_change"]["request_id"] == request["id"]
    assert customer_stats(who.admin, customer_id) == [
        {"approval_status": "pending", "count": 1, "amount": "1000.00", "tax_amount": "0.00",
         "amount_excluding_tax": "1000.00"}]

    # when finance approves
    who.finance.approval.approve(request["id"], "同意")

    # then the change takes effect, recorded as the submitter's, approvers named
    now = wait_for(lambda: (i := who.admin.invoice.get_invoice(invoice["id"]))
                   and i["approval_status"] == "approved" and i, timeout=30, message="applied")
    assert now["amount"] == "1500.00" and now["pending_change"] is None
    history = who.admin.invoice.get_history(invoice["id"])
    assert [h["event_type"] for h in history][-2:] == ["InvoiceChangeProposed", "InvoiceChangeApplied"]
    applied = history[-1]
    assert applied["actor"]["id"] == who.sales_id
    assert applied["changes"]["amount"] == {"from": "1000.00", "to": "1500.00"}
    assert [a["id"] for a in applied["approvers"]] == [who.finance_id]
    assert history[-2]["proposed"] == pending["changes"]
    search_view(who.admin, invoice["id"],
                lambda v: v["approval_status"] == "approved" and Decimal(v["amount"]) == Decimal("1500")
                and v["pending_change"] is None, "the applied change in search")
    assert customer_stats(who.admin, customer_id) == [
        {"approval_status": "approved", "count": 1, "amount": "1500.00", "tax_amount": "0.00",
         "amount_excluding_tax": "1500.00"}]


@pytest.mark.parametrize("ending", ["reject", "withdraw"])
def test_a_rejected_or_withdrawn_held_change_is_discarded_and_values_stay(
        ending: str, who: People, world: World) -> None:
    customer_id, invoice = new_invoice(world, who.sales, amount="1000.00")
    who.admin.approval.define_flow(holding_flow(customer_id))
    pending = who.sales.invoice.update_field(invoice["id"], "amount", "1500.00")["pending_change"]
    requests_opened(who.admin, invoice["id"])

    if ending == "reject":
        who.finance.approval.reject(pending["request_id"], "金额不对")
    else:
        who.sales.approval.withdraw(pending["request_id"], "算错了")

    status = "rejected" if ending == "reject" else "none"
    now = wait_for(lambda: (i := who.admin.invoice.get_invoice(invoice["id"]))
                   and i["pending_change"] is None and i, timeout=30, message="discarded")
    assert now["amount"] == "1000.00" and now["approval_status"] == status
    last = who.admin.invoice.get_history(invoice["id"])[-1]
    assert last["event_type"] == "InvoiceChangeDiscarded"
    assert last["outcome"] == ("rejected" if ending == "reject" else "withdrawn")
    assert last["discarded"] == pending["changes"]
    view = search_view(who.admin, invoice["id"], lambda v: v["pending_change"] is None,
                       "the discarded change in search")
    assert Decimal(view["amount"]) == Decimal("1000.00") and view["approval_status"] == status


def test_while_a_change_is_pending_watched_fields_are_locked_and_others_stay_editable(
        who: People, world: World) -> None:
    customer_id, invoice = new_invoice(world, who.sales, amount="1000.00")
    who.admin.approval.define_flow(holding_flow(customer_id))
    pending = who.sales.invoice.update_field(invoice["id"], "amount", "1500.00")["pending_change"]

    with pytest.raises(Conflict) as refused:
        who.sales.invoice.update_field(invoice["id"], "amount", "1800.00")
    assert "a change awaits approval" in str(refused.value)
    assert pending["request_id"] in str(refused.value)
    edited = who.sales.invoice.update_field(invoice["id"], "remarks", "加急")

    assert edited["remarks"] == "加急" and edited["amount"] == "1000.00"
    assert edited["pending_change"]["request_id"] == pending["request_id"]


def test_a_held_creation_is_pending_and_a_rejection_voids_it_with_the_comment(
        who: People, world: World) -> None:
    customer = world.customer()
    who.admin.approval.define_flow(holding_flow(customer["id"], trigger_on_create=True,
                                                watched_fields=[]))

    invoice = who.sales.invoice.create_invoice(
        {"title": "新票", "type": "receipt", "amount": "500.00", "issued_on": "2026-04-02",
         "customer_id": customer["id"]})

    assert invoice["approval_status"] == "pending" and invoice["status"] == "active"
    [request] = requests_opened(who.admin, invoice["id"])
    assert request["id"] == invoice["approval_request_id"] and request["hold"] is True
    who.finance.approval.reject(request["id"], "客户未签合同")
    now = wait_for(lambda: (i := who.admin.invoice.get_invoice(invoice["id"]))
                   and i["status"] == "void" and i, timeout=30, message="voided")
    assert now["void_reason"] == "审批驳回: 客户未签合同" and now["approval_status"] == "rejected"


def test_voiding_an_invoice_cancels_its_held_request_and_discards_the_change(
        who: People, world: World) -> None:
    customer_id, invoice = new_invoice(world, who.sales, amount="1000.00")
    who.admin.approval.define_flow(holding_flow(customer_id))
    pending = who.sales.invoice.update_field(invoice["id"], "amount", "1500.00")["pending_change"]
    requests_opened(who.admin, invoice["id"])

    voided = who.admin.invoice.void_invoice(invoice["id"], "开错了")

    assert voided["status"] == "void" and voided["pending_change"] is None
    assert voided["amount"] == "1000.00"
    wait_for(lambda: who.admin.approval.get_request(pending["request_id"])["status"] == "cancelled",
             timeout=30, message="the request cancelled")
    assert [h["event_type"] for h in who.admin.invoice.get_history(invoice["id"])][-2:] == \
        ["InvoiceChangeDiscarded", "InvoiceVoided"]


def test_hold_false_keeps_the_after_the_fact_review(who: People, world: World) -> None:
    customer_id, invoice = new_invoice(world, who.sales, amount="1000.00")
    who.admin.approval.define_flow(flow_data(customer_id, hold=False))

    answer = who.sales.invoice.update_field(invoice["id"], "amount", "1500.00")

    assert answer["amount"] == "1500.00" and answer["pending_change"] is None
    [request] = requests_opened(who.admin, invoice["id"])
    assert request["hold"] is False


def test_no_window_a_watched_change_right_after_define_flow_is_held_50_times(
        who: People, world: World) -> None:
    for round_no in range(50):
        customer_id, invoice = new_invoice(world, who.sales, amount="1000.00")
        who.admin.approval.define_flow(holding_flow(customer_id))

        answer = who.sales.invoice.update_field(invoice["id"], "amount", "1500.00")

        assert answer["amount"] == "1000.00", f"round {round_no}: applied unheld"
        assert answer["pending_change"] is not None, f"round {round_no}: not pending"
