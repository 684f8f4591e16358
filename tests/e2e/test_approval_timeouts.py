"""Stage timeouts (due_in_hours with fractions, on_timeout remind / escalate / approve /
reject), applied exactly once with two approval instances and caught up after a restart.
The services run their timer every 0.3 s here (APPROVAL_TIMEOUT_CHECK_SECONDS)."""
from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest

from tests.e2e.approval_support import People, flow_data, new_invoice, people, requests_opened
from tests.support.factories import World, unique
from tests.support.infra import wait_for

DUE_HOURS = 0.0005  # 1.8 s


@pytest.fixture
def who(clients: Any) -> People:
    return people(clients)


def timed_request(who: People, world: World, action: str, **stage: Any) -> tuple[str, dict[str, Any]]:
    customer_id, invoice = new_invoice(world, who.sales, amount="1000.00")
    who.admin.approval.define_flow(flow_data(customer_id, hold=True, stages=[
        {"name": "财务审核", "approvers": ["role:finance"], "mode": "any",
         "due_in_hours": DUE_HOURS, "on_timeout": action, **stage}]))
    who.sales.invoice.update_field(invoice["id"], "amount", "1500.00")
    [request] = requests_opened(who.admin, invoice["id"])
    return invoice["id"], request


def timed_out_events(hub: Any, request_id: str) -> list[dict[str, Any]]:
    return [e for e in hub.approval.get_events(request_id) if e["type"] == "ApprovalStageTimedOut"]


def seconds_until(timestamp: str) -> float:
    due = dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return (due - dt.datetime.now(dt.timezone.utc)).total_seconds()


def test_each_on_timeout_kind_applies_once_with_two_instances(system: Any, who: People,
                                                               world: World, clients: Any) -> None:
    second = system.start("approval")
    try:
        boss_id = unique("boss")
        boss = clients.as_user(roles=["sales_manager"], sub=boss_id)
        approved_invoice, approved = timed_request(who, world, "approve")
        rejected_invoice, rejected = timed_request(who, world, "reject")
        _, reminded = timed_request(who, world, "remind")
        _, escalated = timed_request(who, world, "escalate", escalate_to=[f"user:{boss_id}"])
        assert approved["due_at"] and approved["stages"][0]["due_in_hours"] == DUE_HOURS

        wait_for(lambda: who.admin.invoice.get_invoice(approved_invoice)["amount"] == "1500.00",
                 timeout=30, message="approve on timeout applies the held change")
        wait_for(lambda: who.admin.invoice.get_invoice(rejected_invoice)["approval_status"] == "rejected",
                 timeout=30, message="reject on timeout discards the held change")
        wait_for(lambda: any(n["kind"] == "reminder" and n["request_id"] == reminded["id"]
                             for n in who.finance.approval.notifications()),
                 timeout=30, message="the timeout reminder")
        wait_for(lambda: escalated["id"] in [r["id"] for r in boss.approval.list_requests(mine=True)],
                 timeout=30, message="the escalation")

        # Both instances keep polling every 0.3 s: give them several rounds past the
        # first timeout to show a second one would have been recorded by now.
        time.sleep(1.5)
        for request in (approved, rejected, reminded, escalated):
            assert len(timed_out_events(who.admin, request["id"])) == 1, request["id"]
        assert who.admin.approval.get_request(rejected["id"])["stages"][0]["decisions"][-1][
            "comment"] == "超时自动驳回"
        assert who.admin.invoice.get_invoice(rejected_invoice)["amount"] == "1000.00"
        assert who.admin.approval.get_request(reminded["id"])["status"] == "pending"
        assert who.admin.approval.get_request(reminded["id"])["due_at"] is None
    finally:
        second.stop()


def test_a_timeout_due_while_no_approval_instance_ran_is_applied_once_after_the_restart(
        system: Any, who: People, world: World) -> None:
    invoice_id, request = timed_request(who, world, "approve")
    running = [p for p in system.processes if p.name == "approval" and p.alive()]
    for process in running:
        process.stop()
    try:
        time.sleep(max(0.0, seconds_until(request["due_at"])) + 0.3)  # due while down
        assert who.admin.invoice.get_invoice(invoice_id)["amount"] == "1000.00"
    finally:
        system.start("approval")

    wait_for(lambda: who.admin.invoice.get_invoice(invoice_id)["amount"] == "1500.00",
             timeout=30, message="the timeout caught up after the restart")
    assert len(timed_out_events(who.admin, request["id"])) == 1
