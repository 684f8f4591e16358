"""The benchmark's bulk fixture (bench/fixture.py) writes what the services would have:
chains and signatures that verify, state documents equal to the fold of their events,
search views and buckets, the approval replica, and checkpoints past every event."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pymongo.database import Database

from bench.fixture import load_invoices
from invoice.adapters.invoices import MongoInvoiceRepository
from search.adapters.views import collection_name
from shared.events.store import EventStore
from shared.mongo import connect, database
from tests.support.infra import key_ring, signing_key

pytestmark = pytest.mark.integration
COUNT = 30


@pytest.fixture
def dbs(mongo_server: Any, db_prefix: str) -> Iterator[dict[str, Database[Any]]]:
    client = connect(mongo_server.url)
    names = {name: f"{db_prefix}fx_{name}" for name in ("invoice", "search", "approval")}
    yield {name: database(client, db_name) for name, db_name in names.items()}
    for db_name in names.values():
        client.drop_database(db_name)
    client.close()


def test_the_bulk_fixture_writes_what_the_services_would_have(dbs: dict[str, Database[Any]]) -> None:
    # given empty stores; when the fixture writes COUNT invoices
    done = load_invoices(dbs["invoice"], dbs["search"], dbs["approval"], signing_key("invoice"),
                         COUNT, ["cus_a", "cus_b"], progress=lambda line: None)

    # then the invoice store verifies: chains, signatures, heads, states
    store = EventStore(dbs["invoice"], signing_key("invoice"), keys=key_ring())
    report = store.verify()
    assert done["invoices"] == COUNT
    assert report["ok"] and report["checked"] == COUNT, report["broken"][:3]
    repository = MongoInvoiceRepository(dbs["invoice"], store)
    assert repository.state_breaks(None) == []
    assert repository.load("inv_fx0000007").version == 1
    # the relay and the consumers are past every event: nothing is published or replayed
    assert dbs["invoice"]["outbox_relay"].find_one({"_id": "outbox"})["position"] == COUNT
    for db, consumer in ((dbs["search"], "search.g0.invoice"), (dbs["approval"], "approval.invoice_events")):
        assert db["consumer_catch_up"].find_one({"_id": consumer}) == {
            "_id": consumer, "position": COUNT, "complete": True}
        assert db["tracking"].count_documents({"_id": {"$regex": f"^{consumer}:"}, "version": 1}) == COUNT
    # the search views and their buckets, the approval replica
    assert dbs["search"][collection_name(0, "invoices")].count_documents({}) == COUNT
    assert dbs["search"][collection_name(0, "buckets")].count_documents({}) > 0
    assert dbs["approval"]["invoice_replica"].count_documents({"awaiting_outcome": False}) == COUNT
