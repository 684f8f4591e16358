"""Helpers for the approval e2e tests: people, flows scoped to one test's customer (so
flows of other tests never trigger), and waiting for requests to open."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.support.factories import World, invoice_data, unique
from tests.support.infra import wait_for


@dataclass
class People:
    admin: Any
    sales: Any        # the submitter: creates and edits the invoices
    sales_id: str
    finance: Any
    finance_id: str
    manager: Any
    manager_id: str
    manager2: Any
    manager2_id: str


def people(clients: Any) -> People:
    ids = {name: unique(name) for name in ("sales", "fin", "mgr", "mgr2")}
    return People(
        admin=clients.as_user(roles=["admin"], sub="admin-1", name="管理员"),
        sales=clients.as_user(roles=["sales"], sub=ids["sales"], name="销售"), sales_id=ids["sales"],
        finance=clients.as_user(roles=["finance"], sub=ids["fin"], name="财务"), finance_id=ids["fin"],
        manager=clients.as_user(roles=["sales_manager"], sub=ids["mgr"]), manager_id=ids["mgr"],
        manager2=clients.as_user(roles=["sales_manager"], sub=ids["mgr2"]), manager2_id=ids["mgr2"])


def flow_data(customer_id: str, **overrides: Any) -> dict[str, Any]:
    """A one-stage flow watching ``amount``, limited to one customer's invoices."""
    data: dict[str, Any] = {
        "name": unique("大额发票审批"), "watched_fields": ["amount"], "trigger_on_create": False,
        "condition": [{"field": "customer_id", "op": "eq", "value": customer_id}],
        "stages": [{"name": "财务审核", "approvers": ["role:finance"], "mode": "any"}],
        "cc": [], "active": True, "hold": False}
    data.update(overrides)
    return data


def new_invoice(world: World, hub: Any, **overrides: Any) -> tuple[str, dict[str, Any]]:
    customer_id = world.customer()["id"]
    return customer_id, hub.invoice.create_invoice(invoice_data(customer_id, **overrides))


def requests_opened(hub: Any, invoice_id: str, count: int = 1) -> list[dict[str, Any]]:
    """Wait until the invoice has ``count`` requests; return them (oldest first)."""
    return wait_for(lambda: (found := hub.approval.requests_for_invoice(invoice_id))
                    and len(found) >= count and found, timeout=30,
                    message=f"{count} approval request(s) for {invoice_id}")


def approval_status(hub: Any, invoice_id: str, status: str, request_id: str | None = None) -> dict[str, Any]:
    def reached() -> Any:
        invoice = hub.invoice.get_invoice(invoice_id)
        ok = invoice["approval_status"] == status and \
            (request_id is None or invoice["approval_request_id"] == request_id)
        return invoice if ok else None
    return wait_for(reached, timeout=30, message=f"approval_status {status} on {invoice_id}")
