"""Webhooks end to end, to a local HTTP receiver on 127.0.0.1 started by the test:
signed deliveries, retries after failures, no loss when the approval service is killed -9
mid-delivery, the same X-Event-Id on a duplicate. The test services poll the outbox every
0.2 s, back off from 0.2 s and lease a delivery for 2 s (tests/support/infra.py)."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from shared.errors import NotFound, ValidationError
from tests.e2e.approval_support import People, flow_data, new_invoice, people, requests_opened
from tests.support.factories import World, unique
from tests.support.infra import wait_for

SECRET = "test-webhook-secret"


class Receiver:
    """Records every POST; answers 500 to the first ``fail_first`` and, while ``hold``
    is set, keeps the first request waiting (a delivery in flight)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.fail_first = 0
        self.hold = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.received.append({"body": body, "headers": dict(self.headers)})
                    count = len(receiver.received)
                if receiver.hold.is_set() and count == 1:
                    receiver.release.wait(timeout=30)
                status = 500 if count <= receiver.fail_first else 200
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def for_request(self, request_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.received if json.loads(r["body"]).get("request_id") == request_id]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    running.thread.start()
    yield running
    running.release.set()
    running.server.shutdown()
    running.server.server_close()


@pytest.fixture
def who(clients: Any) -> People:
    return people(clients)


def open_request(who: People, world: World) -> dict[str, Any]:
    customer_id, invoice = new_invoice(world, who.sales, amount="1000.00")
    who.admin.approval.define_flow(flow_data(customer_id, hold=True))
    who.sales.invoice.update_field(invoice["id"], "amount", "1500.00")
    [request] = requests_opened(who.admin, invoice["id"])
    return request


def signed(entry: dict[str, Any]) -> bool:
    expected = "sha256=" + hmac.new(SECRET.encode(), entry["body"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(entry["headers"].get("X-Signature", ""), expected)


def test_a_webhook_is_defined_signed_retried_after_two_failures_and_deleted(
        who: People, world: World, receiver: Receiver) -> None:
    receiver.fail_first = 2
    with pytest.raises(ValidationError) as refused:
        who.admin.approval.define_webhook({"url": "ftp://x", "secret": SECRET,
                                           "events": ["nope"], "format": "xml"})
    assert {"url", "events", "format"} <= set(refused.value.args[0])
    webhook = who.admin.approval.define_webhook({"url": receiver.url, "secret": SECRET,
                                                 "events": ["approval_needed"], "format": "json"})
    try:
        assert "secret" not in webhook
        assert webhook["id"] in [w["id"] for w in who.admin.approval.list_webhooks()]

        request = open_request(who, world)

        got = wait_for(lambda: (r := receiver.for_request(request["id"])) and len(r) >= 3 and r,
                       timeout=30, message="the delivery after two failures")
        assert all(signed(entry) for entry in got)
        assert len({entry["headers"]["X-Event-Id"] for entry in got}) == 1
        body = json.loads(got[-1]["body"])
        assert body["kind"] == "approval_needed" and body["recipients"] == ["role:finance"]
        delivered = wait_for(lambda: [d for d in who.admin.approval.list_webhook_deliveries("delivered")
                                      if d["id"] == got[0]["headers"]["X-Event-Id"]],
                             timeout=10, message="delivered in the outbox")
        assert delivered[0]["attempts"] == 3
    finally:
        who.admin.approval.delete_webhook(webhook["id"])
    with pytest.raises(NotFound):
        who.admin.approval.delete_webhook(webhook["id"])


def test_a_wecom_body_is_a_robot_text_message(who: People, world: World, receiver: Receiver) -> None:
    webhook = who.admin.approval.define_webhook({"url": receiver.url, "secret": SECRET,
                                                 "events": ["approval_needed"], "format": "wecom"})
    try:
        request = open_request(who, world)
        [entry] = wait_for(lambda: receiver.for_request(request["id"]) or
                           [r for r in receiver.received if request["invoice_id"] in r["body"].decode()],
                           timeout=30, message="the wecom delivery")
        body = json.loads(entry["body"])
        assert body["msgtype"] == "text" and request["invoice_id"] in body["text"]["content"]
        assert signed(entry)
    finally:
        who.admin.approval.delete_webhook(webhook["id"])


def test_killed_mid_delivery_the_delivery_is_not_lost_and_the_duplicate_has_the_same_event_id(
        system: Any, who: People, world: World, receiver: Receiver) -> None:
    receiver.hold.set()
    webhook = who.admin.approval.define_webhook({"url": receiver.url, "secret": SECRET,
                                                 "events": ["request_opened"], "format": "json"})
    watcher = unique("cc")
    try:
        customer_id, invoice = new_invoice(world, who.sales, amount="1000.00")
        who.admin.approval.define_flow(flow_data(customer_id, hold=True, cc=[f"user:{watcher}"]))
        who.sales.invoice.update_field(invoice["id"], "amount", "1500.00")
        wait_for(lambda: receiver.received, timeout=30, message="a delivery in flight")

        for process in [p for p in system.processes if p.name == "approval" and p.alive()]:
            process.kill9()
        receiver.release.set()
        system.start("approval")

        got = wait_for(lambda: (r := [e for e in receiver.received
                                      if invoice["id"] in e["body"].decode()]) and len(r) >= 2 and r,
                       timeout=30, message="the delivery again after the restart")
        assert len({entry["headers"]["X-Event-Id"] for entry in got}) == 1
        assert all(signed(entry) for entry in got)
    finally:
        who.admin.approval.delete_webhook(webhook["id"])
