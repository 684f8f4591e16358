"""Search by customer on the real store: a page reads about a page of the customer's
invoice views (and the customer's buckets for the total), not every invoice of the
customer, with the same order, total and paging as before (issue 14)."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pymongo.database import Database

from search.adapters.buffered import count_buckets
from search.adapters.views import (
    Generations,
    MongoViews,
    collection_name,
    drop_generation,
    ensure_indexes,
    mark_if_empty,
)
from search.application.queries import Queries
from shared.auth import Actor, Policy
from tests.support.query_cost import watched

pytestmark = pytest.mark.integration

ADMIN = Actor("admin-1", "Ada", "hq", ("admin",))
SALES = Actor("u3", "Sam", "d3", ("sales",))
MANAGER = Actor("m1", "Mia", "d1", ("sales_manager",))
CUS_A = [{"field": "customer_id", "op": "eq", "value": "cus_a"}]


def view(n: int, customer: str, issued_on: str | None, **overrides: Any) -> dict[str, Any]:
    return {"_id": f"inv_{n:04d}", "id": f"inv_{n:04d}", "number": f"INV-{n:04d}",
            "kind": "invoice", "type": "vat_special", "status": "active", "amount": "10.00",
            "issued_on": issued_on, "customer_id": customer, "owner_id": "u1",
            "department_id": "d1", "custom": {}, **overrides}


def day(n: int) -> str:
    return (dt.date(2025, 1, 1) + dt.timedelta(days=n)).isoformat()


@pytest.fixture
def store_views(db: Database[Any]) -> list[dict[str, Any]]:
    """300 invoices of cus_a over ~10 months (two a day, some void, two undated) among
    300 of other customers."""
    ensure_indexes(db, 0)
    docs = [view(n, "cus_a", day(n // 2), **({"status": "void"} if n % 17 == 0 else {}))
            for n in range(300)]
    docs += [view(1000 + n, "cus_b", day(n)) for n in range(300)]
    docs += [view(2000, "cus_a", None), view(2001, "cus_a", None)]
    db[collection_name(0, "invoices")].insert_many(docs)
    count_buckets(db, 0)
    return docs


def expected_order(docs: list[dict[str, Any]]) -> list[str]:
    mine = [d for d in docs if d["customer_id"] == "cus_a" and d["status"] != "void"]
    dated = sorted((d for d in mine if d["issued_on"]), key=lambda d: d["_id"])
    dated.sort(key=lambda d: d["issued_on"], reverse=True)
    return [d["_id"] for d in dated] + sorted(d["_id"] for d in mine if not d["issued_on"])


def test_a_page_of_a_customer_examines_about_a_page_not_all_its_invoices(
        db: Database[Any], mongo_server: Any, store_views: list[dict[str, Any]]) -> None:
    with watched(mongo_server.url, db.name) as (watched_db, examined):
        queries = Queries(MongoViews(watched_db, 0), Policy.load(), ADMIN)
        flt = [{"field": "customer_id", "op": "eq", "value": "cus_a"}]

        # when the first page of 20 is asked for
        first = queries.search({"filters": flt, "limit": 20})

        # then it holds the customer's 20 latest, the total counts all 284 shown
        assert [i["id"] for i in first["items"]] == expected_order(store_views)[:20]
        assert first["total"] == len(expected_order(store_views))
        # and the store examined about a page of views, not the customer's 302
        assert sum(examined()) <= 40


def test_paging_a_customer_gives_every_invoice_once_in_order(
        db: Database[Any], store_views: list[dict[str, Any]]) -> None:
    queries = Queries(MongoViews(db, 0), Policy.load(), ADMIN)
    flt = [{"field": "customer_id", "op": "eq", "value": "cus_a"}]
    seen: list[str] = []
    cursor = None
    for _ in range(40):
        page = queries.search({"filters": flt, "limit": 15, "cursor": cursor})
        assert page["total"] == len(expected_order(store_views))
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected_order(store_views)


@pytest.fixture
def spread_views(db: Database[Any]) -> list[dict[str, Any]]:
    """300 invoices of cus_a over ~10 months, each with its own owner and contract (as
    in the bench fixture: about one fine bucket per invoice), some void, two undated."""
    ensure_indexes(db, 0)
    docs = [view(n, "cus_a", day(n // 2), owner_id=f"u{n % 50}", department_id=f"d{n % 5}",
                 contract_id=f"con_{n}", **({"status": "void"} if n % 17 == 0 else {}))
            for n in range(300)]
    docs += [view(1000 + n, "cus_b", day(n), owner_id=f"u{n % 50}") for n in range(300)]
    docs += [view(2000, "cus_a", None, owner_id="u3"), view(2001, "cus_a", None, owner_id="u4")]
    db[collection_name(0, "invoices")].insert_many(docs)
    count_buckets(db, 0)
    return docs


def shown(docs: list[dict[str, Any]], actor: Actor) -> int:
    policy = Policy.load()
    return sum(1 for d in docs if d["customer_id"] == "cus_a" and d["status"] != "void"
               and policy.covers(actor, "view", d["owner_id"], d["department_id"]))


def test_a_customers_total_reads_a_few_counts_not_one_per_invoice(
        db: Database[Any], mongo_server: Any, spread_views: list[dict[str, Any]]) -> None:
    with watched(mongo_server.url, db.name) as (watched_db, examined):
        queries = Queries(MongoViews(watched_db, 0), Policy.load(), ADMIN)

        # when an admin asks for the first page of a customer split over 50 owners
        first = queries.search({"filters": CUS_A, "limit": 20})

        # then the total is a count of the customer's invoices
        assert first["total"] == shown(spread_views, ADMIN)
        assert [i["id"] for i in first["items"]] == expected_order(spread_views)[:20]
        # and the store examined about a page of views and a few counts per month,
        # not a count per invoice (~300)
        assert sum(examined()) <= 60


def test_scoped_callers_count_a_customer_from_the_fine_buckets(
        db: Database[Any], spread_views: list[dict[str, Any]]) -> None:
    for actor in (SALES, MANAGER, ADMIN):
        queries = Queries(MongoViews(db, 0), Policy.load(), actor)

        page = queries.search({"filters": CUS_A, "limit": 5})

        assert page["total"] == shown(spread_views, actor), actor.roles


def test_a_projection_without_the_customer_counts_still_answers_the_true_total(
        db: Database[Any], spread_views: list[dict[str, Any]]) -> None:
    # given a generation projected before the per-customer counts existed
    db["projection_meta"].delete_many({})
    db[collection_name(0, "buckets")].delete_many({"family": "k"})
    queries = Queries(MongoViews(db, 0), Policy.load(), ADMIN)

    # when an admin pages the customer, then the total still counts every invoice
    seen: list[str] = []
    cursor = None
    for _ in range(40):
        page = queries.search({"filters": CUS_A, "limit": 50, "cursor": cursor})
        assert page["total"] == shown(spread_views, ADMIN)
        seen += [i["id"] for i in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert seen == expected_order(spread_views)


def test_only_a_generation_that_starts_empty_or_is_counted_has_complete_customer_counts(
        db: Database[Any]) -> None:
    generations = Generations(db)
    # an empty generation gets every family from the projector as events arrive
    mark_if_empty(db, 5)
    assert generations.counts_customers(5)
    # one that already holds views from before the family existed does not
    db[collection_name(6, "invoices")].insert_one(view(1, "cus_a", day(1)))
    mark_if_empty(db, 6)
    assert not generations.counts_customers(6)
    assert "k" not in MongoViews(db, 6).complete_families()
    # until its buckets are counted again from the views
    count_buckets(db, 6)
    assert "k" in MongoViews(db, 6).complete_families()
    drop_generation(db, 6)
    assert not generations.counts_customers(6)
