"""With STORE_COUNT_COMMANDS=1 every command a service's store client sends is counted
(crm_store_commands_total): the store round trips of a call, counted rather than timed
(issue 14); without it nothing is counted (the listener costs CPU per command)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pymongo.database import Database

from shared import metrics
from shared.mongo import COUNT_COMMANDS_ENV, connect, database


@pytest.fixture
def counted_db(mongo_server: Any, db_prefix: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database[Any]]:
    monkeypatch.setenv(COUNT_COMMANDS_ENV, "1")
    client = connect(mongo_server.url)
    yield database(client, f"{db_prefix}counted")
    client.drop_database(f"{db_prefix}counted")
    client.close()


def sent(db: Database[Any] | str, command: str, collection: str) -> float:
    name = db if isinstance(db, str) else db.name
    return metrics.STORE_COMMANDS.labels(name, command, collection)._value.get()


def test_each_round_trip_to_the_store_is_counted_by_command_and_collection(counted_db: Database[Any]) -> None:
    db = counted_db
    finds, inserts = sent(db, "find", "things"), sent(db, "insert", "things")
    commits = sent("admin", "commitTransaction", "")  # sent to admin

    db["things"].insert_one({"_id": 1})
    db["things"].find_one({"_id": 1})
    db["things"].find_one({"_id": 2})
    with db.client.start_session() as session:
        session.with_transaction(lambda s: db["things"].insert_one({"_id": 3}, session=s))

    assert sent(db, "find", "things") - finds == 2
    assert sent(db, "insert", "things") - inserts == 2
    assert sent("admin", "commitTransaction", "") - commits == 1


def test_without_the_switch_nothing_is_counted(db: Database[Any]) -> None:
    finds = sent(db, "find", "things")

    db["things"].find_one({"_id": 1})

    assert sent(db, "find", "things") == finds
