"""A service's readiness follows its store: not ready while the store is down, ready
again when it is back, while liveness holds throughout."""
from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.instances import discover, get
from tests.support.infra import (
    TEST_RUN_DIR,
    MongoProcess,
    PrivateRabbit,
    RabbitVhost,
    ServiceProcess,
    service_env,
    wait_for,
)


@pytest.fixture
def own_store() -> Iterator[MongoProcess]:
    server = MongoProcess(on_disk=True)
    yield server
    server.stop()


@pytest.fixture
def own_vhost() -> Iterator[RabbitVhost]:
    # a vhost of its own: this customer process must not answer the shared system's calls
    created = RabbitVhost()
    yield created
    created.delete()


def test_readiness_goes_away_while_the_store_is_down_and_comes_back(
        own_store: MongoProcess, own_vhost: RabbitVhost, log_dir: str) -> None:
    process = ServiceProcess("customer", service_env(own_vhost.amqp_uri, own_store.url, "ready_"),
                             log_dir).start()
    try:
        instance = wait_for(lambda: next((i for i in discover(Path(TEST_RUN_DIR))
                                          if i["pid"] == process.proc.pid), None),  # type: ignore[union-attr]
                            timeout=60, message="the port file")
        wait_for(lambda: get(instance["health_url"])[0] == 200, message="ready")

        own_store.pause()
        status, body = wait_for(lambda: (r := get(instance["health_url"]))[0] == 503 and r,
                                message="not ready with the store down")
        report = json.loads(body)
        assert report["ready"] is False and report["checks"]["store"] != "ok"
        assert report["checks"]["broker"] == "ok"
        assert get(instance["live_url"])[0] == 200

        own_store.resume()
        wait_for(lambda: get(instance["health_url"])[0] == 200, timeout=30, message="ready again")
    finally:
        process.stop()
    assert not (Path(TEST_RUN_DIR) / f"customer-{instance['pid']}.port").exists()


def test_a_service_is_not_ready_until_its_catch_up_is_done(
        own_vhost: RabbitVhost, mongo_server: MongoProcess, log_dir: str) -> None:
    env = service_env(own_vhost.amqp_uri, mongo_server.url, "catchup_")
    invoice = ServiceProcess("invoice", env, log_dir).start()
    customer = None
    try:
        instance = wait_for(lambda: next((i for i in discover(Path(TEST_RUN_DIR))
                                          if i["pid"] == invoice.proc.pid), None),  # type: ignore[union-attr]
                            timeout=60, message="the port file")
        # no customer service yet: the customer replica cannot catch up
        status, body = get(instance["health_url"])
        assert status == 503
        assert json.loads(body)["checks"]["catch_up"] == "waiting for invoice.customer_replica"

        customer = ServiceProcess("customer", env, log_dir).start()
        wait_for(lambda: get(instance["health_url"])[0] == 200, timeout=60, message="ready after catch-up")
    finally:
        for process in (invoice, customer):
            if process is not None:
                process.stop()


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("rabbitmq-server") is None,
                    reason="a private RabbitMQ node needs root and rabbitmq-server")
def test_readiness_goes_away_while_the_broker_is_down_and_comes_back(
        mongo_server: MongoProcess, log_dir: str) -> None:
    broker = PrivateRabbit()
    process = ServiceProcess("customer", service_env(broker.amqp_uri, mongo_server.url, "broker_"),
                             log_dir).start()
    try:
        instance = wait_for(lambda: next((i for i in discover(Path(TEST_RUN_DIR))
                                          if i["pid"] == process.proc.pid), None),  # type: ignore[union-attr]
                            timeout=60, message="the port file")
        wait_for(lambda: get(instance["health_url"])[0] == 200, message="ready")

        broker.stop_app()
        status, body = wait_for(lambda: (r := get(instance["health_url"]))[0] == 503 and r,
                                message="not ready with the broker down")
        checks = json.loads(body)["checks"]
        assert checks["broker"] != "ok" and checks["store"] == "ok"
        assert get(instance["live_url"])[0] == 200

        broker.start_app()
        wait_for(lambda: get(instance["health_url"])[0] == 200, timeout=60, message="ready again")
    finally:
        process.stop()
        broker.stop()
