"""The whole system (customer + invoice services, more when they exist) running as
real processes on the test store and vhost, called through RPC like another system."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.actors import Clients
from tests.support.factories import World
from tests.support.infra import GaveUp, ServiceProcess, service_env, wait_for

E2E_SERVICES = ("customer", "invoice", "approval", "search")


class System:
    """``amqp_uri``: guest's, for the harness; ``client_uri``: the caller account's."""

    def __init__(self, env: dict[str, str], log_dir: str, amqp_uri: str, client_uri: str) -> None:
        self.env, self.log_dir, self.amqp_uri, self.client_uri = env, log_dir, amqp_uri, client_uri
        self.processes: list[ServiceProcess] = []

    def start(self, name: str, wait: bool = True, env: dict[str, str] | None = None) -> ServiceProcess:
        process = ServiceProcess(name, {**self.env, **(env or {})}, self.log_dir).start()
        self.processes.append(process)
        if wait:
            self.wait_ready(name, process)
        return process

    def wait_ready(self, name: str, process: ServiceProcess) -> None:
        clients = Clients(self.client_uri)
        hubs: list[Any] = []
        try:
            probe = {"customer": lambda hub: hub.customer.list_customers(limit=1) is not None,
                     "invoice": lambda hub: hub.invoice.list_invoice_types() is not None,
                     "approval": lambda hub: hub.approval.list_flows() is not None,
                     "search": lambda hub: hub.search.projection_status() is not None}[name]

            def ready() -> bool:
                if not process.alive():
                    raise GaveUp(f"{name} died:\n{process.log_tail()}")
                if not hubs:  # the caller account cannot declare nameko-rpc: a service does
                    hubs.append(clients.as_user(roles=["admin"]))
                return bool(probe(hubs[0]))
            wait_for(ready, timeout=60, interval=0.3, message=f"{name} to answer")
        finally:
            clients.close()

    def stop_all(self) -> None:
        for process in self.processes:
            process.stop()


@pytest.fixture(scope="session")
def system(mongo_server: Any, vhost: Any, log_dir: str) -> Iterator[System]:
    env = service_env(vhost, mongo_server.url, "e2e_")
    running = System(env, log_dir, vhost.amqp_uri, vhost.client_uri)
    try:
        for name in E2E_SERVICES:
            running.start(name)
        yield running
    finally:
        running.stop_all()


@pytest.fixture
def clients(system: System) -> Iterator[Clients]:
    opened = Clients(system.client_uri)
    yield opened
    opened.close()


@pytest.fixture
def admin(clients: Clients) -> Any:
    return clients.as_user(roles=["admin"], sub="admin-1", name="管理员")


@pytest.fixture
def world(admin: Any) -> World:
    return World(admin)


# -- the HTTP gateway ---------------------------------------------------------------
@pytest.fixture(scope="session")
def users_file(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.support.gateway import write_users_file
    return write_users_file(tmp_path_factory.mktemp("gateway") / "users.json")


@pytest.fixture(scope="session")
def gateway(system: System, users_file: Any) -> Iterator[Any]:
    """One gateway process in front of the system (more: start a GatewayProcess)."""
    from tests.support.gateway import GatewayProcess, environ_without_proxy
    environ_without_proxy()
    process = GatewayProcess(system.env, system.log_dir, users_file).start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def api(gateway: Any) -> Iterator[Any]:
    """An API client calling as a fresh admin (bearer token)."""
    from tests.support.gateway import Api
    client = Api.as_user(gateway.url, roles=["admin"], sub="admin-1", name="管理员")
    yield client
    client.close()
