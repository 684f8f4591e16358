"""Calling the services from outside nameko, as an internal caller (another system, a
script, the tests) on the ``invoice-client`` broker account (``shared.broker_accounts``).

    from shared.rpc_client import client_proxy
    with client_proxy("amqp://invoice-client:invoice-client-dev@127.0.0.1:5672/",
                      "Bearer <JWT>") as hub:
        hub.invoice.get_invoice("inv_…")

nameko's ``ClusterRpcProxy``, except that its reply queue does not re-declare the
``nameko-rpc`` exchange (declaring an exchange needs the configure permission that
would also let the account delete it, and the caller account has none), and that every
call carries a deadline: when the caller will stop waiting.

Deadlines: a call made with a timeout carries context data ``deadline`` (ISO 8601 UTC,
now + timeout, or the deadline of the call being handled when that is earlier) and the
AMQP ``expiration`` (the seconds left), so the broker discards it unread once the caller
has given up, and a service that receives it later drops it unexecuted
(``shared.rpc``). Service-to-service proxies (``shared.rpc.RpcProxy``) do the same, and
stop waiting at the deadline.
"""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

import eventlet
from kombu import Queue
from nameko.exceptions import RpcTimeout
from nameko.rpc import (
    RPC_REPLY_QUEUE_TEMPLATE,
    RPC_REPLY_QUEUE_TTL,
    MethodProxy,
    ServiceProxy,
    get_rpc_exchange,
)
from nameko.standalone.rpc import ClusterProxy, ClusterRpcProxy, SingleThreadedReplyListener

from shared import rpc_errors  # noqa: F401 - replies carry the contract errors by type

DEADLINE = "deadline"


