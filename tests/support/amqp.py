"""A tap on a service's event exchange: a queue of our own that sees every event."""
from __future__ import annotations

import uuid
from typing import Any

from kombu import Connection, Queue
from nameko.standalone.events import get_event_exchange


class EventTap:
    """Bound before the test writes; ``drain()`` returns every body seen so far."""

    def __init__(self, amqp_uri: str, service_name: str) -> None:
        self.connection = Connection(amqp_uri)
        self.queue = Queue(f"test-tap-{service_name}-{uuid.uuid4().hex[:6]}",
                           exchange=get_event_exchange(service_name, {}), routing_key="#",
                           auto_delete=False)
        self.queue(self.connection.channel()).declare()
        self.seen: list[dict[str, Any]] = []

    def drain(self) -> list[dict[str, Any]]:
        bound = self.queue(self.connection.channel())
        while (message := bound.get(no_ack=True)) is not None:
            self.seen.append(message.decode())
        return self.seen

    def close(self) -> None:
        self.queue(self.connection.channel()).delete()
        self.connection.release()
