"""VAT on the invoice use cases: computed tax, lines, required fields per type."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from invoice.schemas import InvoiceInput, dump_invoice, load_changes
from shared.auth import Actor
from shared.errors import Conflict, ValidationError
from shared.schemas import load
from tests.unit.test_invoice_application import ADMIN, World, values

HUAWEI = "914403001922038216"


@pytest.fixture
def world() -> World:
    return World()


def vat_values(**overrides: Any) -> dict[str, Any]:
    return values(**{"type": "vat_special", "amount": Decimal("1130.00"),
                     "buyer_name": "华为技术有限公司", "buyer_tax_id": HUAWEI, "tax_rate": "0.13",
                     **overrides})


def test_a_vat_invoice_records_its_tax_and_the_amount_without_it(world: World) -> None:
    invoice = world.app_as(ADMIN).create_invoice(vat_values())

    assert invoice["tax_amount"] == Decimal("130.00")
    assert invoice["amount_excluding_tax"] == Decimal("1000.00")
    created = world.log.events[-1]
    assert created["data"]["fields"]["tax_amount"] == Decimal("130.00")
    wire = dump_invoice(invoice)
    assert (wire["tax_amount"], wire["amount_excluding_tax"], wire["tax_rate"]) == \
        ("130.00", "1000.00", "0.13")


@pytest.mark.parametrize("missing", ["buyer_name", "buyer_tax_id", "tax_rate"])
def test_a_special_vat_invoice_requires_the_buyer_and_the_rate(world: World, missing: str) -> None:
    before = len(world.log.events)

    with pytest.raises(ValidationError) as error:
        world.app_as(ADMIN).create_invoice(vat_values(**{missing: None}))

    assert missing in error.value.messages
    assert len(world.log.events) == before


def test_a_receipt_requires_none_of_them(world: World) -> None:
    invoice = world.app_as(ADMIN).create_invoice(values())

    assert invoice["tax_amount"] is None and invoice["buyer_name"] is None


def test_a_later_rule_leaves_existing_invoices_alone_but_applies_to_edits_of_its_fields(
        world: World) -> None:
    invoice = world.app_as(ADMIN).create_invoice(values())
    world.settings_as(ADMIN).update_invoice_type("receipt", {"required_fields": ["buyer_name"]})
    admin = world.app_as(ADMIN)  # the types are read once per use case

    assert admin.update_invoice(invoice["id"], {"remarks": "ok"}, None)["remarks"] == "ok"
    with pytest.raises(ValidationError) as error:
        admin.update_invoice(invoice["id"], {"buyer_name": ""}, None)
    assert "buyer_name" in error.value.messages
    with pytest.raises(ValidationError):
        admin.create_invoice(values())


def test_changing_the_amount_recomputes_the_tax_in_the_same_event(world: World) -> None:
    admin = world.app_as(ADMIN)
    invoice = admin.create_invoice(vat_values())

    changed = admin.update_invoice(invoice["id"], {"amount": Decimal("1.00")}, None)

    assert (changed["tax_amount"], changed["amount_excluding_tax"]) == (Decimal("0.12"), Decimal("0.88"))
    changes = world.log.events[-1]["data"]["changes"]
    assert changes["tax_amount"] == {"from": Decimal("130.00"), "to": Decimal("0.12")}


def test_lines_derive_the_rate_and_sum_their_tax(world: World) -> None:
    lines = [{"name": "服务费", "quantity": "1", "unit_price": "1060.00", "amount": "1060.00",
              "tax_rate": "0.06"},
             {"name": "设备", "quantity": "2", "unit_price": "56.50", "amount": "113.00",
              "tax_rate": "0.13"}]

    invoice = world.app_as(ADMIN).create_invoice(
        vat_values(amount=Decimal("1173.00"), tax_rate=None, lines=lines))

    assert invoice["tax_rate"] == "mixed"
    assert invoice["tax_amount"] == Decimal("73.00")  # 60.00 + 13.00
    assert dump_invoice(invoice)["lines"][1]["amount"] == "113.00"


def test_lines_that_do_not_add_up_to_the_amount_are_refused_on_edit_too(world: World) -> None:
    admin = world.app_as(ADMIN)
    lines = [{"name": "服务费", "amount": "1130.00", "tax_rate": "0.13"}]
    invoice = admin.create_invoice(vat_values(lines=lines))
    before = len(world.log.events)

    with pytest.raises(ValidationError) as error:
        admin.update_invoice(invoice["id"], {"amount": Decimal("1000.00")}, None)

    assert "amount" in error.value.messages and len(world.log.events) == before


@pytest.mark.parametrize("field,value", [
    ("buyer_tax_id", "914403001922038217"),
    ("buyer_tax_id", "91440300192203"),
    ("tax_rate", "0.17"),
    ("tax_rate", 0.13),
    ("buyer_name", "x" * 201),
    ("lines", "not a list"),
])
def test_bad_vat_input_is_refused_at_the_edge_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as error:
        load(InvoiceInput(), {"title": "t", "type": "vat_special", "amount": "1.00",
                              "issued_on": "2026-05-01", "customer_id": "cus_a", field: value})

    assert field in error.value.messages


def test_the_computed_figures_are_not_editable() -> None:
    with pytest.raises(ValidationError) as error:
        load_changes({"tax_amount": "1.00"})

    assert "tax_amount" in error.value.messages


def test_a_type_seeded_before_required_fields_gets_the_standard_ones_once() -> None:
    from invoice.application import SettingsApplication
    from invoice.domain import events as ev
    from invoice.domain.settings import Setting
    from shared.events.envelope import Metadata
    from tests.support.fakes import FakeSettingsRepository, InMemoryEventLog
    from tests.unit.test_invoice_application import POLICY

    settings = FakeSettingsRepository(InMemoryEventLog())
    old = Setting.new(ev.STREAM_INVOICE_TYPE, "vat_special")
    old.record(ev.INVOICE_TYPE_CREATED, {"key": "vat_special", "label": "增值税专用发票",
                                         "color": "#D9534F", "active": True})
    settings.save(old, Metadata(actor={"id": "seed"}))
    app = SettingsApplication(settings, POLICY, ADMIN)

    app.seed_invoice_types()
    app.seed_invoice_types()

    upgraded = settings.get("invoice_type", "vat_special")
    assert upgraded is not None and upgraded.version == 2
    assert upgraded.values["required_fields"] == ["buyer_name", "buyer_tax_id", "tax_rate"]


def test_a_held_amount_change_holds_its_tax_figures_with_it(world: World) -> None:
    from tests.unit.test_invoice_application import FakeFlowRules, amount_flow

    app = world.app_as(ADMIN)
    app.flows = FakeFlowRules(amount_flow())
    invoice = app.create_invoice(vat_values(amount=Decimal("113.00")))

    held = app.update_invoice(invoice["id"], {"amount": Decimal("226.00")}, None)

    assert (held["amount"], held["tax_amount"]) == (Decimal("113.00"), Decimal("13.00"))
    assert set(held["pending_change"]["changes"]) == {"amount", "tax_amount", "amount_excluding_tax"}
    with pytest.raises(Conflict):  # the figures wait with the amount
        app.update_invoice(invoice["id"], {"tax_rate": "0.06"}, None)
    service = world.app_as(Actor("system:approval", "approval", None, ("service",)))
    approved = service.settle_change(invoice["id"], held["pending_change"]["request_id"], "approved", "", [])
    assert (approved["amount"], approved["tax_amount"], approved["amount_excluding_tax"]) == \
        (Decimal("226.00"), Decimal("26.00"), Decimal("200.00"))
