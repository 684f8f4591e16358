"""Approval and search together: an approval outcome reaches the invoice's own history
and, through its events, the search view and the stats."""
from __future__ import annotations

from typing import Any

from tests.support.actors import Clients
from tests.support.factories import World, invoice_data, unique
from tests.support.infra import wait_for


def test_an_approved_change_shows_as_approved_in_search_and_stats(admin: Any, clients: Clients,
                                                                   world: World) -> None:
    # given a flow on remarks of one customer's invoices, approved by any finance user
    customer = world.customer()
    admin.approval.define_flow({
        "name": unique("备注复核"), "watched_fields": ["remarks"], "trigger_on_create": False,
        "condition": [{"field": "customer_id", "op": "eq", "value": customer["id"]}],
        "stages": [{"name": "财务", "approvers": ["role:finance"], "mode": "any"}],
        "cc": [], "active": True, "hold": False})
    finance = clients.as_user(roles=["finance"], sub=unique("fin"), name="财务")
    invoice = admin.invoice.create_invoice(invoice_data(customer["id"]))

    # when the watched field changes and finance approves
    admin.invoice.update_field(invoice["id"], "remarks", "已签收")
    request = wait_for(lambda: next(iter(admin.approval.requests_for_invoice(invoice["id"])), None),
                       timeout=20, message="the approval request to open")
    assert wait_for(lambda: admin.search.get_invoice_view(invoice["id"])["approval_status"] == "pending",
                    timeout=20, message="pending in search")
    finance.approval.approve(request["id"], "ok")

    # then search and its stats show the outcome
    wait_for(lambda: admin.search.get_invoice_view(invoice["id"])["approval_status"] == "approved",
             timeout=20, message="approved in search")
    stats = admin.search.stats({"filters": [{"field": "customer_id", "op": "eq",
                                             "value": customer["id"]}]}, ["approval_status"])
    assert stats["rows"] == [{"approval_status": "approved", "count": 1, "amount": invoice["amount"],
                              "tax_amount": "0.00", "amount_excluding_tax": invoice["amount"]}]
    history = admin.invoice.get_history(invoice["id"])
    assert [h["event_type"] for h in history][-1] == "InvoiceApprovalStatusChanged"
