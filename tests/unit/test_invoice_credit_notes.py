"""Credit notes (红字发票): partial, full, over-credit, credit of a credit, void of a
credited invoice; both streams record the link."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from invoice.schemas import CreditNoteInput, dump_invoice
from shared.errors import Conflict, ValidationError
from shared.schemas import load
from tests.unit.test_invoice_application import ADMIN, World, values

HUAWEI = "914403001922038216"


@pytest.fixture
def world() -> World:
    return World()


def vat_invoice(world: World, **overrides: Any) -> dict[str, Any]:
    return world.app_as(ADMIN).create_invoice(values(**{
        "type": "vat_special", "amount": Decimal("1130.00"), "buyer_name": "华为技术有限公司",
        "buyer_tax_id": HUAWEI, "tax_rate": "0.13", "contract_id": "con_a", **overrides}))


def test_a_partial_credit_note_is_a_negative_invoice_linked_both_ways(world: World) -> None:
    original = vat_invoice(world)

    note = world.app_as(ADMIN).create_credit_note(original["id"], {"reason": "折让", "amount": Decimal("113.00")})

    assert note["kind"] == "credit" and note["credits_invoice_id"] == original["id"]
    assert (note["amount"], note["tax_amount"], note["amount_excluding_tax"]) == \
        (Decimal("-113.00"), Decimal("-13.00"), Decimal("-100.00"))
    assert (note["customer_id"], note["contract_id"], note["type"]) == ("cus_a", "con_a", "vat_special")
    after = world.app_as(ADMIN).get_invoice(original["id"])
    assert after["credited_amount"] == Decimal("113.00") and after["net_amount"] == Decimal("1017.00")
    assert after["status"] == "active" and after["credit_note_ids"] == [note["id"]]
    assert [e["type"] for e in world.log.events[-2:]] == ["CreditNoteIssued", "InvoiceCreated"]
    wire = dump_invoice(after)
    assert (wire["credited_amount"], wire["net_amount"]) == ("113.00", "1017.00")


def test_the_default_credits_what_remains_and_marks_the_original_credited(world: World) -> None:
    original = vat_invoice(world, amount=Decimal("1.00"))
    app = world.app_as(ADMIN)
    first = app.create_credit_note(original["id"], {"reason": "折让", "amount": Decimal("0.50")})

    rest = app.create_credit_note(original["id"], {"reason": "退货"})

    assert rest["amount"] == Decimal("-0.50")
    # the tax of the last note makes the credited tax equal the original's: 0.12
    assert first["tax_amount"] + rest["tax_amount"] == -original["tax_amount"]
    after = app.get_invoice(original["id"])
    assert after["status"] == "credited" and after["net_amount"] == Decimal("0.00")


def test_crediting_more_than_remains_is_a_conflict_and_writes_nothing(world: World) -> None:
    original = vat_invoice(world)
    app = world.app_as(ADMIN)
    app.create_credit_note(original["id"], {"reason": "折让", "amount": Decimal("1000.00")})
    before = len(world.log.events)

    with pytest.raises(Conflict):
        app.create_credit_note(original["id"], {"reason": "again", "amount": Decimal("130.01")})

    assert len(world.log.events) == before


def test_a_credit_note_cannot_be_credited_and_a_credited_invoice_neither(world: World) -> None:
    original = vat_invoice(world)
    app = world.app_as(ADMIN)
    note = app.create_credit_note(original["id"], {"reason": "作废重开"})

    with pytest.raises(Conflict):
        app.create_credit_note(note["id"], {"reason": "x"})
    with pytest.raises(Conflict):
        app.create_credit_note(original["id"], {"reason": "x"})


def test_a_credited_invoice_cannot_be_voided_nor_its_amount_changed(world: World) -> None:
    original = vat_invoice(world)
    app = world.app_as(ADMIN)
    app.create_credit_note(original["id"], {"reason": "折让", "amount": Decimal("1.13")})

    with pytest.raises(Conflict):
        app.update_invoice(original["id"], {"amount": Decimal("2000.00")}, None)
    app.create_credit_note(original["id"], {"reason": "退货"})
    with pytest.raises(Conflict):
        app.void_invoice(original["id"], "wrong", None)


def test_a_void_invoice_cannot_be_credited(world: World) -> None:
    original = vat_invoice(world)
    app = world.app_as(ADMIN)
    app.void_invoice(original["id"], "typo", None)

    with pytest.raises(Conflict):
        app.create_credit_note(original["id"], {"reason": "x"})


def test_lines_credit_part_of_a_mixed_rate_invoice(world: World) -> None:
    lines = [{"name": "服务费", "amount": "1060.00", "tax_rate": "0.06"},
             {"name": "设备", "quantity": "2", "unit_price": "56.50", "amount": "113.00", "tax_rate": "0.13"}]
    original = vat_invoice(world, amount=Decimal("1173.00"), tax_rate=None, lines=lines)
    app = world.app_as(ADMIN)
    with pytest.raises(ValidationError) as error:
        app.create_credit_note(original["id"], {"reason": "退一台", "amount": Decimal("56.50")})
    assert "lines" in error.value.messages

    note = app.create_credit_note(original["id"], {"reason": "退一台", "lines": [
        {"name": "设备", "quantity": "1", "unit_price": "56.50", "amount": "56.50", "tax_rate": "0.13"}]})

    assert note["amount"] == Decimal("-56.50") and note["tax_amount"] == Decimal("-6.50")
    assert note["lines"][0]["amount"] == Decimal("-56.50") and note["lines"][0]["quantity"] == "-1"


def test_history_shows_the_link_on_both_streams(world: World) -> None:
    original = vat_invoice(world)
    app = world.app_as(ADMIN)
    note = app.create_credit_note(original["id"], {"reason": "折让", "amount": Decimal("113.00")})

    original_events = app.events(original["id"])
    note_events = app.events(note["id"])

    assert original_events[-1]["data"]["credit_note_id"] == note["id"]
    assert note_events[0]["data"]["credits_invoice_id"] == original["id"]
    assert note_events[0]["data"]["reason"] == "折让"


@pytest.mark.parametrize("data,field", [
    ({}, "reason"),
    ({"reason": ""}, "reason"),
    ({"reason": "x", "amount": "-1.00"}, "amount"),
    ({"reason": "x", "amount": 1.5}, "amount"),
    ({"reason": "x", "bogus": 1}, "bogus"),
])
def test_credit_note_input_is_checked_at_the_edge(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as error:
        load(CreditNoteInput(), data)

    assert field in error.value.messages


def test_history_lines_name_the_credit_note_and_the_credited_invoice(world: World) -> None:
    original = vat_invoice(world)
    app = world.app_as(ADMIN)
    note = app.create_credit_note(original["id"], {"reason": "退货"})

    issued = app.history(original["id"])[-1]
    created = app.history(note["id"])[0]

    assert issued["event_type"] == "CreditNoteIssued" and issued["credit_note_id"] == note["id"]
    assert issued["changes"]["status"] == {"from": "active", "to": "credited"}
    assert issued["changes"]["credited_amount"] == {"from": None, "to": Decimal("1130.00")}
    assert created["changes"]["credits_invoice_id"] == {"from": None, "to": original["id"]}
    assert created["changes"]["kind"] == {"from": None, "to": "credit"}
