"""The invoice view: the fold of an invoice's events joined with what the search
service knows about its customer, contract, payments and type. Pure: no I/O.

A view is a plain dict holding every invoice field (money as Decimal, dates as
``YYYY-MM-DD``) plus ``customer_name``, ``contract_number``, ``type_label``,
``type_color``, ``payments`` and the internal ``terms`` (see ``terms``) and ``month``.
"""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from search.domain.terms import document_terms
from shared.invoice_events import (  # noqa: F401 - re-exported for this service
    CUSTOM_FIELD_DEFINED,
    CUSTOM_FIELD_UPDATED,
    INVOICE_APPROVAL_STATUS_CHANGED,
    INVOICE_CREATED,
    INVOICE_EVENTS,
    INVOICE_FIELDS_CHANGED,
    INVOICE_TYPE_CREATED,
    INVOICE_TYPE_UPDATED,
    INVOICE_VOIDED,
    MONEY_FIELDS,
    fold,
)

SETTING_EVENTS = {INVOICE_TYPE_CREATED: "invoice_type", INVOICE_TYPE_UPDATED: "invoice_type",
                  CUSTOM_FIELD_DEFINED: "custom_field", CUSTOM_FIELD_UPDATED: "custom_field"}

TEXT_FIELDS = ("number", "title", "content", "type", "invoice_no", "tracking_number",
               "courier", "remarks", "customer_name", "contract_number", "type_label",
               "buyer_name", "buyer_tax_id")
INTERNAL_FIELDS = ("_id", "terms", "month")
NUMERIC_CUSTOM_KINDS = ("money", "number")


class Directory(Protocol):
    """What the fold may look up: the search service's own customer-side and settings views."""

    def customer_name(self, customer_id: str | None) -> str | None: ...
    def contract_number(self, contract_id: str | None) -> str | None: ...
    def payment(self, payment_id: str) -> Mapping[str, Any] | None: ...
    def invoice_type(self, key: str | None) -> Mapping[str, Any] | None: ...
    def custom_kind(self, key: str) -> str | None: ...


def to_decimal(value: Any) -> Any:
    if value is None or isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return value


def apply_invoice_event(view: Mapping[str, Any] | None, envelope: Mapping[str, Any],
                        directory: Directory) -> dict[str, Any]:
    """The view after one invoice event (``view`` is None before InvoiceCreated)."""
    doc = fold(view, envelope)
    doc["_id"] = doc["id"]
    if view and all(view.get(name) == doc.get(name) for name in JOIN_KEYS):
        return join(doc, KeptJoins(view, directory))  # the joined records did not change
    return join(doc, directory)


JOIN_KEYS = ("customer_id", "contract_id", "type", "payment_ids")


class KeptJoins:
    """A Directory answering from the view's own joined values (the projector refreshes
    them when a joined record changes), so an edit of other fields reads nothing."""

    def __init__(self, view: Mapping[str, Any], directory: Directory) -> None:
        self.view, self.directory = view, directory
        self.payments = {p["id"]: p for p in view.get("payments") or []}

    def customer_name(self, customer_id: str | None) -> str | None:
        return self.view.get("customer_name")  # type: ignore[no-any-return]

    def contract_number(self, contract_id: str | None) -> str | None:
        return self.view.get("contract_number")  # type: ignore[no-any-return]

    def payment(self, payment_id: str) -> Mapping[str, Any] | None:
        entry = self.payments.get(payment_id)
        return entry if entry and entry.get("amount") is not None else None

    def invoice_type(self, key: str | None) -> Mapping[str, Any] | None:
        return {"label": self.view.get("type_label"), "color": self.view.get("type_color")}

    def custom_kind(self, key: str) -> str | None:
        return self.directory.custom_kind(key)


def join(doc: dict[str, Any], directory: Directory) -> dict[str, Any]:
    """Normalise values and (re)attach what comes from other views; recompute terms."""
    for name in MONEY_FIELDS:
        doc[name] = to_decimal(doc.get(name))
    for line in doc.get("lines") or []:
        line["amount"] = to_decimal(line.get("amount"))
    doc["kind"] = doc.get("kind") or "invoice"
    doc["net_amount"] = None if doc["amount"] is None else doc["amount"] - (doc.get("credited_amount") or 0)
    doc["payment_ids"] = list(doc.get("payment_ids") or [])
    custom = dict(doc.get("custom") or {})
    for key, value in custom.items():
        if directory.custom_kind(key) in NUMERIC_CUSTOM_KINDS:
            custom[key] = to_decimal(value)
    doc["custom"] = custom
    doc["customer_name"] = directory.customer_name(doc.get("customer_id"))
    doc["contract_number"] = directory.contract_number(doc.get("contract_id"))
    invoice_type = directory.invoice_type(doc.get("type")) or {}
    doc["type_label"] = invoice_type.get("label")
    doc["type_color"] = invoice_type.get("color")
    doc["payments"] = [payment_entry(pid, directory.payment(pid)) for pid in doc["payment_ids"]]
    doc["month"] = str(doc.get("issued_on") or "")[:7] or None
    doc["terms"] = terms_of(doc)
    return doc


def payment_entry(payment_id: str, payment: Mapping[str, Any] | None) -> dict[str, Any]:
    payment = payment or {}
    return {"id": payment_id, "amount": to_decimal(payment.get("amount")),
            "received_on": payment.get("received_on")}


def terms_of(doc: Mapping[str, Any]) -> list[str]:
    texts = [str(doc[name]) for name in TEXT_FIELDS if doc.get(name) not in (None, "")]
    if doc.get("amount") is not None:
        texts.append(str(doc["amount"]))
    for value in (doc.get("custom") or {}).values():
        if isinstance(value, list):
            texts += [str(v) for v in value]
        elif value is not None and not isinstance(value, bool):
            texts.append(str(value))
    return document_terms(texts)


def public(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The view as callers see it (internal fields and removed attachments left out)."""
    view = {k: v for k, v in doc.items() if k not in INTERNAL_FIELDS}
    if view.get("attachments"):
        view["attachments"] = [a for a in view["attachments"] if not a.get("removed")]
    return view


def covered_payments(doc: Mapping[str, Any] | None) -> set[str]:
    """The payments an invoice covers: those it names, while it is active."""
    if not doc or doc.get("status") != "active":
        return set()
    return set(doc.get("payment_ids") or [])
