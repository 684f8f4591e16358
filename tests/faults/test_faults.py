"""Fault injection (issue 9): each scenario runs the four services as real processes
under a restart loop, with 4 clients writing, injects one fault mid-load and then checks
that every acknowledged command is stored exactly once, that the approval requests and
the search views equal the fold of the stores, that no write waited more than 5 s after
the fault ended (beyond what writes took before it), and that every process is alive
(and none died unasked).

Sizes: ``FAULTS_COMMANDS`` and the other variables in tests/faults/harness.py.
"""
from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator

import pytest

from tests.faults import harness
from tests.faults.cluster import SERVICES, Cluster
from tests.faults.harness import run
from tests.support.infra import PrivateRabbit

# each scenario is bounded: start, the load before and after the fault, the faults
# themselves (kill -9 of four services: at most 4 x 41 s), the settling, the stop
BOUND = 300 + harness.BEFORE + harness.AFTER_MAX + harness.SETTLE
pytestmark = [pytest.mark.faults, pytest.mark.timeout(BOUND)]
BROKER_OUTAGE_SECONDS = 4.0
READY_AFTER_KILL = 30.0  # a restarted process not ready by then is a problem of the scenario
CALM_SECONDS = 10.0      # between two kills: writes started then have time to show a stall


@pytest.fixture(scope="module")
def private_broker() -> Iterator[PrivateRabbit]:
    """A RabbitMQ node of this module's own (each scenario takes a vhost of it), so that
    stopping the broker never touches the shared one."""
    if os.geteuid() != 0 or shutil.which("rabbitmq-server") is None:
        pytest.skip("a private RabbitMQ node needs root and rabbitmq-server")
    broker = PrivateRabbit()
    yield broker
    broker.stop()


def broker_outage(cluster: Cluster) -> None:
    """``stop_app`` for 4 s, then ``start_app``; the fault ends when the broker is back."""
    with cluster.faulted("the broker outage"):
        cluster.broker.stop_app()
        time.sleep(BROKER_OUTAGE_SECONDS)
        cluster.broker.start_app()


def kill_each_service(cluster: Cluster) -> None:
    """kill -9 one service after the other; each fault ends when the restarted process
    is ready, and a few calm seconds follow before the next (writes started then must
    not wait on what the killed one left behind). After the last kill the load's own
    tail (at least ``FAULTS_GRACE`` + ``FAULTS_AFTER`` s) is the calm: with no fault
    after it, a write started then is held to the bound however long it takes."""
    for n, service in enumerate(SERVICES):
        if n:
            time.sleep(CALM_SECONDS)
        slot = f"{service}#1"
        with cluster.faulted(f"kill -9 of {slot}"):
            cluster.kill9(slot)
            time.sleep(0.5)  # the restart loop notices and starts another process
            cluster.wait_back(slot, timeout=READY_AFTER_KILL)


def kill_the_store(cluster: Cluster) -> None:
    """kill -9 of SecantusDB, started again on the same data directory and port."""
    with cluster.faulted("kill -9 of the store"):
        cluster.store.kill9()
        time.sleep(1.0)
        cluster.store.start_again()


def no_fault(cluster: Cluster) -> None:
    """Nothing breaks: the two instances of each service compete for every queue (the
    approval status race of issue 9 needs no fault)."""


def check(verdict: object) -> None:
    report = verdict.report()  # type: ignore[attr-defined]
    print(report)
    assert not verdict.failed(), report  # type: ignore[attr-defined]


def test_broker_stop_app_for_4_s_mid_load(private_broker: PrivateRabbit, tmp_path: object) -> None:
    check(run("broker stop_app 4 s", private_broker, str(tmp_path), broker_outage))


def test_kill9_of_each_service_mid_load_with_restart(private_broker: PrivateRabbit, tmp_path: object) -> None:
    check(run("kill -9 of each service", private_broker, str(tmp_path), kill_each_service))


def test_kill9_of_the_store_mid_load(private_broker: PrivateRabbit, tmp_path: object) -> None:
    check(run("kill -9 of the store", private_broker, str(tmp_path), kill_the_store))


def test_two_instances_of_every_service_under_load(private_broker: PrivateRabbit, tmp_path: object) -> None:
    check(run("two instances of every service", private_broker, str(tmp_path), no_fault, instances=2))
