"""Operator tool for parked events: ``python -m shared.dlq list|show|replay``.

An event whose handler failed ``max_attempts`` times is parked on ``<queue>.dlq`` with
headers saying why (``x-crm-error``), how often it was tried and which queue it came
from. Once the cause is fixed, ``replay`` moves every parked event back onto the queue
it came from (attempt counter reset); consumers are idempotent, so replaying an event
that was meanwhile applied another way does no harm.

    python -m shared.dlq list [--node NODE]         # queues with parked events (rabbitmqctl)
    python -m shared.dlq show evt-customer--invoice.on_customer_event.dlq
    python -m shared.dlq replay evt-customer--invoice.on_customer_event.dlq

``list`` asks (rabbitmqctl) the RabbitMQ node that serves ``--amqp-uri`` — found among
the cluster's name, rabbitmqctl's default node and the nodes on this host's epmd, or
named with ``--node`` — and that node answers for every node of its cluster. Errors (no such queue, broker unreachable) are one line on
stderr and exit code 1.
"""
from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")  # printed on import by nameko

import argparse  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from typing import Any, TypeVar  # noqa: E402

from amqp.exceptions import NotFound  # noqa: E402
from kombu import Connection  # noqa: E402
from kombu.exceptions import OperationalError  # noqa: E402
from kombu.messaging import Producer  # noqa: E402

from shared.events.consumer import ATTEMPTS_HEADER, ERROR_HEADER  # noqa: E402

ORIGIN_HEADER = "x-crm-original-queue"
DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"


T = TypeVar("T")


class DlqError(Exception):
    """Raised when the broker, its node or a queue cannot be used; the message is one line
    for the operator."""


def candidate_nodes(connection: Connection) -> list[str | None]:
    """Nodes that may serve ``connection``, likeliest first: the one its cluster is named
    after (``rabbit@host``, unless renamed), rabbitmqctl's default (None), then every
    RabbitMQ node registered with this host's epmd."""
    name = connection.connection.server_properties.get("cluster_name")
    name = name.decode() if isinstance(name, bytes) else name
    nodes: list[str | None] = [name if isinstance(name, str) and "@" in name else None, None]
    if shutil.which("epmd"):
        listed = subprocess.run(["epmd", "-names"], capture_output=True, text=True, timeout=10).stdout
        short = socket.gethostname().split(".")[0]
        for line in listed.splitlines():
            parts = line.split()
            if line.startswith("name ") and not parts[1].startswith("rabbitmqcli"):
                nodes += [f"{parts[1]}@localhost", f"{parts[1]}@{short}"]
    return list(dict.fromkeys(nodes))


