"""Integration fixtures: a fresh database on the session's real store per test."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pymongo.database import Database

from shared.events.store import EventStore
from shared.mongo import connect, database
from tests.support.infra import key_ring, signing_key


@pytest.fixture
def db(mongo_server: Any, db_prefix: str) -> Iterator[Database[Any]]:
    client = connect(mongo_server.url)
    yield database(client, f"{db_prefix}store")
    client.drop_database(f"{db_prefix}store")
    client.close()


@pytest.fixture
def store(db: Database[Any]) -> EventStore:
    created = EventStore(db, signing_key("teststore"), keys=key_ring())
    created.ensure_indexes()
    return created
