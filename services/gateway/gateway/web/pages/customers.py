"""``/customers`` and ``/customers/{id}`` with its tabs (票据, contracts, 回款)."""
from __future__ import annotations

from werkzeug.wrappers import Response

from gateway.web.page import Page
from gateway.web.pages.common import LIST_COLUMNS, error_page, invoice_types
from shared.errors import Forbidden, NotFound

TABS = ("invoices", "contracts", "payments", "profile")


def customer_list(page: Page) -> Response:
    name = (page.request.args.get("name_contains") or "").strip()
    result = page.rpc.customer.list_customers(name_contains=name or None, limit=200,
                                              cursor=page.request.args.get("cursor") or None)
    return page.render("customers.html", result=result, name_contains=name)


def customer_detail(page: Page, customer_id: str) -> Response:
    tab = page.request.args.get("tab") or "invoices"
    tab = tab if tab in TABS else "invoices"
    rpc = page.rpc
    try:
        customer = rpc.customer.get_customer(customer_id)
    except (NotFound, Forbidden) as exc:
        return error_page(page, exc)
    context: dict = {"customer": customer, "tab": tab, "tabs": TABS}
    if tab == "invoices":
        context["invoices"] = rpc.search.customer_invoices(
            customer_id, limit=100, cursor=page.request.args.get("cursor") or None)
        context["types"] = invoice_types(page)
        context["columns"] = [c for c in LIST_COLUMNS if c != "customer_name"]
    elif tab == "contracts":
        context["contracts"] = rpc.customer.list_contracts(customer_id)
    elif tab == "payments":
        payments = rpc.customer.list_payments(customer_id=customer_id)
        uninvoiced = rpc.search.uninvoiced_payments(
            {"filters": [{"field": "customer_id", "op": "eq", "value": customer_id}]})
        context["payments"] = payments
        context["uninvoiced"] = {p["id"] for p in uninvoiced["items"]}
        context["contracts"] = {c["id"]: c["number"] for c in rpc.customer.list_contracts(customer_id)}
    return page.render("customer.html", **context)
