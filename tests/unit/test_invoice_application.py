"""Invoice use cases with in-memory fakes: rules, scope, links, versions, retries."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from invoice.application import InvoiceApplication, SettingsApplication
from invoice.domain.model import Invoice
from shared.auth import Actor, Policy
from shared.errors import ConcurrencyConflict, Conflict, Forbidden, NotFound, ValidationError
from shared.events.envelope import Metadata
from tests.support.fakes import (
    FakeCustomerDirectory,
    FakeInvoiceRepository,
    FakeSettingsRepository,
    InMemoryEventLog,
)

POLICY = Policy.load()
ADMIN = Actor("admin-1", "Ada", "hq", ("admin",))


class World:
    def __init__(self) -> None:
        self.log = InMemoryEventLog()
        self.invoices = FakeInvoiceRepository(self.log)
        self.settings = FakeSettingsRepository(self.log)
        self.directory = FakeCustomerDirectory()
        self.directory.add("customer", "cus_a", name="A")
        self.directory.add("customer", "cus_b", name="B")
        self.directory.add("contract", "con_a", customer_id="cus_a")
        self.directory.add("payment", "pay_a", customer_id="cus_a", contract_id="con_a")
        self.directory.add("contract", "con_a2", customer_id="cus_a")
        self.settings_as(ADMIN).seed_invoice_types()

    def settings_as(self, actor: Actor) -> SettingsApplication:
        return SettingsApplication(self.settings, POLICY, actor)

    def app_as(self, actor: Actor) -> InvoiceApplication:
        return InvoiceApplication(self.invoices, self.settings, self.directory, self.log,
                                  POLICY, actor)


def values(**overrides: Any) -> dict[str, Any]:
    return {"title": "发票", "type": "receipt", "amount": Decimal("10.00"),
            "issued_on": "2026-05-01", "customer_id": "cus_a", **overrides}


@pytest.fixture
def world() -> World:
    return World()


def test_a_new_invoice_belongs_to_its_creator_and_their_department(world: World) -> None:
    sales = Actor("s1", "Sam", "east", ("sales",))

    invoice = world.app_as(sales).create_invoice(values())

    assert invoice["owner_id"] == "s1" and invoice["department_id"] == "east"
    assert invoice["created_by"] == {"id": "s1", "name": "Sam"} and invoice["version"] == 1


@pytest.mark.parametrize("override,field", [
    ({"type": "nope"}, "type"),
    ({"customer_id": "cus_missing"}, "customer_id"),
    ({"contract_id": "con_missing"}, "contract_id"),
    ({"customer_id": "cus_b", "contract_id": "con_a"}, "contract_id"),
    ({"payment_ids": ["pay_missing"]}, "payment_ids"),
    ({"contract_id": "con_a2", "payment_ids": ["pay_a"]}, "payment_ids"),
    ({"custom": {"undefined": 1}}, "custom"),
])
def test_a_create_that_breaks_a_rule_names_the_field_and_appends_nothing(
        world: World, override: dict[str, Any], field: str) -> None:
    before = len(world.log.events)

    with pytest.raises(ValidationError) as error:
        world.app_as(ADMIN).create_invoice(values(**override))

    assert field in error.value.messages
    assert len(world.log.events) == before


def test_a_retired_type_cannot_be_used_for_new_invoices(world: World) -> None:
    admin = world.app_as(ADMIN)
    world.settings_as(ADMIN).update_invoice_type("receipt", {"active": False})

    with pytest.raises(ValidationError):
        admin.create_invoice(values())


def test_a_required_custom_field_is_checked_on_create_and_on_clear(world: World) -> None:
    admin = world.app_as(ADMIN)
    world.settings_as(ADMIN).define_custom_field({"key": "level", "label": "等级", "kind": "select",
                               "options": ["A", "B"], "required": True})
    with pytest.raises(ValidationError):
        admin.create_invoice(values())
    invoice = admin.create_invoice(values(custom={"level": "A"}))

    with pytest.raises(ValidationError):
        admin.update_invoice(invoice["id"], {"custom.level": None}, None)
    assert admin.update_invoice(invoice["id"], {"custom.level": "B"}, None)["custom"] == {"level": "B"}


def test_the_data_scope_hides_and_protects_other_peoples_invoices(world: World) -> None:
    alice = Actor("alice", "Alice", "east", ("sales",))
    invoice = world.app_as(alice).create_invoice(values())

    with pytest.raises(NotFound):
        world.app_as(Actor("bob", "Bob", "east", ("sales",))).get_invoice(invoice["id"])
    with pytest.raises(Forbidden):
        world.app_as(Actor("eve", "Eve", None, ("auditor",))).update_invoice(
            invoice["id"], {"remarks": "x"}, None)
    manager = world.app_as(Actor("carol", "Carol", "east", ("sales_manager",)))
    assert manager.update_invoice(invoice["id"], {"remarks": "ok"}, None)["version"] == 2


def test_a_stale_expected_version_changes_nothing(world: World) -> None:
    admin = world.app_as(ADMIN)
    invoice = admin.create_invoice(values())
    admin.update_invoice(invoice["id"], {"remarks": "one"}, 1)
    before = len(world.log.events)

    with pytest.raises(ConcurrencyConflict) as error:
        admin.update_invoice(invoice["id"], {"remarks": "two"}, 1)

    assert error.value.current_version == 2 and len(world.log.events) == before


class InterferingRepository(FakeInvoiceRepository):
    """Another writer changes the invoice between our load and our save, once."""

    interfered = False

    def save(self, invoice: Invoice, meta: Metadata, key: Any = None) -> list[dict[str, Any]]:
        if invoice.version > 0 and not self.interfered:
            self.interfered = True
            other = self.load(invoice.id)
            other.change({"courier": "EMS"})
            super().save(other, meta)
        return super().save(invoice, meta, key)


def test_without_expected_version_a_lost_race_is_decided_again_on_the_latest_state(world: World) -> None:
    world.invoices = InterferingRepository(world.log)
    admin = world.app_as(ADMIN)
    invoice = admin.create_invoice(values())

    result = admin.update_invoice(invoice["id"], {"remarks": "mine"}, None)

    assert result["version"] == 3
    assert result["courier"] == "EMS" and result["remarks"] == "mine"


def test_an_invoice_no_taken_by_an_active_invoice_is_a_conflict(world: World) -> None:
    admin = world.app_as(ADMIN)
    first = admin.create_invoice(values(invoice_no="N1"))

    with pytest.raises(Conflict):
        admin.create_invoice(values(invoice_no="N1"))
    admin.void_invoice(first["id"], "wrong", None)
    assert admin.create_invoice(values(invoice_no="N1"))["invoice_no"] == "N1"


def test_history_says_who_changed_what_from_what_to_what(world: World) -> None:
    admin = world.app_as(ADMIN)
    invoice = admin.create_invoice(values())
    admin.update_invoice(invoice["id"], {"amount": Decimal("12.00")}, None)
    admin.void_invoice(invoice["id"], "dup", None)

    history = admin.history(invoice["id"])

    assert [h["event_type"] for h in history] == ["InvoiceCreated", "InvoiceFieldsChanged", "InvoiceVoided"]
    assert history[1]["changes"] == {"amount": {"from": Decimal("10.00"), "to": Decimal("12.00")}}
    assert history[2]["changes"]["status"] == {"from": "active", "to": "void"}
    assert all(h["actor"] == {"id": "admin-1", "name": "Ada"} for h in history)
    assert admin.verify(invoice["id"])["ok"] is True


# -- held changes (issue 13) --------------------------------------------------------------
class FakeFlowRules:
    """In memory, like the invoice service's replica of the approval flows."""

    def __init__(self, *flows: dict[str, Any]) -> None:
        self.flows = {f["id"]: dict(f) for f in flows}

    def active(self) -> list[dict[str, Any]]:
        return [f for f in self.flows.values() if f["active"]]

    def put(self, flow: Any) -> bool:
        if self.flows.get(flow["id"], {}).get("version", 0) >= flow["version"]:
            return False
        self.flows[flow["id"]] = dict(flow)
        return True


