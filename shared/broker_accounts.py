"""RabbitMQ accounts: one per service, and one for internal RPC callers.

The caller account (``invoice-client`` locally) may publish calls to ``nameko-rpc``
(routing keys ``<service>.<method>`` only), declare, bind (by its UUID routing key only)
and read its own reply queues ``rpc.reply-standalone_rpc_proxy-<uuid>``, and nothing
else: it cannot bind ``#`` (or any non-UUID key) to ``nameko-rpc``, cannot bind to an
``*.events`` exchange, cannot read or consume a service's queue, cannot declare or
delete exchanges. It connects with ``shared.rpc_client.client_proxy`` (a nameko
``ClusterRpcProxy`` that does not re-declare ``nameko-rpc``).

Caller services (``CALLERS``: the HTTP gateway, account ``crm-gateway``) are RPC callers
with the same rights, their reply queues named after them (``rpc.reply-gateway-<uuid>``,
nameko's ``ReplyListener`` without the exchange declaration): no events, no service
queues.

Each service's account reaches its own queues, the RPC exchange, its own events
exchange to publish and the others' to consume, and binds on ``nameko-rpc`` only its
own ``<service>.*`` and UUID reply keys: a leaked service password does not reveal the
calls (and tokens) of other services.

Written as RabbitMQ definitions, imported in one ``rabbitmqctl import_definitions``
(idempotent: passwords and permissions are set again):

    python -m shared.broker_accounts --vhost / --passwords var/rabbitmq \\
        | rabbitmqctl import_definitions -
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import secrets
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

SERVICES = ("customer", "invoice", "approval", "search")
CALLERS = ("gateway",)  # services that only call others: RPC caller rights, own reply queues
CLIENT_USER = "invoice-client"
CLIENT_DEV_PASSWORD = "invoice-client-dev"
RPC_EXCHANGE = "nameko-rpc"
UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
CLIENT_REPLY_QUEUE = rf"rpc\.reply-standalone_rpc_proxy-{UUID}"


def service_user(service: str, prefix: str = "crm-") -> str:
    return f"{prefix}{service}"


def password_hash(password: str) -> str:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt + password))."""
    salt = secrets.token_bytes(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def client_permissions(reply_queue: str = CLIENT_REPLY_QUEUE) -> dict[str, str]:
    own = f"^{reply_queue}$"
    return {"configure": own, "write": f"^({RPC_EXCHANGE}|{reply_queue})$",
            "read": f"^({RPC_EXCHANGE}|{reply_queue})$"}


def caller_reply_queue(caller: str) -> str:
    """The reply queues of a caller service's nameko ``ReplyListener``."""
    return rf"rpc\.reply-{caller}-{UUID}"


def client_topic_permissions(services: Iterable[str]) -> dict[str, str]:
    return {"write": rf"^({'|'.join(services)})\.[A-Za-z_][A-Za-z0-9_]*$", "read": f"^{UUID}$"}


def _names(service: str) -> str:
    """The nameko service names a service's processes run (``search``, ``search_projector``)."""
    return rf"{service}(_[a-z]+)?"


def service_permissions(service: str) -> dict[str, str]:
    names = _names(service)
    queues = (rf"rpc-{names}|rpc\.reply-({names}|standalone_rpc_proxy)-{UUID}"
              rf"|evt-[a-z_]+--{names}\..+")
    return {"configure": rf"^({RPC_EXCHANGE}|[a-z_]+\.events|{queues})$",
            "write": rf"^({RPC_EXCHANGE}|{service}\.events|amq\.default|{queues})$",
            "read": rf"^({RPC_EXCHANGE}|[a-z_]+\.events|{queues})$"}


def service_topic_permissions(service: str) -> dict[str, str]:
    return {"write": ".*", "read": rf"^({_names(service)}\.\*|{UUID})$"}


def definitions(vhost: str, passwords: Mapping[str, str], services: Iterable[str] = SERVICES,
                prefix: str = "crm-", client_user: str = CLIENT_USER,
                extra_permissions: Iterable[Mapping[str, str]] = (),
                callers: Iterable[str] = CALLERS) -> dict[str, Any]:
    """Definitions for the service accounts (``passwords[service]``), the caller
    services' (``passwords[caller]``) and the caller account (``passwords[client_user]``)
    in ``vhost``."""
    services = list(services)
    users, permissions, topics = [], [dict(p, vhost=vhost) for p in extra_permissions], []
    for service in services:
        name = service_user(service, prefix)
        users.append(_user(name, passwords[service]))
        permissions.append({"user": name, "vhost": vhost, **service_permissions(service)})
        topics.append({"user": name, "vhost": vhost, "exchange": RPC_EXCHANGE,
                       **service_topic_permissions(service)})
    for caller in callers:
        name = service_user(caller, prefix)
        users.append(_user(name, passwords[caller]))
        permissions.append({"user": name, "vhost": vhost,
                            **client_permissions(caller_reply_queue(caller))})
        topics.append({"user": name, "vhost": vhost, "exchange": RPC_EXCHANGE,
                       **client_topic_permissions(services)})
    users.append(_user(client_user, passwords[client_user]))
    permissions.append({"user": client_user, "vhost": vhost, **client_permissions()})
    topics.append({"user": client_user, "vhost": vhost, "exchange": RPC_EXCHANGE,
                   **client_topic_permissions(services)})
    return {"users": users, "vhosts": [{"name": vhost}], "permissions": permissions,
            "topic_permissions": topics}


def _user(name: str, password: str) -> dict[str, Any]:
    return {"name": name, "password_hash": password_hash(password),
            "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": ""}


def local_passwords(directory: str | Path,
                    services: Iterable[str] = (*SERVICES, *CALLERS)) -> dict[str, str]:
    """Each service's password, made once (random) in ``directory/<service>.password``;
    the caller account's is ``invoice-client-dev`` locally."""
    directory = Path(directory)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    passwords = {CLIENT_USER: os.environ.get("INVOICE_CLIENT_PASSWORD") or CLIENT_DEV_PASSWORD}
    for service in services:
        path = directory / f"{service}.password"
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(24))
        passwords[service] = path.read_text().strip()
    return passwords


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.broker_accounts",
                                     description="RabbitMQ definitions of the accounts")
    parser.add_argument("--vhost", default="/")
    parser.add_argument("--passwords", default="var/rabbitmq",
                        help="directory of the service passwords (made once)")
    args = parser.parse_args(argv)
    json.dump(definitions(args.vhost, local_passwords(args.passwords)), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
