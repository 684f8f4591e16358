"""Broker accounts on the real RabbitMQ: the internal-caller account can call services
and read its own replies, and nothing else -- it cannot bind ``#`` to ``nameko-rpc``
(where every call's token passes), cannot read an events exchange, cannot consume a
service's queue; services run on accounts of their own."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from amqp.exceptions import AccessRefused
from kombu import Connection, Exchange, Queue
from nameko.rpc import rpc

from shared.rpc_client import client_proxy
from tests.support.infra import RabbitVhost

RPC = Exchange("nameko-rpc", "topic", durable=True, no_declare=True)


@pytest.fixture(scope="module")
def accounts() -> Iterator[RabbitVhost]:
    created = RabbitVhost()
    yield created
    created.delete()


class Customer:
    """A stand-in service answering on ``rpc-customer`` under the customer account."""

    name = "customer"

    @rpc
    def echo(self, value: Any) -> Any:
        return value


@pytest.fixture
def customer(container_factory: Any, accounts: RabbitVhost) -> Any:
    container = container_factory(Customer, {"AMQP_URI": accounts.service_uri("customer"),
                                             "serializer": "json"})
    container.start()
    return container


def reply_queue(exchange: Exchange, routing_key: str) -> Queue:
    return Queue(f"rpc.reply-standalone_rpc_proxy-{uuid.uuid4()}", exchange, routing_key=routing_key)


def refused(uri: str, action: Any) -> bool:
    with Connection(uri, transport_options={"confirm_publish": True}) as connection:
        try:
            action(connection.channel())
        except AccessRefused:
            return True
    return False


def test_the_caller_account_calls_services_and_reads_its_own_replies(
        accounts: RabbitVhost, customer: Any) -> None:
    with client_proxy(accounts.client_uri, None, timeout=10) as hub:
        assert hub.customer.echo({"n": 1}) == {"n": 1}


def test_the_caller_account_cannot_bind_everything_or_a_service_key_to_the_rpc_exchange(
        accounts: RabbitVhost, customer: Any) -> None:
    for key in ("#", "*.*", "customer.*", "customer.echo"):
        assert refused(accounts.client_uri, lambda channel, key=key: reply_queue(RPC, key)(channel).declare()), key


def test_the_caller_account_cannot_read_an_events_exchange(accounts: RabbitVhost) -> None:
    with Connection(accounts.amqp_uri) as admin:
        Exchange("invoice.events", "topic", durable=True)(admin.channel()).declare()
    events = Exchange("invoice.events", "topic", durable=True, no_declare=True)

    for key in ("#", str(uuid.uuid4())):
        assert refused(accounts.client_uri, lambda channel, key=key: reply_queue(events, key)(channel).declare())


def test_the_caller_account_cannot_consume_a_services_queue_or_touch_the_exchange(
        accounts: RabbitVhost, customer: Any) -> None:
    uri = accounts.client_uri
    assert refused(uri, lambda channel: channel.basic_get("rpc-customer"))
    assert refused(uri, lambda channel: channel.basic_consume("rpc-customer", callback=print))
    assert refused(uri, lambda channel: channel.exchange_delete("nameko-rpc"))
    assert refused(uri, lambda channel: channel.queue_declare("anything-else"))
    # nor pose as a service answering someone else's reply queue
    assert refused(uri, lambda channel: channel.basic_publish(
        channel.prepare_message(b"{}"), exchange="nameko-rpc", routing_key=str(uuid.uuid4())))


def test_a_service_account_cannot_bind_everything_to_the_rpc_exchange_either(accounts: RabbitVhost) -> None:
    uri = accounts.service_uri("search")
    assert refused(uri, lambda channel: Queue("rpc-search", RPC, routing_key="#")(channel).declare())
    assert not refused(uri, lambda channel: Queue("rpc-search", RPC, routing_key="search.*")(channel).declare())


def gateway_reply_queue(exchange: Exchange, routing_key: str) -> Queue:
    return Queue(f"rpc.reply-gateway-{uuid.uuid4()}", exchange, routing_key=routing_key)


def test_the_gateway_account_is_a_caller_with_reply_queues_of_its_own_name(
        accounts: RabbitVhost, customer: Any) -> None:
    uri = accounts.service_uri("gateway")
    assert not refused(uri, lambda channel: gateway_reply_queue(RPC, str(uuid.uuid4()))(channel).declare())
    for key in ("#", "*.*", "customer.*"):
        assert refused(uri, lambda channel, key=key: gateway_reply_queue(RPC, key)(channel).declare()), key
    with Connection(accounts.amqp_uri) as admin:
        Exchange("invoice.events", "topic", durable=True)(admin.channel()).declare()
    events = Exchange("invoice.events", "topic", durable=True, no_declare=True)
    assert refused(uri, lambda channel: gateway_reply_queue(events, str(uuid.uuid4()))(channel).declare())
    assert refused(uri, lambda channel: channel.basic_get("rpc-customer"))
    assert refused(uri, lambda channel: channel.exchange_delete("nameko-rpc"))
    assert refused(uri, lambda channel: channel.basic_publish(
        channel.prepare_message(b"{}"), exchange="invoice.events", routing_key="invoice.created"))
