"""Outside dev mode the gateway signs the session tokens of signed-in people with its
own session key (EdDSA, ``gateway_session-<n>``); the services accept them because that
key's public half is in their JWKS file, and refuse a token signed with any other key.

A vhost and database prefix of their own: these services must not share queues with
the dev-mode services of the other e2e tests."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nameko.exceptions import RemoteError

from shared.auth import bearer, issue_token, user_token
from shared.errors import Unauthorized
from shared.keys import add_to_jwks, ensure, load_signing_key, write_key
from shared.rpc_client import client_proxy
from tests.e2e.conftest import System
from tests.support.gateway import Api, GatewayProcess, environ_without_proxy, problem
from tests.support.infra import SECRET, RabbitVhost, ServiceProcess, service_env, wait_for


class Production:
    def __init__(self, system: System, gateway: GatewayProcess, sessions: Path) -> None:
        self.system, self.gateway, self.sessions = system, gateway, sessions


@pytest.fixture(scope="module")
def production(mongo_server: Any, log_dir: str, users_file: Any,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Production]:
    environ_without_proxy()
    keys = tmp_path_factory.mktemp("production-keys")
    sessions = keys / "sessions"
    ensure(sessions, ["gateway_session"])
    jwks = keys / "jwks.json"
    add_to_jwks(jwks, sessions)  # what scripts/compose-prepare.sh does
    vhost = RabbitVhost()
    env = {**service_env(vhost, mongo_server.url, "prod_"), "INVOICE_DEV_MODE": "0",
           "INVOICE_JWKS_FILE": str(jwks), "GATEWAY_SESSION_KEYS_DIR": str(sessions)}
    system = System(env, log_dir, vhost.amqp_uri, vhost.client_uri)
    gateway = GatewayProcess(env, log_dir, users_file)
    try:
        # customer alone: the system's health (all four) is not this test's subject
        customer = ServiceProcess("customer", env, log_dir).start()
        system.processes.append(customer)
        gateway.start(wait=False)

        def customer_answers() -> bool:
            with client_proxy(vhost.client_uri, bearer(session_token(sessions)), timeout=5) as hub:
                return hub.customer.list_customers(limit=1) is not None
        wait_for(customer_answers, timeout=60, interval=0.3, message="customer (no dev mode)")
        wait_for(lambda: Api(gateway.url).get("/api/openapi.json").status_code == 200,
                 timeout=60, interval=0.3, message="the gateway (no dev mode)")
        yield Production(system, gateway, sessions)
    finally:
        gateway.stop()
        system.stop_all()
        vhost.delete()


def session_token(sessions: Path, **claims: Any) -> str:
    key = load_signing_key({"EVENT_KEYS_DIR": str(sessions)}, "gateway_session", use_env=False)
    return user_token(key, **{"sub": "u-1", "name": "一", "roles": ["admin"], **claims})


def test_a_signed_in_persons_calls_reach_the_services_with_the_gateways_session_token(
        production: Production) -> None:
    api = Api(production.gateway.url)
    try:
        assert api.login("sales").status_code == 303
        assert api.get("/api/me").json()["roles"] == ["sales"]
        created = api.post("/api/customers", json={"name": "生产模式客户"},
                           headers={"X-CSRF-Token": api.csrf_token})
        assert created.status_code == 201, created.text
        listed = api.get("/api/customers", params={"name_contains": "生产模式"})
        assert listed.status_code == 200, listed.text
        assert [c["id"] for c in listed.json()["items"]] == [created.json()["id"]]
    finally:
        api.close()


def test_a_token_signed_with_an_unknown_key_is_refused_by_gateway_and_services(
        production: Production, tmp_path: Path) -> None:
    # same key id as the gateway's, another private key
    forged = user_token(write_key(tmp_path, "gateway_session-1"), sub="u-1", roles=["admin"])
    dev_token = issue_token(SECRET, sub="u-1", roles=["admin"])
    for token in (forged, dev_token):
        api = Api(production.gateway.url, bearer(token))
        try:
            response = api.get("/api/customers")
            assert response.status_code == 401, response.text
            assert problem(response)["status"] == 401
        finally:
            api.close()
        with client_proxy(production.system.client_uri, bearer(token), timeout=10) as hub:
            with pytest.raises((Unauthorized, RemoteError)) as refused:
                hub.customer.list_customers(limit=1)
            assert "Unauthorized" in (type(refused.value).__name__,
                                      getattr(refused.value, "exc_type", None))
    # the gateway's own key, put in the JWKS, is trusted: the same call passes
    with client_proxy(production.system.client_uri, bearer(session_token(production.sessions)),
                      timeout=10) as hub:
        assert hub.customer.list_customers(limit=1) is not None


def test_the_gateway_refuses_to_start_outside_dev_mode_without_its_session_key(
        production: Production, log_dir: str, users_file: Any) -> None:
    env = {**production.gateway.env, "GATEWAY_SESSION_KEYS_DIR": "/nonexistent/sessions"}
    process = GatewayProcess(env, log_dir, users_file).start(wait=False)
    try:
        wait_for(lambda: not process.process.alive(), timeout=60, message="the gateway to give up")
    finally:
        process.stop()
    assert process.process.proc is not None and process.process.proc.returncode != 0
    assert "gateway_session" in process.log_text()
