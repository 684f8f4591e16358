"""The load of a fault scenario: client threads issuing a mix of write commands and a
ledger of every one of them (what was sent, when, and what came back).

Each command carries a token of its own in the value it writes (an invoice title, a
remarks text, a unique amount, a payment reference), so the checks can count in the
store how many times each command was stored, whatever the answer said.
"""
from __future__ import annotations

import itertools
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import eventlet

from shared.errors import ServiceError
from shared.rpc_client import client_proxy
from tests.support.actors import token_for
from tests.support.factories import invoice_data, payment_data

OK, REJECTED, UNKNOWN = "ok", "rejected", "unknown"
CALL_TIMEOUT = 10.0     # the client gives up after this long (then the outcome is unknown)
CONNECT_TIMEOUT = 5.0   # opening a client while the broker is away
POOL = 12               # commands edit the most recent invoices of this many
# kind → weight: creates, edits with and without version checks, watched (approval) edits, payments
MIX = {"create_invoice": 2, "update_remarks": 3, "update_remarks_checked": 2, "update_amount": 2,
       "record_payment": 2}


@dataclass
class Command:
    """One write sent by a client thread; ``outcome`` ok (acknowledged), rejected (a
    contract error: nothing may be stored) or unknown (no answer, or a transport error)."""
    kind: str
    thread: int
    token: str
    value: str
    invoice_id: str | None = None
    expected_version: int | None = None
    started: float = 0.0          # time.monotonic()
    ended: float = 0.0
    ended_wall: float = 0.0
    outcome: str = ""
    error: str = ""
    result_id: str | None = None
    result_version: int | None = None

    @property
    def seconds(self) -> float:
        return self.ended - self.started

    @property
    def checked(self) -> bool:
        return self.expected_version is not None


@dataclass
class Scenery:
    """What the load writes against, made before it starts."""
    customer_id: str
    contract_id: str
    invoice_ids: list[str] = field(default_factory=list)
    idempotency_keys: bool = False  # creates take ``idempotency_key`` (the command's token)


class Ledger:
    def __init__(self) -> None:
        self.commands: list[Command] = []
        self._lock = threading.Lock()

    def add(self, command: Command) -> None:
        with self._lock:
            self.commands.append(command)

    def of(self, outcome: str) -> list[Command]:
        return [c for c in self.commands if c.outcome == outcome]

    def summary(self) -> str:
        by_kind: dict[str, dict[str, int]] = {}
        for c in self.commands:
            by_kind.setdefault(c.kind, {}).setdefault(c.outcome, 0)
            by_kind[c.kind][c.outcome] += 1
        total = {o: len(self.of(o)) for o in (OK, REJECTED, UNKNOWN)}
        return f"{len(self.commands)} commands {total}; by kind {by_kind}"


class Client:
    """One thread's RPC hub, opened again after a transport failure."""

    def __init__(self, amqp_uri: str, authorization: str) -> None:
        self.amqp_uri, self.authorization = amqp_uri, authorization
        self._proxy: Any = None
        self._hub: Any = None

    def hub(self) -> Any:
        if self._hub is None:
            proxy = client_proxy(self.amqp_uri, self.authorization, timeout=CALL_TIMEOUT)
            with eventlet.Timeout(CONNECT_TIMEOUT):
                self._hub = proxy.__enter__()
            self._proxy = proxy
        return self._hub

    def drop(self) -> None:
        proxy, self._proxy, self._hub = self._proxy, None, None
        if proxy is not None:
            try:
                with eventlet.Timeout(CONNECT_TIMEOUT):
                    proxy.__exit__(None, None, None)
            except BaseException:  # noqa: BLE001 - a broken connection may not close cleanly
                pass

    def close(self) -> None:
        self.drop()


