"""Every RPC request carries a deadline (context data ``deadline``, and the AMQP
``expiration``): a request whose caller has given up is never executed, however long it
waited in the queue. A request that reaches a service past its deadline is acked and
dropped unexecuted, logged and counted (``crm_rpc_expired_requests_total``)."""
from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nameko.exceptions import RpcTimeout

from shared.instances import discover, scrape
from shared.rpc_client import client_proxy
from tests.support.actors import token_for
from tests.support.factories import customer_data
from tests.support.infra import TEST_RUN_DIR, MongoProcess, RabbitVhost, service_env, wait_for
from tests.support.raw_rpc import RawRpc, auth_headers, call_body
from tests.support.system import System


@pytest.fixture
def own_system(mongo_server: MongoProcess, log_dir: str) -> Iterator[System]:
    # a vhost of its own: this test stops its customer service
    vhost = RabbitVhost()
    env = service_env(vhost, mongo_server.url, f"dl{uuid.uuid4().hex[:6]}_")
    running = System(env, log_dir, vhost.amqp_uri, vhost.client_uri)
    try:
        yield running
    finally:
        running.stop_all()
        vhost.delete()


def customers_named(hub: Any, name: str) -> list[dict[str, Any]]:
    return [c for c in hub.customer.list_customers(name_contains=name)["items"] if c["name"] == name]


def stays_absent(hub: Any, name: str, seconds: float = 2.0) -> bool:
    """No customer ``name`` appears within ``seconds`` (a queued call still running)."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        if customers_named(hub, name):
            return False
        time.sleep(0.2)
    return True


def test_a_call_whose_caller_timed_out_is_not_executed_after_the_restart(own_system: System) -> None:
    # given a customer service that is stopped, its queue still there
    own_system.start("customer").stop()
    authorization = token_for(roles=["admin"])
    stale = customer_data()
    # when a caller's create waits for its timeout and gives up
    with client_proxy(own_system.client_uri, authorization, timeout=2) as hub, \
            pytest.raises(RpcTimeout):
        hub.customer.create_customer(stale)
    # ... and the service starts again
    own_system.start("customer")

    # then a call sent after it runs, the stale one never does
    with client_proxy(own_system.client_uri, authorization, timeout=10) as hub:
        fresh = hub.customer.create_customer(customer_data())
        assert customers_named(hub, fresh["name"])
        assert stays_absent(hub, stale["name"]), "the stale create ran after its caller gave up"


def test_a_request_past_its_deadline_is_dropped_unexecuted_logged_and_counted(system: System) -> None:
    # given a request whose deadline passed while it waited (published without an
    # AMQP expiration: the service itself must refuse it)
    customer = next(p for p in system.processes if p.name == "customer" and p.alive())
    metrics_url = next(i["metrics_url"] for i in discover(Path(TEST_RUN_DIR)) if i["pid"] == customer.proc.pid)
    before = expired_count(metrics_url)
    name = f"expired-{uuid.uuid4().hex[:8]}"
    passed = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)).isoformat()
    raw = RawRpc(system.amqp_uri)
    try:
        headers = {**auth_headers(token_for(roles=["admin"])), "nameko.deadline": passed}
        reply = raw.call("customer.create_customer", call_body(customer_data(name=name)),
                         headers=headers, timeout=3)
    finally:
        raw.close()

    # then nothing answers it, it is counted and logged as dropped, and nothing was stored
    assert reply is None
    wait_for(lambda: expired_count(metrics_url) == before + 1, timeout=10, message="the expired count")
    assert f"customer.create_customer past its deadline {passed}" in customer.log_path.read_text(errors="replace")
    with client_proxy(system.client_uri, token_for(roles=["admin"]), timeout=10) as hub:
        assert customers_named(hub, name) == []


def test_a_malformed_deadline_is_a_validation_error(system: System) -> None:
    raw = RawRpc(system.amqp_uri)
    try:
        headers = {**auth_headers(token_for(roles=["admin"])), "nameko.deadline": "soon"}
        reply = raw.call("customer.list_customers", call_body(), headers=headers, timeout=10)
    finally:
        raw.close()
    assert reply is not None and reply["error"]["exc_type"] == "ValidationError"
    assert "deadline" in reply["error"]["exc_args"][0]


def expired_count(metrics_url: str) -> float:
    samples = scrape(metrics_url)
    key = ("crm_rpc_expired_requests_total", (("method", "create_customer"), ("service", "customer")))
    return samples.get(key, 0.0)
