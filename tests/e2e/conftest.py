"""The whole system (customer + invoice services, more when they exist) running as
real processes on the test store and vhost, called through RPC like another system."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.actors import Clients
from tests.support.factories import World
from tests.support.infra import service_env
from tests.support.system import E2E_SERVICES, System


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
