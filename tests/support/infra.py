"""Real infrastructure for tests: a private SecantusDB process, a private RabbitMQ
vhost, and service processes started with ``nameko run`` against them.

Tests never touch what ``make run`` left running: their own store on a free port with
in-memory storage, and their own vhost, both removed at the end.
"""
from __future__ import annotations

import atexit
import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
NAMEKO = str(Path(PYTHON).with_name("nameko"))
SECRET = "test-secret-0123456789-0123456789-abcdef"
RABBIT_HOST = os.environ.get("TEST_RABBIT_HOST", "127.0.0.1:5672")


SERVICES = ("customer", "invoice", "approval", "search")  # each with its own key


@functools.cache
def keys_dir() -> Path:
    """This test run's event signing keys (one pair per service, made once, removed at
    exit); the services and the in-process stores of the tests sign with them."""
    from shared.keys import ensure
    made = Path(tempfile.mkdtemp(prefix="test-keys-"))
    atexit.register(shutil.rmtree, made, True)
    ensure(made, SERVICES)
    return made


def signing_key(service: str) -> Any:
    """``service``'s signing key in the test keys (made on first use)."""
    from shared.keys import ensure, load_signing_key
    ensure(keys_dir(), [service])
    return load_signing_key({"EVENT_KEYS_DIR": str(keys_dir())}, service)


def key_ring() -> Any:
    from shared.keys import KeyRing, public_dir
    return KeyRing.from_dir(public_dir(keys_dir()))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class GaveUp(Exception):
    """Raised inside a wait_for condition to stop waiting at once (a process died)."""


def wait_for(condition: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05,
             message: str = "condition") -> Any:
    """Poll until ``condition()`` is truthy (returning it); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = condition()
            if result:
                return result
        except GaveUp:
            raise
        except Exception as exc:  # noqa: BLE001 - keep polling, report the last one
            last_error = exc
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {message}; last error: {last_error!r}")


class MongoProcess:
    """A SecantusDB server of our own (ephemeral storage, sync on commit)."""

    def __init__(self, on_disk: bool = False) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="test-mongo-")
        self.log = open(Path(self.dir) / "mongo.log", "wb")
        storage = str(Path(self.dir) / "data") if on_disk else ":memory:"
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "secantus", "--host", "127.0.0.1", "--port", str(self.port),
             "--storage-path", storage, "--sync-on-commit", "--log-level", "WARNING"],
            cwd=self.dir, stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"mongodb://127.0.0.1:{self.port}/?retryWrites=false"
        wait_for(self._ping, timeout=30, message="the test store to answer")

    def _ping(self) -> bool:
        import pymongo
        client: pymongo.MongoClient[Any] = pymongo.MongoClient(self.url, serverSelectionTimeoutMS=500)
        try:
            client.admin.command("ping")
            return True
        finally:
            client.close()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class RabbitVhost:
    """A private vhost, created and deleted with rabbitmqctl."""

    def __init__(self) -> None:
        self.name = f"test-{uuid.uuid4().hex[:12]}"
        self._ctl("add_vhost", self.name)
        self._ctl("set_permissions", "-p", self.name, "guest", ".*", ".*", ".*")
        self.amqp_uri = f"amqp://guest:guest@{RABBIT_HOST}/{self.name}"

    @staticmethod
    def _ctl(*args: str) -> None:
        subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)

    def delete(self) -> None:
        self._ctl("delete_vhost", self.name)


def service_env(amqp_uri: str, mongo_url: str, db_prefix: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "AMQP_URI": amqp_uri, "MONGO_URL": mongo_url, "MONGO_DB_PREFIX": db_prefix,
        "INVOICE_AUTH_SECRET": SECRET, "INVOICE_DEV_MODE": "1", "LOG_LEVEL": "INFO",
        "EVENT_KEYS_DIR": str(keys_dir()),
        "PYTHONPATH": os.pathsep.join(str(ROOT / p) for p in
                                      (".", "services/invoice", "services/customer",
                                       "services/approval", "services/search")),
        "PYTHONWARNINGS": "ignore", "APPROVAL_TIMEOUT_CHECK_SECONDS": "0.3",
        "APPROVAL_WEBHOOK_POLL_SECONDS": "0.2", "APPROVAL_WEBHOOK_RETRY_BASE_SECONDS": "0.2",
        "APPROVAL_WEBHOOK_LEASE_SECONDS": "2",
    })
    return env


class ServiceProcess:
    """One ``nameko run`` process of one service."""

    def __init__(self, name: str, env: dict[str, str], log_dir: str) -> None:
        self.name = name
        self.env = env
        self.log_path = Path(log_dir) / f"{name}-{uuid.uuid4().hex[:6]}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServiceProcess:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [NAMEKO, "run", "--config", str(ROOT / "services" / self.name / "config.yaml"),
             f"{self.name}.service"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def kill9(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait(5)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
