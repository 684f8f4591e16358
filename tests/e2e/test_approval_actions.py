"""The approval actions people expect, through RPC: 加签 (add_approvers), 退回 (send_back)
and resubmit, 催办 (remind), approve_many, and cc told when a request opens."""
from __future__ import annotations

from typing import Any

import pytest

from shared.errors import Conflict, Forbidden, ValidationError
from tests.e2e.approval_support import People, flow_data, new_invoice, people, requests_opened
from tests.support.factories import World, unique
from tests.support.infra import wait_for


@pytest.fixture
def who(clients: Any) -> People:
    return people(clients)


def open_request(who: People, world: World, **flow: Any) -> tuple[str, dict[str, Any]]:
    customer_id, invoice = new_invoice(world, who.sales, amount="1000.00")
    who.admin.approval.define_flow(flow_data(customer_id, **{"hold": True, **flow}))
    who.sales.invoice.update_field(invoice["id"], "amount", "1500.00")
    [request] = requests_opened(who.admin, invoice["id"])
    return invoice["id"], request


def inbox(hub: Any) -> list[str]:
    return [r["id"] for r in hub.approval.list_requests(mine=True)]


def test_approvers_added_before_decide_first_and_the_current_stage_waits(who: People,
                                                                         world: World) -> None:
    _, request = open_request(who, world)

    added = who.finance.approval.add_approvers(request["id"], [f"user:{who.manager_id}"], "before",
                                               "请经理先看")

    assert [s["name"] for s in added["stages"]] == ["加签", "财务审核"]
    assert added["waiting_on"] == [f"user:{who.manager_id}"]
    assert request["id"] in inbox(who.manager) and request["id"] not in inbox(who.finance)
    with pytest.raises(Forbidden):
        who.finance.approval.approve(request["id"])
    who.manager.approval.approve(request["id"])
    assert who.finance.approval.approve(request["id"])["status"] == "approved"


def test_approvers_added_after_or_with_the_stage_and_the_refusals(who: People, world: World) -> None:
    _, after = open_request(who, world)
    who.finance.approval.add_approvers(after["id"], [f"user:{who.manager_id}"], "after")
    assert who.finance.approval.approve(after["id"])["waiting_on"] == [f"user:{who.manager_id}"]
    assert who.manager.approval.approve(after["id"])["status"] == "approved"

    _, with_ = open_request(who, world, stages=[
        {"name": "经理", "approvers": [f"user:{who.manager_id}"], "mode": "all"}])
    who.manager.approval.add_approvers(with_["id"], [f"user:{who.manager2_id}"], "with")
    assert who.manager.approval.approve(with_["id"])["waiting_on"] == [f"user:{who.manager2_id}"]

    with pytest.raises(Forbidden):
        who.sales.approval.add_approvers(with_["id"], ["user:x"], "after")   # the submitter
    with pytest.raises(Conflict):
        who.manager.approval.add_approvers(with_["id"], ["user:x"], "after")  # entry satisfied
    with pytest.raises(ValidationError) as bad_where:
        who.manager2.approval.add_approvers(with_["id"], ["user:x"], "around")
    assert "where" in bad_where.value.args[0]
    with pytest.raises(ValidationError) as bad_role:
        who.manager2.approval.add_approvers(with_["id"], ["role:nobody"], "after")
    assert "approvers" in bad_role.value.args[0]


def test_sent_back_to_an_earlier_stage_it_opens_again_with_the_history_kept(who: People,
                                                                             world: World) -> None:
    _, request = open_request(who, world, stages=[
        {"name": "财务", "approvers": ["role:finance"], "mode": "any"},
        {"name": "经理", "approvers": [f"user:{who.manager_id}"], "mode": "any"}])
    who.finance.approval.approve(request["id"], "ok")

    with pytest.raises(ValidationError):
        who.manager.approval.send_back(request["id"], "", 1)
    back = who.manager.approval.send_back(request["id"], "金额再核", 0)

    assert back["current_stage"] == 0 and back["status"] == "pending"
    assert back["stages"][0]["decisions"][0]["comment"] == "ok"  # still in the history
    assert request["id"] in inbox(who.finance)


