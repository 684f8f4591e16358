"""The consumer base in real nameko containers on real RabbitMQ and the real store:
duplicates and shuffled versions converge to one in-order application; failures end
up on a dead-letter queue instead of vanishing; two instances apply each event once;
only events signed by their producer, in its chain, are ever applied; a batched
consumer applies many queued events per store transaction, one bad event parked alone."""
from __future__ import annotations

import random
import subprocess
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from kombu import Connection
from nameko.extensions import DependencyProvider
from nameko.standalone.events import get_event_exchange
from prometheus_client import REGISTRY
from pymongo import MongoClient, monitoring
from pymongo.database import Database

from shared import metrics
from shared.auth import bearer, service_token
from shared.dlq import main as dlq_main
from shared.events.catchup import catch_up
from shared.events.consumer import (
    ATTEMPTS_HEADER,
    ERROR_HEADER,
    Rejected,
    StreamTracker,
    event_stream,
    queue_name,
    signatures_of,
)
from shared.events.envelope import Metadata, PendingEvent, StreamHead, compute_hash, envelope_to_wire
from shared.events.relay import AmqpPublisher
from shared.events.store import EventStore
from shared.mongo import COUNT_COMMANDS_ENV, connect, database
from shared.rpc import CurrentActor
from tests.support.infra import SECRET, key_ring, keys_dir, signing_key, wait_for

META = Metadata(actor={"id": "u1", "name": "Ann"})


class Projection(DependencyProvider):
    """Hands the test's database and tracker to the handler."""

    def __init__(self, db: Database[Any], source: EventStore) -> None:
        self.db, self.source = db, source

    def get_dependency(self, worker_ctx: Any) -> Projection:
        return self

    def apply(self, envelope: Any, tx: Any) -> None:
        self.db["things"].update_one({"_id": envelope["stream_id"]},
                                     {"$push": {"versions": envelope["version"],
                                                "data": envelope["data"]}},
                                     upsert=True, session=tx.session)

    def fetch(self, stream_id: str, after_version: int) -> list[dict[str, Any]]:
        return [envelope_to_wire(e) for e in self.source.stream(stream_id, after_version=after_version)]


def consumer_service(source_service: str, db: Database[Any], source: EventStore,
                     fail: bool = False) -> type:
    class ProjectorService:
        name = f"projector{uuid.uuid4().hex[:6]}"
        projection = Projection(db, source)
        actor = CurrentActor()  # as in the real services: must not break event workers

        @event_stream(source_service, max_attempts=2)
        def on_event(self, envelope: dict[str, Any]) -> None:
            if fail:
                raise RuntimeError("cannot apply this")
            StreamTracker(db, "test", signatures_of(config(None), source_service)).handle(
                envelope, self.projection.apply, self.projection.fetch)

    return ProjectorService


def config(vhost: Any) -> dict[str, Any]:
    return {"AMQP_URI": vhost.amqp_uri if vhost else None, "serializer": "json",
            "AUTH_SECRET": SECRET, "EVENT_KEYS_DIR": str(keys_dir())}


def stored_streams(store: EventStore, streams: int, versions: int) -> list[dict[str, Any]]:
    events = []
    for _ in range(streams):
        stream, head = f"s-{uuid.uuid4().hex[:8]}", StreamHead()
        for version in range(versions):
            batch = store.append(stream, "thing", head, [PendingEvent("Happened", {"v": version})], META)
            head = StreamHead.of(batch)
            events += batch
    return events


@pytest.fixture
def source_service() -> str:
    return f"source{uuid.uuid4().hex[:6]}"


@pytest.fixture
def store(db: Database[Any], source_service: str) -> EventStore:
    """The source service's store: its events are signed with its own key."""
    created = EventStore(db, signing_key(source_service), keys=key_ring())
    created.ensure_indexes()
    return created


def publish_all(vhost: Any, source_service: str, events: list[dict[str, Any]]) -> None:
    publisher = AmqpPublisher(vhost.amqp_uri, source_service, {})
    for envelope in events:
        publisher.publish(envelope)
    publisher.close()


