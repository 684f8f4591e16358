"""The invoice pages: list (with the detail panel), calendar, and the create form."""
from __future__ import annotations

import calendar as cal
from datetime import date
from typing import Any

from werkzeug.wrappers import Response

from gateway.api.invoices import ATTACHMENT_MAX_BYTES
from gateway.web.page import Page, policy
from gateway.web.pages.common import (
    LIST_COLUMNS,
    TAX_RATES,
    TEXTAREA_FIELDS,
    VAT_FIELDS,
    custom_fields,
    customers,
    editable_fields,
    error_page,
    field_label,
    invoice_types,
    searchable_fields,
)
from gateway.web.query import BUILDER_OPS, ListQuery, api_args
from shared.errors import Forbidden, NotFound, ValidationError

EMPTY_RESULT: dict[str, Any] = {"items": [], "total": 0, "next_cursor": None}


def _totals_query(query: ListQuery) -> dict[str, Any]:
    search = query.search_query(paged=False)
    search.pop("sort", None)
    return search


def filter_context(page: Page, query: ListQuery) -> dict[str, Any]:
    """What the filter bar and the search builder need."""
    custom = custom_fields(page)
    return {"query": query, "types": invoice_types(page), "customers": customers(page),
            "custom": custom, "search_fields": searchable_fields(page, custom),
            "builder_ops": BUILDER_OPS}


def invoice_list(page: Page, invoice_id: str | None = None) -> Response:
    """``/invoices`` and ``/invoices/{id}`` (the same list with the panel open)."""
    query = ListQuery.from_args(page.request.args)
    errors: dict[str, Any] | None = None
    try:
        result = page.rpc.search.search(query.search_query())
        totals = page.rpc.search.stats(_totals_query(query), group_by=["type"])["total"]
    except ValidationError as exc:
        errors, result, totals = exc.messages, EMPTY_RESULT, {"count": 0, "amount": "0.00"}
    context = filter_context(page, query)
    panel = None
    if invoice_id is not None:
        try:
            panel = invoice_panel(page, invoice_id, context["types"], context["customers"],
                                  context["custom"])
        except (NotFound, Forbidden) as exc:
            return error_page(page, exc)
    return page.render("invoices.html", result=result, totals=totals, errors=errors,
                       columns=LIST_COLUMNS, panel=panel, export_args=api_args(query),
                       **context)


def invoice_panel(page: Page, invoice_id: str, types: dict[str, Any],
                  all_customers: list[dict[str, Any]], custom: list[dict[str, Any]]) -> dict[str, Any]:
    rpc = page.rpc
    invoice = rpc.invoice.get_invoice(invoice_id)
    contracts = rpc.customer.list_contracts(invoice["customer_id"])
    names = {
        "customer_id": {c["id"]: c["name"] for c in all_customers},
        "contract_id": {c["id"]: c["number"] for c in contracts},
        "type": {k: t["label"] for k, t in types.items()},
    }
    if invoice["customer_id"] not in names["customer_id"]:
        customer = rpc.customer.get_customer(invoice["customer_id"])
        names["customer_id"][customer["id"]] = customer["name"]
    options = {
        "type": [(k, t["label"]) for k, t in types.items() if t.get("active", True)],
        "customer_id": [(c["id"], c["name"]) for c in all_customers],
        "contract_id": [("", "—")] + [(c["id"], c["number"]) for c in contracts],
        "tax_rate": [("", "—")] + [(rate, rate) for rate in TAX_RATES],
    }
    fields = []
    for name in editable_fields():
        value = invoice.get(name)
        kind = ("select" if name in options else "date" if name == "issued_on"
                else "money" if name == "amount" else "textarea" if name in TEXTAREA_FIELDS else "text")
        fields.append({"name": name, "label": field_label(page, name, custom), "kind": kind,
                       "value": value, "display": names.get(name, {}).get(value, value),
                       "options": options.get(name, [])})
    values = invoice.get("custom") or {}
    for definition in custom:
        if not definition.get("active", True) and definition["key"] not in values:
            continue
        value = values.get(definition["key"])
        kind = definition["kind"]
        opts = [(o, o) for o in definition.get("options") or []]
        if kind == "bool":
            opts = [("true", page.gettext("value.yes")), ("false", page.gettext("value.no"))]
            value = None if value is None else ("true" if value else "false")
        fields.append({"name": f"custom.{definition['key']}", "label": definition["label"],
                       "kind": "select" if opts else {"date": "date", "money": "money",
                                                       "number": "number"}.get(kind, "text"),
                       "custom_kind": kind, "value": value,
                       "display": dict(opts).get(value, value) if opts else value,
                       "options": ([("", "—")] + opts) if opts else []})
    history = rpc.invoice.get_history(invoice_id) if page.can("history.read") else None
    labels = {f["name"]: f["label"] for f in fields}
    labels.update({name: field_label(page, name, custom) for name in ("payment_ids", "status", "approval_status")})
    labels["attachments"] = page.gettext("panel.attachments")
    return {"invoice": invoice, "fields": fields, "history": history, "labels": labels,
            "requests": rpc.approval.requests_for_invoice(invoice_id),
            "type": types.get(invoice["type"]), "names": names,
            "only_filled": page.request.args.get("only_filled") in ("1", "true", "on"),
            "can_void": page.can("invoice.void") and invoice["status"] != "void",
            "can_attach": can_edit(page, invoice), "attachment_max_bytes": ATTACHMENT_MAX_BYTES}


