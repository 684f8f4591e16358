"""Approval requests end to end: invoice edits open them, approvers decide through RPC,
the outcome shows on the invoice and in its history."""
from __future__ import annotations

from typing import Any

import eventlet
import pytest

from shared.audit import audit
from shared.errors import Conflict, Forbidden, NotFound, ValidationError
from tests.e2e.approval_support import (
    People,
    approval_status,
    flow_data,
    new_invoice,
    people,
    requests_opened,
)
from tests.support.factories import World


@pytest.fixture
def who(clients: Any) -> People:
    return people(clients)


def test_a_two_stage_flow_runs_from_pending_through_stage_two_to_approved(who: People, world: World,
                                                                          clients: Any) -> None:
    cc = clients.as_user(roles=["auditor"], sub="cc-auditor")
    customer_id, invoice = new_invoice(world, who.sales, amount="3000.00")
    flow = who.admin.approval.define_flow(flow_data(
        customer_id, condition=[{"field": "customer_id", "op": "eq", "value": customer_id},
                                {"field": "amount", "op": "gte", "value": "10000"}],
        stages=[{"name": "财务", "approvers": ["role:finance"], "mode": "any"},
                {"name": "经理", "approvers": [f"user:{who.manager_id}", f"user:{who.manager2_id}"],
                 "mode": "all"}],
        cc=["user:cc-auditor"]))

    who.sales.invoice.update_field(invoice["id"], "amount", "50000.00")

    [request] = requests_opened(who.admin, invoice["id"])
    assert request["status"] == "pending" and request["current_stage"] == 0
    assert request["flow_id"] == flow["id"] and request["flow_version"] == 1
    # the computed figure comes with the amount (issue 15; rate 0: no tax)
    assert request["changed_fields"] == {"amount": {"from": "3000.00", "to": "50000.00"},
                                         "amount_excluding_tax": {"from": "3000.00", "to": "50000.00"}}
    assert request["submitter"]["id"] == who.sales_id
    approval_status(who.admin, invoice["id"], "pending", request["id"])
    assert request["id"] in [r["id"] for r in who.finance.approval.list_requests(mine=True)]
    assert request["id"] not in [r["id"] for r in who.manager.approval.list_requests(mine=True)]
    with pytest.raises(Forbidden):
        who.manager.approval.approve(request["id"])

    after_finance = who.finance.approval.approve(request["id"], "金额核对无误")

    assert after_finance["current_stage"] == 1 and after_finance["status"] == "pending"
    assert after_finance["stages"][0]["decisions"][0]["user"]["id"] == who.finance_id
    assert after_finance["stages"][0]["decisions"][0]["comment"] == "金额核对无误"
    assert request["id"] not in [r["id"] for r in who.finance.approval.list_requests(mine=True)]
    assert request["id"] in [r["id"] for r in who.manager.approval.list_requests(mine=True)]

    one_manager = who.manager.approval.approve(request["id"])
    assert one_manager["status"] == "pending" and one_manager["waiting_on"] == [f"user:{who.manager2_id}"]
    assert request["id"] not in [r["id"] for r in who.manager.approval.list_requests(mine=True)]
    done = who.manager2.approval.approve(request["id"], "同意")

    assert done["status"] == "approved" and done["decided_at"]
    invoice_now = approval_status(who.admin, invoice["id"], "approved", request["id"])
    assert invoice_now["approval_status"] == "approved"
    history = who.admin.invoice.get_history(invoice["id"])
    assert [h["changes"]["approval_status"]["to"] for h in history
            if h["event_type"] == "InvoiceApprovalStatusChanged"] == ["pending", "approved"]
    with pytest.raises(Conflict):
        who.manager2.approval.approve(request["id"])
    assert who.admin.approval.get_request(request["id"])["status"] == "approved"

    kinds = {n["kind"] for n in who.sales.approval.notifications()}
    assert "request_approved" in kinds
    assert any(n["request_id"] == request["id"] and n["kind"] == "request_approved"
               for n in cc.approval.notifications())
    needed = [n for n in who.manager.approval.notifications(unread_only=True)
              if n["request_id"] == request["id"]]
    assert needed and needed[0]["kind"] == "approval_needed"
    who.manager.approval.mark_read([n["id"] for n in needed])
    assert not [n for n in who.manager.approval.notifications(unread_only=True)
                if n["request_id"] == request["id"]]


