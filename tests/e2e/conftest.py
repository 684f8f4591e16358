"""The whole system (customer + invoice services, more when they exist) running as
real processes on the test store and vhost, called through RPC like another system."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.actors import Clients
from tests.support.factories import World
from tests.support.infra import service_env
from tests.support.stacks import close_after_directory
from tests.support.system import E2E_SERVICES, System

HERE = Path(__file__).parent  # the system and gateway stop after the last test in here


@pytest.fixture(scope="session")
def system(mongo_server: Any, vhost: Any, log_dir: str) -> Iterator[System]:
    env = service_env(vhost, mongo_server.url, "e2e_")
    running = System(env, log_dir, vhost.amqp_uri, vhost.client_uri)
    stop = close_after_directory(HERE, running.stop_all)
    try:
        running.start_all(E2E_SERVICES)
        yield running
    finally:
        stop()


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
    process = GatewayProcess(system.env, system.log_dir, users_file)
    stop = close_after_directory(HERE, process.stop)
    try:
        yield process.start()
    finally:
        stop()


@pytest.fixture
def api(gateway: Any) -> Iterator[Any]:
    """An API client calling as a fresh admin (bearer token)."""
    from tests.support.gateway import Api
    client = Api.as_user(gateway.url, roles=["admin"], sub="admin-1", name="管理员")
    yield client
    client.close()
