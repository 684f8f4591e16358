"""Idempotent creates (issue 9 #4) with in-memory fakes: the key's scope and payload
hash, and each create's use case answering a repeat, a reused key and a lost race."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from customer.application import CustomerApplication
from invoice.application import InvoiceApplication
from shared.auth import Actor
from shared.errors import Conflict
from shared.idempotency import KEY_TTL, KeyRecord, earlier_record, fingerprint, split_key
from shared.schemas import load
from tests.support.fakes import (
    FakeContractRepository,
    FakeCustomerRepository,
    FakeIdempotencyKeys,
    FakeInvoiceRepository,
    FakePaymentRepository,
    InMemoryEventLog,
)
from tests.unit.test_invoice_application import ADMIN, POLICY, World, values

NOW = dt.datetime(2026, 5, 1, 8, tzinfo=dt.timezone.utc)


# -- the key ---------------------------------------------------------------------------
def test_a_payload_hash_ignores_key_order_nulls_and_how_a_decimal_is_written() -> None:
    assert fingerprint({"a": Decimal("10.5"), "b": None, "c": {"x": 1, "y": None}}) == \
        fingerprint({"c": {"x": 1}, "a": Decimal("10.50")})
    assert fingerprint({"a": Decimal("10.5")}) != fingerprint({"a": Decimal("10.6")})
    assert fingerprint({"a": Decimal("10")}) != fingerprint({"a": "10"})


def test_a_key_is_scoped_to_its_user_and_call_and_left_out_of_the_payload() -> None:
    key, payload = split_key("u1", "create_invoice", {"title": "x", "idempotency_key": "k"})
    same, _ = split_key("u1", "create_invoice", {"idempotency_key": "k", "title": "x"})
    other_user, _ = split_key("u2", "create_invoice", {"title": "x", "idempotency_key": "k"})
    other_call, _ = split_key("u1", "create_customer", {"title": "x", "idempotency_key": "k"})

    assert payload == {"title": "x"} and key == same
    assert len({key.scope_id, other_user.scope_id, other_call.scope_id}) == 3  # type: ignore[union-attr]
    assert split_key("u1", "create_invoice", {"title": "x"}) == (None, {"title": "x"})


def test_an_earlier_record_is_returned_refused_for_another_payload_and_forgotten_after_the_ttl() -> None:
    key, _ = split_key("u1", "create_invoice", {"title": "x", "idempotency_key": "k"})
    assert key is not None
    stored = KeyRecord("inv_1", key.fingerprint, NOW)

    assert earlier_record(None, key, NOW) is None
    assert earlier_record(stored, key, NOW + KEY_TTL - dt.timedelta(seconds=1)) == "inv_1"
    assert earlier_record(stored, key, NOW + KEY_TTL) is None
    with pytest.raises(Conflict) as refused:
        earlier_record(KeyRecord("inv_1", "another", NOW), key, NOW)
    assert list(refused.value.args[0]) == ["idempotency_key"]


# -- the invoice service ---------------------------------------------------------------
@pytest.fixture
def world() -> World:
    return World()


class RacedInvoices(FakeInvoiceRepository):
    """A repository where another instance stores the key between the use case's look-up
    and its save: the look-up misses once, the save then finds the key taken."""

    def __init__(self, world: World, race: Callable[[], Any]) -> None:
        super().__init__(world.log)
        self.states, self.keys, self._race = world.invoices.states, world.invoices.keys, race

    def created_with(self, key: Any) -> KeyRecord | None:
        if self._race is not None:
            race, self._race = self._race, None
            race()
            return None
        return super().created_with(key)


def created_events(world: World) -> list[str]:
    return [e["stream_id"] for e in world.log.events if e["type"] == "InvoiceCreated"]


def test_the_same_invoice_key_twice_returns_the_first_invoice_and_appends_nothing(world: World) -> None:
    app = world.app_as(ADMIN)
    first = app.create_invoice(values(idempotency_key="k1"))
    events = len(world.log.events)

    again = app.create_invoice(values(idempotency_key="k1"))

    assert again == first and len(world.log.events) == events
    assert app.create_invoice(values())["id"] != first["id"]  # without a key: a new one


def test_an_invoice_key_with_another_payload_is_a_conflict_naming_it(world: World) -> None:
    app = world.app_as(ADMIN)
    app.create_invoice(values(idempotency_key="k1"))
    events = len(world.log.events)

    with pytest.raises(Conflict) as refused:
        app.create_invoice(values(idempotency_key="k1", amount=Decimal("11.00")))

    assert "idempotency_key" in refused.value.args[0] and len(world.log.events) == events


def test_the_same_invoice_key_from_another_user_is_another_invoice(world: World) -> None:
    other = Actor("admin-2", "Bo", "hq", ("admin",))

    first = world.app_as(ADMIN).create_invoice(values(idempotency_key="k1"))
    second = world.app_as(other).create_invoice(values(idempotency_key="k1"))

    assert first["id"] != second["id"]


def test_an_invoice_create_that_loses_the_race_for_its_key_answers_with_the_winner(
        world: World) -> None:
    winner: list[dict[str, Any]] = []
    raced = RacedInvoices(world, lambda: winner.append(
        world.app_as(ADMIN).create_invoice(values(idempotency_key="k1"))))
    app = InvoiceApplication(raced, world.settings, world.directory, world.log, POLICY, ADMIN)

    answer = app.create_invoice(values(idempotency_key="k1"))

    assert answer["id"] == winner[0]["id"] and created_events(world) == [answer["id"]]


def test_a_credit_note_key_gives_one_note_and_conflicts_on_another_payload(world: World) -> None:
    app = world.app_as(ADMIN)
    original = app.create_invoice(values(amount=Decimal("100.00")))
    data = {"reason": "折让", "amount": Decimal("10.00"), "idempotency_key": "n1"}

    note = app.create_credit_note(original["id"], data)
    again = app.create_credit_note(original["id"], dict(data))
    with pytest.raises(Conflict) as refused:
        app.create_credit_note(original["id"], dict(data, amount=Decimal("20.00")))

    assert again["id"] == note["id"] and "idempotency_key" in refused.value.args[0]
    assert app.get_invoice(original["id"])["credited_amount"] == Decimal("10.00")


def test_a_credit_note_that_loses_the_race_for_its_key_answers_with_the_winner(world: World) -> None:
    original = world.app_as(ADMIN).create_invoice(values(amount=Decimal("100.00")))
    data = {"reason": "折让", "amount": Decimal("10.00"), "idempotency_key": "n1"}
    winner: list[dict[str, Any]] = []
    raced = RacedInvoices(world, lambda: winner.append(
        world.app_as(ADMIN).create_credit_note(original["id"], dict(data))))
    app = InvoiceApplication(raced, world.settings, world.directory, world.log, POLICY, ADMIN)

    answer = app.create_credit_note(original["id"], dict(data))

    assert answer["id"] == winner[0]["id"]
    assert app.get_invoice(original["id"])["credit_note_ids"] == [answer["id"]]


# -- the customer service --------------------------------------------------------------
class Customers:
    def __init__(self) -> None:
        self.log = InMemoryEventLog()
        keys = FakeIdempotencyKeys()
        self.customers = FakeCustomerRepository(self.log, keys)
        self.contracts = FakeContractRepository(self.log, keys)
        self.payments = FakePaymentRepository(self.log, keys)

    def app_as(self, actor: Actor) -> CustomerApplication:
        return CustomerApplication(self.customers, self.contracts, self.payments,
                                   self.log, POLICY, actor)  # type: ignore[arg-type]


def customer_calls(world: Customers) -> dict[str, tuple[Callable[[dict[str, Any]], Any], dict[str, Any], str]]:
    """Each create with a valid payload and the field that makes another payload."""
    setup = world.app_as(ADMIN)
    customer = setup.create_customer({"name": "甲"})
    contract = setup.create_contract({"customer_id": customer["id"], "number": "HT-1",
                                      "amount": Decimal("100.00")})
    app = world.app_as(ADMIN)
    return {
        "create_customer": (app.create_customer, {"name": "乙"}, "name"),
        "create_contract": (app.create_contract, {"customer_id": customer["id"], "number": "HT-2",
                                                  "amount": Decimal("50.00")}, "title"),
        "record_payment": (app.record_payment, {"contract_id": contract["id"],
                                                "amount": Decimal("30.00"),
                                                "received_on": "2026-05-01"}, "note"),
    }


@pytest.mark.parametrize("call", ["create_customer", "create_contract", "record_payment"])
def test_a_customer_side_create_with_a_key_happens_once(call: str) -> None:
    world = Customers()
    create, payload, other_field = customer_calls(world)[call]
    first = create(dict(payload, idempotency_key="k1"))
    events = len(world.log.events)

    again = create(dict(payload, idempotency_key="k1"))
    with pytest.raises(Conflict) as refused:
        create(dict(payload, idempotency_key="k1", **{other_field: "另一个"}))

    assert again == first and len(world.log.events) == events
    assert "idempotency_key" in refused.value.args[0]


def test_a_contract_repeat_is_not_refused_for_its_own_number() -> None:
    world = Customers()
    create, payload, _ = customer_calls(world)["create_contract"]
    first = create(dict(payload, idempotency_key="k1"))

    assert create(dict(payload, idempotency_key="k1"))["id"] == first["id"]  # not "number taken"


@pytest.mark.parametrize("schema_name", [
    "invoice.schemas:InvoiceInput", "invoice.schemas:CreditNoteInput",
    "customer.schemas:CustomerInput", "customer.schemas:ContractInput",
    "customer.schemas:PaymentInput"])
def test_every_create_schema_takes_a_key_of_at_most_100_printable_characters(schema_name: str) -> None:
    import importlib

    from marshmallow import ValidationError as SchemaError
    module, name = schema_name.split(":")
    schema = getattr(importlib.import_module(module), name)()

    for bad in ("k" * 101, "", "a\nb"):
        with pytest.raises(SchemaError) as refused:
            schema.load({"idempotency_key": bad}, partial=True)
        assert "idempotency_key" in refused.value.messages
    assert schema.load({"idempotency_key": "k" * 100}, partial=True) == {"idempotency_key": "k" * 100}


def test_updates_do_not_take_a_key() -> None:
    from customer.schemas import CustomerChanges
    from invoice.schemas import load_changes
    from shared.errors import ValidationError

    with pytest.raises(ValidationError):
        load_changes({"idempotency_key": "k"})
    with pytest.raises(ValidationError):
        load(CustomerChanges(), {"idempotency_key": "k"}, partial=True)
