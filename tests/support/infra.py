"""Real infrastructure for tests: a private SecantusDB process, a private RabbitMQ
vhost, and service processes started with ``nameko run`` against them.

Tests never touch what ``make run`` left running: their own store on a free port with
in-memory storage, and their own vhost, both removed at the end.
"""
from __future__ import annotations

import atexit
import contextlib
import functools
import json
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
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
NAMEKO = str(Path(PYTHON).with_name("nameko"))
SECRET = "test-secret-0123456789-0123456789-abcdef"
RABBIT_HOST = os.environ.get("TEST_RABBIT_HOST", "127.0.0.1:5672")
TEST_RUN_DIR = tempfile.mkdtemp(prefix="test-run-")


SERVICES = ("customer", "invoice", "approval", "search", "gateway")  # each with its own key


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
    """A SecantusDB server of our own (ephemeral storage, sync on commit, transactions
    left open reaped after 3 s as in ``make run``: shared/secantus_server.py)."""

    def __init__(self, on_disk: bool = False) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="test-mongo-")
        self.log = open(Path(self.dir) / "mongo.log", "wb")
        self.storage = str(Path(self.dir) / "data") if on_disk else ":memory:"
        self.url = f"mongodb://127.0.0.1:{self.port}/?retryWrites=false"
        self._spawn()

    def _spawn(self, auth: bool = False) -> None:
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "shared.secantus_server", "--host", "127.0.0.1", "--port", str(self.port),
             "--storage-path", self.storage, "--sync-on-commit", "--log-level", "WARNING",
             *(["--auth"] if auth else [])],
            cwd=self.dir, stdout=self.log, stderr=subprocess.STDOUT,
            env=dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))))
        wait_for(self._ping, timeout=30, message="the test store to answer")

    def pause(self) -> None:
        """Stop the server, keeping its data (on_disk) and port for ``resume``."""
        self.proc.terminate()
        self.proc.wait(10)

    def resume(self) -> None:
        self._spawn()

    def restart(self, auth: bool) -> None:
        """Stop and start again on the same (on-disk) data, with or without ``--auth``."""
        self.pause()
        self._spawn(auth)

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


