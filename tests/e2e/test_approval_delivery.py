"""Exactly one request per triggering event, with redelivered invoice events and two
approval instances competing on the queue."""
from __future__ import annotations

from typing import Any

import eventlet
from kombu import Connection, Producer
from nameko.standalone.events import get_event_exchange
from pymongo import MongoClient

from tests.e2e.approval_support import approval_status, flow_data, people, requests_opened
from tests.support.factories import World, invoice_data
from tests.support.infra import wait_for

QUEUE = "evt-invoice--approval.on_invoice_event"


def publish_again(amqp_uri: str, envelope: dict[str, Any], times: int) -> None:
    """What a relay resending after a crash does: the same envelope, again."""
    headers: dict[str, Any] = {}  # a relay sends no token: the envelope is signed
    with Connection(amqp_uri) as connection:
        producer = Producer(connection.channel(), exchange=get_event_exchange("invoice", {}))
        for _ in range(times):
            producer.publish(envelope, routing_key=envelope["type"], serializer="json",
                             headers=headers, delivery_mode=2)


def queue_drained(amqp_uri: str) -> bool:
    with Connection(amqp_uri) as connection:
        _, ready, consumers = connection.channel().queue_declare(QUEUE, passive=True)
        return bool(ready == 0 and consumers)


def test_redelivered_triggers_and_two_instances_still_open_one_request_each(
        system: Any, clients: Any, world: World, mongo_server: Any) -> None:
    who = people(clients)
    second = system.start("approval")
    try:
        customer_id = world.customer()["id"]
        who.admin.approval.define_flow(flow_data(customer_id, trigger_on_create=True))
        invoices = [who.sales.invoice.create_invoice(invoice_data(customer_id)) for _ in range(4)]

        # One hub per writer: a hub's connection serves one green thread at a time.
        writers = [clients.as_user(roles=["sales"], sub=who.sales_id) for _ in invoices]

        def edit(pair: tuple[Any, dict[str, Any]]) -> None:
            pair[0].invoice.update_field(pair[1]["id"], "amount", "45678.00")
        list(eventlet.GreenPool(4).imap(edit, zip(writers, invoices, strict=True)))
        for invoice in invoices:
            requests_opened(who.admin, invoice["id"], count=2)

        triggers = [e for invoice in invoices for e in who.admin.invoice.get_events(invoice["id"])]
        for envelope in triggers:
            publish_again(system.amqp_uri, envelope, times=2)
        # A later change to each invoice: its request shows the duplicates were behind it.
        for invoice in invoices:
            who.sales.invoice.update_field(invoice["id"], "amount", "45679.00")
        for invoice in invoices:
            requests_opened(who.admin, invoice["id"], count=3)
        wait_for(lambda: queue_drained(system.amqp_uri), timeout=30, message="the queue to drain")

        for invoice in invoices:
            found = who.admin.approval.requests_for_invoice(invoice["id"])
            edits = [e for e in who.admin.invoice.get_events(invoice["id"])
                     if e["type"] in ("InvoiceCreated", "InvoiceFieldsChanged")]
            assert [r["trigger_event_id"] for r in found] == [e["event_id"] for e in edits]
            assert [r["status"] for r in found] == ["superseded", "superseded", "pending"]
            approval_status(who.admin, invoice["id"], "pending", found[-1]["id"])
        client: MongoClient[Any] = MongoClient(mongo_server.url)
        try:
            opened = list(client["e2e_approval"]["events"].find(
                {"type": "ApprovalRequestOpened",
                 "data.invoice_id": {"$in": [i["id"] for i in invoices]}}))
        finally:
            client.close()
        assert len(opened) == 12
        assert len({e["data"]["trigger_event_id"] for e in opened}) == 12
    finally:
        second.stop()
