"""kill -9 of a writer in the middle of its append transaction (issue 9, finding 3).

The killed process's transaction stays open on the store until the store reaps it;
every document it touched stays taken until then. Other writers of the same store must
be delayed by at most ``MAX_DELAY`` seconds, not the store's default 60."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import pymongo
import pytest
from pymongo.errors import PyMongoError

from shared.events.envelope import Metadata, PendingEvent, StreamHead
from shared.events.store import EventStore
from shared.mongo import connect, database
from tests.support.infra import ROOT, MongoProcess, signing_key

MAX_DELAY = 5.0  # the bound on the delay a killed writer may cause
SLACK = 1.5      # scheduling on a shared 2-core machine
DB = "faults_store"
META = Metadata(actor={"id": "u1", "name": "Ann"}, correlation_id="corr-kill")

# A writer on the real append path that stops inside its transaction (the ``also``
# callback runs after the events and the position are written, before the commit).
PAUSED_WRITER = textwrap.dedent("""
    import os, sys, time
    from shared.events.envelope import Metadata, PendingEvent, StreamHead
    from shared.events.store import EventStore
    from shared.keys import load_signing_key
    from shared.mongo import connect, database

    store = EventStore(database(connect(sys.argv[1]), sys.argv[2]),
                       load_signing_key(os.environ, "invoice"))

    def pause(session, envelopes):
        print("inside", flush=True)
        time.sleep(600)

    store.append(sys.argv[3], "thing", StreamHead(), [PendingEvent("Opened", {})],
                 Metadata(actor={"id": "u2", "name": "Bo"}), also=pause)
""")


@pytest.fixture
def server() -> Iterator[MongoProcess]:
    """A store of this test's own: a transaction left open must not hold up other tests."""
    started = MongoProcess()
    yield started
    started.stop()


@pytest.fixture
def store(server: MongoProcess) -> Iterator[EventStore]:
    client = connect(server.url)
    created = EventStore(database(client, DB), signing_key("invoice"))
    created.ensure_indexes()
    append(created, "warm-up")  # the counter and the collections exist
    yield created
    client.close()


def append(store: EventStore, stream_id: str) -> list[dict[str, Any]]:
    return store.append(stream_id, "thing", StreamHead(), [PendingEvent("Opened", {})], META)


def kill_inside_a_transaction(server: MongoProcess, stream_id: str) -> None:
    """Start a writer, wait until it is inside its append transaction, kill -9 it."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    writer = subprocess.Popen([sys.executable, "-c", PAUSED_WRITER, server.url, DB, stream_id],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        line = writer.stdout.readline() if writer.stdout else ""
        assert line.strip() == "inside", f"the writer did not start: {writer.stderr.read() if writer.stderr else ''}"
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(10)
        for pipe in (writer.stdout, writer.stderr):
            if pipe is not None:
                pipe.close()


def timed_append(store: EventStore, stream_id: str, give_up_after: float) -> float:
    """Seconds one append took; fails the test once it has waited ``give_up_after``."""
    started = time.monotonic()
    try:
        with pymongo.timeout(give_up_after):
            append(store, stream_id)
    except PyMongoError as exc:
        pytest.fail(f"an append still waited after {time.monotonic() - started:.1f}s "
                    f"behind the killed writer's transaction: {exc!r}")
    return time.monotonic() - started


def test_a_writer_killed_inside_its_transaction_delays_other_writers_at_most_five_seconds(
        server: MongoProcess, store: EventStore) -> None:
    kill_inside_a_transaction(server, "killed-stream")

    waited = timed_append(store, "other-stream", give_up_after=MAX_DELAY + SLACK)

    assert waited < MAX_DELAY + SLACK
    assert store.stream("killed-stream") == []  # the killed append left nothing behind
    assert [e["stream_id"] for e in store.read_all()] == ["warm-up", "other-stream"]


def test_the_killed_writers_own_stream_is_writable_again_within_five_seconds(
        server: MongoProcess, store: EventStore) -> None:
    kill_inside_a_transaction(server, "retried-stream")

    waited = timed_append(store, "retried-stream", give_up_after=MAX_DELAY + SLACK)

    assert waited < MAX_DELAY + SLACK
    assert [e["version"] for e in store.stream("retried-stream")] == [1]
    positions = [e["position"] for e in store.read_all()]
    assert positions == sorted(set(positions))
