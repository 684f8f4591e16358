"""The search projections always converge to the fold of the event stores: after a
rebuild, redelivered and reordered events, kill -9 mid-stream, two instances."""
from __future__ import annotations

import os
import random
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from kombu import Connection
from pymongo import MongoClient

from search.adapters.views import Generations
from search.rebuild import rebuild, verify
from shared.events.relay import AmqpPublisher
from shared.mongo import database
from tests.e2e.search_support import view_at
from tests.support.factories import World, invoice_data, unique
from tests.support.infra import SECRET, wait_for

INVOICE_QUEUE = "evt-invoice--search_projector.on_invoice_event"


@pytest.fixture
def search_db(mongo_server: Any) -> Iterator[Any]:
    client: MongoClient[Any] = MongoClient(mongo_server.url)
    yield database(client, "e2e_search")
    client.close()


@pytest.fixture
def config(system: Any) -> dict[str, Any]:
    return {"AMQP_URI": system.amqp_uri, "AUTH_SECRET": SECRET, "MONGO_DB_PREFIX": "e2e_",
            "serializer": "json"}


def search_processes(system: Any) -> list[Any]:
    return [p for p in system.processes if p.name == "search" and p.alive()]


def all_visible(hub: Any, invoice_ids: list[str], timeout: float = 60) -> None:
    for invoice_id in invoice_ids:
        view_at(hub, hub.invoice.get_invoice(invoice_id), timeout=timeout)


def test_a_rebuild_equals_the_live_projections_and_switches_while_search_answers(
        admin: Any, world: World, search_db: Any, config: dict[str, Any]) -> None:
    customer, contract, payment = world.linked()
    made = [admin.invoice.create_invoice(invoice_data(customer["id"], contract_id=contract["id"],
                                                      payment_ids=[payment["id"]], amount=f"{n}.25"))
            for n in range(1, 4)]
    admin.invoice.void_invoice(made[0]["id"], "重开")
    renamed = admin.customer.update_customer(customer["id"], {"name": unique("改名客户")})
    all_visible(admin, [m["id"] for m in made])
    wait_for(lambda: admin.search.get_invoice_view(made[1]["id"])["customer_name"] == renamed["name"],
             message=f"the new customer name on the invoice views {search_db['g0_customers'].find_one({'_id': customer['id']})} {list(search_db['tracking'].find({'_id': {'$regex': customer['id']}}))} {list(search_db['consumer_positions'].find())}")
    before = Generations(search_db).active()
    answers: list[int] = []
    rebuilding: set[bool] = set()
    stop = threading.Event()

    def keep_searching() -> None:
        while not stop.is_set():
            answers.append(admin.search.search({"filters": [
                {"field": "customer_id", "op": "eq", "value": customer["id"]}]})["total"])
            rebuilding.add(admin.search.projection_status()["rebuilding"])

    assert verify(search_db, config) == []
    searcher = threading.Thread(target=keep_searching)
    searcher.start()
    try:
        result = rebuild(search_db, config, page_size=50)
    finally:
        stop.set()
        searcher.join()

    assert result["generation"] == before + 1 == Generations(search_db).active()
    assert answers and set(answers) == {2}
    assert True in rebuilding
    assert admin.search.projection_status()["rebuilding"] is False
    assert admin.search.get_invoice_view(made[1]["id"])["customer_name"].startswith("改名客户")
    assert verify(search_db, config) == []


def test_redelivered_and_shuffled_events_leave_identical_projections(
        system: Any, admin: Any, world: World, search_db: Any, config: dict[str, Any]) -> None:
    customer = world.customer()
    for process in search_processes(system):
        process.stop()
    made = [admin.invoice.create_invoice(invoice_data(customer["id"])) for _ in range(3)]
    for invoice in made:
        for n in range(3):
            admin.invoice.update_field(invoice["id"], "remarks", f"第{n}次修改")
    admin.invoice.void_invoice(made[2]["id"], "作废")
    events = [e for invoice in made for e in admin.invoice.get_events(invoice["id"])]
    with Connection(system.amqp_uri) as connection:
        connection.default_channel.queue_purge(INVOICE_QUEUE)
    publisher = AmqpPublisher(system.amqp_uri, "invoice", config)
    try:
        shuffled = events * 2 + random.sample(events, len(events))
        random.Random(7).shuffle(shuffled)
        for envelope in shuffled:
            publisher.publish(envelope)
    finally:
        publisher.close()

    system.start("search")
    all_visible(admin, [m["id"] for m in made])

    assert admin.search.get_invoice_view(made[0]["id"])["remarks"] == "第2次修改"
    assert admin.search.get_invoice_view(made[2]["id"])["status"] == "void"
    assert verify(search_db, config) == []


def test_kill9_during_a_stream_of_changes_with_two_instances_converges_to_the_fold(
        system: Any, clients: Any, world: World, search_db: Any, config: dict[str, Any]) -> None:
    customer, contract, payment = world.linked()
    system.start("search")  # two instances compete for the events
    assert len(search_processes(system)) == 2
    writers = [clients.as_user(roles=["admin"], sub=f"writer-{n}") for n in range(4)]
    watcher = clients.as_user(roles=["admin"], sub="watcher")
    invoices = [watcher.invoice.create_invoice(invoice_data(customer["id"], contract_id=contract["id"]))
                for _ in range(40)]
    # 4 x 50 changes: the kill lands a quarter of the way in (below), so ~150 changes
    # and creates still flow through the killed instances' queues and the restarted one;
    # ``SEARCH_CONVERGENCE_CHANGES`` sets more per writer (it was 100)
    changes_per_writer = int(os.environ.get("SEARCH_CONVERGENCE_CHANGES", "50"))

    def write(hub: Any, seed: int) -> None:
        rng = random.Random(seed)
        for n in range(changes_per_writer):
            invoice = rng.choice(invoices)
            if rng.random() < 0.1:
                hub.invoice.create_invoice(invoice_data(customer["id"], amount=f"{rng.randint(1, 999)}.{n % 100:02d}"))
            else:
                field, value = rng.choice([("remarks", f"r{seed}-{n}"), ("amount", f"{rng.randint(1, 9999)}.50"),
                                           ("payment_ids", rng.choice([[], [payment["id"]]])),
                                           ("issued_on", f"2026-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}")])
                hub.invoice.update_field(invoice["id"], field, value)

    threads = [threading.Thread(target=write, args=(hub, n)) for n, hub in enumerate(writers)]
    for thread in threads:
        thread.start()
    # each invoice starts at version 1: kill once one writer's worth of changes is stored
    wait_for(lambda: admin_events_after(watcher, invoices) > len(invoices) + changes_per_writer,
             timeout=60, message="the stream of changes to be under way")
    for process in search_processes(system):
        process.kill9()
    system.processes = [p for p in system.processes if p.alive()]
    system.start("search")
    for thread in threads:
        thread.join()
    # a transaction the kill left open blocks what it wrote until the store reaps it (60 s)
    all_visible(watcher, [i["id"] for i in invoices], timeout=120)
    wait_for(lambda: watcher.search.projection_status()["lag_events"] == 0, timeout=60)
    wait_for(lambda: verify(search_db, config) == [], timeout=60, interval=1.0,
             message="the views to equal the fold of the event stores")


def admin_events_after(hub: Any, invoices: list[dict[str, Any]]) -> int:
    return sum(hub.invoice.get_invoice(i["id"])["version"] for i in invoices)
