"""nameko glue for identity: an RPC entrypoint that refuses unverified callers, the
current-actor dependency, and a client for calling services from outside nameko."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import kombu.serialization
from nameko.constants import (
    AMQP_SSL_CONFIG_KEY,
    AMQP_URI_CONFIG_KEY,
    DEFAULT_SERIALIZER,
    LOGIN_METHOD_CONFIG_KEY,
    SERIALIZER_CONFIG_KEY,
)
from nameko.exceptions import MethodNotFound, get_module_path
from nameko.extensions import DependencyProvider
from nameko.rpc import ReplyListener, Responder, Rpc, RpcConsumer, get_rpc_exchange
from nameko.rpc import RpcProxy as NamekoRpcProxy
from nameko.standalone.rpc import ClusterRpcProxy

from shared import metrics, rpc_errors  # noqa: F401 - rpc_errors registers the contract errors
from shared.auth import Actor, Policy, TokenVerifier, bearer, service_token, token_verifier
from shared.errors import Unauthorized, ValidationError
from shared.intake import (
    BROKER_ERRORS,
    ReconnectingQueueConsumer,
    TolerantQueueConsumer,
    arity_errors,
    call_shape_errors,
)
from shared.keys import cached_signing_key
from shared.rpc_client import (
    DEADLINE,
    ClientReplyListener,
    DeadlineClusterRpcProxy,
    DeadlineServiceProxy,
    seconds_left,
)

log = logging.getLogger(__name__)

AUTH_HEADER = "authorization"
# a service-to-service call's deadline when the call being handled has none (an event
# handler's, a timer's): config ``RPC_TIMEOUT_SECONDS``
DEFAULT_RPC_TIMEOUT = 30.0


def own_service_token(config: Mapping[str, Any], service_name: str) -> str:
    """``authorization`` for ``service_name`` calling on its own behalf (≤ 5 min)."""
    return bearer(service_token(cached_signing_key(config, service_name)))


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Mapping):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_json_value(v) for v in value]
    return str(value)


def serialize_error(exc: BaseException) -> dict[str, Any]:
    """nameko's error payload, but numbers, booleans and null stay what they are
    (nameko 2.14 turns them into strings: ``current_version`` must stay an int)."""
    return {"exc_type": type(exc).__name__, "exc_path": get_module_path(type(exc)),
            "exc_args": [_json_value(arg) for arg in exc.args], "value": str(exc)}


class ContractResponder(Responder):
    accepted: frozenset[str] = frozenset({"json"})

    def send_response(self, result: Any, exc_info: Any) -> Any:
        if exc_info is None:
            return super().send_response(result, exc_info)
        # an error may answer a message whose content type was refused: answer in JSON
        content_type = self.message.properties.get("content_type")
        serializer = kombu.serialization.registry.type_to_name.get(content_type, self.serializer)
        if serializer not in self.accepted:
            serializer = self.serializer
        publisher = self.publisher_cls(self.amqp_uri, ssl=self.ssl, login_method=self.login_method)
        publisher.publish({"result": None, "error": serialize_error(exc_info[1])},
                          serializer=serializer, exchange=self.exchange,
                          routing_key=self.message.properties["reply_to"],
                          correlation_id=self.message.properties.get("correlation_id"))
        return None, exc_info


class ContractRpcConsumer(RpcConsumer):
    """The RPC queue consumer, answering with ContractResponder. Every message gets a
    contract answer: a body of the wrong shape, an undecodable one or an unknown method
    is a ValidationError; a message without ``reply_to`` cannot be answered and is
    dropped (acked, logged) without running anything. A reply that cannot be sent
    because the broker is gone is dropped (logged, counted), never raised: raised out of
    a worker it would end the whole process."""

    queue_consumer = TolerantQueueConsumer()

    def handle_message(self, body: Any, message: Any) -> None:
        if not self._answerable(message):
            return
        try:
            errors = call_shape_errors(body)
            if errors:
                raise ValidationError(errors)
            try:
                provider = self.get_provider_for_method(message.delivery_info["routing_key"])
            except MethodNotFound as exc:
                raise ValidationError.field("method", f"no such method: {exc}") from None
            provider.handle_message(body, message)
        except Exception as exc:  # noqa: BLE001 - answered, never raised into the consumer
            self.handle_result(message, None, (type(exc), exc, exc.__traceback__))

    def drop_expired(self, message: Any, method: str, deadline: Any) -> None:
        """Ack a request whose caller has given up, run nothing, log and count it."""
        log.warning("dropped %s.%s past its deadline %s: its caller has given up, it is not executed",
                    self.container.service_name, method, deadline)
        metrics.RPC_EXPIRED.labels(self.container.service_name, method).inc()
        self.queue_consumer.ack_message(message)

    def handle_undecodable(self, message: Any, reason: str) -> None:
        if self._answerable(message):
            error = ValidationError.field("_schema", reason)
            self.handle_result(message, None, (ValidationError, error, None))

    def _answerable(self, message: Any) -> bool:
        if message.properties.get("reply_to"):
            return True
        log.warning("dropped an RPC message with no reply_to (routing key %s): it cannot be answered",
                    message.delivery_info.get("routing_key"))
        self.queue_consumer.ack_message(message)
        return False

    def handle_result(self, message: Any, result: Any, exc_info: Any) -> Any:
        config = self.container.config
        responder = ContractResponder(
            config[AMQP_URI_CONFIG_KEY], get_rpc_exchange(config),
            config.get(SERIALIZER_CONFIG_KEY, DEFAULT_SERIALIZER), message,
            ssl=config.get(AMQP_SSL_CONFIG_KEY), login_method=config.get(LOGIN_METHOD_CONFIG_KEY))
        responder.accepted = frozenset(self.container.accept)
        try:
            result, exc_info = responder.send_response(result, exc_info)
        except BROKER_ERRORS as exc:  # raised out of a worker, it would end the process
            self._drop_reply(message, exc)
        self.queue_consumer.ack_message(message)
        return result, exc_info

    def _drop_reply(self, message: Any, exc: BaseException) -> None:
        routing_key = str(message.delivery_info.get("routing_key") or "")
        log.warning("dropped the reply to %s: the broker is unreachable (%s); the caller gets a timeout",
                    routing_key, exc)
        metrics.RPC_REPLIES_DROPPED.labels(self.container.service_name,
                                           routing_key.rpartition(".")[2]).inc()


class AuthenticatedRpc(Rpc):
    """``@rpc`` whose calls are refused with Unauthorized unless the context carries a
    valid ``authorization`` token. No worker runs for a refused call, nor for one whose
    ``deadline`` has passed: its caller has given up, it is acked and dropped (logged,
    counted in ``crm_rpc_expired_requests_total``); a malformed ``deadline`` is a
    ValidationError."""

    rpc_consumer = ContractRpcConsumer()

    def setup(self) -> None:
        # Outside dev mode, no identity provider keys: the service refuses to start.
        self.verifier = token_verifier(self.container.config)  # once, not per call
        super().setup()

    def handle_message(self, body: Any, message: Any) -> None:
        context = self.unpack_message_headers(message)
        if self._expired(context.get(DEADLINE)):
            self.rpc_consumer.drop_expired(message, self.method_name, context[DEADLINE])
            return
        self.verifier.verify(context.get(AUTH_HEADER))
        super().handle_message(body, message)

    @staticmethod
    def _expired(deadline: Any) -> bool:
        try:
            left = seconds_left(deadline)
        except ValueError as exc:
            raise ValidationError.field(DEADLINE, str(exc)) from None
        return left is not None and left <= 0

    def check_signature(self, args: Any, kwargs: Any) -> None:
        errors = arity_errors(getattr(self.container.service_cls, self.method_name), args, kwargs)
        if errors:
            raise ValidationError(errors)


rpc = AuthenticatedRpc.decorator


ANONYMOUS = Actor(id="anonymous", name="anonymous")


class CurrentActor(DependencyProvider):
    """Injects the verified Actor of the call (or event) being handled.

    RPC calls were verified before their worker started (AuthenticatedRpc); events may
    wait in a queue longer than a token lives, so their expiry is not checked here. This
    never raises: an exception while injecting would kill the whole container, so a
    token that cannot be verified yields an actor without roles, allowed nothing."""

    verifier: TokenVerifier | None = None

    def get_dependency(self, worker_ctx: Any) -> Actor:
        is_call = isinstance(worker_ctx.entrypoint, AuthenticatedRpc)
        if self.verifier is None:
            # once per container: building its arguments (paths, environment) cost a
            # share of every call's CPU
            self.verifier = token_verifier(self.container.config)
        try:
            return self.verifier.verify(worker_ctx.context_data.get(AUTH_HEADER), check_expiry=is_call)
        except Unauthorized:
            return ANONYMOUS


class CorrelationId(DependencyProvider):
    """The id tying together everything one outside request causes: the caller's
    ``correlation_id`` context value when given, else this call's id."""

    def get_dependency(self, worker_ctx: Any) -> str:
        return str(worker_ctx.context_data.get("correlation_id") or worker_ctx.call_id)


