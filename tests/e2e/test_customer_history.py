"""get_history on the customer side: customers, contracts and payments, like invoices."""
from __future__ import annotations

from typing import Any

import pytest

from shared.errors import Forbidden, NotFound
from tests.support.actors import Clients
from tests.support.factories import World


def test_a_customer_history_lists_creation_and_each_change_with_its_actor(admin: Any, world: World) -> None:
    customer = world.customer(phone="021-1")
    admin.customer.update_customer(customer["id"], {"phone": "021-2", "industry": "零售"})

    history = admin.customer.get_history(customer["id"])

    assert [line["version"] for line in history] == [1, 2]
    assert history[0]["event_type"] == "CustomerCreated"
    assert history[0]["changes"]["name"] == {"from": None, "to": customer["name"]}
    assert history[1]["changes"] == {"phone": {"from": "021-1", "to": "021-2"},
                                     "industry": {"from": "制造业", "to": "零售"}}
    assert history[1]["actor"] == {"id": "admin-1", "name": "管理员"}


def test_contracts_and_payments_have_a_history_too(admin: Any, world: World) -> None:
    _, contract, payment = world.linked()

    contract_history = admin.customer.get_history(contract["id"])
    payment_history = admin.customer.get_history(payment["id"])

    assert contract_history[0]["event_type"] == "ContractCreated"
    assert contract_history[0]["changes"]["amount"]["to"] == contract["amount"]
    assert payment_history[0]["event_type"] == "PaymentReceived"
    assert payment_history[0]["changes"]["reference"]["to"] == payment["reference"]


def test_history_of_an_unknown_record_is_not_found_and_sales_may_not_read_it(
        admin: Any, world: World, clients: Clients) -> None:
    customer = world.customer()
    with pytest.raises(NotFound):
        admin.customer.get_history("cus_does_not_exist")
    with pytest.raises(Forbidden):
        clients.as_user(roles=["sales"]).customer.get_history(customer["id"])