def test_a_rejection_needs_a_comment_and_rejects_the_invoice_change(who: People, world: World) -> None:
    customer_id, invoice = new_invoice(world, who.sales)
    who.admin.approval.define_flow(flow_data(customer_id))
    who.sales.invoice.update_field(invoice["id"], "amount", "99999.00")
    [request] = requests_opened(who.admin, invoice["id"])

    with pytest.raises(ValidationError) as missing:
        who.finance.approval.reject(request["id"], "")
    rejected = who.finance.approval.reject(request["id"], "金额与合同不符")

    assert "comment" in missing.value.args[0]
    assert rejected["status"] == "rejected"
    assert rejected["stages"][0]["decisions"][-1]["decision"] == "rejected"
    approval_status(who.admin, invoice["id"], "rejected", request["id"])
    assert any(n["kind"] == "request_rejected" and n["request_id"] == request["id"]
               for n in who.sales.approval.notifications())


def test_only_the_submitter_may_withdraw_and_the_invoice_returns_to_none(who: People, world: World) -> None:
    customer_id, invoice = new_invoice(world, who.sales)
    who.admin.approval.define_flow(flow_data(customer_id))
    who.sales.invoice.update_field(invoice["id"], "amount", "77777.00")
    [request] = requests_opened(who.admin, invoice["id"])
    approval_status(who.admin, invoice["id"], "pending", request["id"])

    with pytest.raises(Forbidden):
        who.finance.approval.withdraw(request["id"])
    withdrawn = who.sales.approval.withdraw(request["id"], "改错了")

    assert withdrawn["status"] == "withdrawn"
    approval_status(who.admin, invoice["id"], "none", request["id"])
    with pytest.raises(Conflict):
        who.finance.approval.approve(request["id"])


def test_a_delegated_task_moves_to_the_delegate_and_the_original_stays_recorded(
        who: People, world: World, clients: Any) -> None:
    customer_id, invoice = new_invoice(world, who.sales)
    who.admin.approval.define_flow(flow_data(
        customer_id, stages=[{"name": "经理", "approvers": [f"user:{who.manager_id}"], "mode": "any"}]))
    who.sales.invoice.update_field(invoice["id"], "amount", "12345.00")
    [request] = requests_opened(who.admin, invoice["id"])

    with pytest.raises(Forbidden):
        who.finance.approval.delegate(request["id"], who.manager2_id)
    delegated = who.manager.approval.delegate(request["id"], who.manager2_id, "出差中，请代批")

    assert delegated["stages"][0]["approvers"] == [f"user:{who.manager2_id}"]
    assert delegated["stages"][0]["original_approvers"] == [f"user:{who.manager_id}"]
    decision = delegated["stages"][0]["decisions"][0]
    assert decision["decision"] == "delegated" and decision["user"]["id"] == who.manager_id
    assert decision["to_user_id"] == who.manager2_id
    assert request["id"] in [r["id"] for r in who.manager2.approval.list_requests(mine=True)]
    assert any(n["kind"] == "approval_needed" and n["request_id"] == request["id"]
               for n in who.manager2.approval.notifications())
    with pytest.raises(Forbidden):
        who.manager.approval.approve(request["id"])
    assert who.manager2.approval.approve(request["id"])["status"] == "approved"


def test_the_submitter_may_not_approve_their_own_change(who: People, world: World) -> None:
    customer_id, invoice = new_invoice(world, who.finance)
    who.admin.approval.define_flow(flow_data(customer_id))
    who.finance.invoice.update_field(invoice["id"], "amount", "88888.00")
    [request] = requests_opened(who.admin, invoice["id"])

    with pytest.raises(Forbidden) as refused:
        who.finance.approval.approve(request["id"])

    assert "submitter" in str(refused.value)
    assert request["id"] not in [r["id"] for r in who.finance.approval.list_requests(mine=True)]
    assert who.admin.approval.get_request(request["id"])["status"] == "pending"


def test_unwatched_changes_and_a_false_condition_open_nothing(who: People, world: World) -> None:
    customer_id, invoice = new_invoice(world, who.sales)
    who.admin.approval.define_flow(flow_data(
        customer_id, condition=[{"field": "customer_id", "op": "eq", "value": customer_id},
                                {"field": "amount", "op": "gte", "value": "10000"}]))

    who.sales.invoice.update_field(invoice["id"], "remarks", "只改备注")       # v2: not watched
    who.sales.invoice.update_field(invoice["id"], "amount", "500.00")         # v3: condition false
    who.sales.invoice.update_field(invoice["id"], "amount", "20000.00")       # v4: opens

    requests = requests_opened(who.admin, invoice["id"])
    assert [r["invoice_version"] for r in requests] == [4]


def test_a_watched_custom_field_opens_a_request(who: People, world: World) -> None:
    key = f"level_{world.customer()['id'][-6:]}".lower()
    who.admin.invoice.define_custom_field({"key": key, "label": "等级", "kind": "select",
                                           "options": ["A", "B"]})
    customer_id, invoice = new_invoice(world, who.sales)
    who.admin.approval.define_flow(flow_data(customer_id, watched_fields=[f"custom.{key}"]))

    who.sales.invoice.update_field(invoice["id"], "amount", "40000.00")
    who.sales.invoice.update_field(invoice["id"], f"custom.{key}", "A")

    [request] = requests_opened(who.admin, invoice["id"])
    assert request["changed_fields"] == {f"custom.{key}": {"from": None, "to": "A"}}