def _list_queues(vhost: str, node: str | None) -> list[tuple[str, int]]:
    command = ["rabbitmqctl", "-q", *(["-n", node] if node else []),
               "list_queues", "-p", vhost, "name", "messages"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        reason = next((line.strip() for line in result.stderr.splitlines() if line.strip()),
                      f"exit code {result.returncode}")
        raise DlqError(f"rabbitmqctl on node {node or '(default)'}: {reason}")
    rows = [line.split("\t") for line in result.stdout.splitlines() if "\t" in line]
    return [(name, int(count)) for name, count in rows if count.isdigit()]  # not the header


def list_parked(connection: Connection, node: str | None = None) -> list[tuple[str, int]]:
    """``<queue>.dlq`` queues of the connection's vhost with their message counts.

    Asked of ``node``, else of the first candidate node that lists a probe queue this
    connection declares, so the answer is about the broker ``connection`` talks to and
    not whichever node rabbitmqctl reaches by default; a node answers for its cluster.
    """
    if shutil.which("rabbitmqctl") is None:
        raise DlqError("rabbitmqctl not found: name the queue (evt-<source>--<service>.<method>.dlq)")
    vhost = connection.virtual_host or "/"
    probe = f"shared-dlq-probe-{uuid.uuid4().hex}"
    channel = connection.channel()
    channel.queue_declare(probe, exclusive=True, auto_delete=True)
    tried: list[str] = []
    try:
        for candidate in [node] if node else candidate_nodes(connection):
            try:
                rows = _list_queues(vhost, candidate)
            except DlqError as exc:
                tried.append(str(exc))
                continue
            if any(name == probe for name, _ in rows):
                return [(name, count) for name, count in rows if name.endswith(".dlq")]
            tried.append(f"node {candidate or '(default)'} is another broker")
    finally:
        channel.queue_delete(probe)
    raise DlqError(f"no RabbitMQ node found that serves {connection.as_uri()} ({'; '.join(tried)});"
                   " name it with --node")


@contextmanager
def missing_queue_is_an_error(connection: Connection, queue: str) -> Iterator[None]:
    try:
        yield
    except NotFound as exc:
        raise DlqError(f"no queue {queue!r} in vhost {connection.virtual_host or '/'!r}") from exc


def broker_call(amqp_uri: str, work: Callable[[Connection], T]) -> T:
    """Run ``work`` on a connection to ``amqp_uri``; an unreachable broker is a DlqError."""
    try:
        with Connection(amqp_uri) as connection:
            connection.ensure_connection(max_retries=1)
            return work(connection)
    except (OperationalError, ConnectionError) as exc:
        raise DlqError(f"cannot reach the broker at {Connection(amqp_uri).as_uri()}: {exc}") from exc


def show(connection: Connection, queue: str, limit: int) -> int:
    """Print parked events without taking them off the queue."""
    channel = connection.channel()
    held: list[Any] = []
    try:
        with missing_queue_is_an_error(connection, queue):
            channel.queue_declare(queue, passive=True)
        while len(held) < limit and (message := channel.basic_get(queue, no_ack=False)):
            held.append(message)
            body = message.body.decode("utf-8", "replace") if isinstance(message.body, bytes) \
                else str(message.body)
            headers = message.headers or {}
            print(f"- from {headers.get(ORIGIN_HEADER)} after {headers.get(ATTEMPTS_HEADER)} attempts:"
                  f" {headers.get(ERROR_HEADER)}\n  {body[:300]}")
    finally:
        for message in held:
            channel.basic_reject(message.delivery_tag, requeue=True)
    return len(held)


def replay(connection: Connection, queue: str) -> int:
    """Move every parked event back to its original queue; return how many moved."""
    consume = connection.channel()
    with missing_queue_is_an_error(connection, queue):
        consume.queue_declare(queue, passive=True)
    producer = Producer(Connection(connection.as_uri(include_password=True),
                                   transport_options={"confirm_publish": True}).channel())
    moved = 0
    while (message := consume.basic_get(queue, no_ack=False)) is not None:
        headers: dict[str, Any] = dict(message.headers or {})
        origin = headers.get(ORIGIN_HEADER)
        if not origin:
            consume.basic_reject(message.delivery_tag, requeue=True)
            raise DlqError(f"a message on {queue} does not say where it came from; left in place")
        headers[ATTEMPTS_HEADER] = 0
        headers.pop(ERROR_HEADER, None)
        producer.publish(message.body, exchange="", routing_key=origin, headers=headers,
                         content_type=message.content_type,
                         content_encoding=message.content_encoding, delivery_mode=2)
        consume.basic_ack(message.delivery_tag)  # only after the broker confirmed the copy
        moved += 1
        if moved % 100 == 0:
            print(f"  replayed {moved} ...", flush=True)
    return moved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.dlq", description=__doc__.splitlines()[0])
    parser.add_argument("--amqp-uri", default=os.environ.get("AMQP_URI", DEFAULT_AMQP_URI))
    commands = parser.add_subparsers(dest="command", required=True)
    list_cmd = commands.add_parser("list", help="queues with parked events")
    list_cmd.add_argument("--node", help="the RabbitMQ node to ask (default: the one serving --amqp-uri)")
    show_cmd = commands.add_parser("show", help="print parked events of a queue")
    show_cmd.add_argument("queue")
    show_cmd.add_argument("--limit", type=int, default=20)
    replay_cmd = commands.add_parser("replay", help="move parked events back to their queue")
    replay_cmd.add_argument("queue")
    args = parser.parse_args(argv)

    try:
        if args.command == "list":
            parked = broker_call(args.amqp_uri, lambda connection: list_parked(connection, args.node))
            for name, count in parked:
                print(f"{count:8d}  {name}")
            if not parked:
                print("no dead-letter queues")
        elif args.command == "show":
            shown = broker_call(args.amqp_uri, lambda connection: show(connection, args.queue, args.limit))
            print(f"{shown} shown (left on {args.queue})")
        else:
            moved = broker_call(args.amqp_uri, lambda connection: replay(connection, args.queue))
            print(f"replayed {moved} from {args.queue}")
    except DlqError as exc:
        print(f"shared.dlq: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
