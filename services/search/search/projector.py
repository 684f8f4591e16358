"""The projector: applies one stored event (invoice or customer side) to the views of
one generation. Called by the shared StreamTracker inside its transaction, so a view,
its buckets and the tracker's checkpoint move together, exactly once per version."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from search.adapters.views import MongoViews
from search.domain import buckets
from search.domain.views import (
    INVOICE_EVENTS,
    SETTING_EVENTS,
    apply_invoice_event,
    covered_payments,
    join,
)
from shared.customer_events import (
    CONTRACT_CREATED,
    CUSTOMER_CREATED,
    CUSTOMER_UPDATED,
    PAYMENT_RECEIVED,
    values_set,
)

# the views inside the tracker's unit of work (its transaction, opaque here)
ViewsFor = Callable[[Any], MongoViews]


class Projector:
    """``apply(envelope, transaction)`` for the StreamTracker; one per generation."""

    def __init__(self, views_for: ViewsFor) -> None:
        self.views_for = views_for

    def apply(self, envelope: Mapping[str, Any], transaction: Any) -> None:
        views = self.views_for(transaction)
        kind = envelope["type"]
        if kind in INVOICE_EVENTS:
            self._invoice_event(views, envelope)
        elif kind in SETTING_EVENTS:
            self._setting_event(views, envelope)
        elif kind in (CUSTOMER_CREATED, CUSTOMER_UPDATED):
            self._customer_event(views, envelope)
        elif kind == CONTRACT_CREATED:
            self._contract_created(views, envelope)
        elif kind == PAYMENT_RECEIVED:
            self._payment_received(views, envelope)
        # other event types carry nothing the views show

    # -- invoices --------------------------------------------------------------------
    def _invoice_event(self, views: MongoViews, envelope: Mapping[str, Any]) -> None:
        invoice_id = envelope["stream_id"]
        # version 1 is applied once (the tracker sees to it), so there is nothing before it
        old = None if int(envelope["version"]) == 1 else views.invoice(invoice_id)
        new = apply_invoice_event(old, envelope, views)
        # only records this invoice newly joins: one it joined before sees the invoice
        # in its own snapshot and rewrites it, so that pair conflicts on the view itself
        views.lock(*(set(join_keys(new)) - set(join_keys(old))))
        views.save_invoice(new)
        views.bump_buckets(buckets.deltas(old, new))
        before, after = covered_payments(old), covered_payments(new)
        for payment_id in sorted(before - after):
            views.cover_payment(payment_id, invoice_id, covered=False)
        for payment_id in sorted(after - before):
            views.cover_payment(payment_id, invoice_id, covered=True)

    def _rejoin(self, views: MongoViews, field: str, value: str) -> None:
        """Refresh the joined fields of the invoices whose ``field`` is ``value``."""
        for doc in list(views.invoices_where(field, value)):
            joined = join(dict(doc), views)
            if joined != doc:
                views.save_invoice(joined)

    # -- settings (invoice types, custom fields) -------------------------------------
    def _setting_event(self, views: MongoViews, envelope: Mapping[str, Any]) -> None:
        data = envelope["data"]
        values = {name: change.get("to") for name, change in data["changes"].items()} \
            if "changes" in data else dict(data)
        values["stream_type"] = SETTING_EVENTS[envelope["type"]]
        if values["stream_type"] == "invoice_type":
            views.lock(f"type:{envelope['stream_id'].split('-', 1)[1]}")
        views.upsert("setting", envelope["stream_id"], values)
        if values["stream_type"] == "invoice_type" and ({"label", "color", "key"} & set(values)):
            key = envelope["stream_id"].split("-", 1)[1]
            self._rejoin(views, "type", key)

    # -- customer side ---------------------------------------------------------------
    def _customer_event(self, views: MongoViews, envelope: Mapping[str, Any]) -> None:
        values = values_set(envelope)
        views.lock(f"customer:{envelope['stream_id']}")
        views.upsert("customer", envelope["stream_id"], values)
        if "name" in values:
            self._rejoin(views, "customer_id", envelope["stream_id"])

    def _contract_created(self, views: MongoViews, envelope: Mapping[str, Any]) -> None:
        data = values_set(envelope)
        views.lock(f"contract:{envelope['stream_id']}")
        views.upsert("contract", envelope["stream_id"], data)
        views.set_payment_scope(envelope["stream_id"], data.get("owner_id"),
                                data.get("department_id"))
        self._rejoin(views, "contract_id", envelope["stream_id"])

    def _payment_received(self, views: MongoViews, envelope: Mapping[str, Any]) -> None:
        data = values_set(envelope)
        views.lock(f"payment:{envelope['stream_id']}", f"contract:{data.get('contract_id')}")
        contract = views.contract(data.get("contract_id")) or {}
        data.update(known=True, owner_id=contract.get("owner_id"),
                    department_id=contract.get("department_id"))
        views.upsert("payment", envelope["stream_id"], data)
        self._rejoin(views, "payment_ids", envelope["stream_id"])


def join_keys(doc: Mapping[str, Any] | None) -> list[str]:
    """The records an invoice view joins with (see MongoViews.lock)."""
    if not doc:
        return []
    keys = [f"{kind}:{doc.get(field)}" for kind, field in
            (("customer", "customer_id"), ("contract", "contract_id"), ("type", "type")) if doc.get(field)]
    return keys + [f"payment:{p}" for p in doc.get("payment_ids") or []]