class PolicyProvider(DependencyProvider):
    """Loads the role policy file once per container (``POLICY_FILE`` in config)."""

    def setup(self) -> None:
        self.policy = Policy.load(self.container.config.get("POLICY_FILE") or None)

    def get_dependency(self, worker_ctx: Any) -> Policy:
        return self.policy


def system_rpc(config: Mapping[str, Any], caller: str) -> ClusterRpcProxy:
    """A standalone RPC proxy carrying a short-lived service token (for background work,
    and operator tools such as ``search.rebuild`` on an account that may not declare
    exchanges: its reply queue does not re-declare ``nameko-rpc``)."""
    token = own_service_token(config, caller)
    return DeadlineClusterRpcProxy(dict(config), context_data={AUTH_HEADER: token}, timeout=30,
                                   reply_listener_cls=ClientReplyListener)


class _AsService:
    """A worker context seen through a service token: what the proxy sends as
    ``authorization`` is this service's identity, everything else is the worker's."""

    def __init__(self, worker_ctx: Any, authorization: str) -> None:
        self._worker_ctx = worker_ctx
        self._authorization = authorization

    @property
    def context_data(self) -> dict[str, Any]:
        return dict(self._worker_ctx.context_data, **{AUTH_HEADER: self._authorization})

    def __getattr__(self, name: str) -> Any:
        return getattr(self._worker_ctx, name)