def test_returned_to_the_submitter_a_held_change_is_resubmitted_with_revised_values(
        who: People, world: World) -> None:
    invoice_id, request = open_request(who, world)

    returned = who.finance.approval.send_back(request["id"], "金额写错了")
    assert returned["status"] == "returned"
    assert any(n["kind"] == "request_returned" and n["request_id"] == request["id"]
               for n in who.sales.approval.notifications())
    with pytest.raises(Forbidden):
        who.finance.approval.resubmit(request["id"])
    with pytest.raises(ValidationError) as refused:
        who.sales.approval.resubmit(request["id"], {"amount": "-5"})
    assert "amount" in refused.value.args[0]
    with pytest.raises(ValidationError):
        who.sales.approval.resubmit(request["id"], {"remarks": "x"})  # not a held field

    again = who.sales.approval.resubmit(request["id"], {"amount": "1200.00"}, "改为1200")

    assert again["status"] == "pending" and again["current_stage"] == 0
    assert again["changed_fields"] == {"amount": {"from": "1000.00", "to": "1200.00"},
                                       "amount_excluding_tax": {"from": "1000.00", "to": "1200.00"}}
    invoice = who.admin.invoice.get_invoice(invoice_id)
    assert invoice["amount"] == "1000.00"
    assert invoice["pending_change"]["changes"]["amount"]["to"] == "1200.00"
    who.finance.approval.approve(request["id"])
    wait_for(lambda: who.admin.invoice.get_invoice(invoice_id)["amount"] == "1200.00",
             timeout=30, message="the revised change applied")


def test_a_returned_held_change_withdrawn_is_discarded(who: People, world: World) -> None:
    invoice_id, request = open_request(who, world)
    who.finance.approval.send_back(request["id"], "不需要改")

    who.sales.approval.withdraw(request["id"], "好的")

    wait_for(lambda: who.admin.invoice.get_invoice(invoice_id)["pending_change"] is None,
             timeout=30, message="the change discarded")
    assert who.admin.invoice.get_invoice(invoice_id)["amount"] == "1000.00"


def test_a_reminder_reaches_the_waiting_approvers_at_most_once_per_interval(who: People,
                                                                            world: World) -> None:
    _, request = open_request(who, world)

    with pytest.raises(Forbidden):
        who.finance.approval.remind(request["id"])
    reminded = who.sales.approval.remind(request["id"])
    with pytest.raises(Conflict):
        who.sales.approval.remind(request["id"])

    assert reminded["last_reminded_at"]
    assert any(n["kind"] == "reminder" and n["request_id"] == request["id"]
               for n in who.finance.approval.notifications())


def test_approve_many_decides_each_request_on_its_own(who: People, world: World) -> None:
    _, first = open_request(who, world)
    _, second = open_request(who, world, stages=[
        {"name": "经理", "approvers": [f"user:{who.manager_id}"], "mode": "any"}])
    missing = f"apr_{unique('none')}"

    results = who.finance.approval.approve_many([first["id"], second["id"], missing], "批量同意")

    assert results[first["id"]] == {"status": "approved"}
    assert results[second["id"]]["error"] == "Forbidden"
    assert results[missing]["error"] == "NotFound" and results[missing]["message"]
    with pytest.raises(ValidationError):
        who.finance.approval.approve_many("not a list")


def test_cc_is_told_when_a_request_opens(who: People, world: World, clients: Any) -> None:
    watcher_id = unique("cc")
    watcher = clients.as_user(roles=["auditor"], sub=watcher_id)

    _, request = open_request(who, world, cc=[f"user:{watcher_id}"])

    notes = wait_for(lambda: [n for n in watcher.approval.notifications()
                              if n["request_id"] == request["id"]], timeout=10,
                     message="the cc notification")
    assert [n["kind"] for n in notes] == ["request_opened"]
