"""Store users on SecantusDB with --auth: each service's user reads and writes its own
database only; without credentials, or with wrong ones, nothing is read or written."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pymongo import MongoClient
from pymongo.errors import OperationFailure, ServerSelectionTimeoutError

from shared.events.envelope import Metadata, PendingEvent, StreamHead
from shared.events.store import EventStore
from shared.mongo import connect, database
from shared.store_users import ADMIN_USER, passwords, provision, service_user, user_url
from tests.support.infra import MongoProcess, signing_key


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MongoProcess, dict[str, str]]]:
    server = MongoProcess(on_disk=True)
    known = passwords(tmp_path_factory.mktemp("store-users"))
    client: MongoClient[Any] = MongoClient(server.url)
    provision(client, "crm_", known)
    client.close()
    server.restart(auth=True)
    yield server, known
    server.stop()


def as_user(server: MongoProcess, known: dict[str, str], user: str) -> MongoClient[Any]:
    return connect(user_url(server.url, user, known[user]))


def test_a_service_user_appends_to_its_own_store_only(secured: tuple[MongoProcess, dict[str, str]]) -> None:
    server, known = secured
    client = as_user(server, known, service_user("invoice"))
    try:
        store = EventStore(database(client, "crm_invoice"), signing_key("invoice"))
        store.ensure_indexes()
        appended = store.append("inv_1", "invoice", StreamHead(), [PendingEvent("Made", {})],
                                Metadata(actor={"id": "u1"}))
        assert appended[0]["version"] == 1
        with pytest.raises(OperationFailure):
            database(client, "crm_customer")["events"].find_one()
        with pytest.raises(OperationFailure):
            database(client, "crm_customer")["events"].insert_one({"forged": True})
    finally:
        client.close()


def test_without_credentials_or_with_wrong_ones_nothing_is_read_or_written(
        secured: tuple[MongoProcess, dict[str, str]]) -> None:
    server, known = secured
    anonymous: MongoClient[Any] = MongoClient(server.url, serverSelectionTimeoutMS=2000)
    wrong: MongoClient[Any] = MongoClient(user_url(server.url, service_user("invoice"), "not-the-password"),
                                          serverSelectionTimeoutMS=2000)
    try:
        for client in (anonymous, wrong):
            # a failed login surfaces as a server that cannot be selected
            with pytest.raises((OperationFailure, ServerSelectionTimeoutError)):
                client["crm_invoice"]["events"].find_one()
            with pytest.raises((OperationFailure, ServerSelectionTimeoutError)):
                client["crm_invoice"]["events"].delete_many({})
    finally:
        anonymous.close()
        wrong.close()
    admin = as_user(server, known, ADMIN_USER)
    try:
        assert admin["crm_invoice"]["events"].count_documents({}) >= 1
    finally:
        admin.close()
