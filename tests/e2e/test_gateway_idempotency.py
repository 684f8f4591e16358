"""Idempotency-Key: one creation per (user, key, body), across gateway instances and
restarts, kept in the gateway's own database."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import MongoClient

from tests.support.factories import World, contract_data, customer_data, invoice_data, payment_data
from tests.support.gateway import Api, GatewayProcess, problem


def key() -> str:
    return f"key-{uuid.uuid4().hex}"


def test_the_same_key_and_body_replay_the_first_result(api: Api, admin: Any) -> None:
    customer = api.post("/api/customers", json=customer_data()).json()
    body = invoice_data(customer["id"], title="幂等发票")
    headers = {"Idempotency-Key": key()}

    first = api.post("/api/invoices", json=body, headers=headers)
    second = api.post("/api/invoices", json=body, headers=headers)

    assert first.status_code == 201 and second.status_code == 200
    assert second.json() == first.json()
    assert second.headers["Location"] == first.headers["Location"]
    assert second.headers["Idempotent-Replayed"] == "true"
    invoices = admin.search.search({"filters": [
        {"field": "customer_id", "op": "eq", "value": customer["id"]}]})
    assert invoices["total"] <= 1          # the projection may lag; never 2
    assert admin.invoice.get_invoice(first.json()["id"])["title"] == "幂等发票"


def test_the_same_key_with_another_body_is_409_and_creates_nothing(api: Api) -> None:
    headers = {"Idempotency-Key": key()}

    first = api.post("/api/customers", json=customer_data(name="甲"), headers=headers)
    other = api.post("/api/customers", json=customer_data(name="乙"), headers=headers)
    listed = api.get("/api/customers", params={"name_contains": "乙", "limit": 500}).json()

    assert first.status_code == 201
    assert other.status_code == 409 and problem(other)["type"].endswith("idempotency-key-reused")
    assert all(c["id"] != first.json()["id"] or c["name"] == "甲" for c in listed["items"])


def test_keys_belong_to_their_user(gateway: Any) -> None:
    shared_key = {"Idempotency-Key": key()}
    one = Api.as_user(gateway.url, roles=["admin"])
    two = Api.as_user(gateway.url, roles=["admin"])
    body = customer_data()

    first = one.post("/api/customers", json=body, headers=shared_key)
    second = two.post("/api/customers", json=body, headers=shared_key)

    assert first.status_code == 201 and second.status_code == 201
    assert first.json()["id"] != second.json()["id"]


def test_a_refused_first_request_leaves_the_key_free(api: Api) -> None:
    headers = {"Idempotency-Key": key()}

    refused = api.post("/api/customers", json={"name": ""}, headers=headers)
    fixed = api.post("/api/customers", json={"name": ""}, headers=headers)

    assert refused.status_code == 422 and fixed.status_code == 422   # tried again, not replayed


def test_an_overlong_key_is_400(api: Api) -> None:
    response = api.post("/api/customers", json=customer_data(), headers={"Idempotency-Key": "k" * 101})

    assert response.status_code == 400 and "Idempotency-Key" in problem(response)["errors"]


def test_a_key_holds_across_two_gateway_instances_and_a_restart(
        gateway: Any, system: Any, users_file: Any) -> None:
    second = GatewayProcess(system.env, system.log_dir, users_file).start()
    try:
        via_first = Api.as_user(gateway.url, roles=["admin"], sub="idem-user")
        via_second = Api.as_user(second.url, roles=["admin"], sub="idem-user")
        body = customer_data(name="两个网关的客户")
        headers = {"Idempotency-Key": key()}

        created = via_first.post("/api/customers", json=body, headers=headers)
        replayed = via_second.post("/api/customers", json=body, headers=headers)
        second.stop()
        restarted = GatewayProcess(system.env, system.log_dir, users_file, port=second.port).start()
        try:
            after_restart = via_second.post("/api/customers", json=body, headers=headers)
            reused = via_second.post("/api/customers", json={**body, "name": "另一个"}, headers=headers)
        finally:
            restarted.stop()
    finally:
        second.stop()

    assert created.status_code == 201
    assert replayed.status_code == 200 and replayed.json()["id"] == created.json()["id"]
    assert after_restart.status_code == 200 and after_restart.json()["id"] == created.json()["id"]
    assert reused.status_code == 409


@pytest.mark.parametrize("path,body", [
    ("/api/customers", lambda world: customer_data()),
    ("/api/contracts", lambda world: contract_data(world.customer()["id"])),
    ("/api/payments", lambda world: payment_data(world.contract(world.customer()["id"])["id"])),
    ("/api/invoices", lambda world: invoice_data(world.customer()["id"])),
])
def test_a_retry_after_the_gateway_died_mid_request_gets_the_record_the_service_made(
        api: Api, world: World, mongo_server: Any, path: str, body: Any) -> None:
    """The gateway's key says "still running" (its first request died after the service
    created, before the result was stored); the retry 60 s later runs the call again,
    and the service's own key (the header, passed down) answers with the same record."""
    data, headers = body(world), {"Idempotency-Key": key()}
    created = api.post(path, json=data, headers=headers)
    client: MongoClient[Any] = MongoClient(mongo_server.url)
    try:
        abandoned = client["e2e_gateway"]["idempotency"].update_one(
            {"key": headers["Idempotency-Key"]},
            {"$set": {"state": "pending", "claimed_at": datetime.now(UTC) - timedelta(minutes=2)},
             "$unset": {"status": "", "body": "", "location": ""}})
    finally:
        client.close()

    retried = api.post(path, json=data, headers=headers)

    assert created.status_code == 201 and abandoned.modified_count == 1
    assert retried.status_code in (200, 201) and retried.json()["id"] == created.json()["id"]
