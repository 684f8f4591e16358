"""The customer-side event contract (shared.customer_events): one fold of a customer's,
contract's or payment's fields, the one the customer aggregates and the search view
share."""
from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from customer.domain.model import Customer
from search.adapters.memory import MemoryViews
from search.projector import Projector
from shared import customer_events as ce


def envelope(event_type: str, data: dict[str, Any], stream_id: str = "cus_1",
             version: int = 1) -> dict[str, Any]:
    stream_type = {ce.CONTRACT_CREATED: ce.STREAM_CONTRACT,
                   ce.PAYMENT_RECEIVED: ce.STREAM_PAYMENT}.get(event_type, ce.STREAM_CUSTOMER)
    return {"event_id": uuid.uuid4().hex, "stream_id": stream_id, "stream_type": stream_type,
            "type": event_type, "version": version, "data": data, "schema_version": 1,
            "occurred_at": "2026-05-01T08:00:00.000Z", "hash": uuid.uuid4().hex,
            "actor": {"id": "u-alice", "name": "Alice"}}


def customer_created(**overrides: Any) -> dict[str, Any]:
    data = {"name": "上海测试科技有限公司", "code": "C-001", "industry": "制造业",
            "phone": "021-5555-0000", "address": "上海市浦东新区", "owner_id": "u-alice",
            "department_id": "d1"}
    data.update(overrides)
    return envelope(ce.CUSTOMER_CREATED, data)


def customer_updated(version: int = 2, **changes: tuple[Any, Any]) -> dict[str, Any]:
    data = {"changes": {name: {"from": old, "to": new} for name, (old, new) in changes.items()}}
    return envelope(ce.CUSTOMER_UPDATED, data, version=version)


def test_a_creation_sets_exactly_the_fields_of_its_record() -> None:
    created = envelope(ce.CONTRACT_CREATED, {"customer_id": "cus_1", "number": "HT-1",
                                             "amount": Decimal("10.00"), "stray": 1})
    fields = ce.fold(None, created)
    assert list(fields) == list(ce.CONTRACT_FIELDS)
    assert fields["number"] == "HT-1" and fields["title"] is None and "stray" not in fields


def test_an_update_changes_the_fields_it_names_and_keeps_the_others() -> None:
    before = ce.fold(None, customer_created())
    after = ce.fold(before, customer_updated(name=("上海测试科技有限公司", "新名"), phone=("021", None)))
    assert after["name"] == "新名" and after["phone"] is None
    assert after["code"] == "C-001"
    assert before["name"] == "上海测试科技有限公司"  # the fold returns a new dict


def test_values_set_are_a_creations_data_or_each_changes_to_value() -> None:
    assert ce.values_set(customer_created(code="C-9"))["code"] == "C-9"
    assert ce.values_set(customer_updated(name=("a", "b"))) == {"name": "b"}


def test_an_event_of_another_kind_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="InvoiceCreated"):
        ce.fold(None, envelope("InvoiceCreated", {}))


def test_the_customer_aggregate_and_the_search_view_fold_alike() -> None:
    events = [customer_created(), customer_updated(name=("上海测试科技有限公司", "新名"),
                                                   address=("上海市浦东新区", "北京市"))]
    customer = Customer.replay("cus_1", events)
    views = MemoryViews()
    projector = Projector(lambda session: views)  # type: ignore[arg-type, return-value]
    for event in events:
        projector.apply(event, None)
    folded: dict[str, Any] | None = None
    for event in events:
        folded = ce.fold(folded, event)
    view = {k: v for k, v in views.tables["customers"]["cus_1"].items() if k != "_id"}
    assert customer.fields == folded == view
