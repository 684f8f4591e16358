"""The shared filter language: validation of search queries and approval conditions,
and the in-memory evaluation approval conditions use."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from shared.errors import ValidationError
from shared.query import condition_to_mongo, evaluate, invoice_catalog, parse_filters, parse_match, to_mongo

CUSTOM = [{"key": "level", "kind": "select", "options": ["A", "B"]},
          {"key": "weight", "kind": "number"}, {"key": "urgent", "kind": "bool"}]
CATALOG = invoice_catalog(CUSTOM)


def invoice(**overrides: Any) -> dict[str, Any]:
    doc = {"id": "inv_1", "title": "华东区服务费", "type": "vat_special", "amount": "12000.00",
           "issued_on": "2026-10-15", "customer_id": "cus_1", "payment_ids": ["pay_1", "pay_2"],
           "tracking_number": "SF1234567", "status": "active", "approval_status": "none",
           "version": 3, "custom": {"level": "A", "weight": "2.5"}, "remarks": None}
    doc.update(overrides)
    return doc


def conditions(*filters: dict[str, Any]) -> Any:
    return parse_filters(list(filters), CATALOG)


def messages(raw: Any, catalog: Any = CATALOG) -> dict[str, Any]:
    with pytest.raises(ValidationError) as caught:
        parse_filters(raw, catalog)
    return caught.value.messages


@pytest.mark.parametrize("flt,expected", [
    ({"field": "amount", "op": "gte", "value": "10000"}, True),
    ({"field": "amount", "op": "gt", "value": "12000"}, False),
    ({"field": "amount", "op": "between", "value": ["100", "12000.00"]}, True),
    ({"field": "type", "op": "in", "value": ["vat_special", "receipt"]}, True),
    ({"field": "type", "op": "nin", "value": ["vat_special"]}, False),
    ({"field": "type", "op": "ne", "value": "receipt"}, True),
    ({"field": "title", "op": "contains", "value": "东区"}, True),
    ({"field": "tracking_number", "op": "prefix", "value": "sf12"}, True),
    ({"field": "tracking_number", "op": "prefix", "value": "1234"}, False),
    ({"field": "issued_on", "op": "lt", "value": "2026-11-01"}, True),
    ({"field": "payment_ids", "op": "eq", "value": "pay_2"}, True),
    ({"field": "payment_ids", "op": "ne", "value": "pay_2"}, False),
    ({"field": "payment_ids", "op": "nin", "value": ["pay_9"]}, True),
    ({"field": "custom.level", "op": "eq", "value": "A"}, True),
    ({"field": "custom.weight", "op": "lte", "value": "2.50"}, True),
    ({"field": "custom.urgent", "op": "exists", "value": False}, True),
    ({"field": "remarks", "op": "exists", "value": True}, False),
    ({"field": "contract_id", "op": "ne", "value": "con_1"}, True),
    ({"field": "contract_id", "op": "gt", "value": "a"}, False),
    ({"field": "version", "op": "gte", "value": 3}, True),
])
def test_a_condition_holds_on_an_invoice_as_its_op_says(flt: dict[str, Any], expected: bool) -> None:
    assert evaluate(conditions(flt), "all", invoice()) is expected


def test_match_all_needs_every_condition_and_any_needs_one() -> None:
    parsed = conditions({"field": "amount", "op": "gte", "value": "10000"},
                        {"field": "type", "op": "eq", "value": "receipt"})
    assert evaluate(parsed, "all", invoice()) is False
    assert evaluate(parsed, "any", invoice()) is True
    assert evaluate((), "all", invoice()) is True


def test_values_are_normalised_for_their_kind() -> None:
    (amount, day, many) = conditions({"field": "amount", "op": "eq", "value": 100},
                                     {"field": "issued_on", "op": "between",
                                      "value": ["2026-01-01", "2026-01-31"]},
                                     {"field": "type", "op": "in", "value": ["receipt"]})
    assert amount.value == Decimal("100.00")
    assert day.value == ("2026-01-01", "2026-01-31")
    assert many.value == ("receipt",)


@pytest.mark.parametrize("raw,where", [
    ([{"field": "nope", "op": "eq", "value": "x"}], ("0", "field")),
    ([{"field": "custom.ghost", "op": "eq", "value": "x"}], ("0", "field")),
    ([{"field": "amount", "op": "like", "value": "x"}], ("0", "op")),
    ([{"field": "amount", "op": "contains", "value": "1"}], ("0", "op")),
    ([{"field": "amount", "op": "gte", "value": 10.5}], ("0", "value")),
    ([{"field": "amount", "op": "gte", "value": {"$gt": 0}}], ("0", "value")),
    ([{"field": "title", "op": "eq", "value": {"$where": "sleep(1000)"}}], ("0", "value")),
    ([{"field": "title", "op": "eq", "value": "x", "$where": "1"}], ("0", "$where")),
    ([{"field": "$where", "op": "eq", "value": "1"}], ("0", "field")),
    ([{"field": "issued_on", "op": "between", "value": ["2026-02-01", "2026-01-01"]}], ("0", "value")),
    ([{"field": "issued_on", "op": "eq", "value": "2026-02-30"}], ("0", "value")),
    ([{"field": "type", "op": "in", "value": []}], ("0", "value")),
    ([{"field": "approval_status", "op": "eq", "value": "maybe"}], ("0", "value")),
    ([{"field": "custom.level", "op": "eq", "value": "Z"}], ("0", "value")),
    ([{"field": "version", "op": "eq", "value": True}], ("0", "value")),
    ([{"field": "title", "op": "eq"}], ("0", "value")),
    (["amount >= 1"], ("0",)),
])
def test_a_bad_filter_is_refused_naming_the_offending_part(raw: Any, where: tuple[str, ...]) -> None:
    node: Any = messages(raw)["filters"]
    for part in where:
        node = node[part]
    assert node


def test_the_filter_list_itself_must_be_a_list() -> None:
    assert "filters" in messages({"field": "amount"})


def test_every_bad_filter_is_reported_at_once() -> None:
    errors = messages([{"field": "nope", "op": "eq", "value": 1},
                       {"field": "amount", "op": "gte", "value": "x"}])["filters"]
    assert set(errors) == {"0", "1"}


def test_view_fields_exist_only_in_the_search_catalog() -> None:
    flt = [{"field": "customer_name", "op": "contains", "value": "华"}]
    assert parse_filters(flt, invoice_catalog())
    assert "filters" in messages(flt, invoice_catalog(view_fields=False))


def test_match_must_be_all_or_any() -> None:
    assert parse_match(None) == "all"
    with pytest.raises(ValidationError) as caught:
        parse_match("some")
    assert "match" in caught.value.messages


def test_the_mongo_translation_never_passes_user_text_as_a_pattern() -> None:
    (flt,) = conditions({"field": "title", "op": "contains", "value": "a.*(b"})
    assert condition_to_mongo(flt) == {"title": {"$regex": r"a\.\*\(b", "$options": "i"}}


def test_a_caller_may_translate_single_conditions_itself() -> None:
    parsed = conditions({"field": "title", "op": "contains", "value": "abc"},
                        {"field": "type", "op": "eq", "value": "receipt"})
    mongo = to_mongo(parsed, "any", lambda c: {"terms": "abc"} if c.op == "contains" else None)
    assert mongo == {"$or": [{"terms": "abc"}, {"type": {"$eq": "receipt"}}]}


def test_every_field_the_invoice_catalogue_records_can_be_filtered_on() -> None:
    from shared.invoice_events import CUSTOM, RECORDED_FIELDS

    catalog = invoice_catalog()

    assert [name for name in RECORDED_FIELDS if name != CUSTOM and catalog.kind(name) is None] == ["lines"]