def deadline_after(seconds: float, now: dt.datetime | None = None) -> str:
    """The ``deadline`` value ``seconds`` from ``now``."""
    when = (now or dt.datetime.now(dt.timezone.utc)) + dt.timedelta(seconds=seconds)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def seconds_left(deadline: Any, now: dt.datetime | None = None) -> float | None:
    """Seconds until ``deadline`` (negative once passed); None when there is none.
    ValueError when it is not an ISO 8601 timestamp with a time zone."""
    if deadline is None:
        return None
    try:
        when = dt.datetime.fromisoformat(deadline) if isinstance(deadline, str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise ValueError("must be an ISO 8601 timestamp with a time zone, e.g. 2026-05-01T12:00:00.000Z")
    return (when - (now or dt.datetime.now(dt.timezone.utc))).total_seconds()


def _remaining(context: Mapping[str, Any], timeout: float | None) -> float | None:
    """What a new call may wait: its timeout, bounded by the deadline of the call being
    handled (a malformed inherited deadline is ignored: that call was refused)."""
    try:
        inherited = seconds_left(context.get(DEADLINE))
    except ValueError:
        inherited = None
    limits = [limit for limit in (timeout, inherited) if limit is not None]
    return min(limits) if limits else None


class DeadlineMethodProxy(MethodProxy):
    """One call carrying ``deadline`` and ``expiration``; with ``wait_limit`` (a proxy
    inside a service, whose replies come on a shared listener with no timeout of its
    own) it stops waiting at the deadline with RpcTimeout."""

    def __init__(self, worker_ctx: Any, service_name: str, method_name: str, reply_listener: Any,
                 timeout: float | None = None, wait_limit: bool = False, **options: Any) -> None:
        super().__init__(worker_ctx, service_name, method_name, reply_listener, **options)
        self.timeout, self.wait_limit = timeout, wait_limit
        self.left: float | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        reply = self._call(*args, **kwargs)
        if not self.wait_limit or self.left is None:
            return reply.result()
        try:
            with eventlet.Timeout(self.left, RpcTimeout(self.left)):
                return reply.result()
        except RpcTimeout:
            self._forget(reply.reply_event)
            raise

    def _forget(self, reply_event: Any) -> None:
        """Drop the abandoned call's reply slot (a late reply is then ignored)."""
        events = self.reply_listener._reply_events
        for correlation_id, event in list(events.items()):
            if event is reply_event:
                events.pop(correlation_id, None)

    def _call(self, *args: Any, **kwargs: Any) -> Any:
        self.left = _remaining(self.worker_ctx.context_data, self.timeout)
        if self.left is not None:
            if self.left <= 0:  # the caller has given up already: send nothing
                raise RpcTimeout(f"the deadline of {self.service_name}.{self.method_name} has passed")
            self.publisher.expiration = self.left
        return super()._call(*args, **kwargs)

    def get_message_headers(self, worker_ctx: Any) -> dict[str, Any]:
        headers = super().get_message_headers(worker_ctx)
        if self.left is not None:
            headers[self._get_header_name(DEADLINE)] = deadline_after(self.left)
        return headers


class DeadlineServiceProxy(ServiceProxy):
    """``hub.<service>``: its methods are DeadlineMethodProxy calls."""

    def __init__(self, worker_ctx: Any, service_name: str, reply_listener: Any,
                 timeout: float | None = None, wait_limit: bool = False, **options: Any) -> None:
        super().__init__(worker_ctx, service_name, reply_listener, **options)
        self.timeout, self.wait_limit = timeout, wait_limit

    def __getattr__(self, name: str) -> DeadlineMethodProxy:
        return DeadlineMethodProxy(self.worker_ctx, self.service_name, name, self.reply_listener,
                                   timeout=self.timeout, wait_limit=self.wait_limit, **self.options)


class DeadlineClusterProxy(ClusterProxy):
    def __init__(self, worker_ctx: Any, reply_listener: Any, timeout: float | None) -> None:
        super().__init__(worker_ctx, reply_listener)
        self._timeout = timeout

    def __getattr__(self, name: str) -> DeadlineServiceProxy:
        if name not in self._proxies:
            self._proxies[name] = DeadlineServiceProxy(self._worker_ctx, name, self._reply_listener,
                                                       timeout=self._timeout)
        return self._proxies[name]


class DeadlineClusterRpcProxy(ClusterRpcProxy):
    """``ClusterRpcProxy`` whose calls carry the deadline now + ``timeout``."""

    def __init__(self, config: Mapping[str, Any], context_data: Mapping[str, Any] | None = None,
                 timeout: float | None = None, **kwargs: Any) -> None:
        super().__init__(config, context_data=context_data, timeout=timeout, **kwargs)
        self._proxy = DeadlineClusterProxy(self._worker_ctx, self._reply_listener, timeout)


class ClientReplyListener(SingleThreadedReplyListener):
    """nameko's reply listener (queue ``rpc.reply-standalone_rpc_proxy-<uuid>`` bound to
    ``nameko-rpc`` by its uuid), minus the exchange declaration."""

    def setup(self) -> None:
        reply_queue_uuid = uuid.uuid4()
        self.routing_key = str(reply_queue_uuid)
        exchange = get_rpc_exchange(self.container.config)
        exchange.no_declare = True  # the services declare it
        self.queue = Queue(
            RPC_REPLY_QUEUE_TEMPLATE.format(self.container.service_name, reply_queue_uuid),
            exchange=exchange, routing_key=self.routing_key,
            queue_arguments={"x-expires": RPC_REPLY_QUEUE_TTL})
        self.queue_consumer.register_provider(self)


def client_proxy(amqp_uri: str, authorization: str | None, timeout: float | None = 30,
                 **config: Any) -> ClusterRpcProxy:
    """A ``ClusterRpcProxy`` for an internal caller: ``with client_proxy(...) as hub``.
    Each call's deadline is now + ``timeout`` (none when ``timeout`` is None)."""
    context = {} if authorization is None else {"authorization": authorization}
    return DeadlineClusterRpcProxy({"AMQP_URI": amqp_uri, "serializer": "json", **config},
                                   context_data=context, timeout=timeout,
                                   reply_listener_cls=ClientReplyListener)
