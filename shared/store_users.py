"""Store users: each service connects with its own user (SCRAM-SHA-256), allowed to read
and write its own database only, so a process with network access alone can neither
read nor rewrite the event collections.

    python -m shared.store_users --url mongodb://127.0.0.1:27017/?retryWrites=false \\
        --passwords var/mongo-users --prefix crm_

creates (or updates) ``crm-admin`` (root: operators, backups) and ``crm-<service>``
(``readWrite`` on ``<prefix><service>``) in the ``admin`` database, passwords made once
in ``--passwords``. SecantusDB has no localhost exception: ``scripts/mongo.sh`` runs this
once against the store started without ``--auth``, then restarts it with ``--auth``.
On real MongoDB (docker-compose) ``deploy/mongo-init/users.js`` does the same.
"""
from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pymongo import MongoClient
from pymongo.errors import OperationFailure

SERVICES = ("customer", "invoice", "approval", "search", "gateway")  # gateway: sessions etc.
ADMIN_USER = "crm-admin"


def service_user(service: str) -> str:
    return f"crm-{service}"


def passwords(directory: str | Path, services: Iterable[str] = SERVICES) -> dict[str, str]:
    """The admin's and each service's password, made once (random, mode 0600)."""
    directory = Path(directory)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    found = {}
    for name in (ADMIN_USER, *(service_user(s) for s in services)):
        path = directory / f"{name}.password"
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(24))
        found[name] = path.read_text().strip()
    return found


def provision(client: MongoClient[Any], prefix: str, passwords: Mapping[str, str],
              services: Iterable[str] = SERVICES) -> list[str]:
    """Create or update the users; return their names."""
    wanted = {ADMIN_USER: [{"role": "root", "db": "admin"}]}
    wanted.update({service_user(s): [{"role": "readWrite", "db": f"{prefix}{s}"}] for s in services})
    admin = client["admin"]
    for name, roles in wanted.items():
        try:
            admin.command("createUser", name, pwd=passwords[name], roles=roles)
        except OperationFailure as exc:
            if exc.code != 51003 and "already exists" not in str(exc):
                raise
            admin.command("updateUser", name, pwd=passwords[name], roles=roles)
    return list(wanted)


def user_url(url: str, user: str, password: str) -> str:
    """``url`` with ``user:password@`` and ``authSource=admin``."""
    scheme, rest = url.split("://", 1)
    rest = rest.split("@", 1)[-1]
    separator = "&" if "?" in rest else ("?" if rest.endswith("/") else "/?")
    return f"{scheme}://{quote(user, safe='')}:{quote(password, safe='')}@{rest}{separator}authSource=admin"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.store_users", description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the store, reachable without authentication")
    parser.add_argument("--passwords", default="var/mongo-users")
    parser.add_argument("--prefix", default=os.environ.get("MONGO_DB_PREFIX", "crm_"))
    parser.add_argument("--print-url", metavar="USER", help="print USER's connection string and exit")
    args = parser.parse_args(argv)
    known = passwords(args.passwords)
    if args.print_url:
        print(user_url(args.url, args.print_url, known[args.print_url]))
        return 0
    client: MongoClient[Any] = MongoClient(args.url, serverSelectionTimeoutMS=10_000)
    try:
        made = provision(client, args.prefix, known)
    finally:
        client.close()
    print(f"store users ready: {', '.join(made)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
