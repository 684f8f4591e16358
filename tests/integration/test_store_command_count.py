"""Every command a service's store client sends is counted (crm_store_commands_total):
the store round trips of a call, counted rather than timed (issue 14)."""
from __future__ import annotations

from typing import Any

from pymongo.database import Database

from shared import metrics


def sent(db: Database[Any] | str, command: str, collection: str) -> float:
    name = db if isinstance(db, str) else db.name
    return metrics.STORE_COMMANDS.labels(name, command, collection)._value.get()


def test_each_round_trip_to_the_store_is_counted_by_command_and_collection(db: Database[Any]) -> None:
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
