"""The search projector and its indexes on the real store: the driver filters of the
common queries use an index (explain shows no collection scan), and the projector keeps
views and buckets exactly in step, idempotently."""
from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from bson import decode
from pymongo.database import Database

from search.adapters.views import MongoViews, ensure_indexes
from search.application.planner import bucket_driver, invoice_driver
from search.domain.buckets import FAMILIES
from search.projector import Projector
from shared.events.consumer import StreamTracker
from shared.events.envelope import GENESIS_HASH, compute_hash
from shared.query import invoice_catalog, parse_filters


def stages(plan: dict[str, Any]) -> list[str]:
    found = [str(plan.get("stage"))]
    if "inputStage" in plan:
        found += stages(plan["inputStage"])
    for inner in plan.get("inputStages", []):
        found += stages(inner)
    return found


def winning_stages(cursor: Any) -> list[str]:
    """SecantusDB returns queryPlanner as raw BSON; real MongoDB as a dict."""
    planner = cursor.explain()["queryPlanner"]
    if hasattr(planner, "raw"):
        planner = decode(planner.raw)
    return stages(planner["winningPlan"])


def envelope(stream_id: str, version: int, kind: str, data: dict[str, Any], position: int,
             stream_type: str = "invoice") -> dict[str, Any]:
    return {"event_id": uuid.uuid4().hex, "stream_id": stream_id, "stream_type": stream_type,
            "version": version, "position": position, "type": kind, "schema_version": 1,
            "occurred_at": "2026-04-02T08:00:00Z", "actor": {"id": "u1", "name": "U"},
            "data": data}


def created(invoice_id: str, position: int, **fields: Any) -> dict[str, Any]:
    values = {"title": "服务费", "type": "vat_special", "amount": "100.00", "issued_on": "2026-04-02",
              "customer_id": "cus_1", "owner_id": "u1", "department_id": "d1", "payment_ids": [],
              "custom": {}}
    values.update(fields)
    return envelope(invoice_id, 1, "InvoiceCreated", {"number": f"INV-{position}", "fields": values}, position)


@pytest.fixture
def views(db: Database[Any]) -> MongoViews:
    ensure_indexes(db, 0)
    return MongoViews(db, 0)


def chained(events: list[dict[str, Any]]) -> None:
    """Link and hash each stream's events (in version order) as the invoice store would."""
    streams: dict[str, dict[int, dict[str, Any]]] = {}
    for event in events:
        streams.setdefault(event["stream_id"], {})[event["version"]] = event
    for by_version in streams.values():
        prev_hash = GENESIS_HASH
        for version in sorted(by_version):
            by_version[version]["prev_hash"] = prev_hash
            by_version[version]["hash"] = prev_hash = compute_hash(by_version[version])


def project(db: Database[Any], events: list[dict[str, Any]]) -> None:
    chained(events)
    tracker = StreamTracker(db, "search.g0.invoice")
    projector = Projector(lambda tx: MongoViews(db, 0, tx.session))
    for event in events:
        tracker.handle(event, projector.apply, lambda stream, after: [])


COMMON_QUERIES = {
    "type + date range": [{"field": "type", "op": "eq", "value": "vat_special"},
                          {"field": "issued_on", "op": "between", "value": ["2026-04-01", "2026-04-30"]},
                          {"field": "amount", "op": "gte", "value": "10"}],
    "customer": [{"field": "customer_id", "op": "eq", "value": "cus_1"}],
    "contract": [{"field": "contract_id", "op": "eq", "value": "con_1"}],
    "owner": [{"field": "owner_id", "op": "eq", "value": "u1"}],
    "tracking_number": [{"field": "tracking_number", "op": "eq", "value": "SF1"}],
    "invoice_no": [{"field": "invoice_no", "op": "eq", "value": "NO-1"}],
    "contains": [{"field": "title", "op": "contains", "value": "服务"}],
    "date range only": [{"field": "issued_on", "op": "gte", "value": "2026-04-01"}],
}


@pytest.mark.parametrize("name", list(COMMON_QUERIES))
def test_common_queries_fetch_their_candidates_through_an_index(db: Database[Any], views: MongoViews,
                                                                name: str) -> None:
    project(db, [created(f"inv_{n}", n, amount=f"{n}.00", tracking_number=f"SF{n}",
                         invoice_no=f"NO-{n}", contract_id="con_1" if n % 2 else None) for n in range(1, 30)])
    conditions = parse_filters(COMMON_QUERIES[name], invoice_catalog())

    driver = invoice_driver(conditions, "all", None, None)

    assert driver, name
    assert "COLLSCAN" not in winning_stages(views.invoices.find(driver)), (name, driver)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_bucket_reads_use_an_index(db: Database[Any], views: MongoViews, family: str) -> None:
    project(db, [created(f"inv_{n}", n) for n in range(1, 5)])
    conditions = parse_filters([{"field": "issued_on", "op": "between", "value": ["2026-04-01", "2026-04-30"]},
                                {"field": "customer_id", "op": "eq", "value": "cus_1"}], invoice_catalog())

    driver = bucket_driver(family, conditions)

    assert "COLLSCAN" not in winning_stages(views.buckets.find(driver))


