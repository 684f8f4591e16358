"""Bad input, bad tokens and other people's invoices: clear typed errors, nothing written."""
from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from shared.auth import bearer
from shared.errors import Forbidden, NotFound, Unauthorized, ValidationError
from tests.e2e.test_invoice_lifecycle import log_end
from tests.support.actors import token_for
from tests.support.factories import World, invoice_data
from tests.support.infra import SECRET

BAD_INPUTS = [
    ("amount", {"amount": "-5.00"}),
    ("amount", {"amount": "0"}),
    ("amount", {"amount": "12.345"}),
    ("amount", {"amount": "NaN"}),
    ("amount", {"amount": "Infinity"}),
    ("amount", {"amount": 12.5}),
    ("amount", {"amount": "abc"}),
    ("issued_on", {"issued_on": "2026-02-30"}),
    ("issued_on", {"issued_on": "30/01/2026"}),
    ("issued_on", {"issued_on": 20260130}),
    ("title", {"title": "x" * 201}),
    ("title", {"title": ""}),
    ("title", {"title": 42}),
    ("content", {"content": "内" * 2001}),
    ("type", {"type": "no_such_type"}),
    ("customer_id", {"customer_id": "cus_missing"}),
    ("customer_id", {"customer_id": {"$ne": None}}),
    ("payment_ids", {"payment_ids": "pay_1"}),
    ("$where", {"$where": "sleep(1000)"}),
    ("custom", {"custom": {"$gt": 1}}),
    ("custom", {"custom": {"undefined_field": 1}}),
]


@pytest.mark.parametrize("field,override", BAD_INPUTS, ids=[f"{f}:{o}"[:60] for f, o in BAD_INPUTS])
def test_bad_invoice_input_names_the_field_and_appends_nothing(admin: Any, world: World,
                                                                field: str, override: dict[str, Any]) -> None:
    customer_id = world.customer()["id"]
    before = log_end(admin)

    with pytest.raises(ValidationError) as error:
        admin.invoice.create_invoice({**invoice_data(customer_id), **override})

    assert field in error.value.args[0], error.value.args[0]
    assert log_end(admin, before) == before


def test_missing_required_fields_are_each_named(admin: Any) -> None:
    with pytest.raises(ValidationError) as error:
        admin.invoice.create_invoice({})
    assert set(error.value.args[0]) == {"title", "type", "amount", "issued_on", "customer_id"}


def test_links_must_belong_to_the_invoiced_customer(admin: Any, world: World) -> None:
    mine, my_contract, _ = world.linked()
    _, foreign_contract, foreign_payment = world.linked()

    with pytest.raises(ValidationError) as contract_error:
        admin.invoice.create_invoice(invoice_data(mine["id"], contract_id=foreign_contract["id"]))
    with pytest.raises(ValidationError) as payment_error:
        admin.invoice.create_invoice(invoice_data(mine["id"], contract_id=my_contract["id"],
                                                  payment_ids=[foreign_payment["id"]]))

    assert "contract_id" in contract_error.value.args[0]
    assert "payment_ids" in payment_error.value.args[0]


def test_update_field_refuses_system_fields_and_bad_values(admin: Any, world: World) -> None:
    invoice = admin.invoice.create_invoice(invoice_data(world.customer()["id"]))
    for field, value in [("status", "void"), ("version", 9), ("amount", "1.001"),
                         ("title", None), ("issued_on", "2026-13-01"), ("custom.$x", 1)]:
        with pytest.raises(ValidationError) as error:
            admin.invoice.update_field(invoice["id"], field, value)
        named = field.split(".")[0]
        assert named in error.value.args[0], (field, error.value.args[0])
    assert admin.invoice.get_invoice(invoice["id"])["version"] == 1


@pytest.mark.parametrize("authorization", [
    None, "", "Token abc", "Bearer not-a-jwt",
    token_for(secret="forged-secret-0123456789-0123456789-xx"),
    token_for(ttl_seconds=-10),
    token_for(ttl_seconds=None),
    bearer(jwt.encode({"sub": "u1", "roles": ["admin"], "exp": 10**12}, SECRET, algorithm="HS256")),
    bearer(jwt.encode({"sub": "", "roles": ["admin"], "exp": int(time.time()) + 60}, SECRET,
                      algorithm="HS256")),
    bearer(jwt.encode({"sub": "service:invoice", "roles": ["service"], "exp": int(time.time()) + 60},
                      SECRET, algorithm="HS256")),
], ids=["missing", "empty", "not-bearer", "malformed", "forged", "expired", "no-exp",
        "exp-1e12", "empty-sub", "service-role-by-secret"])
def test_calls_without_a_valid_token_are_unauthorized(clients: Any, authorization: str | None) -> None:
    hub = clients.with_authorization(authorization)
    with pytest.raises(Unauthorized):
        hub.invoice.list_invoice_types()


def test_salespeople_see_and_edit_only_their_own_invoices(clients: Any, world: World) -> None:
    customer_id = world.customer()["id"]
    alice = clients.as_user(roles=["sales"], sub="alice", department="east")
    bob = clients.as_user(roles=["sales"], sub="bob", department="east")
    manager = clients.as_user(roles=["sales_manager"], sub="carol", department="east")
    other_manager = clients.as_user(roles=["sales_manager"], sub="dave", department="west")
    auditor = clients.as_user(roles=["auditor"], sub="erin", department="audit")

    invoice = alice.invoice.create_invoice(invoice_data(customer_id))

    assert invoice["owner_id"] == "alice"
    with pytest.raises(NotFound):
        bob.invoice.get_invoice(invoice["id"])
    with pytest.raises(NotFound):
        bob.invoice.update_field(invoice["id"], "remarks", "mine now")
    with pytest.raises(NotFound):
        other_manager.invoice.get_invoice(invoice["id"])
    assert manager.invoice.update_field(invoice["id"], "remarks", "checked")["version"] == 2
    assert auditor.invoice.get_invoice(invoice["id"])["id"] == invoice["id"]
    with pytest.raises(Forbidden):
        auditor.invoice.update_field(invoice["id"], "remarks", "auditors only look")
    with pytest.raises(Forbidden):
        alice.invoice.void_invoice(invoice["id"], "sales may not void")
    with pytest.raises(Forbidden):
        alice.invoice.get_history(invoice["id"])
    with pytest.raises(Forbidden):
        auditor.invoice.create_invoice(invoice_data(customer_id))
    with pytest.raises(Forbidden):
        manager.invoice.create_invoice_type({"key": "nope", "label": "x", "color": "#000000"})
    assert auditor.invoice.get_history(invoice["id"])[-1]["actor"]["id"] == "carol"
