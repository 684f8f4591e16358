"""When services do not answer, and when the gateway itself fails: 503 with Retry-After
in bounded time, and a generic 500 whose request id is in the log."""
from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from kombu import Connection, Exchange, Queue

from tests.support.gateway import Api, GatewayProcess, problem
from tests.support.infra import RabbitVhost


@pytest.fixture
def silent_vhost() -> Iterator[RabbitVhost]:
    """A vhost where the invoice service's queue exists but nobody consumes it (a hung
    service), and no other service is there at all."""
    vhost = RabbitVhost()
    with Connection(vhost.amqp_uri) as connection:
        channel = connection.channel()
        exchange = Exchange("nameko-rpc", type="topic", durable=True)
        Queue("rpc-invoice", exchange=exchange, routing_key="invoice.*", durable=True)(channel).declare()
    yield vhost
    vhost.delete()


def test_a_service_that_does_not_answer_is_503_with_retry_after(
        system: Any, users_file: Any, silent_vhost: RabbitVhost) -> None:
    gateway = GatewayProcess({**system.env, "AMQP_URI_GATEWAY": silent_vhost.service_uri("gateway")},
                             system.log_dir,
                             users_file, GATEWAY_RPC_TIMEOUT="1").start(wait=False)
    try:
        def up() -> bool:
            try:
                return requests.get(f"{gateway.url}/api/health", timeout=5).status_code > 0
            except requests.ConnectionError:
                return False
        from tests.support.infra import wait_for
        wait_for(up, timeout=60, interval=0.3, message="the gateway to listen")
        api = Api.as_user(gateway.url, roles=["admin"])

        started = time.monotonic()
        hung = api.get("/api/invoices/inv_1")
        hung_seconds = time.monotonic() - started
        absent = api.get("/api/customers/cus_1")
        started = time.monotonic()
        health = requests.get(f"{gateway.url}/api/health", timeout=10)
        health_seconds = time.monotonic() - started
    finally:
        gateway.stop()

    assert hung.status_code == 503 and int(hung.headers["Retry-After"]) > 0
    assert "invoice" in problem(hung)["detail"] and hung_seconds < 5
    assert absent.status_code == 503
    assert health.status_code == 503 and health_seconds < 4
    assert health.json()["services"] == {"customer": "unavailable", "invoice": "unavailable",
                                         "approval": "unavailable", "search": "unavailable"}


def test_a_non_contract_failure_is_a_generic_500_logged_with_its_request_id(
        system: Any, tmp_path: Path) -> None:
    broken_users = tmp_path / "users.json"
    broken_users.write_text("{ this is not json")
    gateway = GatewayProcess(system.env, system.log_dir, broken_users).start()
    try:
        response = requests.post(f"{gateway.url}/login", data={"username": "a", "password": "b"},
                                 headers={"X-Request-Id": "req-test-500-abcdef"}, timeout=10)
    finally:
        gateway.stop()

    body = problem(response)
    assert response.status_code == 500 and body["title"] == "Internal Server Error"
    assert "req-test-500-abcdef" in body["detail"]
    assert "JSONDecodeError" not in response.text and "Traceback" not in response.text
    assert "request req-test-500-abcdef failed" in gateway.log_text()