def amount_flow(**overrides: Any) -> dict[str, Any]:
    return {"id": "flow_1", "version": 1, "created_at": "2026-01-01T00:00:00Z", "active": True,
            "hold": True, "watched_fields": ["amount"], "trigger_on_create": False,
            "condition": [{"field": "amount", "op": "gte", "value": "100"}],
            "condition_kinds": {"amount": "money"}, **overrides}


def test_a_watched_change_passing_the_condition_on_the_proposed_state_is_held(world: World) -> None:
    app = world.app_as(ADMIN)
    app.flows = FakeFlowRules(amount_flow())
    invoice = app.create_invoice(values())

    small = app.update_invoice(invoice["id"], {"amount": Decimal("50.00")}, None)
    big = app.update_invoice(invoice["id"], {"amount": Decimal("500.00"), "remarks": "急"}, None)

    assert small["amount"] == Decimal("50.00") and small["pending_change"] is None
    assert big["amount"] == Decimal("50.00") and big["remarks"] == "急"
    assert big["pending_change"]["changes"] == {"amount": {"from": Decimal("50.00"),
                                                           "to": Decimal("500.00")}}
    with pytest.raises(Conflict):
        app.update_invoice(invoice["id"], {"amount": Decimal("600.00")}, None)


def test_a_non_holding_flow_or_a_replicated_older_version_changes_nothing(world: World) -> None:
    rules = FakeFlowRules(amount_flow(hold=False, version=2))
    app, replicator = world.app_as(ADMIN), world.app_as(Actor("system:approval", "approval", None, ("service",)))
    app.flows = replicator.flows = rules
    assert replicator.replicate_flow(amount_flow(version=1)) is False  # an older version
    invoice = app.create_invoice(values())

    changed = app.update_invoice(invoice["id"], {"amount": Decimal("500.00")}, None)

    assert changed["amount"] == Decimal("500.00") and changed["pending_change"] is None
    with pytest.raises(Forbidden):
        app.replicate_flow(amount_flow(version=3))  # service role only


@pytest.mark.parametrize("as_of", [None, 1, 999, "2000-01-01T00:00:00Z", "2999-01-01T00:00:00Z"])
def test_an_invoice_out_of_scope_is_not_found_whatever_the_arguments(world: World, as_of: Any) -> None:
    # given an invoice of another sales user
    invoice = world.app_as(Actor("s2", "Sue", "west", ("sales",))).create_invoice(values())
    missing = "inv_missing"

    # when a sales user asks for it at any version or time, then the answer is the one a
    # missing invoice gets: no oracle for what exists
    with pytest.raises(NotFound) as hidden:
        world.app_as(Actor("s1", "Sam", "east", ("sales",))).get_invoice(invoice["id"], as_of=as_of)
    with pytest.raises(NotFound) as absent:
        world.app_as(Actor("s1", "Sam", "east", ("sales",))).get_invoice(missing, as_of=as_of)
    assert str(hidden.value).replace(invoice["id"], "X") == str(absent.value).replace(missing, "X")
