"""Operators run several instances; events still reach RabbitMQ once per append,
none lost, none doubled in the store, and the customer replica follows along."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import eventlet
import pytest
from pymongo import MongoClient

from tests.e2e.test_invoice_lifecycle import log_end
from tests.support.amqp import EventTap
from tests.support.factories import World, invoice_data
from tests.support.infra import wait_for


@pytest.fixture
def invoice_events(system: Any) -> Iterator[Any]:
    """A tap on invoice.events, bound before the test writes."""
    tap = EventTap(system.amqp_uri, "invoice")
    yield tap.drain
    tap.close()


def test_two_invoice_instances_write_concurrently_without_losing_or_doubling_events(
        system: Any, clients: Any, world: World, invoice_events: Any) -> None:
    second = system.start("invoice")
    customer_id = world.customer()["id"]
    start = log_end(clients.as_user(roles=["admin"]))
    hubs = [clients.as_user(roles=["admin"], sub=f"writer-{n}") for n in range(6)]

    def write(hub: Any) -> int:
        invoice = hub.invoice.create_invoice(invoice_data(customer_id))
        for n in range(4):
            hub.invoice.update_field(invoice["id"], "remarks", f"edit {n}")
        return 5

    try:
        written = sum(eventlet.GreenPool(6).imap(write, hubs))
        admin = hubs[0]
        events = admin.invoice.read_events(after_position=start, limit=1000)["events"]
        assert len(events) == written
        assert [e["position"] for e in events] == list(range(start + 1, start + written + 1))
        by_stream: dict[str, list[int]] = {}
        for event in events:
            by_stream.setdefault(event["stream_id"], []).append(event["version"])
        assert all(versions == [1, 2, 3, 4, 5] for versions in by_stream.values())
        assert admin.invoice.verify()["ok"] is True

        expected = {e["event_id"] for e in events}
        wait_for(lambda: expected <= {b["event_id"] for b in invoice_events()}, timeout=30,
                 message="every appended event on the exchange")
    finally:
        second.stop()


def test_customer_events_reach_the_invoice_services_replica(system: Any, world: World,
                                                            mongo_server: Any) -> None:
    customer, contract, payment = world.linked()
    client: MongoClient[Any] = MongoClient(mongo_server.url)
    replica = client["e2e_invoice"]
    try:
        wait_for(lambda: replica["replica_payments"].find_one({"_id": payment["id"]}), timeout=30,
                 message="the payment in the invoice service's replica")
        assert replica["replica_customers"].find_one({"_id": customer["id"]})["name"] == customer["name"]
        assert replica["replica_contracts"].find_one({"_id": contract["id"]})["customer_id"] == customer["id"]
    finally:
        client.close()


def test_events_stored_before_a_crash_are_published_after_the_restart(
        system: Any, clients: Any, world: World, invoice_events: Any) -> None:
    customer_id = world.customer()["id"]
    for process in [p for p in system.processes if p.name == "invoice"]:
        process.kill9()
    system.processes = [p for p in system.processes if p.alive()]
    # An instance that stores but cannot publish: the window between store and publish,
    # held open on purpose.
    system.start("invoice", env={"OUTBOX_RELAY": "false"})
    admin = clients.as_user(roles=["admin"])
    start = log_end(admin)
    written = [admin.invoice.create_invoice(invoice_data(customer_id)) for _ in range(20)]
    events = admin.invoice.read_events(after_position=start, limit=1000)["events"]
    expected = {e["event_id"] for e in events}
    assert not expected & {b["event_id"] for b in invoice_events()}

    for process in [p for p in system.processes if p.name == "invoice"]:
        process.kill9()
    system.processes = [p for p in system.processes if p.alive()]
    system.start("invoice")

    assert {e["stream_id"] for e in events} == {w["id"] for w in written}
    wait_for(lambda: expected <= {b["event_id"] for b in invoice_events()}, timeout=60,
             message="every event stored before the crash on the exchange")