def import_definitions(wanted: dict[str, Any]) -> None:
    """``rabbitmqctl import_definitions`` (this RabbitMQ reads a file, not stdin, and
    imports in the background): returns once every topic permission is in place."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="test-definitions-") as handle:
        json.dump(wanted, handle)
        handle.flush()
        # rabbitmqctl reads it as the rabbitmq user; it holds salted hashes only
        os.chmod(handle.name, 0o644)
        subprocess.run(["rabbitmqctl", "-q", "import_definitions", handle.name], check=True,
                       capture_output=True, timeout=120)
    vhost = wanted["vhosts"][0]["name"]
    expected = {entry["user"] for entry in wanted["topic_permissions"]}

    def imported() -> bool:
        listed = subprocess.run(["rabbitmqctl", "-q", "list_topic_permissions", "-p", vhost],
                                capture_output=True, text=True, timeout=60)
        return listed.returncode == 0 and \
            expected <= {line.split("\t")[0] for line in listed.stdout.splitlines()}
    wait_for(imported, timeout=90, interval=0.5, message=f"the accounts of {vhost}")


class RabbitVhost:
    """A private vhost with its own accounts (shared.broker_accounts), created in one
    ``rabbitmqctl import_definitions`` and deleted at the end.

    ``amqp_uri`` is guest's (the test harness: publishing forged events, peeking at
    queues); ``service_uri(name)`` each service's own account; ``client_uri`` the
    internal-caller account the test clients use."""

    def __init__(self) -> None:
        from shared.broker_accounts import CALLERS, CLIENT_USER, SERVICES, definitions
        self.name = f"test-{uuid.uuid4().hex[:12]}"
        self.prefix = f"{self.name}-"
        self.client_user = f"{self.prefix}{CLIENT_USER}"
        accounts = (*SERVICES, *CALLERS)  # CALLERS: the gateway's RPC-caller account
        self.passwords = {name: uuid.uuid4().hex for name in (*accounts, self.client_user)}
        self.users = [f"{self.prefix}{name}" for name in accounts] + [self.client_user]
        guest = {"user": "guest", "configure": ".*", "write": ".*", "read": ".*"}
        wanted = definitions(self.name, self.passwords, prefix=self.prefix,
                             client_user=self.client_user, extra_permissions=[guest])
        import_definitions(wanted)
        self.amqp_uri = f"amqp://guest:guest@{RABBIT_HOST}/{self.name}"
        self.client_uri = self._uri(self.client_user, self.passwords[self.client_user])

    def _uri(self, user: str, password: str) -> str:
        return f"amqp://{quote(user, safe='')}:{password}@{RABBIT_HOST}/{quote(self.name, safe='')}"

    def service_uri(self, service: str) -> str:
        return self._uri(f"{self.prefix}{service}", self.passwords[service])

    def delete(self) -> None:
        """The vhost and its accounts in one ``rabbitmqctl eval``: each rabbitmqctl call
        starts an Erlang VM, seconds on a busy machine."""
        names = ", ".join(f'<<"{user}">>' for user in self.users)
        answer = subprocess.run(
            ["rabbitmqctl", "-q", "eval",
             f'{{rabbit_vhost:delete(<<"{self.name}">>, <<"tests">>), '
             f'[rabbit_auth_backend_internal:delete_user(U, <<"tests">>) || U <- [{names}]]}}.'],
            check=True, capture_output=True, text=True, timeout=60).stdout.strip()
        if not answer.startswith("{ok,"):
            raise RuntimeError(f"deleting vhost {self.name}: {answer}")


def service_env(amqp_uri: str | RabbitVhost, mongo_url: str, db_prefix: str) -> dict[str, str]:
    """The environment of service processes; given a RabbitVhost, each service runs on
    its own broker account (``AMQP_URI_<SERVICE>``, picked by ServiceProcess)."""
    env = dict(os.environ)
    if isinstance(amqp_uri, RabbitVhost):
        from shared.broker_accounts import CALLERS, SERVICES
        env.update({f"AMQP_URI_{name.upper()}": amqp_uri.service_uri(name)
                    for name in (*SERVICES, *CALLERS)})
        amqp_uri = amqp_uri.amqp_uri
    env.update({
        "AMQP_URI": amqp_uri, "MONGO_URL": mongo_url, "MONGO_DB_PREFIX": db_prefix,
        "INVOICE_AUTH_SECRET": SECRET, "INVOICE_DEV_MODE": "1", "LOG_LEVEL": "INFO",
        "EVENT_KEYS_DIR": str(keys_dir()),
        "PYTHONPATH": os.pathsep.join(str(ROOT / p) for p in
                                      (".", "services/invoice", "services/customer",
                                       "services/approval", "services/search",
                                       "services/gateway")),
        "PYTHONWARNINGS": "ignore", "APPROVAL_TIMEOUT_CHECK_SECONDS": "0.3",
        "APPROVAL_WEBHOOK_POLL_SECONDS": "0.2", "APPROVAL_WEBHOOK_RETRY_BASE_SECONDS": "0.2",
        "APPROVAL_WEBHOOK_LEASE_SECONDS": "2",
        # health/metrics ports are free ports; their port files go to a directory of the
        # test session's own (never the checkout's var/run)
        "WEB_SERVER_ADDRESS": "127.0.0.1:0", "RUN_DIR": TEST_RUN_DIR, "LOG_FORMAT": "json",
    })
    return env


class ServiceProcess:
    """One ``nameko run`` process of one service."""

    def __init__(self, name: str, env: dict[str, str], log_dir: str) -> None:
        self.name = name
        self.env = env
        self.log_path = Path(log_dir) / f"{name}-{uuid.uuid4().hex[:6]}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._terminated = False

    def start(self) -> ServiceProcess:
        log = open(self.log_path, "ab")
        self._terminated = False
        env = dict(self.env)
        env["AMQP_URI"] = env.get(f"AMQP_URI_{self.name.upper()}") or env["AMQP_URI"]
        self.proc = subprocess.Popen(
            [NAMEKO, "run", "--config", str(ROOT / "services" / self.name / "config.yaml"),
             f"{self.name}.service"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        self.terminate()
        self.wait_stopped()

    def terminate(self) -> None:
        """SIGTERM, once: nameko stops gracefully; a second SIGTERM would make it kill its
        workers instead."""
        if self.alive() and not self._terminated:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGTERM)
            self._terminated = True

    def wait_stopped(self) -> None:
        """Wait for the process to end after ``terminate`` (SIGKILL after 15 s)."""
        if self.alive():
            assert self.proc is not None
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


class PrivateRabbit:
    """A RabbitMQ node of our own (own name, ports, data and config), for tests that
    stop the broker: the shared one is never stopped. Needs root (rabbitmq-server drops
    to the rabbitmq user, which must write the data directory)."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="test-rabbit-node-")
        os.chmod(self.dir, 0o777)
        self.port, dist_port = free_port(), free_port()
        self.node = f"test{uuid.uuid4().hex[:10]}@localhost"
        config = Path(self.dir) / "rabbitmq.conf"
        config.write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        plugins = Path(self.dir) / "enabled_plugins"
        plugins.write_text("[].\n")
        for path in (config, plugins):
            os.chmod(path, 0o644)
        env = dict(os.environ, RABBITMQ_NODENAME=self.node, RABBITMQ_NODE_PORT=str(self.port),
                   RABBITMQ_DIST_PORT=str(dist_port), RABBITMQ_CONFIG_FILE=str(config),
                   RABBITMQ_MNESIA_BASE=f"{self.dir}/mnesia", RABBITMQ_LOG_BASE=f"{self.dir}/log",
                   RABBITMQ_ENABLED_PLUGINS_FILE=str(plugins), RABBITMQ_PID_FILE=f"{self.dir}/pid")
        subprocess.run(["rabbitmq-server", "-detached"], env=env, check=True, capture_output=True, timeout=60)
        try:
            # await_startup fails at once (69) until the node has registered with epmd
            wait_for(lambda: self.ctl("await_startup", "--timeout", "30") is None, timeout=90,
                     interval=0.5, message=f"RabbitMQ node {self.node}")
        except BaseException:
            self.stop()
            raise
        self.amqp_uri = f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def ctl(self, *args: str) -> None:
        subprocess.run(["rabbitmqctl", "-n", self.node, *args], check=True, capture_output=True, timeout=90)

    def stop_app(self) -> None:
        self.ctl("stop_app")

    def start_app(self) -> None:
        self.ctl("start_app")

    def stop(self) -> None:
        try:
            self.ctl("stop")
        except subprocess.CalledProcessError:
            # not up (yet): stop it by its pid file, never by name
            pid_file = Path(self.dir) / "pid"
            if pid_file.exists():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
