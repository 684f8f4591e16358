"""What the search views (MongoDB generation or in-memory, the as-of target) must do
alike: the fold's directory joins and the writes the projector makes.

Left out on purpose, as the in-memory views document: a query's driver filter and the
buckets (as-of queries check every invoice and count from the views)."""
from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from search.domain.views import to_decimal


def an_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


class SearchViewsContract:
    """Subclasses provide the ``views`` fixture (empty views)."""

    def test_the_directory_joins_what_the_projector_upserted(self, views: Any) -> None:
        customer, contract = an_id("cus"), an_id("con")
        views.upsert("customer", customer, {"name": "云帆", "$unwanted": 1, "_id": "other"})
        views.upsert("contract", contract, {"number": "HT-1", "customer_id": customer,
                                            "amount": "10.50"})
        views.upsert("customer", customer, {"name": "云帆数据"})
        views.upsert("setting", "invoice_type-receipt", {"label": "收据", "color": "#5CB85C"})
        views.upsert("setting", "custom_field-level",
                     {"kind": "select", "stream_type": "custom_field"})

        assert views.customer_name(customer) == "云帆数据"
        assert views.contract_number(contract) == "HT-1"
        assert to_decimal(views.contract(contract)["amount"]) == Decimal("10.50")
        assert views.invoice_type("receipt")["label"] == "收据"
        assert views.custom_kind("level") == "select"
        assert [f["_id"] for f in views.custom_fields()] == ["custom_field-level"]
        assert views.customer_name(None) is None and views.customer_name("cus_none") is None
        assert views.contract_number("con_none") is None and views.invoice_type(None) is None
        assert views.custom_kind("none") is None

    def test_a_payment_is_known_only_once_its_own_event_arrived(self, views: Any) -> None:
        payment, contract = an_id("pay"), an_id("con")
        views.cover_payment(payment, "inv_1", True)  # named by an invoice first
        assert views.payment(payment) is None

        views.upsert("payment", payment, {"known": True, "contract_id": contract})
        views.cover_payment(payment, "inv_2", True)
        views.cover_payment(payment, "inv_1", False)
        views.set_payment_scope(contract, "u9", "d9")

        known = views.payment(payment)
        assert known["invoice_ids"] == ["inv_2"] and known["invoice_count"] == 1
        assert (known["owner_id"], known["department_id"]) == ("u9", "d9")
        assert [d["_id"] for d in views.find("payments", {"contract_id": contract})] == [payment]

    def test_invoice_views_are_replaced_whole_and_found_by_a_joined_id(self, views: Any) -> None:
        first, second, customer = an_id("inv"), an_id("inv"), an_id("cus")
        views.save_invoice({"_id": first, "customer_id": customer, "payment_ids": ["p1"],
                            "title": "a"})
        views.save_invoice({"_id": second, "customer_id": "cus_other", "payment_ids": []})
        views.save_invoice({"_id": first, "customer_id": customer, "payment_ids": ["p1", "p2"]})

        assert views.invoice(first) == {"_id": first, "customer_id": customer,
                                        "payment_ids": ["p1", "p2"]}
        assert views.invoice("inv_none") is None
        assert [d["_id"] for d in views.invoices_where("customer_id", customer)] == [first]
        assert [d["_id"] for d in views.invoices_where("payment_ids", "p2")] == [first]
