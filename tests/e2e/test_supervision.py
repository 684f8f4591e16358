"""`make run` supervises the services (supervisord, from the Procfile): a service process
killed with SIGKILL is started again, answers RPC again, and the others keep running
untouched. (Under honcho, the death of one process stopped all of them.)"""
from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.actors import Clients
from tests.support.infra import GaveUp, RabbitVhost, service_env, wait_for
from tests.support.supervisor import Supervisor

PROBES: dict[str, Callable[[Any], Any]] = {
    "customer": lambda hub: hub.customer.list_customers(limit=1) is not None,
    "invoice": lambda hub: hub.invoice.list_invoice_types() is not None,
}


@pytest.fixture(scope="module")
def own_vhost() -> Iterator[RabbitVhost]:
    """A vhost of this module's own: the session's carries the `system` fixture's services,
    whose queues the supervised ones would otherwise share."""
    created = RabbitVhost()
    yield created
    created.delete()


@pytest.fixture
def supervised(mongo_server: Any, own_vhost: RabbitVhost, db_prefix: str) -> Iterator[Supervisor]:
    env = service_env(own_vhost, mongo_server.url, db_prefix)
    with Supervisor(["customer", "invoice"], env) as supervisor:
        yield supervisor


class Caller:
    """One RPC hub, opened once a service has declared the RPC exchange (the caller
    account may not declare it)."""

    def __init__(self, supervisor: Supervisor, clients: Clients) -> None:
        self.supervisor, self.clients = supervisor, clients
        self.hub: Any = None

    def answers(self, service: str) -> bool:
        if not self.supervisor.alive():
            raise GaveUp(f"supervisord exited:\n{self.supervisor.log_tail('supervisord.log')}")
        if self.hub is None:
            self.hub = self.clients.as_user(roles=["admin"])
        return bool(PROBES[service](self.hub))


def environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def test_a_killed_service_is_restarted_while_the_other_keeps_running(
        supervised: Supervisor, own_vhost: RabbitVhost) -> None:
    clients = Clients(own_vhost.client_uri)
    try:
        caller = Caller(supervised, clients)
        for service in PROBES:
            wait_for(lambda s=service: caller.answers(s), timeout=90, interval=0.5,
                     message=f"{service} to answer under supervisord")
        customer_pid = supervised.pid("customer:customer-1")
        invoice_pid = supervised.pid("invoice:invoice-1")
        assert customer_pid and invoice_pid

        os.kill(invoice_pid, signal.SIGKILL)

        restarted = wait_for(lambda: supervised.pid("invoice:invoice-1") not in (0, invoice_pid)
                             and supervised.pid("invoice:invoice-1"), timeout=60, interval=0.3,
                             message="supervisord to start invoice again")
        wait_for(lambda: caller.answers("invoice"), timeout=90, interval=0.5,
                 message="the restarted invoice to answer")
        assert supervised.pid("customer:customer-1") == customer_pid
        assert caller.answers("customer")
        # the restarted process runs on its own broker account, as the Procfile says
        assert environ(restarted)["AMQP_URI"] == own_vhost.service_uri("invoice")
    finally:
        clients.close()