def can_edit(page: Page, invoice: dict[str, Any]) -> bool:
    """Whether the panel offers adding and removing attachments: the invoice is not void
    and in the person's edit scope (the invoice service decides again on each call)."""
    return (page.actor is not None and invoice["status"] != "void"
            and policy().covers(page.actor, "edit", invoice.get("owner_id"), invoice.get("department_id")))


def _month_of(page: Page) -> tuple[int, int]:
    today = date.today()
    try:
        year = int(page.request.args.get("year") or today.year)
        month = int(page.request.args.get("month") or today.month)
        date(year, month, 1)
        return year, month
    except ValueError:
        return today.year, today.month


def invoice_calendar(page: Page) -> Response:
    """``/invoices/calendar``: a month grid of counts and amounts, a day's invoices."""
    query = ListQuery.from_args(page.request.args)
    year, month = _month_of(page)
    errors = None
    try:
        days = page.rpc.search.calendar(year, month, _totals_query(query))
    except ValidationError as exc:
        errors, days = exc.messages, []
    by_day = {d["date"]: d for d in days}
    weeks = [[(day, by_day.get(day.isoformat())) if day.month == month else (day, None)
              for day in week]
             for week in cal.Calendar(firstweekday=0).monthdatescalendar(year, month)]
    chosen = page.request.args.get("day")
    day_items = None
    if chosen and chosen.startswith(f"{year:04d}-{month:02d}-"):
        day_query = ListQuery.from_args(page.request.args)
        day_query.params.update({"issued_from": chosen, "issued_to": chosen})
        try:
            day_items = page.rpc.search.search(day_query.search_query())
        except ValidationError as exc:
            errors = exc.messages
    prev_month = (year - 1, 12) if month == 1 else (year, month - 1)
    next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    total_count = sum(d["count"] for d in days)
    return page.render("calendar.html", year=year, month=month, weeks=weeks, errors=errors,
                       prev_month=prev_month, next_month=next_month, chosen=chosen,
                       day_items=day_items, month_count=total_count, columns=LIST_COLUMNS,
                       **filter_context(page, query))


def invoice_new(page: Page) -> Response:
    """``/invoices/new``: the create form (``?customer_id=`` pre-fills the customer)."""
    custom = custom_fields(page)
    customer_id = page.request.args.get("customer_id") or ""
    contracts = page.rpc.customer.list_contracts(customer_id) if customer_id else []
    return page.render("invoice_new.html", types=invoice_types(page, include_inactive=False),
                       customers=customers(page), custom=[d for d in custom if d.get("active", True)],
                       customer_id=customer_id, contracts=contracts, today=date.today().isoformat(),
                       vat_fields=VAT_FIELDS, tax_rates=TAX_RATES)