def test_buckets_follow_every_change_and_redelivery_changes_nothing(db: Database[Any], views: MongoViews) -> None:
    events = [
        created("inv_a", 1, amount="0.10"),
        created("inv_b", 2, amount="0.20", type="receipt"),
        envelope("inv_a", 2, "InvoiceFieldsChanged", {"changes": {
            "type": {"from": "vat_special", "to": "receipt"}, "amount": {"from": "0.10", "to": "0.15"}}}, 3),
        envelope("inv_b", 2, "InvoiceVoided", {"reason": "x"}, 4),
    ]
    project(db, events)
    snapshot = sorted(views.buckets.find(), key=lambda b: b["_id"])
    project(db, events + list(reversed(events)))

    assert sorted(views.buckets.find(), key=lambda b: b["_id"]) == snapshot
    t_buckets = {(b["type"], b["status"]): (b["count"], b["amount"]) for b in snapshot if b["family"] == "t"}
    assert t_buckets == {("receipt", "active"): (1, Decimal("0.15")), ("receipt", "void"): (1, Decimal("0.20"))}
    assert isinstance(views.invoices.find_one({"_id": "inv_a"}, {"amount": 1})["amount"], Decimal)


def test_stats_sum_the_tax_figures_from_buckets_and_from_views_alike(
        db: Database[Any], views: MongoViews) -> None:
    from search.application.queries import Queries
    from shared.auth import Actor, Policy

    project(db, [
        created("inv_t1", 1, amount="113.00", tax_rate="0.13", tax_amount="13.00",
                amount_excluding_tax="100.00"),
        created("inv_t2", 2, amount="106.00", tax_rate="0.06", tax_amount="6.00",
                amount_excluding_tax="100.00", title="咨询"),
        created("inv_t3", 3, amount="5.00", type="receipt"),
    ])
    queries = Queries(views, Policy.load(), Actor("admin-1", "Ada", "hq", ("admin",)))

    by_buckets = queries.stats(None, ["type"])
    by_views = queries.stats({"text": "INV"}, ["type"])  # a text query reads the views

    for stats in (by_buckets, by_views):
        # the receipt has no rate: no tax, its whole amount excluding tax
        assert stats["total"] == {"count": 3, "amount": "224.00", "tax_amount": "19.00",
                                  "amount_excluding_tax": "205.00"}
        assert stats["rows"][1] == {"type": "vat_special", "count": 2, "amount": "219.00",
                                    "tax_amount": "19.00", "amount_excluding_tax": "200.00"}
    assert queries.stats(None, ["kind"])["rows"] == [
        {"kind": "invoice", "count": 3, "amount": "224.00", "tax_amount": "19.00",
         "amount_excluding_tax": "205.00"}]


def test_stats_calendar_and_reconciliation_count_credit_notes_against_their_invoice(
        db: Database[Any], views: MongoViews) -> None:
    from search.application.queries import Queries
    from shared.auth import Actor, Policy

    fields = {"contract_id": "con_9", "customer_id": "cus_9"}
    project(db, [
        created("inv_o", 1, amount="1130.00", tax_rate="0.13", tax_amount="130.00",
                amount_excluding_tax="1000.00", **fields),
        created("inv_p", 2, amount="50.00", **fields),
        envelope("inv_o", 2, "CreditNoteIssued", {
            "credit_note_id": "inv_c", "amount": "1130.00", "tax_amount": "130.00",
            "credited_amount": "1130.00", "credited_tax_amount": "130.00",
            "fully_credited": True, "reason": "退货"}, 3),
        envelope("inv_c", 1, "InvoiceCreated", {
            "number": "INV-3", "kind": "credit", "credits_invoice_id": "inv_o", "reason": "退货",
            "fields": {"title": "服务费", "type": "vat_special", "amount": "-1130.00",
                       "tax_rate": "0.13", "tax_amount": "-130.00",
                       "amount_excluding_tax": "-1000.00", "issued_on": "2026-04-03",
                       "owner_id": "u1", "department_id": "d1", "payment_ids": [],
                       "custom": {}, **fields}}, 4),
    ])
    views.upsert("contract", "con_9", {"customer_id": "cus_9", "number": "HT-9",
                                       "amount": "2000.00", "owner_id": "u1", "department_id": "d1"})
    queries = Queries(views, Policy.load(), Actor("admin-1", "Ada", "hq", ("admin",)))

    stats = queries.stats({"filters": [{"field": "customer_id", "op": "eq", "value": "cus_9"}]},
                          ["kind"])
    days = queries.calendar(2026, 4, {"filters": [{"field": "customer_id", "op": "eq", "value": "cus_9"}]})
    tab = queries.customer_invoices("cus_9", 10, None)
    [contract] = queries.reconciliation(None, "con_9")

    assert stats["total"] == {"count": 3, "amount": "50.00", "tax_amount": "0.00",
                              "amount_excluding_tax": "50.00"}
    assert [(r["kind"], r["count"], r["amount"]) for r in stats["rows"]] == \
        [("credit", 1, "-1130.00"), ("invoice", 2, "1180.00")]
    assert [(d["date"], d["amount"]) for d in days] == [("2026-04-02", "1180.00"), ("2026-04-03", "-1130.00")]
    assert tab["amount"] == "50.00" and tab["count"] == 3
    assert contract["invoiced_amount"] == "50.00"
    original = queries.get_invoice_view("inv_o")
    assert original["status"] == "credited" and original["net_amount"] == "0.00"
    assert original["credit_note_ids"] == ["inv_c"]
