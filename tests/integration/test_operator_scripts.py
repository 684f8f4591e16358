"""The operator scripts tell the truth about the broker and store they were pointed at
(issue 9, finding #8): scripts/rabbitmq.sh checks AMQP_URI's port, `mongo.sh status`
prints the port its store runs on, `shared.dlq show` of a missing queue is one clean
line, `shared.dlq list` asks the node that serves AMQP_URI.

The shell scripts run in a scratch copy of the repository root (tests/support/scratch.py)."""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kombu import Connection

from tests.support.infra import PYTHON, ROOT, PrivateRabbit, free_port
from tests.support.scratch import clean_env, make_scratch_root, script

needs_private_node = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("rabbitmq-server") is None,
    reason="a private RabbitMQ node needs root and rabbitmq-server")


@pytest.fixture
def scratch_root(tmp_path: Path) -> Path:
    return make_scratch_root(tmp_path)


def dlq(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "shared.dlq", *args], cwd=ROOT, env=clean_env(),
                          capture_output=True, text=True, timeout=timeout)


# -- scripts/mongo.sh -------------------------------------------------------------
@pytest.fixture
def scratch_store(scratch_root: Path) -> Iterator[tuple[Path, int]]:
    """SecantusDB started by scratch_root's mongo.sh on a free port (users marked made:
    status needs none)."""
    port = free_port()
    (scratch_root / "var" / "mongo.users-provisioned").touch()
    env = clean_env(MONGO_PORT=str(port), MONGO_WAIT_SECONDS="90")
    started = script(scratch_root, "mongo.sh", "start", env=env)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield scratch_root, port
    finally:
        script(scratch_root, "mongo.sh", "stop", env=env, timeout=60)
        pid_file = scratch_root / "var" / "run" / "mongo.pid"
        if pid_file.exists():  # stop did not: ours by its pid file
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)


def test_mongo_status_prints_the_port_the_store_runs_on(scratch_store: tuple[Path, int]) -> None:
    root, port = scratch_store

    # a later shell without MONGO_PORT: the store still runs on its own port
    status = script(root, "mongo.sh", "status", env=clean_env())

    assert status.returncode == 0, status.stderr
    assert f"127.0.0.1:{port}" in status.stdout
    assert "27017" not in status.stdout


# -- scripts/rabbitmq.sh ----------------------------------------------------------
def test_rabbitmq_script_checks_the_port_amqp_uri_names(scratch_root: Path) -> None:
    port = free_port()  # nothing listens there

    result = script(scratch_root, "rabbitmq.sh",
                    env=clean_env(AMQP_URI=f"amqp://guest:guest@127.0.0.1:{port}/",
                                  RABBITMQ_WAIT_SECONDS="5"))

    assert result.returncode != 0, result.stdout
    assert f"127.0.0.1:{port}" in result.stderr
    assert "running on 127.0.0.1:5672" not in result.stdout


# -- shared.dlq -------------------------------------------------------------------
def test_dlq_show_of_a_missing_queue_is_one_clean_line(vhost: Any) -> None:
    queue = f"missing-{uuid.uuid4().hex[:8]}.dlq"

    result = dlq("--amqp-uri", vhost.amqp_uri, "show", queue)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0 and queue in result.stderr


def test_dlq_replay_of_a_missing_queue_is_one_clean_line(vhost: Any) -> None:
    queue = f"missing-{uuid.uuid4().hex[:8]}.dlq"

    result = dlq("--amqp-uri", vhost.amqp_uri, "replay", queue)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr and queue in result.stderr


def test_dlq_says_so_when_the_broker_does_not_answer() -> None:
    result = dlq("--amqp-uri", f"amqp://guest:guest@127.0.0.1:{free_port()}/", "show", "x.dlq")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "cannot reach" in result.stderr


@pytest.fixture(scope="module")
def private_node() -> Iterator[PrivateRabbit]:
    node = PrivateRabbit()
    try:
        yield node
    finally:
        node.stop()


@needs_private_node
def test_dlq_list_asks_the_node_that_serves_amqp_uri(private_node: PrivateRabbit) -> None:
    queue = f"evt-test--only-{uuid.uuid4().hex[:8]}.on_event.dlq"
    with Connection(private_node.amqp_uri) as connection:
        channel = connection.channel()
        channel.queue_declare(queue, durable=True)
        channel.basic_publish(channel.prepare_message(b"{}"), exchange="", routing_key=queue)

    listed = dlq("--amqp-uri", private_node.amqp_uri, "list")

    assert listed.returncode == 0, listed.stderr
    assert queue in listed.stdout


@needs_private_node
def test_rabbitmq_script_reports_the_broker_of_amqp_uri(private_node: PrivateRabbit,
                                                        scratch_root: Path) -> None:
    result = script(scratch_root, "rabbitmq.sh",
                    env=clean_env(AMQP_URI=private_node.amqp_uri, RABBITMQ_WAIT_SECONDS="30"))

    assert result.returncode == 0, result.stderr
    assert f"127.0.0.1:{private_node.port}" in result.stdout
