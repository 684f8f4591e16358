"""No message stops or stalls a service: raw messages on the RPC exchange (no reply_to,
wrong body shapes, undecodable bodies, wrong arity) and undecodable events."""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kombu import Connection, Exchange

from tests.support.actors import token_for
from tests.support.infra import GaveUp, wait_for
from tests.support.raw_rpc import RawRpc, auth_headers, call_body

SEARCH_INVOICE_QUEUE = "evt-invoice--search_projector.on_invoice_event"


@pytest.fixture
def raw(system: Any) -> Iterator[RawRpc]:
    opened = RawRpc(system.amqp_uri)
    yield opened
    opened.close()


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return auth_headers(token_for(roles=["admin"]))


def process(system: Any, name: str) -> Any:
    return next(p for p in system.processes if p.name == name and p.alive())


def assert_still_serving(system: Any, raw: RawRpc, name: str, headers: dict[str, str]) -> None:
    probe = {"customer": "customer.list_customers", "invoice": "invoice.list_invoice_types",
             "approval": "approval.list_flows", "search": "search.projection_status"}[name]
    reply = raw.call(probe, call_body(), headers=headers)
    assert reply is not None and reply["error"] is None, reply
    assert process(system, name).alive()


def validation_error(reply: dict[str, Any] | None) -> dict[str, Any]:
    assert reply is not None, "no reply: the caller would wait for its timeout"
    assert reply["result"] is None
    assert reply["error"]["exc_type"] == "ValidationError", reply["error"]
    return dict(reply["error"]["exc_args"][0])


def test_a_call_without_reply_to_is_dropped_and_the_service_keeps_serving(
        system: Any, raw: RawRpc, admin_headers: dict[str, str]) -> None:
    # given a running customer service
    customer = process(system, "customer")
    # when a call arrives that cannot be answered (no reply_to, no token)
    raw.publish("customer.list_customers", call_body(), reply=False)

    # then it is logged as dropped ...
    def dropped() -> bool:
        if not customer.alive():
            raise GaveUp(f"customer died:\n{customer.log_tail()}")
        return "no reply_to" in customer.log_path.read_text(errors="replace")
    wait_for(dropped, timeout=20, message="the call to be dropped")
    # ... and the very same process still answers
    assert_still_serving(system, raw, "customer", admin_headers)


def test_a_call_without_reply_to_runs_nothing(system: Any, raw: RawRpc,
                                              admin_headers: dict[str, str]) -> None:
    # given a create that could not be answered
    customer = process(system, "customer")
    drops = customer.log_path.read_text(errors="replace").count("no reply_to")
    name = f"never-{uuid.uuid4().hex[:8]}"
    raw.publish("customer.create_customer", call_body({"name": name}), reply=False,
                headers=admin_headers)

    # when it has been dropped
    wait_for(lambda: customer.log_path.read_text(errors="replace").count("no reply_to") > drops,
             timeout=20, message="the call to be dropped")

    # then no customer was made
    reply = raw.call("customer.list_customers", call_body(name_contains=name), headers=admin_headers)
    assert reply is not None and reply["error"] is None and reply["result"]["items"] == []


@pytest.mark.parametrize("body", [b"[]", b'"text"', b"null", b'{"args": {}, "kwargs": {}}',
                                  b'{"args": [], "kwargs": []}', b'{"kwargs": {}}'],
                         ids=["list", "string", "null", "args-object", "kwargs-list", "no-args"])
def test_a_body_of_the_wrong_shape_is_a_validation_error(
        system: Any, raw: RawRpc, admin_headers: dict[str, str], body: bytes) -> None:
    errors = validation_error(raw.call("customer.list_customers", body, headers=admin_headers))
    assert set(errors) <= {"_schema", "args", "kwargs"} and errors
    assert_still_serving(system, raw, "customer", admin_headers)


@pytest.mark.parametrize("body, content_type", [
    (b"not json at all", "application/json"),
    (b'{"args": [], "kwargs": {"name_contains": "\xff\xfe"}}', "application/json"),
    (b"[" * 100_000 + b"]" * 100_000, "application/json"),
    (call_body(), "application/x-python-serialize"),
    (call_body(), "text/plain"),
], ids=["not-json", "not-utf8", "deep", "pickle", "text"])
def test_an_undecodable_body_is_answered_with_a_validation_error(
        system: Any, raw: RawRpc, admin_headers: dict[str, str], body: bytes,
        content_type: str) -> None:
    reply = raw.call("customer.list_customers", body, content_type=content_type,
                     headers=admin_headers)
    assert "_schema" in validation_error(reply)
    assert_still_serving(system, raw, "customer", admin_headers)


