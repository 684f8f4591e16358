"""Operator tool for parked events: ``python -m shared.dlq list|show|replay``.

An event whose handler failed ``max_attempts`` times is parked on ``<queue>.dlq`` with
headers saying why (``x-crm-error``), how often it was tried and which queue it came
from. Once the cause is fixed, ``replay`` moves every parked event back onto the queue
it came from (attempt counter reset); consumers are idempotent, so replaying an event
that was meanwhile applied another way does no harm.

    python -m shared.dlq list                       # queues with parked events (rabbitmqctl)
    python -m shared.dlq show evt-customer--invoice.on_customer_event.dlq
    python -m shared.dlq replay evt-customer--invoice.on_customer_event.dlq
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from typing import Any

from kombu import Connection
from kombu.messaging import Producer

from shared.events.consumer import ATTEMPTS_HEADER, ERROR_HEADER

ORIGIN_HEADER = "x-crm-original-queue"
DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"


def list_parked(vhost: str) -> list[tuple[str, int]]:
    if shutil.which("rabbitmqctl") is None:
        raise SystemExit("rabbitmqctl not found: name the queue (evt-<source>--<service>.<method>.dlq)")
    output = subprocess.run(["rabbitmqctl", "-q", "list_queues", "-p", vhost, "name", "messages"],
                            check=True, capture_output=True, text=True, timeout=60).stdout
    rows = [line.split("\t") for line in output.splitlines() if "\t" in line]
    return [(name, int(count)) for name, count in rows if name.endswith(".dlq")]


def show(connection: Connection, queue: str, limit: int) -> int:
    """Print parked events without taking them off the queue."""
    channel = connection.channel()
    held: list[Any] = []
    try:
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
    producer = Producer(Connection(connection.as_uri(include_password=True),
                                   transport_options={"confirm_publish": True}).channel())
    moved = 0
    while (message := consume.basic_get(queue, no_ack=False)) is not None:
        headers: dict[str, Any] = dict(message.headers or {})
        origin = headers.get(ORIGIN_HEADER)
        if not origin:
            consume.basic_reject(message.delivery_tag, requeue=True)
            raise SystemExit(f"a message on {queue} does not say where it came from; left in place")
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
    commands.add_parser("list", help="queues with parked events")
    show_cmd = commands.add_parser("show", help="print parked events of a queue")
    show_cmd.add_argument("queue")
    show_cmd.add_argument("--limit", type=int, default=20)
    replay_cmd = commands.add_parser("replay", help="move parked events back to their queue")
    replay_cmd.add_argument("queue")
    args = parser.parse_args(argv)

    with Connection(args.amqp_uri) as connection:
        if args.command == "list":
            vhost = connection.virtual_host or "/"
            parked = list_parked(vhost)
            for name, count in parked:
                print(f"{count:8d}  {name}")
            if not parked:
                print("no dead-letter queues")
        elif args.command == "show":
            print(f"{show(connection, args.queue, args.limit)} shown (left on {args.queue})")
        else:
            print(f"replayed {replay(connection, args.queue)} from {args.queue}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
