"""The four services on a vhost and databases of their own, so that what the fuzz
suite throws at them never meets the e2e tests' data or queues."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.auth import bearer, service_token
from tests.support.actors import token_for
from tests.support.infra import RabbitVhost, service_env, signing_key
from tests.support.raw_rpc import RawRpc
from tests.support.stacks import close_after_directory
from tests.support.system import E2E_SERVICES, System

HERE = Path(__file__).parent  # the fuzz system stops after the last test in here


@pytest.fixture(scope="session")
def fuzz_system(mongo_server: Any, log_dir: str) -> Iterator[System]:
    vhost = RabbitVhost()
    running = System(service_env(vhost, mongo_server.url, "fuzz_"), log_dir, vhost.amqp_uri,
                     vhost.client_uri)

    def stop() -> None:
        running.stop_all()
        vhost.delete()
    stop_once = close_after_directory(HERE, stop)
    try:
        running.start_all(E2E_SERVICES)
        yield running
    finally:
        stop_once()


@pytest.fixture(scope="session")
def raw(fuzz_system: System) -> Iterator[RawRpc]:
    opened = RawRpc(fuzz_system.amqp_uri)
    close = close_after_directory(HERE, opened.close)
    yield opened
    close()


@pytest.fixture(scope="session")
def tokens() -> dict[str, str | None]:
    """One bearer token per kind of caller (and none)."""
    made: dict[str, str | None] = {role: token_for(roles=[role], sub=f"fuzz-{role}")
                                   for role in ("admin", "finance", "sales", "auditor")}
    made["service"] = bearer(service_token(signing_key("approval")))  # lives 5 min: enough
    made["anonymous"] = None
    return made