def test_a_second_watched_change_supersedes_the_pending_request(who: People, world: World) -> None:
    customer_id, invoice = new_invoice(world, who.sales)
    who.admin.approval.define_flow(flow_data(customer_id))

    who.sales.invoice.update_field(invoice["id"], "amount", "11111.00")
    who.sales.invoice.update_field(invoice["id"], "amount", "22222.00")

    first, second = requests_opened(who.admin, invoice["id"], count=2)
    assert first["status"] == "superseded" and first["superseded_by"] == second["id"]
    assert second["status"] == "pending"
    approval_status(who.admin, invoice["id"], "pending", second["id"])
    with pytest.raises(Conflict):
        who.finance.approval.approve(first["id"])


def test_a_running_request_keeps_its_flow_version_when_the_flow_is_edited(who: People, world: World) -> None:
    customer_id, invoice = new_invoice(world, who.sales)
    flow = who.admin.approval.define_flow(flow_data(customer_id))
    who.sales.invoice.update_field(invoice["id"], "amount", "30001.00")
    [request] = requests_opened(who.admin, invoice["id"])

    edited = who.admin.approval.update_flow(flow["id"], {"stages": [
        {"name": "经理", "approvers": [f"user:{who.manager_id}"], "mode": "any"}]})

    assert edited["version"] == 2
    assert who.admin.approval.get_flow(flow["id"], 1)["stages"][0]["approvers"] == ["role:finance"]
    kept = who.admin.approval.get_request(request["id"])
    assert kept["flow_version"] == 1 and kept["stages"][0]["approvers"] == ["role:finance"]
    with pytest.raises(Forbidden):
        who.manager.approval.approve(request["id"])
    assert who.finance.approval.approve(request["id"])["status"] == "approved"


def test_a_request_is_invisible_to_people_it_does_not_concern(who: People, world: World,
                                                              clients: Any) -> None:
    customer_id, invoice = new_invoice(world, who.sales)
    who.admin.approval.define_flow(flow_data(customer_id))
    who.sales.invoice.update_field(invoice["id"], "amount", "60000.00")
    [request] = requests_opened(who.admin, invoice["id"])
    stranger = clients.as_user(roles=["sales"], sub="stranger")

    with pytest.raises(NotFound):
        stranger.approval.get_request(request["id"])
    assert stranger.approval.requests_for_invoice(invoice["id"]) == []
    assert who.sales.approval.get_request(request["id"])["id"] == request["id"]


def test_two_approvers_acting_at_once_on_an_any_stage_make_one_decision(who: People, world: World,
                                                                         clients: Any) -> None:
    customer_id, invoice = new_invoice(world, who.sales)
    who.admin.approval.define_flow(flow_data(customer_id))
    who.sales.invoice.update_field(invoice["id"], "amount", "65432.00")
    [request] = requests_opened(who.admin, invoice["id"])
    approvers = [clients.as_user(roles=["finance"], sub=f"fin-race-{n}") for n in range(4)]

    def approve(hub: Any) -> str:
        try:
            return str(hub.approval.approve(request["id"], "同意")["status"])
        except Conflict:
            return "conflict"
    outcomes = list(eventlet.GreenPool(4).imap(approve, approvers))

    assert sorted(outcomes) == ["approved", "conflict", "conflict", "conflict"]
    decided = who.admin.approval.get_request(request["id"])
    assert len(decided["stages"][0]["decisions"]) == 1
    approval_status(who.admin, invoice["id"], "approved", request["id"])


def test_request_and_flow_histories_replay_and_verify_like_invoices(who: People, world: World) -> None:
    customer_id, invoice = new_invoice(world, who.sales)
    flow = who.admin.approval.define_flow(flow_data(customer_id))
    who.sales.invoice.update_field(invoice["id"], "amount", "15000.00")
    [request] = requests_opened(who.admin, invoice["id"])
    who.finance.approval.approve(request["id"], "好")

    events = who.admin.approval.get_events(request["id"])

    assert [e["type"] for e in events] == ["ApprovalRequestOpened", "ApprovalGiven",
                                           "ApprovalRequestApproved"]
    assert events[1]["actor"]["id"] == who.finance_id
    assert who.admin.approval.get_events(flow["id"])[0]["type"] == "ApprovalFlowDefined"
    assert who.admin.approval.verify(request["id"]) == {"ok": True, "checked": 3, "broken": []}
    report = audit(who.admin.approval)
    assert report["ok"] is True and report["checked"] >= 4
    with pytest.raises(Forbidden):
        who.sales.approval.read_events()
