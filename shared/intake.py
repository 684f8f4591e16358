"""What arrives on the bus, checked before any entrypoint sees it.

kombu decodes a message body before nameko's entrypoints get it; a body it cannot
decode (not JSON, not UTF-8, nested too deep, a content type the service does not
accept) raises inside kombu's consume loop, which ends the queue consumer and with it
the service. ``TolerantQueueConsumer`` hands such a message to its provider's
``handle_undecodable(message, reason)`` instead: the RPC consumer answers it with a
ValidationError (or drops it when it has no ``reply_to``), the event consumer parks it
on its dead-letter queue.

A broker outage does not end it either (``ReconnectingQueueConsumer``): it reconnects at
most a second apart (kombu's default backs off to 30 s), and an ack or requeue that the
lost connection cannot carry is dropped with a log line (the broker redelivers the
unacked message itself).

``call_shape_errors`` and ``arity_errors`` say, marshmallow style, what is wrong with a
decoded RPC body and with its arguments for a given method.
"""
from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from typing import Any

import amqp.exceptions
import kombu.exceptions
from nameko.messaging import QueueConsumer

log = logging.getLogger(__name__)

Errors = dict[str, list[str]]

# what a send or an ack raises when the broker is gone (kombu wraps the socket errors)
BROKER_ERRORS = (kombu.exceptions.OperationalError, amqp.exceptions.ConnectionError, OSError)
# reconnect attempts: the first after 0.2 s, then every second however long the outage
RECONNECT_POLICY = {"interval_start": 0.2, "interval_step": 0.4, "interval_max": 1.0}


def undecodable_reason(message: Any, exc: BaseException, accepted: Any) -> str:
    """Why kombu could not decode ``message``, in words fit for the caller."""
    content_type = message.content_type
    if accepted and content_type not in accepted:
        return f"content type {content_type!r} is not accepted; send application/json"
    if isinstance(exc, RecursionError):
        return "the body is nested too deeply"
    if isinstance(exc, UnicodeError):
        return "the body is not valid UTF-8"
    return "the body is not valid JSON"


class ReconnectingQueueConsumer(QueueConsumer):
    """nameko's QueueConsumer, but it reconnects at most a second apart however long
    the outage, and an ack or requeue lost with the connection raises nothing."""

    @contextmanager
    def establish_connection(self) -> Iterator[Any]:
        with self.create_connection() as conn:
            conn.ensure_connection(self.on_connection_error, self.connect_max_retries,
                                   **RECONNECT_POLICY)
            yield conn

    def ack_message(self, message: Any) -> None:
        try:
            super().ack_message(message)
        except BROKER_ERRORS as exc:
            log.warning("could not ack a message on %s, the connection is lost (%s): "
                        "the broker redelivers it", message.delivery_info.get("routing_key"), exc)

    def requeue_message(self, message: Any) -> None:
        try:
            super().requeue_message(message)
        except BROKER_ERRORS as exc:
            log.warning("could not requeue a message on %s, the connection is lost (%s): "
                        "the broker redelivers it", message.delivery_info.get("routing_key"), exc)


class TolerantQueueConsumer(ReconnectingQueueConsumer):
    """A ReconnectingQueueConsumer, and a message kombu cannot decode goes to the
    provider's ``handle_undecodable(message, reason)`` instead of ending the consume loop."""

    def get_consumers(self, consumer_cls: Any, channel: Any) -> Any:
        consumers = super().get_consumers(consumer_cls, channel)
        for provider, consumer in self._consumers.items():
            consumer.on_decode_error = partial(self.handle_undecodable, provider)
        return consumers

    def wait_ready(self) -> None:
        """Block until the queues are declared and consumed (raises if that failed)."""
        self._consumers_ready.wait()

    def handle_undecodable(self, provider: Any, message: Any, exc: BaseException) -> None:
        reason = undecodable_reason(message, exc, self.accept)
        log.warning("undecodable message on %s (%s): %s", message.delivery_info.get("routing_key"),
                    message.content_type, reason)
        self.container.spawn_managed_thread(
            partial(_never_raise, provider.handle_undecodable, message, reason),
            identifier=f"{type(provider).__name__}.handle_undecodable")


def _never_raise(handler: Callable[..., None], *args: Any) -> None:
    # an exception in a managed thread kills the whole container
    try:
        handler(*args)
    except Exception:  # noqa: BLE001
        log.exception("could not handle an undecodable message")


def call_shape_errors(body: Any) -> Errors:
    """What is wrong with an RPC body that should be ``{"args": [...], "kwargs": {...}}``."""
    if not isinstance(body, Mapping):
        return {"_schema": ['the body must be an object {"args": [...], "kwargs": {...}}']}
    errors: Errors = {}
    if not isinstance(body.get("args"), list):
        errors["args"] = ["must be a list"]
    if not isinstance(body.get("kwargs"), Mapping):
        errors["kwargs"] = ["must be an object"]
    return errors


def arity_errors(fn: Callable[..., Any], args: list[Any], kwargs: Mapping[str, Any]) -> Errors:
    """What is wrong with calling the service method ``fn`` (unbound: its first
    parameter is ``self``) with ``args`` and ``kwargs``, per argument name."""
    params = list(inspect.signature(fn).parameters.values())[1:]
    kinds = inspect.Parameter
    positional = [p for p in params if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)]
    by_name = {p.name: p for p in params if p.kind not in (kinds.VAR_POSITIONAL, kinds.VAR_KEYWORD)}
    errors: Errors = {}
    if len(args) > len(positional) and not any(p.kind == kinds.VAR_POSITIONAL for p in params):
        errors["args"] = [f"takes at most {len(positional)} positional arguments, {len(args)} given"]
    given = {p.name for p in positional[:len(args)]}
    for key in kwargs:
        if key in given:
            errors[key] = ["given both by position and by name"]
        elif key not in by_name or by_name[key].kind == kinds.POSITIONAL_ONLY:
            if not any(p.kind == kinds.VAR_KEYWORD for p in params):
                errors[key] = ["unknown argument"]
        given.add(key)
    for name, param in by_name.items():
        if param.default is inspect.Parameter.empty and name not in given:
            errors[name] = ["missing required argument"]
    return errors
