"""Calling the four services from a request, as the caller, with a deadline.

``hub.invoice.get_invoice("inv_1")`` publishes on the container's shared reply queue
(nameko's ``ReplyListener``) with the worker's context data — the caller's
``authorization`` and the request id as ``correlation_id`` — and waits at most the
timeout: no answer → ``ServiceUnavailable`` (503), never a hung request. The call
carries that deadline (``shared.rpc_client``): a service that gets it later does not run it.
"""
from __future__ import annotations

import time
from typing import Any

import eventlet
from nameko.exceptions import UnknownService
from nameko.extensions import DependencyProvider
from nameko.rpc import ReplyListener

from gateway import metrics
from gateway.problems import ServiceUnavailable
from shared.auth import bearer, service_token
from shared.keys import SigningKey, load_signing_key
from shared.rpc import AUTH_HEADER
from shared.rpc_client import DeadlineMethodProxy

SERVICES = ("customer", "invoice", "approval", "search")


class ServiceHub:
    """What a route gets: one attribute per service, one method per RPC call."""

    def __init__(self, worker_ctx: Any, listener: ReplyListener, timeout: float,
                 service_key: SigningKey) -> None:
        self._worker_ctx = worker_ctx
        self._listener = listener
        self._service_key = service_key
        self.timeout = timeout

    def authorize_as_gateway(self) -> None:
        """Make this request's calls with the gateway's own short-lived service token
        (for open routes such as the health check, which have no caller): EdDSA, signed
        with the gateway's service key (``gateway-<n>`` in ``EVENT_KEYS_DIR``)."""
        self._worker_ctx.data[AUTH_HEADER] = bearer(service_token(self._service_key))

    def authorize(self, authorization: str) -> None:
        """Make this hub's further calls with another ``Bearer <JWT>`` (an import job
        renews its caller's short-lived session token)."""
        self._worker_ctx.data[AUTH_HEADER] = authorization

    def call(self, service: str, method: str, *args: Any, timeout: float | None = None,
             **kwargs: Any) -> Any:
        started = time.perf_counter()
        timeout = timeout or self.timeout
        # the call carries the deadline now + timeout: the service drops it unexecuted after
        proxy = DeadlineMethodProxy(self._worker_ctx, service, method, self._listener, timeout=timeout)
        reply = None
        try:
            with eventlet.Timeout(timeout):
                reply = proxy.call_async(*args, **kwargs)
                return reply.result()
        except eventlet.Timeout:
            if reply is not None:
                self._forget(reply.reply_event)
            metrics.RPC_ERRORS.labels(service, method, "Timeout").inc()
            raise ServiceUnavailable(service, method) from None
        except UnknownService:
            metrics.RPC_ERRORS.labels(service, method, "UnknownService").inc()
            raise ServiceUnavailable(service, method) from None
        except Exception as exc:
            metrics.RPC_ERRORS.labels(service, method, type(exc).__name__).inc()
            raise
        finally:
            metrics.RPC_LATENCY.labels(service, method).observe(time.perf_counter() - started)

    def _forget(self, reply_event: Any) -> None:
        """Drop the abandoned call's reply slot (a late reply is then ignored)."""
        events = self._listener._reply_events
        for correlation_id, event in list(events.items()):
            if event is reply_event:
                events.pop(correlation_id, None)

    def __getattr__(self, service: str) -> _Service:
        if service not in SERVICES:
            raise AttributeError(service)
        return _Service(self, service)


class _Service:
    def __init__(self, hub: ServiceHub, name: str) -> None:
        self._hub = hub
        self._name = name

    def __getattr__(self, method: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            return self._hub.call(self._name, method, *args, **kwargs)
        return call


class CallerReplyListener(ReplyListener):
    """nameko's reply listener (queue ``rpc.reply-gateway-<uuid>``) minus the declaration
    of the ``nameko-rpc`` exchange: the gateway's broker account (``crm-gateway``) has an
    RPC caller's permissions only (``shared.broker_accounts``), as
    ``shared.rpc_client.client_proxy``'s."""

    def setup(self) -> None:
        super().setup()
        self.queue.exchange.no_declare = True  # the services declare it


class Services(DependencyProvider):
    """Injects a ServiceHub for the request being handled (``RPC_TIMEOUT`` seconds)."""

    rpc_reply_listener = CallerReplyListener()

    def setup(self) -> None:
        self.timeout = float(self.container.config.get("RPC_TIMEOUT") or 10)
        # the gateway's own service key (KeysMissing: it does not start without it)
        self.service_key = load_signing_key(self.container.config, "gateway")

    def get_dependency(self, worker_ctx: Any) -> ServiceHub:
        return ServiceHub(worker_ctx, self.rpc_reply_listener, self.timeout, self.service_key)