class Load:
    """``threads`` clients issuing commands until ``stop()`` or, once ``commands`` have
    been sent, until ``keep_going_until`` (set when the fault has ended) has passed."""

    def __init__(self, amqp_uri: str, scenery: Scenery, commands: int, threads: int = 4,
                 seed: int = 9) -> None:
        self.amqp_uri, self.scenery, self.budget = amqp_uri, scenery, commands
        self.threads = threads
        self.ledger = Ledger()
        self.keep_going_until = float("inf")
        self._seed = seed
        self._amounts = itertools.count(1)
        self._sent = itertools.count(1)
        self._issued = 0
        self._pool_lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    @property
    def issued(self) -> int:
        return self._issued

    def start(self) -> None:
        self._workers = [threading.Thread(target=self._run, args=(n,), name=f"load-{n}", daemon=True)
                         for n in range(self.threads)]
        for worker in self._workers:
            worker.start()

    def wait_issued(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self._issued < count and time.monotonic() < deadline and self.running():
            time.sleep(0.1)

    def running(self) -> bool:
        return any(w.is_alive() for w in self._workers)

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            worker.join(max(deadline - time.monotonic(), 0.1))
        self._stop.set()

    def _more(self) -> bool:
        if self._stop.is_set():
            return False
        return self._issued < self.budget or time.monotonic() < self.keep_going_until

    def _run(self, n: int) -> None:
        rng = random.Random(self._seed * 100 + n)
        client = Client(self.amqp_uri, token_for(roles=["admin"], sub=f"faults-writer-{n}", name=f"写入{n}"))
        kinds, weights = list(MIX), list(MIX.values())
        try:
            while self._more():
                self._issued = next(self._sent)
                self._one(client, n, rng.choices(kinds, weights)[0], rng)
        finally:
            client.close()

    # -- one command --------------------------------------------------------------------
    def _one(self, client: Client, n: int, kind: str, rng: random.Random) -> None:
        token = f"F{uuid.uuid4().hex[:12]}"
        invoice_id = self._pick(rng) if kind.startswith("update") else None
        expected_version = None
        if kind == "update_remarks_checked":
            assert invoice_id is not None
            expected_version = self._version(client, invoice_id)
            if expected_version is None:
                return  # the read failed: the write is not sent, nothing to record
        value = f"{next(self._amounts)}.00" if kind == "update_amount" else token
        command = Command(kind, n, token, value, invoice_id, expected_version)
        self._send(client, command)
        self.ledger.add(command)
        if kind == "create_invoice" and command.outcome == OK:
            with self._pool_lock:
                self.scenery.invoice_ids.append(str(command.result_id))

    def _pick(self, rng: random.Random) -> str:
        with self._pool_lock:
            return rng.choice(self.scenery.invoice_ids[-POOL:])

    def _version(self, client: Client, invoice_id: str) -> int | None:
        try:
            return int(client.hub().invoice.get_invoice(invoice_id)["version"])
        except Exception:  # noqa: BLE001 - a read during the fault: try another command
            client.drop()
            return None

    def _send(self, client: Client, command: Command) -> None:
        command.started = time.monotonic()
        try:
            result = self._call(client.hub(), command)
        except ServiceError as exc:
            command.outcome, command.error = REJECTED, f"{type(exc).__name__}: {exc}"
        except BaseException as exc:  # noqa: BLE001 - timeouts, lost connections, remote crashes
            command.outcome, command.error = UNKNOWN, f"{type(exc).__name__}: {exc}"[:300]
            client.drop()
        else:
            command.outcome = OK
            command.result_id, command.result_version = result.get("id"), result.get("version")
        finally:
            command.ended, command.ended_wall = time.monotonic(), time.time()

    def _call(self, hub: Any, command: Command) -> dict[str, Any]:
        scenery = self.scenery
        key = {"idempotency_key": command.token} if scenery.idempotency_keys else {}
        if command.kind == "create_invoice":
            return hub.invoice.create_invoice(invoice_data(  # type: ignore[no-any-return]
                scenery.customer_id, title=f"故障演练 {command.token}", contract_id=scenery.contract_id, **key))
        if command.kind == "record_payment":
            return hub.customer.record_payment(  # type: ignore[no-any-return]
                payment_data(scenery.contract_id, reference=command.token, amount="10.00", **key))
        field_name = "amount" if command.kind == "update_amount" else "remarks"
        if command.checked:
            return hub.invoice.update_field(command.invoice_id, field_name, command.value,  # type: ignore[no-any-return]
                                            expected_version=command.expected_version)
        return hub.invoice.update_field(command.invoice_id, field_name, command.value)  # type: ignore[no-any-return]


def money_key(value: Any) -> str:
    """A stored amount (string, Decimal128, number) in the form the load wrote it."""
    to_decimal = getattr(value, "to_decimal", None)
    number = to_decimal() if to_decimal else Decimal(str(value))
    return f"{number.quantize(Decimal('0.01'))}"
