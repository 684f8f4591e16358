"""The customer service's domain: customers, contracts opened by them, payments received
on contracts. Pure: events are "stored" by a helper that does what the event store does."""
from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from customer.domain import events as ev
from customer.domain.model import (
    CONTRACT_FIELDS,
    CUSTOMER_FIELDS,
    PAYMENT_FIELDS,
    Contract,
    Customer,
    Payment,
    Record,
)
from shared.errors import NotFound, ValidationError
from shared.events.envelope import GENESIS_HASH, compute_hash

ALICE = {"id": "u-alice", "name": "Alice", "department": "d1", "roles": ["sales"]}
BOB = {"id": "u-bob", "name": "Bob", "department": "d2", "roles": ["finance"]}


def fresh_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def customer_values(**overrides: Any) -> dict[str, Any]:
    values = {"name": "上海测试科技有限公司", "code": "C-001", "industry": "制造业",
              "phone": "021-5555-0000", "address": "上海市浦东新区", "owner_id": "u-alice",
              "department_id": "d1"}
    values.update(overrides)
    return values


def contract_values(**overrides: Any) -> dict[str, Any]:
    values = {"number": f"HT-{uuid.uuid4().hex[:8]}", "title": "年度服务合同",
              "amount": Decimal("100000.00"), "signed_on": "2026-03-01",
              "owner_id": "u-alice", "department_id": "d1"}
    values.update(overrides)
    return values


def payment_values(**overrides: Any) -> dict[str, Any]:
    values = {"amount": Decimal("30000.00"), "received_on": "2026-04-01",
              "method": "bank_transfer", "reference": "REF-1", "note": None}
    values.update(overrides)
    return values


def stored(record: Record, actor: dict[str, Any] = ALICE,
           at: str = "2026-05-01T08:00:00.000Z") -> list[dict[str, Any]]:
    """Turn the pending events into envelopes as the store would, and apply them."""
    envelopes, prev_hash = [], record.head.hash or GENESIS_HASH
    for offset, event in enumerate(record.pending):
        envelope = {"event_id": uuid.uuid4().hex, "stream_id": record.id,
                    "stream_type": record.STREAM_TYPE, "version": record.version + offset + 1,
                    "position": offset + 1, "type": event.type,
                    "schema_version": event.schema_version, "occurred_at": at,
                    "actor": actor, "correlation_id": None, "causation_id": None,
                    "data": dict(event.data), "prev_hash": prev_hash}
        envelope["hash"] = prev_hash = compute_hash(envelope)
        envelopes.append(envelope)
    for envelope in envelopes:
        record.apply(envelope)
    record.pending.clear()
    return envelopes


def a_customer(**overrides: Any) -> Customer:
    customer = Customer.create(fresh_id("cus"), customer_values(**overrides))
    stored(customer)
    return customer


def a_contract(**overrides: Any) -> Contract:
    contract = a_customer().open_contract(fresh_id("con"), contract_values(**overrides))
    stored(contract)
    return contract


# -- customers -------------------------------------------------------------------------
def test_creating_a_customer_records_customer_created_with_every_customer_field() -> None:
    # given
    values = customer_values(code=None)
    # when
    customer = Customer.create(fresh_id("cus"), values)
    # then
    [event] = customer.pending
    assert event.type == ev.CUSTOMER_CREATED
    assert event.schema_version == 1
    assert dict(event.data) == {name: values[name] for name in CUSTOMER_FIELDS}


def test_a_created_customer_is_not_state_until_its_event_is_stored() -> None:
    # when
    customer = Customer.create(fresh_id("cus"), customer_values())
    # then
    assert customer.version == 0
    assert customer.fields == {}


@pytest.mark.parametrize("name", [None, "", "   "])
def test_a_customer_cannot_be_created_without_a_name(name: Any) -> None:
    # when
    with pytest.raises(ValidationError) as error:
        Customer.create(fresh_id("cus"), customer_values(name=name))
    # then
    assert set(error.value.messages) == {"name"}


def test_a_stored_customer_carries_its_fields_version_and_audit_fields() -> None:
    # given
    customer = Customer.create(fresh_id("cus"), customer_values())
    # when
    stored(customer, actor=ALICE, at="2026-05-01T08:00:00.000Z")
    # then
    data = customer.to_dict()
    assert data["id"] == customer.id
    assert data["name"] == "上海测试科技有限公司"
    assert data["version"] == 1
    assert data["created_at"] == data["updated_at"] == "2026-05-01T08:00:00.000Z"
    assert data["created_by"] == data["updated_by"] == {"id": "u-alice", "name": "Alice"}


def test_changing_a_customer_records_only_the_fields_that_differ_with_from_and_to() -> None:
    # given
    customer = a_customer(phone="021-1", industry="制造业")
    # when
    changes = customer.change({"phone": "021-2", "industry": "制造业"})
    # then
    assert changes == {"phone": {"from": "021-1", "to": "021-2"}}
    [event] = customer.pending
    assert event.type == ev.CUSTOMER_UPDATED
    assert dict(event.data) == {"changes": {"phone": {"from": "021-1", "to": "021-2"}}}


def test_changing_a_customer_to_equal_values_records_nothing() -> None:
    # given
    customer = a_customer(name="甲公司", phone="021-1")
    # when
    changes = customer.change({"name": "甲公司", "phone": "021-1"})
    # then
    assert changes == {}
    assert customer.pending == []


def test_clearing_a_field_that_is_already_empty_records_nothing() -> None:
    # given
    customer = a_customer(address=None)
    # when
    customer.change({"address": ""})
    # then
    assert customer.pending == []