def nested(depth: int, kind: str) -> bytes:
    return (b'{"a": ' * depth + b"1" + b"}" * depth) if kind == "object" else (b"[" * depth + b"]" * depth)


@pytest.mark.parametrize("depth", [200, 900, 990])
@pytest.mark.parametrize("call, template", [
    ("customer.update_customer", b'{"args": ["cus_x", %s], "kwargs": {}}'),
    ("invoice.create_invoice", b'{"args": [{"title": "t", "custom": %s}], "kwargs": {}}'),
    ("search.search", b'{"args": [{"filters": [{"field": "title", "op": "eq", "value": %s}]}], "kwargs": {}}'),
    ("approval.define_flow", b'{"args": [{"name": "f", "condition": %s}], "kwargs": {}}'),
], ids=["changes", "custom", "filter-value", "condition"])
@pytest.mark.parametrize("kind", ["object", "list"])
def test_a_deeply_nested_but_decodable_argument_gets_a_contract_answer(
        system: Any, raw: RawRpc, admin_headers: dict[str, str], call: str, template: bytes,
        depth: int, kind: str) -> None:
    reply = raw.call(call, template % nested(depth, kind), headers=admin_headers)
    assert reply is not None, "no reply"
    assert reply["error"] is not None and reply["error"]["exc_type"] == "ValidationError", reply["error"]
    assert_still_serving(system, raw, call.split(".")[0], admin_headers)


def test_an_undecodable_body_without_reply_to_is_dropped(
        system: Any, raw: RawRpc, admin_headers: dict[str, str]) -> None:
    invoice = process(system, "invoice")
    raw.publish("invoice.list_invoice_types", b"\xff not json", reply=False)
    raw.publish("invoice.list_invoice_types", b"[" * 100_000, reply=False)
    assert_still_serving(system, raw, "invoice", admin_headers)

    def dropped_twice() -> bool:
        if not invoice.alive():
            raise GaveUp(f"invoice died:\n{invoice.log_tail()}")
        return invoice.log_path.read_text(errors="replace").count("no reply_to") >= 2
    wait_for(dropped_twice, timeout=20, message="both calls to be dropped")
    assert_still_serving(system, raw, "invoice", admin_headers)


@pytest.mark.parametrize("args, kwargs, field", [
    ([], {}, "customer_id"),
    (["c-1", "extra"], {}, "args"),
    (["c-1"], {"nope": 1}, "nope"),
    (["c-1"], {"customer_id": "c-2"}, "customer_id"),
], ids=["missing", "too-many", "unknown-keyword", "twice"])
def test_wrong_arity_is_a_validation_error_naming_the_argument(
        system: Any, raw: RawRpc, admin_headers: dict[str, str], args: list[Any],
        kwargs: dict[str, Any], field: str) -> None:
    body = json.dumps({"args": args, "kwargs": kwargs}).encode()
    errors = validation_error(raw.call("customer.get_customer", body, headers=admin_headers))
    assert field in errors, errors


def test_an_unknown_method_is_a_validation_error(
        system: Any, raw: RawRpc, admin_headers: dict[str, str]) -> None:
    errors = validation_error(raw.call("customer.no_such_call", call_body(), headers=admin_headers))
    assert "method" in errors
    assert_still_serving(system, raw, "customer", admin_headers)


@pytest.mark.parametrize("body", [b"\xff{not json", b"[" * 100_000 + b"]" * 100_000],
                         ids=["not-json", "deep"])
def test_an_undecodable_event_is_parked_on_the_dead_letter_queue(
        system: Any, raw: RawRpc, admin_headers: dict[str, str], body: bytes) -> None:
    # given search's invoice-event queue and its dead-letter queue
    dlq = f"{SEARCH_INVOICE_QUEUE}.dlq"
    with Connection(system.amqp_uri) as connection:
        channel = connection.channel()
        channel.queue_declare(dlq, durable=True, auto_delete=False)
        channel.queue_purge(dlq)
        # when an event that is not JSON arrives
        producer = connection.Producer(channel)
        producer.publish(body, exchange=Exchange("invoice.events", type="topic", durable=True),
                         routing_key="InvoiceCreated", content_type="application/json",
                         content_encoding="binary", serializer=None)

        # then it is parked, byte for byte, with the reason
        def parked() -> Any:
            return channel.basic_get(dlq, no_ack=True)
        message = wait_for(parked, timeout=20, message="the event to be parked")
        assert message.body == body
        assert "x-crm-error" in message.headers
    assert_still_serving(system, raw, "search", admin_headers)
