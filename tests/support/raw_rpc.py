"""Raw AMQP access to the RPC exchange, the way a careless or hostile internal client
could publish: any body bytes, any content type, with or without ``reply_to``."""
from __future__ import annotations

import json
import time
import uuid
from typing import Any

from kombu import Connection, Exchange, Queue

RPC_EXCHANGE = Exchange("nameko-rpc", type="topic", durable=True)


class RawRpc:
    """Publishes raw messages to ``nameko-rpc`` and reads the replies off a private
    reply queue. ``call`` returns the decoded reply, or None when none came in time."""

    def __init__(self, amqp_uri: str) -> None:
        self.connection = Connection(amqp_uri)
        self.channel = self.connection.channel()
        self.reply_queue = Queue(f"test-raw-reply-{uuid.uuid4().hex[:8]}", exchange=RPC_EXCHANGE,
                                 routing_key=f"test-raw-reply-{uuid.uuid4().hex[:8]}",
                                 auto_delete=False, exclusive=True)  # exclusive: gone with us
        self.reply_queue(self.channel).declare()
        self.replies: dict[str, dict[str, Any]] = {}
        self.consumer = self.connection.Consumer(self.reply_queue, on_message=self._on_reply)
        self.consumer.consume()

    def publish(self, routing_key: str, body: bytes, *, content_type: str = "application/json",
                reply: bool = True, headers: dict[str, Any] | None = None,
                correlation_id: str | None = None) -> None:
        properties: dict[str, Any] = {"correlation_id": correlation_id or uuid.uuid4().hex}
        if reply:
            properties["reply_to"] = self.reply_queue.routing_key
        producer = self.connection.Producer(self.channel)
        producer.publish(body, exchange=RPC_EXCHANGE, routing_key=routing_key,
                         content_type=content_type, content_encoding="binary",
                         headers=headers or {}, serializer=None, **properties)

    def call(self, routing_key: str, body: bytes, *, content_type: str = "application/json",
             headers: dict[str, Any] | None = None, timeout: float = 15.0) -> dict[str, Any] | None:
        correlation_id = uuid.uuid4().hex
        self.publish(routing_key, body, content_type=content_type, headers=headers,
                     correlation_id=correlation_id)
        return self.reply(correlation_id, timeout)

    def reply(self, correlation_id: str, timeout: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while correlation_id not in self.replies:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                self.connection.drain_events(timeout=remaining)
            except TimeoutError:
                return None
        return self.replies.pop(correlation_id)

    def _on_reply(self, message: Any) -> None:
        message.ack()
        self.replies[message.properties.get("correlation_id")] = json.loads(message.body)

    def close(self) -> None:
        self.connection.release()


def call_body(*args: Any, **kwargs: Any) -> bytes:
    return json.dumps({"args": list(args), "kwargs": kwargs}).encode()


def auth_headers(authorization: str) -> dict[str, str]:
    """nameko carries context data as ``nameko.<key>`` message headers."""
    return {"nameko.authorization": authorization}
