"""Small look-ups several pages share (all through the signed-in person's RPC helper)."""
from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from gateway.web.page import Page
from shared import invoice_events
from shared.errors import Forbidden, NotFound

# The buyer (抬头) and tax fields a VAT invoice type may require (issue 15), the legal rates.
VAT_FIELDS = invoice_events.VAT_FIELDS
TAX_RATES = invoice_events.TAX_RATES

# Catalogue fields that are not a row of their own on the pages: each custom field is one
# (``custom.<key>``); payments and VAT lines are set through the API.
NOT_A_ROW = ("payment_ids", "custom", "lines")
LIST_COLUMNS = ("number", "title", "type", "amount", "issued_on", "customer_name",
                "contract_number", "tracking_number", "invoice_no", "department_id",
                "owner_id", "approval_status")
TEXTAREA_FIELDS = ("content", "remarks")
# What the search builder offers besides the panel's fields.
SEARCH_ONLY_FIELDS = ("number", "customer_name", "contract_number", "approval_status", "status")


def editable_fields() -> tuple[str, ...]:
    """The invoice fields the panel shows and a flow may watch, in the catalogue's display
    order (read at each call: a field added to the catalogue shows without a page edit)."""
    return tuple(name for name in invoice_events.INVOICE_FIELDS if name not in NOT_A_ROW)


def invoice_types(page: Page, include_inactive: bool = True) -> dict[str, dict[str, Any]]:
    return {t["key"]: t for t in page.rpc.invoice.list_invoice_types(include_inactive=include_inactive)}


def custom_fields(page: Page) -> list[dict[str, Any]]:
    return list(page.rpc.invoice.list_custom_fields())


def customers(page: Page) -> list[dict[str, Any]]:
    return list(page.rpc.customer.list_customers(limit=500)["items"])


def field_label(page: Page, name: str, custom: list[dict[str, Any]]) -> str:
    if name.startswith("custom."):
        key = name.split(".", 1)[1]
        return next((d["label"] for d in custom if d["key"] == key), key)
    return page.gettext(f"field.{name}")


def searchable_fields(page: Page, custom: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(field, label) for the search builder: every field of the panel (the catalogue's),
    then the number, the names the views join and the statuses, then the custom ones."""
    names = [*editable_fields(), *SEARCH_ONLY_FIELDS]
    names += [f"custom.{d['key']}" for d in custom]
    return [(name, field_label(page, name, custom)) for name in names]


def error_page(page: Page, exc: Exception) -> Response:
    """NotFound / Forbidden from a service as an HTML page (the services decided)."""
    status = 404 if isinstance(exc, NotFound) else 403 if isinstance(exc, Forbidden) else 400
    return page.render("error.html", status=status, status_code=status,
                       message=str(exc.args[0]) if exc.args else "")