def until_projected(db: Database[Any], events: list[dict[str, Any]]) -> Callable[[], bool]:
    expected = {}
    for e in events:
        expected.setdefault(e["stream_id"], []).append(e["version"])

    def done() -> bool:
        return {d["_id"]: d["versions"] for d in db["things"].find()} == expected
    return done


def drained(vhost: Any, consumer: str) -> bool:
    """Every queue of the consuming service is empty and holds no unacknowledged delivery:
    every copy published has been handled, so "applied once" is judged after the
    duplicates too. (The vhost is the session's: other tests' queues are left out.)"""
    listing = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "-p", vhost.name, "name", "messages_ready",
         "messages_unacknowledged", "--no-table-headers"],
        check=True, capture_output=True, text=True, timeout=60).stdout
    rows = [line.split() for line in listing.splitlines() if f"--{consumer}." in line]
    return bool(rows) and all(row[1:] == ["0", "0"] for row in rows)


def test_duplicated_and_shuffled_events_are_applied_once_in_version_order(
        container_factory: Any, vhost: Any, db: Database[Any], store: EventStore,
        source_service: str) -> None:
    events = stored_streams(store, streams=4, versions=5)
    service = consumer_service(source_service, db, store)
    container = container_factory(service, config(vhost))
    container.start()

    messy = events + random.sample(events, len(events) // 2)
    random.shuffle(messy)
    publish_all(vhost, source_service, messy)

    wait_for(lambda: drained(vhost, service.name), timeout=30, interval=0.2,
             message="the queues to drain")
    wait_for(until_projected(db, events), timeout=30, message="the projection to converge")


def test_two_instances_apply_each_event_exactly_once(
        container_factory: Any, vhost: Any, db: Database[Any], store: EventStore,
        source_service: str) -> None:
    events = stored_streams(store, streams=6, versions=4)
    service = consumer_service(source_service, db, store)
    for _ in range(2):
        container_factory(service, config(vhost)).start()

    publish_all(vhost, source_service, events + events)

    wait_for(lambda: drained(vhost, service.name), timeout=30, interval=0.2,
             message="the queues to drain")
    wait_for(until_projected(db, events), timeout=30, message="both instances to converge")


def test_a_failing_event_is_retried_then_parked_on_the_dead_letter_queue(
        container_factory: Any, vhost: Any, db: Database[Any], store: EventStore,
        source_service: str) -> None:
    events = stored_streams(store, streams=1, versions=1)
    service = consumer_service(source_service, db, store, fail=True)
    container_factory(service, config(vhost)).start()

    publish_all(vhost, source_service, events)

    dlq = f"{queue_name(source_service, service.name, 'on_event')}.dlq"
    with Connection(vhost.amqp_uri) as connection:
        def parked() -> Any:
            channel = connection.channel()
            try:
                channel.queue_declare(dlq, passive=True)
            except Exception:  # noqa: BLE001 - not declared yet
                return None
            return connection.SimpleQueue(dlq).get(timeout=1)
        message = wait_for(parked, timeout=30, message="the event on the dead-letter queue")
        message.ack()
    assert message.payload["event_id"] == events[0]["event_id"]
    assert message.headers[ATTEMPTS_HEADER] == 2
    assert "cannot apply this" in message.headers[ERROR_HEADER]


def test_an_operator_replays_parked_events_once_the_cause_is_fixed(
        container_factory: Any, vhost: Any, db: Database[Any], store: EventStore,
        source_service: str) -> None:
    events = stored_streams(store, streams=2, versions=1)
    broken = consumer_service(source_service, db, store, fail=True)
    container = container_factory(broken, config(vhost))
    container.start()
    publish_all(vhost, source_service, events)
    dlq = f"{queue_name(source_service, broken.name, 'on_event')}.dlq"
    wait_for(lambda: parked_count(vhost, dlq) == 2, timeout=30, message="two parked events")
    container.stop()

    fixed = consumer_service(source_service, db, store)
    fixed.name = broken.name  # same service, new code: same queue
    container_factory(fixed, config(vhost)).start()
    assert dlq_main(["--amqp-uri", vhost.amqp_uri, "replay", dlq]) == 0

    wait_for(until_projected(db, events), timeout=30, message="the replayed events applied")
    assert parked_count(vhost, dlq) == 0


def publish_raw(vhost: Any, source_service: str, envelopes: list[dict[str, Any]],
                headers: dict[str, Any] | None = None) -> None:
    """Publish as anyone on the bus could: any body, any headers."""
    with Connection(vhost.amqp_uri) as connection:
        producer = connection.Producer()
        for envelope in envelopes:
            producer.publish(envelope_to_wire(envelope), exchange=get_event_exchange(source_service, {}),
                             routing_key=envelope["type"], serializer="json",
                             headers=headers or {}, declare=[])


def altered(envelope: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """``envelope`` changed and its hash recomputed (the signature is left as it was)."""
    forged = dict(envelope, **changes)
    forged["hash"] = compute_hash(forged)
    return forged


def test_a_forged_event_carrying_a_valid_service_token_is_parked_and_the_real_one_applied(
        container_factory: Any, vhost: Any, db: Database[Any], store: EventStore,
        source_service: str) -> None:
    # given v1 applied, and a forged v2 with a genuine service token in its headers
    events = stored_streams(store, streams=1, versions=2)
    service = consumer_service(source_service, db, store)
    container_factory(service, config(vhost)).start()
    publish_all(vhost, source_service, events[:1])
    wait_for(until_projected(db, events[:1]), timeout=30, message="v1 applied")
    forged = altered(envelope_to_wire(events[1]), data={"v": "FORGED"})
    token = bearer(service_token(signing_key(source_service)))

    # when the forgery comes first, then the real v2
    publish_raw(vhost, source_service, [forged], {"nameko.authorization": token})
    dlq = f"{queue_name(source_service, service.name, 'on_event')}.dlq"
    wait_for(lambda: parked_count(vhost, dlq) == 1, timeout=30, message="the forged event parked")
    publish_all(vhost, source_service, events[1:])

    # then only the real one is applied
    wait_for(until_projected(db, events), timeout=30, message="the real v2 applied")
    assert db["things"].find_one()["data"] == [{"v": 0}, {"v": 1}]


def test_an_event_signed_by_another_service_or_unsigned_is_parked_unapplied(
        container_factory: Any, vhost: Any, db: Database[Any], store: EventStore,
        source_service: str) -> None:
    events = stored_streams(store, streams=1, versions=1)
    service = consumer_service(source_service, db, store)
    container_factory(service, config(vhost)).start()
    other = signing_key("customer")
    re_signed = dict(envelope_to_wire(events[0]), key_id=other.key_id,
                     signature=other.sign(events[0]["hash"]))
    unsigned = dict(envelope_to_wire(events[0]), key_id=None, signature=None)

    publish_raw(vhost, source_service, [re_signed, unsigned])

    dlq = f"{queue_name(source_service, service.name, 'on_event')}.dlq"
    wait_for(lambda: parked_count(vhost, dlq) == 2, timeout=30, message="both events parked")
    assert db["things"].count_documents({}) == 0


def test_an_event_moved_to_a_far_position_is_parked_and_moves_no_checkpoint(
        container_factory: Any, vhost: Any, db: Database[Any], store: EventStore,
        source_service: str) -> None:
    events = stored_streams(store, streams=1, versions=1)
    service = consumer_service(source_service, db, store)
    container_factory(service, config(vhost)).start()

    publish_raw(vhost, source_service, [altered(envelope_to_wire(events[0]), position=10**9)])

    dlq = f"{queue_name(source_service, service.name, 'on_event')}.dlq"
    wait_for(lambda: parked_count(vhost, dlq) == 1, timeout=30, message="the moved event parked")
    assert db["things"].count_documents({}) == 0
    assert db["consumer_positions"].count_documents({}) == 0
    assert db["tracking"].count_documents({}) == 0


def test_an_event_without_any_token_is_applied_when_its_producer_signed_it(
        container_factory: Any, vhost: Any, db: Database[Any], store: EventStore,
        source_service: str) -> None:
    events = stored_streams(store, streams=1, versions=2)
    container_factory(consumer_service(source_service, db, store), config(vhost)).start()

    publish_raw(vhost, source_service, events)

    # A dependency raising while a worker is set up would kill the container: nothing applied.
    wait_for(until_projected(db, events), timeout=30, message="the signed events applied")


def test_a_signed_event_that_does_not_follow_the_applied_version_is_rejected(
        db: Database[Any], store: EventStore, source_service: str) -> None:
    # given v1 applied
    events = stored_streams(store, streams=1, versions=1)
    projection = Projection(db, store)
    tracker = StreamTracker(db, "chain-test", signatures_of(config(None), source_service))
    tracker.handle(events[0], projection.apply, projection.fetch)
    # when a v2 signed with the producer's key but linked to another v1 arrives
    key = signing_key(source_service)
    fork = dict(events[0], event_id=uuid.uuid4().hex, version=2, position=events[0]["position"] + 1,
                prev_hash="f" * 64)
    fork["hash"] = compute_hash(fork)
    fork["signature"] = key.sign(fork["hash"])

    # then it is rejected, and nothing moves
    with pytest.raises(Rejected):
        tracker.handle(fork, projection.apply, projection.fetch)
    beyond = dict(fork, version=3)
    beyond["hash"] = compute_hash(beyond)
    beyond["signature"] = key.sign(beyond["hash"])
    with pytest.raises(Rejected, match="no such version"):
        tracker.handle(beyond, projection.apply, projection.fetch)
    assert tracker.applied_version(events[0]["stream_id"]) == 1
    assert db["things"].find_one()["versions"] == [1]


def parked_count(vhost: Any, queue: str) -> int:
    with Connection(vhost.amqp_uri) as connection:
        try:
            return int(connection.channel().queue_declare(queue, passive=True).message_count)
        except Exception:  # noqa: BLE001 - not declared yet
            return -1


def test_catching_up_applies_what_no_queue_delivered_and_is_harmless_to_repeat(
        db: Database[Any], store: EventStore) -> None:
    events = stored_streams(store, streams=3, versions=3)
    projection = Projection(db, store)
    tracker = StreamTracker(db, "catch-up-test")

    def read_page(after: int, limit: int) -> dict[str, Any]:
        page = [envelope_to_wire(e) for e in store.read_all(after_position=after, limit=limit)]
        return {"events": page, "last_position": page[-1]["position"] if page else after}

    first = catch_up(tracker, projection.apply, read_page, projection.fetch, page_size=4)
    again = catch_up(tracker, projection.apply, read_page, projection.fetch, page_size=4)

    assert first == len(events) and again == 0
    assert until_projected(db, events)()


class Commits(monitoring.CommandListener):
    """Counts the store transactions a client committed (``commitTransaction`` answered)."""

    def __init__(self) -> None:
        self.count = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        pass

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        if event.command_name == "commitTransaction":
            self.count += 1

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture
def counted(mongo_server: Any, db: Database[Any]) -> Any:
    """The test's database through a client that counts its committed transactions."""
    commits = Commits()
    client: MongoClient[Any] = MongoClient(mongo_server.url, event_listeners=[commits])
    yield database(client, db.name), commits
    client.close()


POISON = "POISON"


def batched_service(source_service: str, db: Database[Any], source: EventStore) -> type:
    """A consumer applying its deliveries in batches; an event whose data is POISON
    cannot be applied."""
    projection = Projection(db, source)

    def apply(envelope: Any, session: Any) -> None:
        if envelope["data"].get("v") == POISON:
            raise RuntimeError("cannot apply this one")
        projection.apply(envelope, session)

    class BatchedProjector:
        name = f"batched{uuid.uuid4().hex[:6]}"
        actor = CurrentActor()

        @event_stream(source_service, max_attempts=2, batch=True)
        def on_event(self, envelopes: list[dict[str, Any]]) -> None:
            StreamTracker(db, "test", signatures_of(config(None), source_service)).handle_batch(
                envelopes, apply, projection.fetch)

    return BatchedProjector


def test_a_batched_consumer_applies_queued_events_once_in_order_in_fewer_transactions(
        container_factory: Any, vhost: Any, counted: Any, store: EventStore,
        source_service: str) -> None:
    # given 60 events of 6 streams published (and a third of them again) before the
    # consumer starts: its queue holds them all
    db, commits = counted
    events = stored_streams(store, streams=6, versions=10)
    service = batched_service(source_service, db, store)
    container = container_factory(service, config(vhost))
    container.start()
    container.stop()  # the queue is declared; now fill it
    publish_all(vhost, source_service, events + random.sample(events, len(events) // 3))

    # when the consumer runs
    commits.count = 0
    container_factory(service, config(vhost)).start()

    # then every event is applied once, in version order, in far fewer transactions
    wait_for(lambda: drained(vhost, service.name), timeout=30, interval=0.2,
             message="the queue to drain")
    assert until_projected(db, events)()
    assert commits.count <= len(events) // 5, f"{commits.count} transactions for {len(events)} events"


def test_a_poisoned_event_in_a_batch_is_parked_and_the_others_are_applied(
        container_factory: Any, vhost: Any, db: Database[Any], store: EventStore,
        source_service: str) -> None:
    # given a queue holding 20 good events and, among them, one that cannot be applied
    good = stored_streams(store, streams=4, versions=5)
    poisoned = store.append(f"s-{uuid.uuid4().hex[:8]}", "thing", StreamHead(),
                            [PendingEvent("Happened", {"v": POISON})], META)
    service = batched_service(source_service, db, store)
    container = container_factory(service, config(vhost))
    container.start()
    container.stop()
    publish_all(vhost, source_service, good[:10] + poisoned + good[10:])

    # when the consumer runs
    container_factory(service, config(vhost)).start()

    # then the poisoned one is parked after its attempts, and all the others applied once,
    # none of them retried
    queue = queue_name(source_service, service.name, "on_event")
    dlq = f"{queue}.dlq"
    wait_for(lambda: parked_count(vhost, dlq) == 1, timeout=30, message="the poisoned event parked")
    with Connection(vhost.amqp_uri) as connection:
        message = connection.SimpleQueue(dlq).get(timeout=5)
        message.ack()
    assert message.payload["event_id"] == poisoned[0]["event_id"]
    assert message.headers[ATTEMPTS_HEADER] == 2
    wait_for(lambda: drained(vhost, service.name), timeout=30, interval=0.2,
             message="the queues to drain")
    assert until_projected(db, good)()
    assert failures(queue, "retried") == 1 and failures(queue, "parked") == 1
    assert failures(queue, "batch_split") >= 1


def failures(queue: str, result: str) -> float:
    return REGISTRY.get_sample_value("crm_queue_failures_total", {"queue": queue, "result": result}) or 0


def test_applying_the_next_event_reads_its_stream_checkpoint_once(
        db: Database[Any], store: EventStore, mongo_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # given a stream of three events, v1 applied by a tracker whose client counts commands
    monkeypatch.setenv(COUNT_COMMANDS_ENV, "1")
    client = connect(mongo_server.url)
    counted = database(client, db.name)
    events = stored_streams(store, streams=1, versions=3)
    projection = Projection(counted, store)
    tracker = StreamTracker(counted, "one-read-test")
    tracker.handle(events[0], projection.apply, projection.fetch)
    reads = metrics.STORE_COMMANDS.labels(db.name, "find", "tracking")
    before = reads._value.get()

    # when v2 and v3 arrive, then a repeated v3
    applied = [tracker.handle(e, projection.apply, projection.fetch) for e in (events[1], events[2], events[2])]

    # then each costs one checkpoint read, not one outside and one inside its transaction
    assert applied == [1, 1, 0]
    assert reads._value.get() - before == 3
    assert db["things"].find_one()["versions"] == [1, 2, 3]
    client.close()
