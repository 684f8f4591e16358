"""Operators' view of the running system: health and metrics ports, counters that move
with known calls, a parked event in the DLQ depth, JSON logs carrying the correlation id
across services, and ``invoicectl status --json``."""
from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from kombu import Connection, Exchange
from kombu.messaging import Producer
from nameko.standalone.rpc import ClusterRpcProxy

from shared.errors import ValidationError
from shared.events.consumer import queue_name
from shared.instances import by_label, discover, get, scrape, total
from tests.e2e.conftest import E2E_SERVICES, System
from tests.support.actors import token_for
from tests.support.factories import World, customer_data, invoice_data
from tests.support.infra import NAMEKO, TEST_RUN_DIR, wait_for

INVOICECTL = str(Path(NAMEKO).with_name("invoicectl"))


def instances_of(service: str) -> list[dict[str, Any]]:
    return [i for i in discover(Path(TEST_RUN_DIR)) if i["service"] == service]


def pages(service: str) -> list[dict[Any, float]]:
    return [scrape(i["metrics_url"]) for i in instances_of(service)]


def test_every_service_is_live_and_ready_on_its_own_port(system: System) -> None:
    for service in E2E_SERVICES:
        found = wait_for(lambda service=service: instances_of(service), message=f"{service}'s port file")
        for instance in found:
            assert get(instance["live_url"])[0] == 200
            status, body = wait_for(lambda i=instance: (s := get(i["health_url"]))[0] == 200 and s,
                                    message=f"{service} ready")
            assert json.loads(body)["checks"] == {"store": "ok", "broker": "ok", "catch_up": "ok"}
    ports = [i["port"] for i in discover(Path(TEST_RUN_DIR))]
    assert len(ports) == len(set(ports))


def test_rpc_counters_and_appended_events_move_by_the_calls_made(admin: Any, system: System) -> None:
    def ok() -> float:
        return total(pages("customer"), "crm_rpc_calls_total", method="create_customer", outcome="ok")

    def refused() -> float:
        return total(pages("customer"), "crm_rpc_calls_total", method="create_customer",
                     outcome="ValidationError")

    def appended() -> float:
        return total(pages("customer"), "crm_events_appended_total", store="e2e_customer")

    def published() -> float:
        return max(by_label(pages("customer"), "crm_relay_position", "store").get("e2e_customer", 0), 0)

    def replicated() -> float:
        return total(pages("invoice"), "crm_consumer_events_total",
                     consumer="invoice.customer_replica", result="applied")

    def relay_lag() -> float:
        return by_label(pages("customer"), "crm_relay_lag_events", "store").get("e2e_customer", 1)

    # Earlier tests' events may still be on their way: start from a published store (the
    # relay's figure then moves by exactly ours); the replica may still be applying earlier
    # ones, so it must move by at least ours.
    wait_for(lambda: relay_lag() == 0, message="the relay to have published what earlier tests stored")
    before = (ok(), refused(), appended())
    position, applied = published(), replicated()
    admin.customer.create_customer(customer_data())
    admin.customer.create_customer(customer_data())
    with pytest.raises(ValidationError):
        admin.customer.create_customer({"code": "no name"})

    assert (ok() - before[0], refused() - before[1], appended() - before[2]) == (2, 1, 2)
    histogram = total(pages("customer"), "crm_rpc_duration_seconds_count", method="create_customer")
    assert histogram >= 3
    wait_for(lambda: published() - position == 2, message="the relay position two further")
    wait_for(lambda: replicated() - applied >= 2, message="the invoice replica applying both")


def test_a_parked_event_shows_in_the_dlq_depth_until_purged(system: System) -> None:
    queue = queue_name("invoice", "search_projector", "on_invoice_event")

    def depth() -> float:
        return total(pages("search"), "crm_dlq_messages", queue=queue)

    def parked() -> float:
        return total(pages("search"), "crm_queue_failures_total", queue=queue, result="parked")

    before_parked = parked()
    assert depth() == 0
    with Connection(system.amqp_uri) as connection:
        # an event without a service token: the consumer parks it at once
        Producer(connection.channel()).publish(
            {"type": "InvoiceCreated"}, exchange=Exchange("invoice.events", type="topic"),
            routing_key="InvoiceCreated", serializer="json", declare=[])
        try:
            wait_for(lambda: depth() == 1, timeout=30, message="the parked event in the DLQ depth")
            assert parked() - before_parked == 1
        finally:
            for name in (f"{queue}.dlq", f"{queue_name('invoice', 'approval', 'on_invoice_event')}.dlq"):
                try:
                    connection.channel().queue_purge(name)
                except Exception:  # noqa: BLE001 - that consumer may not have parked it yet
                    pass
    wait_for(lambda: depth() == 0, message="the DLQ depth back to 0")