class ResilientReplyListener(ReplyListener):
    """nameko's reply listener on a consumer that rides out a broker outage."""

    queue_consumer = ReconnectingQueueConsumer()


class RpcProxy(NamekoRpcProxy):
    """nameko's ``RpcProxy`` (calling as the caller, the context data passed on), but
    every call carries a deadline: the deadline of the call being handled, at most
    ``RPC_TIMEOUT_SECONDS`` (30) from now, and the proxy stops waiting then (RpcTimeout)
    instead of forever. Its reply queue's consumer rides out broker outages."""

    rpc_reply_listener = ResilientReplyListener()

    def get_dependency(self, worker_ctx: Any) -> DeadlineServiceProxy:
        return self._proxy(worker_ctx)

    def _proxy(self, worker_ctx: Any) -> DeadlineServiceProxy:
        timeout = float(self.container.config.get("RPC_TIMEOUT_SECONDS") or DEFAULT_RPC_TIMEOUT)
        return DeadlineServiceProxy(worker_ctx, self.target_service, self.rpc_reply_listener,
                                    timeout=timeout, wait_limit=True, **self.options)


class ServiceRpcProxy(RpcProxy):
    """``RpcProxy`` whose calls carry this service's own short-lived service token
    instead of the caller's: for event handlers acting on the service's behalf (an
    event's token may have expired in its queue). Unlike ``system_rpc`` it uses the
    container's shared reply queue, so a call costs no new connection."""

    def get_dependency(self, worker_ctx: Any) -> DeadlineServiceProxy:
        token = own_service_token(self.container.config, self.container.service_name)
        return self._proxy(_AsService(worker_ctx, token))
