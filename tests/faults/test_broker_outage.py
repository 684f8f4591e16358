"""A broker outage never kills a service process: the four services run as real
processes on a private RabbitMQ node, clients keep calling, the node's app is stopped
for about four seconds with calls in flight and started again. Every process is still
alive afterwards and answers within 5 s of the broker's return; calls in flight failed
with an exception the caller can handle (none hung past its timeout)."""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import eventlet
import pytest

from shared.rpc_client import client_proxy
from tests.faults.conftest import needs_private_rabbit
from tests.support.actors import token_for
from tests.support.factories import customer_data, invoice_data
from tests.support.infra import GaveUp, MongoProcess, PrivateRabbit, service_env, wait_for
from tests.support.system import E2E_SERVICES, System

PROBES: dict[str, Callable[[Any], Any]] = {
    "customer": lambda hub: hub.customer.list_customers(limit=1),
    "invoice": lambda hub: hub.invoice.list_invoice_types(),
    "approval": lambda hub: hub.approval.list_flows(),
    "search": lambda hub: hub.search.projection_status(),
}
CALL_TIMEOUT = 5


@pytest.fixture
def system(private_rabbit: PrivateRabbit, mongo_server: MongoProcess, log_dir: str) -> Iterator[System]:
    env = service_env(private_rabbit.amqp_uri, mongo_server.url, f"f{uuid.uuid4().hex[:6]}_")
    running = System(env, log_dir, private_rabbit.amqp_uri, private_rabbit.amqp_uri)
    try:
        running.start_all(E2E_SERVICES)
        yield running
    finally:
        running.stop_all()


class Load:
    """Client green threads calling writes and reads until told to stop; a call that
    fails is counted with its error type and the client reconnects."""

    def __init__(self, amqp_uri: str, customer_id: str) -> None:
        self.amqp_uri, self.customer_id = amqp_uri, customer_id
        self.running = True
        self.ok = 0
        self.errors: dict[str, int] = {}
        self.threads: list[Any] = []

    def start(self, clients: int = 4) -> Load:
        for index in range(clients):
            self.threads.append(eventlet.spawn(self._client, index))
        return self

    def _call(self, hub: Any, index: int) -> None:
        kind = (index + self.ok) % 4
        if kind in (0, 1):
            hub.invoice.create_invoice(invoice_data(self.customer_id))
        elif kind == 2:
            hub.customer.create_customer(customer_data())
        else:
            PROBES[E2E_SERVICES[self.ok % len(E2E_SERVICES)]](hub)

    def _client(self, index: int) -> None:
        authorization = token_for(roles=["admin"])
        while self.running:
            try:
                with client_proxy(self.amqp_uri, authorization, timeout=CALL_TIMEOUT) as hub:
                    while self.running:
                        self._call(hub, index)
                        self.ok += 1
            except Exception as exc:  # noqa: BLE001 - a clean error the caller can handle
                name = type(exc).__name__
                self.errors[name] = self.errors.get(name, 0) + 1
                eventlet.sleep(0.2)

    def stop(self) -> None:
        self.running = False
        with eventlet.Timeout(CALL_TIMEOUT * 3):  # a hung client fails the test here
            for thread in self.threads:
                thread.wait()


def answers(system: System, name: str) -> bool:
    process = next(p for p in system.processes if p.name == name)
    if not process.alive():
        raise GaveUp(f"{name} died:\n{process.log_tail()}")
    with client_proxy(system.client_uri, token_for(roles=["admin"]), timeout=2) as hub:
        return PROBES[name](hub) is not None


@needs_private_rabbit
def test_a_broker_outage_with_calls_in_flight_kills_no_service(
        system: System, private_rabbit: PrivateRabbit) -> None:
    # given the system under load on its own broker
    with client_proxy(system.client_uri, token_for(roles=["admin"]), timeout=10) as hub:
        customer = hub.customer.create_customer(customer_data())
        wait_for(lambda: hub.invoice.create_invoice(invoice_data(customer["id"])), timeout=30,
                 message="invoice to know the customer")
    load = Load(system.client_uri, customer["id"]).start()
    try:
        wait_for(lambda: load.ok >= 20, timeout=30, message="the load to run")

        # when the broker goes away for about four seconds, calls in flight
        private_rabbit.stop_app()
        time.sleep(4)
        private_rabbit.start_app()
        back = time.monotonic()

        # then every service answers within 5 s of the broker's return ...
        recovered = {}
        for name in E2E_SERVICES:
            wait_for(lambda name=name: answers(system, name), timeout=max(back + 5 - time.monotonic(), 0.5),
                     interval=0.2, message=f"{name} to answer after the outage")
            recovered[name] = round(time.monotonic() - back, 1)
        print(f"answering again, seconds after start_app: {recovered}")  # the README's figures
        calls_before = load.ok
        wait_for(lambda: load.ok > calls_before + 10, timeout=20, message="the load to run again")
    finally:
        load.stop()
    # ... every process is alive, and the callers saw errors, never a hang
    dead = [p.name for p in system.processes if not p.alive()]
    assert not dead, f"died: {dead}\n" + "\n".join(p.log_tail() for p in system.processes if not p.alive())
    print(f"calls during the run: {load.ok} ok, failed by error type: {load.errors}")
    assert load.errors, "no call failed: the outage missed the load"
