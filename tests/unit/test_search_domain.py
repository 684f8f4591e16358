"""Pure parts of the search service: terms, the view fold, buckets, the planner, cursors."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from search.application.planner import invoice_driver
from search.domain.buckets import FAMILIES, deltas, family_for, month_aligned
from search.domain.terms import document_terms, has_term, query_terms
from search.domain.views import apply_invoice_event, covered_payments, public
from search.schemas import decode_cursor, encode_cursor, load_query
from shared.errors import ValidationError
from shared.query import invoice_catalog, parse_filters


class Directory:
    def __init__(self, **names: Any) -> None:
        self.names = names

    def customer_name(self, customer_id: str | None) -> str | None:
        return self.names.get("customer")

    def contract_number(self, contract_id: str | None) -> str | None:
        return None

    def payment(self, payment_id: str) -> dict[str, Any] | None:
        return {"amount": "5.00", "received_on": "2026-01-01"}

    def invoice_type(self, key: str | None) -> dict[str, Any] | None:
        return {"label": "收据", "color": "#5CB85C"}

    def custom_kind(self, key: str) -> str | None:
        return {"level": "money"}.get(key)


def event(version: int, kind: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"stream_id": "inv_1", "version": version, "type": kind, "data": data,
            "occurred_at": f"2026-01-0{version}T00:00:00Z", "actor": {"id": "u1", "name": "甲"}}


def test_every_word_prefix_and_cjk_bigram_is_a_term() -> None:
    terms = document_terms(["SF1234567 顺丰速运", "Hello-World"])
    assert {"sf", "sf1234567", "1234567", "顺", "顺丰", "丰速", "速运", "hello", "world"} <= set(terms)
    assert has_term(set(terms), "sf12") and has_term(set(terms), "123") and not has_term(set(terms), "234")
    assert query_terms("顺丰速运 SF12") == ["顺丰", "丰速", "速运", "sf12"]
    assert set(query_terms("Ｈｅｌｌｏ")) == {"hello"}


def test_the_fold_keeps_every_field_normalises_money_and_joins_names() -> None:
    created = event(1, "InvoiceCreated", {"number": "INV-1", "fields": {
        "title": "服务费", "type": "receipt", "amount": "10.50", "issued_on": "2026-01-02",
        "payment_ids": ["pay_1"], "custom": {"level": "3.10"}}})
    changed = event(2, "InvoiceFieldsChanged", {"changes": {"custom.level": {"from": "3.10", "to": None},
                                                            "remarks": {"from": None, "to": "加急"}}})
    view = apply_invoice_event(None, created, Directory(customer="客户甲"))
    assert view["amount"] == Decimal("10.50") and view["custom"] == {"level": Decimal("3.10")}
    assert view["customer_name"] == "客户甲" and view["type_label"] == "收据"
    assert view["payments"] == [{"id": "pay_1", "amount": Decimal("5.00"), "received_on": "2026-01-01"}]
    assert view["created_by"] == {"id": "u1", "name": "甲"} and view["month"] == "2026-01"
    after = apply_invoice_event(view, changed, Directory(customer="客户甲"))
    assert after["custom"] == {} and after["remarks"] == "加急" and after["version"] == 2
    assert after["created_at"] == view["created_at"] != after["updated_at"]
    assert covered_payments(after) == {"pay_1"}
    voided = apply_invoice_event(after, event(3, "InvoiceVoided", {"reason": "x"}), Directory())
    assert covered_payments(voided) == set()


def test_bucket_deltas_move_a_contribution_and_cancel_out_when_nothing_moves() -> None:
    old = {"issued_on": "2026-01-02", "type": "receipt", "status": "active", "amount": Decimal("1.00")}
    new = dict(old, amount=Decimal("3.00"))
    moved = deltas(old, new)
    assert {fields["family"]: (count, sums["amount"]) for fields, count, sums in moved.values()} == \
        {"t": (0, Decimal("2.00")), "o": (0, Decimal("2.00")), "k": (0, Decimal("2.00")),
         "c": (0, Decimal("2.00"))}
    assert deltas(old, dict(old)) == {}
    assert family_for({"type", "day", "status"}) == "t"
    assert family_for({"customer_id", "status"}) == "c"  # unless the per-customer ones are complete
    assert family_for({"customer_id", "status"}, families=frozenset(FAMILIES)) == "k"
    assert family_for({"customer_id", "owner_id", "status"}, families=frozenset(FAMILIES)) == "c"
    assert family_for({"title"}) is None
    assert family_for({"owner_id", "day"}, needs_day=True) is None
    assert month_aligned("between", ("2026-02-01", "2026-02-28")) and not month_aligned("gte", "2026-02-02")


@pytest.mark.parametrize(("filters", "expected"), [
    ([{"field": "invoice_no", "op": "eq", "value": "N1"}, {"field": "type", "op": "eq", "value": "receipt"}],
     {"invoice_no": "N1"}),
    ([{"field": "type", "op": "eq", "value": "receipt"}, {"field": "issued_on", "op": "gte", "value": "2026-01-01"}],
     {"type": "receipt", "issued_on": {"$gte": "2026-01-01"}}),
    ([{"field": "title", "op": "contains", "value": "服务费"}], {"terms": {"$gte": "服务", "$lt": "服务\U0010ffff"}}),
    ([{"field": "amount", "op": "gt", "value": "1"}], {}),
])
def test_the_planner_picks_an_index_shaped_driver(filters: list[dict[str, Any]], expected: dict[str, Any]) -> None:
    assert invoice_driver(parse_filters(filters, invoice_catalog()), "all", None, None) == expected


def test_a_cursor_round_trips_and_a_forged_one_is_rejected() -> None:
    catalog = invoice_catalog()
    sort = (("amount", "desc"),)
    cursor = encode_cursor(sort, [Decimal("12.50")], "inv_1")
    assert decode_cursor(cursor, sort, catalog) == ([Decimal("12.50")], "inv_1")
    with pytest.raises(ValidationError):
        decode_cursor(cursor, (("issued_on", "desc"),), catalog)
    forged = encode_cursor(sort, [{"$gt": ""}], "inv_1")  # type: ignore[list-item]
    with pytest.raises(ValidationError):
        decode_cursor(forged, sort, catalog)
    with pytest.raises(ValidationError) as caught:
        load_query({"filters": [], "sort": [{"field": "payment_ids"}]}, catalog)
    assert "query.sort.0.field" in caught.value.args[0]


def test_bucket_deltas_carry_the_tax_sums_and_the_kind() -> None:
    old = {"issued_on": "2026-01-02", "type": "vat_special", "status": "active",
           "amount": Decimal("113.00"), "tax_amount": Decimal("13.00"),
           "amount_excluding_tax": Decimal("100.00")}
    new = dict(old, amount=Decimal("226.00"), tax_amount=Decimal("26.00"),
               amount_excluding_tax=Decimal("200.00"))

    moved = deltas(old, new)
    added = deltas(None, dict(old, kind="credit"))

    assert {sums["tax_amount"] for _, _, sums in moved.values()} == {Decimal("13.00")}
    assert {sums["amount_excluding_tax"] for _, _, sums in moved.values()} == {Decimal("100.00")}
    assert {fields["kind"] for fields, _, _ in added.values() if fields["family"] != "k"} == {"credit"}


def test_the_view_normalises_the_tax_figures_and_lines() -> None:
    view = apply_invoice_event(None, event(1, "InvoiceCreated", {"number": "INV-1", "fields": {
        "title": "服务费", "type": "vat_special", "amount": "113.00", "tax_amount": "13.00",
        "amount_excluding_tax": "100.00", "tax_rate": "0.13", "buyer_name": "华为技术有限公司",
        "issued_on": "2026-01-02"}}), Directory())

    assert (view["tax_amount"], view["amount_excluding_tax"]) == (Decimal("13.00"), Decimal("100.00"))
    assert view["kind"] == "invoice"
    assert "华为" in view["terms"]


def test_a_removed_attachment_is_left_out_of_the_public_view() -> None:
    created = event(1, "InvoiceCreated", {"number": "INV-1", "fields": {
        "title": "服务费", "type": "receipt", "amount": "1.00", "issued_on": "2026-01-02"}})
    added = event(2, "InvoiceAttachmentAdded", {"attachment_id": "att_1", "filename": "a.pdf",
                                                "content_type": "application/pdf", "size": 9,
                                                "sha256": "0" * 64})
    removed = event(3, "InvoiceAttachmentRemoved", {"attachment_id": "att_1"})
    view = apply_invoice_event(None, created, Directory())
    view = apply_invoice_event(view, added, Directory())

    assert [a["filename"] for a in public(view)["attachments"]] == ["a.pdf"]
    assert public(apply_invoice_event(view, removed, Directory()))["attachments"] == []
