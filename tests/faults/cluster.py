"""The system under fault: a vhost of a private RabbitMQ node, a SecantusDB store of its
own on disk, and the four services as real OS processes, watched by a restart loop.

The restart loop plays the supervisor: a process that exits is started again (at once
after a kill the test made, with back-off after a crash) and every exit is recorded, so
a scenario can tell the kills it made from the deaths it did not expect.
"""
from __future__ import annotations

import contextlib
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.instances import discover, get
from tests.support.infra import (
    SECRET,
    TEST_RUN_DIR,
    MongoProcess,
    PrivateRabbit,
    ServiceProcess,
    service_env,
    wait_for,
)

SERVICES = ("customer", "invoice", "approval", "search")
RESTART_BACKOFF = (0.5, 5.0)  # first and longest pause before restarting a crashed process


class Store(MongoProcess):
    """The test store on disk, so that a kill -9 can be followed by a start on the same
    data directory and port."""

    def __init__(self) -> None:
        super().__init__(on_disk=True)

    def kill9(self) -> None:
        self.proc.kill()
        self.proc.wait(10)

    def start_again(self) -> None:
        self._spawn()


class Vhost:
    """A vhost of the private node for one scenario (guest has every right on it)."""

    def __init__(self, broker: PrivateRabbit) -> None:
        self.broker = broker
        self.name = f"faults-{uuid.uuid4().hex[:8]}"
        try:  # one rabbitmqctl start instead of two (each boots an Erlang VM: seconds)
            broker.ctl("eval", f'ok = rabbit_vhost:add(<<"{self.name}">>, <<"faults">>), '
                       f'rabbit_auth_backend_internal:set_permissions(<<"guest">>, <<"{self.name}">>, '
                       '<<".*">>, <<".*">>, <<".*">>, <<"faults">>).')
        except subprocess.CalledProcessError:
            broker.ctl("add_vhost", self.name)
            broker.ctl("set_permissions", "-p", self.name, "guest", ".*", ".*", ".*")
        self.amqp_uri = f"amqp://guest:guest@127.0.0.1:{broker.port}/{self.name}"

    def delete(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self.broker.ctl("delete_vhost", self.name)


@dataclass
class Exit:
    """One exit of a service process seen by the restart loop."""
    slot: str
    pid: int
    returncode: int | None
    expected: bool   # the test killed it
    at: float        # time.monotonic()
    log_tail: str = ""


@dataclass
class Window:
    """When one fault lasted (time.monotonic())."""
    name: str
    start: float
    end: float


@dataclass
class Slot:
    """One supervised place (``invoice#1``): the process now running in it."""
    name: str
    service: str
    process: ServiceProcess
    crashes: int = 0
    restart_at: float = 0.0
    history: list[int] = field(default_factory=list)


class Cluster:
    """``instances`` processes of each service, supervised until ``stop``."""

    def __init__(self, broker: PrivateRabbit, log_dir: str, instances: int = 1) -> None:
        self.broker = broker
        self.log_dir = log_dir
        self.vhost = Vhost(broker)
        self.store = Store()
        self.prefix = f"f{uuid.uuid4().hex[:6]}_"
        self.env = service_env(self.vhost.amqp_uri, self.store.url, self.prefix)
        self.slots = [Slot(f"{service}#{n}", service, ServiceProcess(service, self.env, log_dir))
                      for n in range(1, instances + 1) for service in SERVICES]
        self.exits: list[Exit] = []
        self.problems: list[str] = []  # what a fault noticed on the way (not ready in time)
        self.windows: list[Window] = []
        self._health: dict[str, str] = {}  # the last /health/ready answer of each slot
        self.t0 = time.monotonic()
        self._killed: set[int] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._loop: threading.Thread | None = None

    @property
    def amqp_uri(self) -> str:
        return self.vhost.amqp_uri

    def config(self) -> dict[str, Any]:
        """What the in-process tools (search.rebuild.verify) need to reach the system."""
        return {"AMQP_URI": self.amqp_uri, "AUTH_SECRET": SECRET, "MONGO_DB_PREFIX": self.prefix,
                "serializer": "json"}

    # -- start, supervise, stop ---------------------------------------------------------
    def start(self, timeout: float = 90.0) -> None:
        for slot in self.slots:
            self._start(slot)
        self._loop = threading.Thread(target=self._supervise, name="fault-supervisor", daemon=True)
        self._loop.start()
        self.wait_ready(timeout=timeout)

    def _start(self, slot: Slot) -> None:
        slot.process = ServiceProcess(slot.service, self.env, self.log_dir).start()
        assert slot.process.proc is not None
        slot.history.append(slot.process.proc.pid)

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            with self._lock:
                for slot in self.slots:
                    self._check(slot)
            time.sleep(0.2)

    def _check(self, slot: Slot) -> None:
        if slot.process.alive() or self._stopping.is_set():
            return
        proc = slot.process.proc
        assert proc is not None
        now = time.monotonic()
        if slot.restart_at == 0.0:  # a new exit: record it, decide when to restart
            expected = proc.pid in self._killed
            self.exits.append(Exit(slot.name, proc.pid, proc.returncode, expected, now,
                                   "" if expected else slot.process.log_tail(12)))
            slot.crashes = 0 if expected else slot.crashes + 1
            first, longest = RESTART_BACKOFF
            pause = 0.0 if expected else min(first * 2 ** (slot.crashes - 1), longest)
            slot.restart_at = now + pause
        if now >= slot.restart_at:
            slot.restart_at = 0.0
            self._start(slot)

    def stop(self) -> None:
        self._stopping.set()
        if self._loop is not None:
            self._loop.join(10)
        for slot in self.slots:  # all at once: each may take seconds to shut down
            if slot.process.alive():
                assert slot.process.proc is not None
                slot.process.proc.terminate()
        for slot in self.slots:
            slot.process.stop()  # waits for it (SIGKILL after 15 s)
        self.store.stop()
        self.vhost.delete()

    # -- faults -------------------------------------------------------------------------
    def kill9(self, slot_name: str) -> int:
        """SIGKILL the process in ``slot_name``; the loop starts another at once."""
        with self._lock:
            slot = next(s for s in self.slots if s.name == slot_name)
            proc = slot.process.proc
            assert proc is not None and slot.process.alive(), f"{slot_name} is not running"
            self._killed.add(proc.pid)
            proc.kill()
            proc.wait(5)
            return proc.pid

    @contextlib.contextmanager
    def faulted(self, name: str) -> Iterator[None]:
        """Marks one fault's time window (its start to its end: the broker or the process
        back); the writes started after a window closed are held to the 5 s bound."""
        started = time.monotonic()
        try:
            yield
        finally:
            self.windows.append(Window(name, started, time.monotonic()))

    def unexpected_exits(self) -> list[Exit]:
        return [e for e in self.exits if not e.expected]

    # -- readiness ----------------------------------------------------------------------
    def wait_ready(self, timeout: float = 60.0, slots: list[str] | None = None) -> None:
        """Until every (named) process answers ``/health/ready`` with 200 (store, broker
        and start-up catch-up all fine)."""
        wanted = [s for s in self.slots if slots is None or s.name in slots]
        for slot in wanted:
            wait_for(lambda slot=slot: self._ready(slot), timeout=timeout, interval=0.2,  # type: ignore[misc]
                     message=f"{slot.name} to be ready")

    def wait_back(self, slot_name: str, timeout: float) -> float:
        """Wait until the restarted process in ``slot_name`` is ready; record it as a
        problem of the scenario (instead of failing at once) when it is not within
        ``timeout``. Returns how long it took."""
        started = time.monotonic()
        try:
            self.wait_ready(timeout=timeout, slots=[slot_name])
        except AssertionError:
            self.problems.append(f"{slot_name} not ready {timeout:.0f}s after its kill -9 "
                                 f"(/health/ready: {self._health.get(slot_name, 'no answer')})")
        return time.monotonic() - started

    def _ready(self, slot: Slot) -> bool:
        proc = slot.process.proc
        if proc is None or not slot.process.alive():
            return False
        instance = next((i for i in discover(Path(TEST_RUN_DIR)) if i["pid"] == proc.pid), None)
        if instance is None:
            return False
        status, body = get(instance["health_url"], timeout=2.0)
        self._health[slot.name] = f"{status} {body[:300]}"
        return status == 200

    def not_alive(self) -> list[str]:
        return [s.name for s in self.slots if not s.process.alive()]

    def describe_exits(self, exits: list[Exit]) -> str:
        return "\n".join(f"- {e.slot} pid {e.pid} exited {e.returncode} at +{e.at - self.t0:.1f}s "
                         f"(of the cluster's life):\n{e.log_tail}"
                         for e in exits)
