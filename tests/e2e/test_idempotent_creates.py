"""Issue 9 #4: creates take ``idempotency_key`` in their data. The same key from the same
user names one record, whether the calls come one after the other, at the same time,
through two service instances or across a restart; the same key with another payload
is a Conflict naming ``idempotency_key``."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import eventlet
import pytest

from shared.errors import Conflict
from tests.support.factories import World, contract_data, customer_data, invoice_data, payment_data

CONCURRENT_CALLS = 4


@dataclass(frozen=True)
class Create:
    """One create call: the service whose log records it, its created event, a payload
    (given what it links to), the field that makes another payload, and the call."""

    service: str
    created_event: str
    payload: Callable[[World], dict[str, Any]]
    other_field: str
    call: Callable[[Any, dict[str, Any]], dict[str, Any]]


def _credit_note_payload(world: World) -> dict[str, Any]:
    customer_id = world.customer()["id"]
    original = world.hub.invoice.create_invoice(invoice_data(customer_id, amount="500.00"))
    return {"reason": "销售折让", "amount": "10.00", "for": original["id"]}


def _create_credit_note(hub: Any, data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    return hub.invoice.create_credit_note(data.pop("for"), data)


CREATES = {
    "create_customer": Create("customer", "CustomerCreated", lambda w: customer_data(), "name",
                              lambda hub, d: hub.customer.create_customer(d)),
    "create_contract": Create("customer", "ContractCreated",
                              lambda w: contract_data(w.customer()["id"]), "title",
                              lambda hub, d: hub.customer.create_contract(d)),
    "record_payment": Create("customer", "PaymentReceived",
                             lambda w: payment_data(w.contract(w.customer()["id"])["id"]), "note",
                             lambda hub, d: hub.customer.record_payment(d)),
    "create_invoice": Create("invoice", "InvoiceCreated",
                             lambda w: invoice_data(w.customer()["id"]), "title",
                             lambda hub, d: hub.invoice.create_invoice(d)),
    "create_credit_note": Create("invoice", "InvoiceCreated", _credit_note_payload, "reason",
                                 _create_credit_note),
}


def log_end(hub: Any, service: str) -> int:
    after = 0
    while (page := getattr(hub, service).read_events(after_position=after, limit=1000))["events"]:
        after = page["last_position"]
    return after


def created_by(hub: Any, service: str, event_type: str, actor_id: str, after: int) -> list[str]:
    """The ids of the records ``actor_id`` created after a position of the service's log."""
    found: list[str] = []
    while (page := getattr(hub, service).read_events(after_position=after, limit=1000))["events"]:
        found += [e["stream_id"] for e in page["events"]
                  if e["type"] == event_type and e["actor"]["id"] == actor_id and e["version"] == 1]
        after = page["last_position"]
    return found


def user(clients: Any) -> tuple[str, Any]:
    sub = f"idem-{uuid.uuid4().hex[:8]}"
    return sub, clients.as_user(roles=["admin"], sub=sub, name="幂等测试")


def key() -> str:
    return f"key-{uuid.uuid4().hex}"


@pytest.mark.parametrize("name", list(CREATES))
def test_the_same_key_twice_gives_the_first_record_and_creates_one(clients: Any, name: str) -> None:
    create = CREATES[name]
    sub, hub = user(clients)
    payload = dict(create.payload(World(hub)), idempotency_key=key())
    start = log_end(hub, create.service)

    first = create.call(hub, payload)
    again = create.call(hub, payload)

    assert again["id"] == first["id"]
    assert created_by(hub, create.service, create.created_event, sub, start) == [first["id"]]


@pytest.mark.parametrize("name", list(CREATES))
def test_the_same_key_at_the_same_time_creates_one_record(clients: Any, name: str) -> None:
    create = CREATES[name]
    sub, hub = user(clients)
    payload = dict(create.payload(World(hub)), idempotency_key=key())
    hubs = [clients.as_user(roles=["admin"], sub=sub, name="幂等测试")
            for _ in range(CONCURRENT_CALLS)]
    start = log_end(hub, create.service)

    results = list(eventlet.GreenPool(CONCURRENT_CALLS).imap(
        lambda caller: create.call(caller, payload), hubs))

    assert len({r["id"] for r in results}) == 1
    assert created_by(hub, create.service, create.created_event, sub, start) == [results[0]["id"]]


@pytest.mark.parametrize("name", list(CREATES))
def test_the_same_key_with_another_payload_is_a_conflict_naming_the_key(
        clients: Any, name: str) -> None:
    create = CREATES[name]
    sub, hub = user(clients)
    payload = dict(create.payload(World(hub)), idempotency_key=key())
    first = create.call(hub, payload)
    start = log_end(hub, create.service)

    with pytest.raises(Conflict) as refused:
        create.call(hub, {**payload, create.other_field: "另一个值"})

    assert "idempotency_key" in refused.value.args[0]
    assert created_by(hub, create.service, create.created_event, sub, start) == []
    assert create.call(hub, payload)["id"] == first["id"]


def test_a_key_belongs_to_its_user(clients: Any) -> None:
    _, one = user(clients)
    _, two = user(clients)
    shared_key = key()
    payload = customer_data()

    first = one.customer.create_customer(dict(payload, idempotency_key=shared_key))
    second = two.customer.create_customer(dict(payload, idempotency_key=shared_key))

    assert first["id"] != second["id"]


def test_an_overlong_key_is_a_validation_error(clients: Any) -> None:
    from shared.errors import ValidationError
    _, hub = user(clients)

    with pytest.raises(ValidationError) as refused:
        hub.customer.create_customer(dict(customer_data(), idempotency_key="k" * 101))

    assert "idempotency_key" in refused.value.args[0]


def test_a_key_holds_across_two_instances_and_a_restart(system: Any, clients: Any) -> None:
    sub, hub = user(clients)
    payload = dict(invoice_data(World(hub).customer()["id"]), idempotency_key=key())
    start = log_end(hub, "invoice")
    second = system.start("invoice")
    try:
        hubs = [clients.as_user(roles=["admin"], sub=sub) for _ in range(2 * CONCURRENT_CALLS)]
        racing = list(eventlet.GreenPool(len(hubs)).imap(
            lambda caller: caller.invoice.create_invoice(payload), hubs))
    finally:
        second.stop()
    system.processes.remove(second)
    for process in [p for p in system.processes if p.name == "invoice"]:
        process.stop()
    system.processes = [p for p in system.processes if p.alive()]
    system.start("invoice")

    after_restart = clients.as_user(roles=["admin"], sub=sub).invoice.create_invoice(payload)

    assert {r["id"] for r in racing} == {after_restart["id"]}
    assert created_by(hub, "invoice", "InvoiceCreated", sub, start) == [after_restart["id"]]
