"""The outbox relay against real RabbitMQ and the real store: stored events reach the
exchange in order, a broken broker delays but loses nothing, one relay at a time."""
from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from amqp.exceptions import ChannelError
from kombu import Connection
from kombu.exceptions import OperationalError

from shared.events.envelope import Metadata, PendingEvent, StreamHead, compute_hash, envelope_to_wire
from shared.events.relay import AmqpPublisher, OutboxRelay
from shared.events.store import EventStore
from tests.support.amqp import EventTap
from tests.support.infra import free_port, wait_for

META = Metadata(actor={"id": "u1", "name": "Ann"})


@pytest.fixture
def service_name() -> str:
    return f"relaytest{uuid.uuid4().hex[:6]}"


@pytest.fixture
def received(vhost: Any, service_name: str) -> Iterator[Any]:
    """Call it to get what reached the service's event exchange since the last call."""
    tap = EventTap(vhost.amqp_uri, service_name)

    def new_bodies() -> list[dict[str, Any]]:
        before = len(tap.seen)
        return tap.drain()[before:]

    yield new_bodies
    tap.close()


class Clock:
    """An injected UTC clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.timezone.utc)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def publisher(uri: str, service_name: str) -> AmqpPublisher:
    return AmqpPublisher(uri, service_name, {})


def append_events(store: EventStore, count: int) -> list[dict[str, Any]]:
    events = []
    for n in range(count):
        events += store.append(f"s-{uuid.uuid4().hex[:8]}", "thing", StreamHead(), [PendingEvent("Happened", {"n": n})], META)
    return events


def test_stored_events_are_published_in_position_order_with_their_hash(
        store: EventStore, vhost: Any, service_name: str, received: Any) -> None:
    events = append_events(store, 5)
    relay = OutboxRelay(store, publisher(vhost.amqp_uri, service_name))

    assert relay.run_once() == 5
    bodies = received()

    assert [b["event_id"] for b in bodies] == [e["event_id"] for e in events]
    assert all(compute_hash(b) == b["hash"] for b in bodies)
    assert relay.run_once() == 0 and received() == []


def test_a_broker_outage_delays_delivery_but_loses_nothing(
        store: EventStore, vhost: Any, service_name: str, received: Any) -> None:
    events = append_events(store, 3)
    dead_broker = f"amqp://guest:guest@127.0.0.1:{free_port()}/"
    broken = OutboxRelay(store, publisher(dead_broker, service_name))

    with pytest.raises((OSError, OperationalError)):
        broken.run_once()
    broken.lease.release()
    assert store.db["outbox_relay"].find_one()["position"] == 0

    recovered = OutboxRelay(store, publisher(vhost.amqp_uri, service_name))
    assert recovered.run_once() == 3
    assert [b["event_id"] for b in received()] == [e["event_id"] for e in events]


def test_only_the_lease_holder_publishes_and_a_successor_takes_over_after_expiry(
        store: EventStore, vhost: Any, service_name: str, received: Any) -> None:
    append_events(store, 2)
    clock = Clock()
    first = OutboxRelay(store, publisher(vhost.amqp_uri, service_name), lease_seconds=0.5,
                        clock=clock)
    second = OutboxRelay(store, publisher(vhost.amqp_uri, service_name), lease_seconds=0.5,
                         clock=clock)

    assert first.run_once() == 2
    assert first.flush() is True
    append_events(store, 1)
    assert second.run_once() == 0  # first still holds the lease

    clock.advance(0.4)
    assert second.run_once() == 0  # not yet expired
    clock.advance(0.2)
    assert second.run_once() == 1
    assert len(received()) == 3


def test_a_relay_that_dies_before_its_checkpoint_leads_to_a_resend_not_a_loss(
        store: EventStore, vhost: Any, service_name: str, received: Any) -> None:
    events = append_events(store, 2)
    clock = Clock()
    crashing = OutboxRelay(store, publisher(vhost.amqp_uri, service_name), lease_seconds=0.2,
                           clock=clock)

    assert crashing.run_once() == 2  # published, checkpoint not yet saved: then it "dies"
    clock.advance(0.3)
    successor = OutboxRelay(store, publisher(vhost.amqp_uri, service_name), clock=clock)
    successor.run_once()

    ids = [b["event_id"] for b in received()]
    assert ids == [e["event_id"] for e in events] * 2  # at least once; consumers dedupe


def test_what_the_store_hands_over_is_published_without_reading_it_back(
        store: EventStore, vhost: Any, service_name: str, received: Any) -> None:
    relay = OutboxRelay(store, publisher(vhost.amqp_uri, service_name))
    store.on_commit = relay.hand

    events = append_events(store, 3)

    assert relay.run_once() == 3 and relay.reads == 0
    bodies = received()
    stored = store.read_all()
    assert bodies == [envelope_to_wire(e) for e in stored]
    assert [b["event_id"] for b in bodies] == [e["event_id"] for e in events]


def test_a_gap_in_the_handed_events_is_read_from_the_store_and_nothing_is_skipped(
        store: EventStore, vhost: Any, service_name: str, received: Any) -> None:
    relay = OutboxRelay(store, publisher(vhost.amqp_uri, service_name))
    store.on_commit = relay.hand
    first = append_events(store, 1)
    with store.db.client.start_session() as session:  # a consumer's reaction: not handed
        between = session.with_transaction(lambda s: store.append_in(
            s, "reaction", "thing", StreamHead(), [PendingEvent("Reacted", {})], META))
    last = append_events(store, 1)

    assert relay.run_once() == 1 and relay.reads == 0      # the handed first one
    assert relay.run_once() == 2 and relay.reads == 1      # the gap: read, with what follows
    assert relay.run_once() == 0

    assert [b["event_id"] for b in received()] == [e["event_id"] for e in first + between + last]


def test_a_batch_is_published_whole_confirmed_once_and_then_the_checkpoint_moves(
        store: EventStore, vhost: Any, service_name: str, received: Any) -> None:
    events = append_events(store, 20)
    sender = publisher(vhost.amqp_uri, service_name)
    relay = OutboxRelay(store, sender, batch_size=500)

    assert relay.run_once() == 20

    assert sender.batches == 1 and sender.confirmed == 20  # one wait for the broker, not 20
    assert relay.position == events[-1]["position"]
    assert relay.flush() is True
    assert store.db["outbox_relay"].find_one()["position"] == events[-1]["position"]
    assert [b["event_id"] for b in received()] == [e["event_id"] for e in events]


def test_a_batch_the_broker_does_not_confirm_leaves_the_checkpoint_and_is_sent_again(
        store: EventStore, vhost: Any, service_name: str, received: Any) -> None:
    first = append_events(store, 2)
    relay = OutboxRelay(store, publisher(vhost.amqp_uri, service_name))
    assert relay.run_once() == 2 and relay.flush() is True
    second = append_events(store, 3)
    with Connection(vhost.amqp_uri) as admin:  # the exchange goes: the broker closes the channel
        admin.default_channel.exchange_delete(f"{service_name}.events")

    with pytest.raises(ChannelError):
        relay.run_once()

    assert relay.position == first[-1]["position"]
    assert store.db["outbox_relay"].find_one()["position"] == first[-1]["position"]
    relay.publisher.close()  # what run() does after a failure; the next batch declares again
    relay.position = None
    assert relay.run_once() == 3  # (to an exchange declared anew: the tap's binding went with the old one)
    assert relay.position == second[-1]["position"]


def test_a_relay_fed_by_its_own_commits_does_not_read_the_store_after_each_batch(
        store: EventStore, vhost: Any, service_name: str, received: Any) -> None:
    relay = OutboxRelay(store, publisher(vhost.amqp_uri, service_name), poll_seconds=30)
    store.on_commit = relay.hand
    first = append_events(store, 3)
    runner = threading.Thread(target=relay.run, daemon=True)
    runner.start()
    try:
        wait_for(lambda: relay.published == 3, timeout=10)
        last = append_events(store, 2)  # handed: wakes the relay, no poll needed
        wait_for(lambda: relay.published == 5, timeout=10)
    finally:
        relay.stop()
        runner.join(10)

    assert relay.reads == 0  # a batch short of batch_size: nothing more to read until woken
    assert [b["event_id"] for b in received()] == [e["event_id"] for e in first + last]