def test_json_logs_carry_the_calls_correlation_id_into_the_services_it_reaches(
        admin: Any, world: World, system: System) -> None:
    customer = world.customer()
    correlation_id = f"corr-{uuid.uuid4().hex}"
    context = {"authorization": token_for(roles=["admin"], sub="ops-tester"), "correlation_id": correlation_id}
    with ClusterRpcProxy({"AMQP_URI": system.amqp_uri, "serializer": "json"}, context_data=context,
                         timeout=30) as hub:
        hub.invoice.create_invoice(invoice_data(customer["id"]))

    def lines_of(service: str) -> list[dict[str, Any]]:
        found = []
        for process in system.processes:
            if process.name == service:
                for line in process.log_path.read_text(errors="replace").splitlines():
                    if correlation_id in line:
                        found.append(json.loads(line))
        return found

    rpc_lines = wait_for(lambda: lines_of("invoice"), message="the invoice service's log line")
    call = next(line for line in rpc_lines if line.get("method") == "create_invoice")
    assert call["level"] == "INFO" and call["service"] == "invoice" and call["outcome"] == "ok"
    assert call["actor_id"] == "ops-tester" and call["duration_ms"] > 0 and call["instance"]
    projected = wait_for(lambda: [line for line in lines_of("search")
                                  if line.get("method") == "on_invoice_event"],
                         message="the search projector's line for the event")
    assert projected[0]["correlation_id"] == correlation_id and projected[0]["outcome"] == "ok"


def test_every_log_line_of_a_running_service_is_one_json_object(system: System) -> None:
    # running ones: at shutdown eventlet's hub may print a traceback of its own to stderr
    for process in [p for p in system.processes if p.alive()]:
        for line in process.log_path.read_text(errors="replace").splitlines():
            record = json.loads(line)
            assert {"time", "level", "service", "instance", "message"} <= set(record), line


def test_invoicectl_status_json_lists_every_instance_with_its_urls(system: System) -> None:
    for service in E2E_SERVICES:
        wait_for(lambda service=service: instances_of(service), message=f"{service}'s port file")
    result = subprocess.run([INVOICECTL, "status", "--json"], capture_output=True, text=True,
                            timeout=60, env={**system.env, "RUN_DIR": TEST_RUN_DIR})
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert {i["service"] for i in status["instances"]} >= set(E2E_SERVICES)
    for instance in status["instances"]:
        assert instance["health_url"].endswith("/health/ready")
        assert instance["metrics_url"].endswith("/metrics")
        assert instance["ready"] is True
    assert {"e2e_customer", "e2e_invoice", "e2e_approval"} <= set(status["relays"])
    assert set(status["relays"]["e2e_invoice"]) >= {"position", "head", "lag_events", "lag_seconds"}
    assert queue_name("invoice", "search_projector", "on_invoice_event") in status["queues"]
    assert all(set(q) >= {"messages", "dlq_messages"} for q in status["queues"].values())


def invoicectl(system: System, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([INVOICECTL, *args], capture_output=True, text=True, timeout=120,
                          env={**system.env, "RUN_DIR": TEST_RUN_DIR})


def test_invoicectl_audit_verify_calls_on_the_internal_caller_account(
        admin: Any, world: World, system: System) -> None:
    customer = world.customer()
    admin.invoice.create_invoice(invoice_data(customer["id"]))
    # AMQP_URI too is the caller account: a plain ClusterRpcProxy (re-declaring
    # nameko-rpc) is refused there
    result = subprocess.run([INVOICECTL, "audit", "verify", "invoice", "--json"],
                            capture_output=True, text=True, timeout=120,
                            env={**system.env, "RUN_DIR": TEST_RUN_DIR, "AMQP_URI": system.client_uri,
                                 "INVOICE_CLIENT_AMQP_URI": system.client_uri})
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["checked"] >= 1


def test_an_audit_export_checks_offline_and_a_tampered_line_names_its_stream(
        admin: Any, world: World, system: System, tmp_path: Path) -> None:
    customer = world.customer()
    invoice = admin.invoice.create_invoice(invoice_data(customer["id"]))
    admin.invoice.update_field(invoice["id"], "remarks", "审计前")
    exported = tmp_path / "audit.jsonl"

    export = invoicectl(system, "audit", "export", str(exported), "--json")
    assert export.returncode == 0, export.stderr
    counts = json.loads(export.stdout)["events"]
    assert set(counts) == {"invoice", "customer", "approval"} and counts["invoice"] >= 2

    clean = invoicectl(system, "audit", "check", str(exported), "--json")
    assert clean.returncode == 0, clean.stdout
    assert json.loads(clean.stdout)["ok"] is True

    lines = exported.read_text(encoding="utf-8").splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines)
                 if invoice["id"] in line and "审计前" in line)
    lines[index] = lines[index].replace("审计前", "审计后")
    exported.write_text("".join(lines), encoding="utf-8")

    tampered = invoicectl(system, "audit", "check", str(exported), "--json")
    assert tampered.returncode == 1
    report = json.loads(tampered.stdout)
    assert report["ok"] is False
    assert {(p["store"], p["stream_id"]) for p in report["problems"]} == {("invoice", invoice["id"])}


def test_an_opened_approval_request_shows_in_the_open_requests_gauge_until_decided(
        world: World, clients: Any, system: System) -> None:
    from tests.e2e.approval_support import flow_data, people, requests_opened

    who = people(clients)

    def open_requests() -> float:
        return max(by_label(pages("approval"), "crm_approval_open_requests", "le").get("1h", 0), 0)

    customer_id = world.customer()["id"]
    who.admin.approval.define_flow(flow_data(customer_id))
    invoice = who.admin.invoice.create_invoice(invoice_data(customer_id))
    before = open_requests()

    who.admin.invoice.update_field(invoice["id"], "amount", "88888.00")
    request = requests_opened(who.admin, invoice["id"])[0]
    assert open_requests() - before == 1
    assert total(pages("approval"), "crm_approval_oldest_open_request_seconds") >= 0

    who.finance.approval.approve(request["id"])
    wait_for(lambda: open_requests() == before, message="the decided request leaving the gauge")
