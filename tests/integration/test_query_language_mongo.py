"""The filter language means the same in memory (approval conditions) and in MongoDB
(search): every condition selects exactly the same invoices both ways."""
from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from pymongo.database import Database

from shared.mongo import connect, database
from shared.query import evaluate, invoice_catalog, parse_filters, to_mongo

CATALOG = invoice_catalog([{"key": "level", "kind": "select", "options": ["A", "B"]},
                           {"key": "weight", "kind": "number"}])

DOCS: list[dict[str, Any]] = [
    {"_id": "a", "title": "华东区服务费", "type": "vat_special", "amount": Decimal("12000.00"),
     "issued_on": "2026-10-15", "payment_ids": ["pay_1", "pay_2"], "remarks": "",
     "tracking_number": "SF1234567", "custom": {"level": "A", "weight": Decimal("2.5")}},
    {"_id": "b", "title": "Consulting fee", "type": "receipt", "amount": Decimal("99.99"),
     "issued_on": "2026-11-01", "payment_ids": [], "remarks": None, "tracking_number": None,
     "custom": {}},
    {"_id": "c", "title": "华南 support", "type": "vat_ordinary", "amount": Decimal("10000.00"),
     "issued_on": "2026-09-30", "payment_ids": ["pay_3"], "remarks": "paid late",
     "custom": {"level": "B", "weight": Decimal("10")}},
    {"_id": "d", "title": "sf express", "type": "receipt", "amount": Decimal("0.01"),
     "issued_on": "2025-12-31"},
]

FILTERS: list[dict[str, Any]] = [
    {"field": "amount", "op": "gte", "value": "10000"},
    {"field": "amount", "op": "lt", "value": "100"},
    {"field": "amount", "op": "between", "value": ["99.99", "10000"]},
    {"field": "amount", "op": "ne", "value": "0.01"},
    {"field": "type", "op": "in", "value": ["receipt", "vat_ordinary"]},
    {"field": "type", "op": "nin", "value": ["receipt"]},
    {"field": "title", "op": "contains", "value": "华"},
    {"field": "title", "op": "contains", "value": "FEE"},
    {"field": "title", "op": "prefix", "value": "SF"},
    {"field": "tracking_number", "op": "prefix", "value": "sf"},
    {"field": "tracking_number", "op": "ne", "value": "SF1234567"},
    {"field": "issued_on", "op": "gte", "value": "2026-10-01"},
    {"field": "payment_ids", "op": "eq", "value": "pay_2"},
    {"field": "payment_ids", "op": "in", "value": ["pay_3", "pay_9"]},
    {"field": "payment_ids", "op": "nin", "value": ["pay_1"]},
    {"field": "payment_ids", "op": "exists", "value": True},
    {"field": "payment_ids", "op": "exists", "value": False},
    {"field": "remarks", "op": "exists", "value": True},
    {"field": "remarks", "op": "exists", "value": False},
    {"field": "custom.level", "op": "eq", "value": "B"},
    {"field": "custom.level", "op": "ne", "value": "B"},
    {"field": "custom.weight", "op": "gt", "value": "2"},
    {"field": "custom.weight", "op": "exists", "value": False},
]


@pytest.fixture(scope="module")
def invoices(mongo_server: Any) -> Any:
    client = connect(mongo_server.url)
    db: Database[Any] = database(client, f"q{uuid.uuid4().hex[:8]}_query_language")
    db.invoices.insert_many([dict(doc) for doc in DOCS])
    yield db.invoices
    client.drop_database(db.name)
    client.close()


@pytest.mark.parametrize("flt", FILTERS, ids=lambda f: f"{f['field']}-{f['op']}-{f['value']}")
def test_a_condition_selects_the_same_invoices_in_memory_and_in_mongodb(invoices: Any,
                                                                        flt: dict[str, Any]) -> None:
    parsed = parse_filters([flt], CATALOG)
    in_memory = {doc["_id"] for doc in DOCS if evaluate(parsed, "all", doc)}
    in_mongo = {doc["_id"] for doc in invoices.find(to_mongo(parsed, "all"), {"_id": 1})}
    assert in_mongo == in_memory


def test_combined_conditions_agree_for_all_and_any(invoices: Any) -> None:
    parsed = parse_filters([FILTERS[0], FILTERS[6], FILTERS[19]], CATALOG)
    for match in ("all", "any"):
        in_memory = {doc["_id"] for doc in DOCS if evaluate(parsed, match, doc)}
        in_mongo = {doc["_id"] for doc in invoices.find(to_mongo(parsed, match), {"_id": 1})}
        assert in_mongo == in_memory, match
