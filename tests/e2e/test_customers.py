"""The customer contract through RPC: customers, contracts, payments (回款)."""
from __future__ import annotations

from typing import Any

import pytest

from shared.errors import ConcurrencyConflict, Conflict, Forbidden, NotFound, ValidationError
from tests.support.factories import World, contract_data, customer_data, payment_data, unique


def test_a_customer_is_created_updated_and_read_back(admin: Any) -> None:
    created = admin.customer.create_customer(customer_data(name="杭州示例贸易有限公司"))

    updated = admin.customer.update_customer(created["id"], {"phone": "0571-1234"}, expected_version=1)
    unchanged = admin.customer.update_customer(created["id"], {"phone": "0571-1234"})

    assert created["id"].startswith("cus_") and created["version"] == 1
    assert created["owner_id"] == "admin-1" and created["department_id"] == "dept-1"
    assert updated["version"] == 2 and unchanged["version"] == 2
    assert admin.customer.get_customer(created["id"]) == updated
    with pytest.raises(ConcurrencyConflict) as error:
        admin.customer.update_customer(created["id"], {"phone": "x"}, expected_version=1)
    assert error.value.args[0]["current_version"] == 2


def test_customers_are_listed_by_name_fragment_page_by_page(admin: Any) -> None:
    tag = unique("页")
    names = [f"{tag}客户{n}" for n in range(5)]
    for name in names:
        admin.customer.create_customer(customer_data(name=name))

    first = admin.customer.list_customers(name_contains=tag, limit=2)
    second = admin.customer.list_customers(name_contains=tag, limit=2, cursor=first["next_cursor"])
    third = admin.customer.list_customers(name_contains=tag, limit=2, cursor=second["next_cursor"])

    seen = [c["name"] for page in (first, second, third) for c in page["items"]]
    assert sorted(seen) == sorted(names) and third["next_cursor"] is None
    assert admin.customer.list_customers(name_contains=tag.upper(), limit=10)["items"]


def test_contracts_and_payments_hang_off_their_customer(admin: Any, world: World) -> None:
    customer = world.customer()
    contract = admin.customer.create_contract(contract_data(customer["id"], amount="88000"))
    payment = admin.customer.record_payment(payment_data(contract["id"], amount="8000.5"))

    assert contract["amount"] == "88000.00" and contract["customer_id"] == customer["id"]
    assert payment["customer_id"] == customer["id"] and payment["amount"] == "8000.50"
    assert admin.customer.get_contract(contract["id"]) == contract
    assert [c["id"] for c in admin.customer.list_contracts(customer["id"])] == [contract["id"]]
    assert [p["id"] for p in admin.customer.list_payments(contract_id=contract["id"])] == [payment["id"]]
    assert [p["id"] for p in admin.customer.list_payments(customer_id=customer["id"])] == [payment["id"]]
    assert admin.customer.get_payment(payment["id"]) == payment


def test_a_contract_number_is_unique(admin: Any, world: World) -> None:
    customer = world.customer()
    number = unique("HT")
    admin.customer.create_contract(contract_data(customer["id"], number=number))

    with pytest.raises(Conflict):
        admin.customer.create_contract(contract_data(customer["id"], number=number))


@pytest.mark.parametrize("call,field", [
    (lambda hub, cid: hub.customer.create_customer({"name": ""}), "name"),
    (lambda hub, cid: hub.customer.create_customer({"name": "x" * 201}), "name"),
    (lambda hub, cid: hub.customer.create_customer({"name": "ok", "$set": 1}), "$set"),
    (lambda hub, cid: hub.customer.create_contract(contract_data("cus_nope")), "customer_id"),
    (lambda hub, cid: hub.customer.create_contract(contract_data(cid, amount="-1")), "amount"),
    (lambda hub, cid: hub.customer.create_contract(contract_data(cid, signed_on="2026-02-31")), "signed_on"),
    (lambda hub, cid: hub.customer.record_payment(payment_data("con_nope")), "contract_id"),
], ids=["empty-name", "long-name", "dollar-key", "missing-customer", "negative", "bad-date", "missing-contract"])
def test_bad_customer_input_names_the_field(admin: Any, world: World, call: Any, field: str) -> None:
    customer = world.customer()
    before = admin.customer.read_events(after_position=0, limit=1000)
    position = before["last_position"]
    while (page := admin.customer.read_events(after_position=position))["events"]:
        position = page["last_position"]

    with pytest.raises(ValidationError) as error:
        call(admin, customer["id"])

    assert field in error.value.args[0], error.value.args[0]
    assert admin.customer.read_events(after_position=position)["events"] == []


def test_unknown_records_are_not_found_and_auditors_cannot_write(clients: Any, admin: Any) -> None:
    auditor = clients.as_user(roles=["auditor"])
    with pytest.raises(NotFound):
        admin.customer.get_customer("cus_does_not_exist")
    with pytest.raises(Forbidden):
        auditor.customer.create_customer(customer_data())


def test_customer_history_is_a_verifiable_event_stream(admin: Any, world: World) -> None:
    customer = world.customer()
    admin.customer.update_customer(customer["id"], {"industry": "零售"})

    events = admin.customer.get_events(customer["id"])

    assert [e["type"] for e in events] == ["CustomerCreated", "CustomerUpdated"]
    assert events[1]["data"]["changes"]["industry"]["to"] == "零售"
    assert events[1]["prev_hash"] == events[0]["hash"]