def test_a_customer_name_cannot_be_cleared() -> None:
    # given
    customer = a_customer()
    # when
    with pytest.raises(ValidationError) as error:
        customer.change({"name": ""})
    # then
    assert set(error.value.messages) == {"name"}
    assert customer.pending == []


def test_only_customer_fields_can_be_changed() -> None:
    # given
    customer = a_customer()
    # when
    with pytest.raises(ValidationError) as error:
        customer.change({"version": 7, "phone": "1"})
    # then
    assert set(error.value.messages) == {"version"}
    assert customer.pending == []


def test_a_stored_update_changes_the_fields_and_the_updater_but_not_the_creator() -> None:
    # given
    customer = a_customer(name="旧名称")
    customer.change({"name": "新名称"})
    # when
    stored(customer, actor=BOB, at="2026-06-01T09:00:00.000Z")
    # then
    data = customer.to_dict()
    assert data["name"] == "新名称"
    assert data["version"] == 2
    assert data["created_by"] == {"id": "u-alice", "name": "Alice"}
    assert data["updated_by"] == {"id": "u-bob", "name": "Bob"}
    assert data["updated_at"] == "2026-06-01T09:00:00.000Z"


def test_replaying_a_customers_events_rebuilds_the_same_customer() -> None:
    # given
    customer = Customer.create(fresh_id("cus"), customer_values())
    history = stored(customer)
    customer.change({"phone": "010-1", "address": "北京市"})
    history += stored(customer, actor=BOB)
    # when
    replayed = Customer.replay(customer.id, history)
    # then
    assert replayed.to_dict() == customer.to_dict()
    assert replayed.head == customer.head


def test_replaying_no_events_means_the_customer_does_not_exist() -> None:
    # when / then
    with pytest.raises(NotFound):
        Customer.replay(fresh_id("cus"), [])


def test_a_customer_refuses_events_of_another_record_kind() -> None:
    # given
    payment_event = stored(a_contract().receive_payment(fresh_id("pay"), payment_values()))[0]
    # when / then
    with pytest.raises(ValueError):
        Customer.replay(payment_event["stream_id"], [payment_event])


# -- contracts -------------------------------------------------------------------------
def test_a_contract_opened_by_a_customer_belongs_to_that_customer() -> None:
    # given
    customer = a_customer()
    # when
    contract = customer.open_contract(fresh_id("con"), contract_values(customer_id="cus_other"))
    # then
    [event] = contract.pending
    assert event.type == ev.CONTRACT_CREATED
    assert set(event.data) == set(CONTRACT_FIELDS)
    assert event.data["customer_id"] == customer.id
    assert event.data["amount"] == Decimal("100000.00")


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-1.00"), None, 100.0])
def test_a_contract_needs_an_amount_greater_than_zero(amount: Any) -> None:
    # given
    customer = a_customer()
    # when
    with pytest.raises(ValidationError) as error:
        customer.open_contract(fresh_id("con"), contract_values(amount=amount))
    # then
    assert set(error.value.messages) == {"amount"}


def test_a_contract_needs_a_number() -> None:
    # when
    with pytest.raises(ValidationError) as error:
        a_customer().open_contract(fresh_id("con"), contract_values(number=" "))
    # then
    assert set(error.value.messages) == {"number"}


def test_a_stored_contract_has_version_one_and_its_fields() -> None:
    # when
    contract = a_contract(number="HT-1", signed_on=None)
    # then
    data = contract.to_dict()
    assert data["version"] == 1
    assert data["number"] == "HT-1"
    assert data["signed_on"] is None
    assert data["customer_id"].startswith("cus_")


# -- payments --------------------------------------------------------------------------
def test_a_payment_is_credited_to_the_customer_of_its_contract() -> None:
    # given
    contract = a_contract()
    # when
    payment = contract.receive_payment(fresh_id("pay"), payment_values())
    # then
    [event] = payment.pending
    assert event.type == ev.PAYMENT_RECEIVED
    assert set(event.data) == set(PAYMENT_FIELDS)
    assert event.data["contract_id"] == contract.id
    assert event.data["customer_id"] == contract.customer_id
    assert event.data["amount"] == Decimal("30000.00")


def test_a_payment_may_name_its_customer_when_it_is_the_contracts_customer() -> None:
    # given
    contract = a_contract()
    # when
    payment = contract.receive_payment(fresh_id("pay"),
                                       payment_values(customer_id=contract.customer_id))
    stored(payment)
    # then
    assert payment.to_dict()["customer_id"] == contract.customer_id


def test_a_payment_naming_another_customer_is_refused() -> None:
    # given
    contract = a_contract()
    # when
    with pytest.raises(ValidationError) as error:
        contract.receive_payment(fresh_id("pay"), payment_values(customer_id="cus_other"))
    # then
    assert set(error.value.messages) == {"customer_id"}


@pytest.mark.parametrize("amount", [Decimal("0.00"), Decimal("-5"), None])
def test_a_payment_needs_an_amount_greater_than_zero(amount: Any) -> None:
    # when
    with pytest.raises(ValidationError) as error:
        a_contract().receive_payment(fresh_id("pay"), payment_values(amount=amount))
    # then
    assert set(error.value.messages) == {"amount"}


def test_replaying_a_payment_rebuilds_it_with_its_links() -> None:
    # given
    contract = a_contract()
    payment = contract.receive_payment(fresh_id("pay"), payment_values(note="首付款"))
    history = stored(payment)
    # when
    replayed = Payment.replay(payment.id, history)
    # then
    assert replayed.to_dict() == payment.to_dict()
    assert replayed.to_dict()["note"] == "首付款"
    assert replayed.to_dict()["contract_id"] == contract.id
