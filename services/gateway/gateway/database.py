"""The gateway's own MongoDB database (``<prefix>gateway``): sessions, sign-in failures
and idempotency keys. No business data lives here."""
from __future__ import annotations

from typing import Any

from nameko.extensions import SharedExtension
from pymongo import ASCENDING
from pymongo.database import Database

from shared.mongo import connect, database, database_name

IDEMPOTENCY_TTL_SECONDS = 24 * 3600
LOGIN_FAILURE_TTL_SECONDS = 3600


def ensure_indexes(db: Database[Any]) -> None:
    """TTL indexes: the store forgets expired sessions, old failures and day-old keys."""
    db.sessions.create_index([("expires_at", ASCENDING)], expireAfterSeconds=0,
                             name="sessions_ttl")
    db.login_failures.create_index([("updated_at", ASCENDING)],
                                   expireAfterSeconds=LOGIN_FAILURE_TTL_SECONDS,
                                   name="login_failures_ttl")
    db.idempotency.create_index([("created_at", ASCENDING)],
                                expireAfterSeconds=IDEMPOTENCY_TTL_SECONDS,
                                name="idempotency_ttl")


class GatewayDatabase(SharedExtension):
    """One MongoDB client per gateway process, shared by the entrypoint (sessions) and
    the dependencies (idempotency keys)."""

    db: Database[Any]

    def setup(self) -> None:
        config = self.container.config
        self.client = connect(config.get("MONGO_URL"))
        self.db = database(self.client, database_name(config, "gateway"))

    def start(self) -> None:
        ensure_indexes(self.db)

    def stop(self) -> None:
        self.client.close()

    def kill(self) -> None:
        self.client.close()
