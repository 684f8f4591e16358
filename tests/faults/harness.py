"""One fault scenario from start to verdict: start the cluster, make the scenery, run
the load, inject the fault mid-load, let the load go on past the fault's end, wait for
the system to settle, then run every check (tests/faults/checks.py).

Sizes come from the environment, so that CI stays quick and a long run is a few
variables away (the issue's run: ``FAULTS_COMMANDS=1000 FAULTS_BEFORE=120 FAULTS_AFTER_MAX=300``):

- ``FAULTS_COMMANDS`` (200): commands the load aims at; the fault starts when 30 % of
  them are sent or ``FAULTS_BEFORE`` (15) seconds have passed, whichever comes first;
- after the fault the load goes on at least ``FAULTS_AFTER`` (8) seconds and until the
  commands are sent, at most ``FAULTS_AFTER_MAX`` (30) seconds;
- ``FAULTS_THREADS`` (4) client threads; ``FAULTS_GRACE`` (1): seconds after the fault's
  end before the 5 s bound on writes applies; ``FAULTS_SETTLE`` (60): seconds the
  approval requests and search views may take to converge after the load.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pymongo import MongoClient

from search.rebuild import verify
from shared.errors import ValidationError
from shared.mongo import database
from tests.faults import checks
from tests.faults.cluster import Cluster, Window
from tests.faults.load import Client, Load, Scenery
from tests.support.actors import token_for
from tests.support.factories import contract_data, customer_data, invoice_data, unique
from tests.support.infra import PrivateRabbit

COMMANDS = int(os.environ.get("FAULTS_COMMANDS", "200"))
THREADS = int(os.environ.get("FAULTS_THREADS", "4"))
GRACE = float(os.environ.get("FAULTS_GRACE", "1"))
SETTLE = float(os.environ.get("FAULTS_SETTLE", "60"))
AFTER = float(os.environ.get("FAULTS_AFTER", "8"))
BEFORE = float(os.environ.get("FAULTS_BEFORE", "15"))
AFTER_MAX = float(os.environ.get("FAULTS_AFTER_MAX", "30"))
FAULT_AT = 0.3  # the fault starts once this share of the commands is sent (or BEFORE seconds passed)
INITIAL_INVOICES = 8

Fault = Callable[[Cluster], None]   # injects the fault(s), each within ``cluster.faulted(name)``


@dataclass
class Verdict:
    scenario: str
    summary: str = ""
    problems: dict[str, list[str]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def failed(self) -> dict[str, list[str]]:
        return {name: found for name, found in self.problems.items() if found}

    def report(self, limit: int = 12) -> str:
        lines = [f"scenario {self.scenario}: {self.summary}",
                 "timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in self.timings.items())]
        for name, found in self.failed().items():
            lines.append(f"[{name}] {len(found)} problem(s):")
            lines.extend(f"    {line}" for line in found[:limit])
            if len(found) > limit:
                lines.append(f"    ... {len(found) - limit} more")
        return "\n".join(lines)


def flow_definition() -> dict[str, Any]:
    """A flow every amount change triggers; it records after the fact (no hold)."""
    return {"name": unique("故障演练审批"), "watched_fields": ["amount"], "trigger_on_create": False,
            "stages": [{"name": "财务审核", "approvers": ["role:finance"], "mode": "any"}],
            "cc": [], "active": True, "hold": False}


def make_scenery(hub: Any) -> Scenery:
    hub.approval.define_flow(flow_definition())
    customer, keyed = _first_customer(hub)
    contract = hub.customer.create_contract(contract_data(customer["id"]))
    scenery = Scenery(customer["id"], contract["id"], idempotency_keys=keyed)
    for _ in range(INITIAL_INVOICES):
        created = hub.invoice.create_invoice(invoice_data(customer["id"], contract_id=contract["id"]))
        scenery.invoice_ids.append(created["id"])
    return scenery


def _first_customer(hub: Any) -> tuple[dict[str, Any], bool]:
    """The scenery's customer, and whether creates take ``idempotency_key`` (issue 9; the
    load then sends one with every create, so a create whose reply was lost and whose
    request runs again cannot make a second record)."""
    try:
        return hub.customer.create_customer(customer_data(idempotency_key=unique("faults"))), True
    except ValidationError as exc:
        if "idempotency_key" not in str(exc):
            raise
        return hub.customer.create_customer(customer_data()), False


def run(scenario: str, broker: PrivateRabbit, log_dir: str, fault: Fault, instances: int = 1) -> Verdict:
    verdict = Verdict(scenario)
    started = time.monotonic()
    cluster = Cluster(broker, log_dir, instances)
    try:
        cluster.start()
        verdict.timings["start"] = time.monotonic() - started
        admin = Client(cluster.amqp_uri, token_for(roles=["admin"], sub="faults-admin", name="管理员"))
        try:
            load = Load(cluster.amqp_uri, make_scenery(admin.hub()), COMMANDS, THREADS)
            _load_through(load, cluster, fault, verdict)
            _check(verdict, cluster, admin, load)
        finally:
            admin.close()
    finally:
        cluster.stop()
        verdict.timings["total"] = time.monotonic() - started
    return verdict


def _load_through(load: Load, cluster: Cluster, fault: Fault, verdict: Verdict) -> None:
    load.start()
    load_started = time.monotonic()
    try:
        load.wait_issued(int(COMMANDS * FAULT_AT), timeout=BEFORE)
        fault_started = time.monotonic()
        verdict.timings["before the fault"] = fault_started - load_started
        fault(cluster)
        if not cluster.windows:  # no fault: the writes so far are the baseline of the rest
            cluster.windows.append(Window("the first part of the load", fault_started, fault_started))
        verdict.timings["fault"] = time.monotonic() - fault_started
        load.keep_going_until = time.monotonic() + GRACE + AFTER
        load.join(timeout=GRACE + AFTER_MAX)
    finally:
        load.stop()
        load.join(timeout=30)
    verdict.timings["load"] = time.monotonic() - load_started


def _check(verdict: Verdict, cluster: Cluster, admin: Client, load: Load) -> None:
    ledger = load.ledger
    verdict.summary = (f"{ledger.summary()}; {len(cluster.slots)} processes; "
                       f"idempotency keys {'sent' if load.scenery.idempotency_keys else 'not supported'}")
    client: MongoClient[Any] = MongoClient(cluster.store.url)
    try:
        invoice_db = database(client, f"{cluster.prefix}invoice")
        customer_db = database(client, f"{cluster.prefix}customer")
        search_db = database(client, f"{cluster.prefix}search")
        stored = checks.stored_commands(invoice_db, customer_db)
        problems = verdict.problems
        problems["exactly once"] = checks.exactly_once(ledger, stored)
        problems["not run after the caller gave up"] = checks.not_run_late(ledger, stored)
        problems["writes within 5 s after the fault"] = checks.recovered(ledger, cluster.windows, GRACE)
        problems["ConcurrencyConflict without expected_version"] = checks.unasked_conflicts(ledger)
        problems["other rejections"] = checks.rejected_for_other_reasons(ledger)
        admin.drop()  # its connection may predate the fault: the checks open a new one
        settle_started = time.monotonic()
        problems["approval requests = fold of the invoice store"] = checks.settle(
            lambda: checks.approval_matches(admin.hub(), checks.expected_requests(invoice_db)), SETTLE)
        verdict.timings["approval settled"] = time.monotonic() - settle_started
        problems["search views = fold of the event stores"] = checks.settle(
            lambda: verify(search_db, cluster.config()), max(SETTLE - (time.monotonic() - settle_started), 5))
        verdict.timings["search settled"] = time.monotonic() - settle_started
    finally:
        client.close()
    problems["during the fault"] = cluster.problems
    problems["stores verify"] = _verified(admin)
    problems["unexpected process exits"] = [cluster.describe_exits([e]) for e in cluster.unexpected_exits()]
    problems["processes alive at the end"] = cluster.not_alive()


def _verified(admin: Client) -> list[str]:
    hub = admin.hub()
    return [f"{name}.verify: {report['broken'][:5]}"
            for name, report in (("invoice", hub.invoice.verify()), ("customer", hub.customer.verify()),
                                 ("approval", hub.approval.verify()))
            if not report["ok"]]
