"""Calling the services from outside nameko, as an internal caller (another system, a
script, the tests) on the ``invoice-client`` broker account (``shared.broker_accounts``).

    from shared.rpc_client import client_proxy
    with client_proxy("amqp://invoice-client:invoice-client-dev@127.0.0.1:5672/",
                      "Bearer <JWT>") as hub:
        hub.invoice.get_invoice("inv_…")

Exactly nameko's ``ClusterRpcProxy``, except that its reply queue does not re-declare
the ``nameko-rpc`` exchange: declaring an exchange needs the configure permission that
would also let the account delete it, and the caller account has none.
"""
from __future__ import annotations

import uuid
from typing import Any

from kombu import Queue
from nameko.rpc import RPC_REPLY_QUEUE_TEMPLATE, RPC_REPLY_QUEUE_TTL, get_rpc_exchange
from nameko.standalone.rpc import ClusterRpcProxy, SingleThreadedReplyListener

from shared import rpc_errors  # noqa: F401 - replies carry the contract errors by type


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
    """A ``ClusterRpcProxy`` for an internal caller: ``with client_proxy(...) as hub``."""
    context = {} if authorization is None else {"authorization": authorization}
    return ClusterRpcProxy({"AMQP_URI": amqp_uri, "serializer": "json", **config},
                           context_data=context, timeout=timeout,
                           reply_listener_cls=ClientReplyListener)
