"""The read use cases: search, get_invoice_view, stats, calendar, customer_invoices,
reconciliation, uninvoiced_payments. Every answer is limited to what the actor may view
(shared.auth.Policy, scope ``view``)."""
from __future__ import annotations

import calendar as calendar_module
import datetime as dt
import heapq
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from functools import cmp_to_key
from typing import Any

from search.application.planner import bucket_driver, invoice_driver
from search.domain import buckets
from search.domain.terms import has_term, query_terms
from search.domain.views import public
from search.ports import Views
from search.schemas import (
    DEFAULT_SORT,
    GROUPS,
    Query,
    decode_cursor,
    encode_cursor,
    load_group_by,
    load_payment_query,
    load_query,
)
from shared.auth import Actor, Policy
from shared.errors import Forbidden, NotFound, ValidationError
from shared.events.envelope import to_wire
from shared.invoice_events import only_filled_values
from shared.money import money_str
from shared.query import Catalog, Condition, FieldSpec, evaluate, invoice_catalog, value_at

GROUP_FIELD = {"day": "issued_on", "month": "month"}
BUCKET_FIELDS = set(buckets.ALL_DIMS) | {"issued_on"}


def _cmp(a: Any, b: Any) -> int:
    """Order like MongoDB: None first, then values; values of different types by type name."""
    if a is None or b is None:
        return (a is not None) - (b is not None)
    try:
        return (a > b) - (a < b)
    except TypeError:
        return (type(a).__name__ > type(b).__name__) - (type(a).__name__ < type(b).__name__)


def _money(sums: Mapping[str, Decimal]) -> dict[str, str | None]:
    return {name: money_str(value) for name, value in sums.items()}


def _eval_view(doc: Mapping[str, Any]) -> dict[str, Any]:
    view = dict(doc)
    for name in ("created_by", "updated_by"):
        if isinstance(view.get(name), Mapping):
            view[name] = view[name].get("id")
    return view


def _window(months_desc: Sequence[str], counts: Mapping[str, int], top: dt.date | None,
            wanted: float) -> dt.date:
    """The first day of the shortest window ending at ``top`` (or the latest month's end)
    that the months' counts, spread evenly over their days, estimate to hold ``wanted``
    invoices; the first day of the earliest month when all of them hold fewer."""
    held = 0.0
    start = dt.date.fromisoformat(months_desc[-1] + "-01")
    for month in months_desc:
        start = dt.date.fromisoformat(month + "-01")
        days = calendar_module.monthrange(start.year, start.month)[1]
        end = start.replace(day=days)
        high = end if top is None or top > end else top
        density = counts[month] / days
        part = density * ((high - start).days + 1)
        if density and held + part >= wanted:
            span = max(1, math.ceil((wanted - held) / density))
            return max(start, high - dt.timedelta(days=span - 1))
        held += part
    return start


class Queries:
    def __init__(self, views: Views, policy: Policy, actor: Actor) -> None:
        self.views, self.policy, self.actor = views, policy, actor
        self.scope = policy.scope(actor, "view")

    # -- helpers ---------------------------------------------------------------------
    def catalog(self) -> Catalog:
        return invoice_catalog(self.views.custom_fields(), view_fields=True)

    def covers(self, doc: Mapping[str, Any]) -> bool:
        return self.policy.covers(self.actor, "view", doc.get("owner_id"), doc.get("department_id"))

    def _scope_owner(self) -> str | None:
        return self.actor.id if self.scope == "own" else None

    def _keep(self, query: Query) -> Callable[[Mapping[str, Any]], bool]:
        """Whether an invoice view fetched by a driver matches the query and the actor
        may view it."""
        words = query_terms(query.text or "")
        void_ok = query.include_void or any(c.field == "status" for c in query.conditions)

        def keep(doc: Mapping[str, Any]) -> bool:
            if not void_ok and doc.get("status") == "void":  # credited ones count, net
                return False
            if words:
                terms = set(doc.get("terms") or ())
                if not all(has_term(terms, word) for word in words):
                    return False
            return self.covers(doc) and evaluate(query.conditions, query.match, _eval_view(doc))
        return keep

    def _matches(self, query: Query) -> Iterator[dict[str, Any]]:
        """Every invoice view the query matches and the actor may view, one at a time as
        the store's cursor reads them: callers keep what they need, not every view."""
        if self.scope is None:
            return
        driver = invoice_driver(query.conditions, query.match, query.text, self._scope_owner())
        keep = self._keep(query)
        seen = set()
        for doc in self.views.find_invoices(driver):
            if doc["_id"] in seen:  # a range over a multikey index may repeat a document
                continue
            seen.add(doc["_id"])
            if keep(doc):
                yield doc

    def _linked_page(self, query: Query, after: list[Any] | None,
                     before: Callable[[dict[str, Any], list[Any]], bool]) -> tuple[list[dict[str, Any]], int] | None:
        """The first ``limit + 1`` matches after ``after`` in the default order (or more:
        whole windows) and the total, for one customer: the total from the customer's
        buckets (plus its undated views), the page from windows of days read off the
        (customer_id, issued_on) index, each sized by the buckets' counts per month to hold
        about what is still wanted -- a page costs about a page, not every invoice of the
        customer (issue 14). None when the query is not one equality on customer_id in
        the default order, or buckets cannot count it."""
        if self.scope is None or query.sort != DEFAULT_SORT:
            return None
        driver = invoice_driver(query.conditions, query.match, query.text, self._scope_owner())
        if len(driver) != 1 or not isinstance(driver.get("customer_id"), str):
            return None
        link, months = driver["customer_id"], dict[str, int]()

        def month_of(bucket: Mapping[str, Any]) -> None:  # every bucket of the link, void too
            month = str(bucket["day"])[:7]
            months[month] = months.get(month, 0) + int(bucket["count"])
        counted = self._bucket_rows(query, [], month_of)
        if counted is None:
            return None
        total = sum(count for _, count, _ in counted)
        keep = self._keep(query)
        undated = [d for d in self.views.find_invoices({"customer_id": link, "issued_on": None})
                   if keep(d)]
        total += len(undated)
        wanted = query.limit + 1
        found: list[dict[str, Any]] = []
        exact_upper = None if after is None else after[0]
        try:
            top = None if exact_upper is None else dt.date.fromisoformat(str(exact_upper))
        except ValueError:
            return None
        order = sorted(months, reverse=True)
        dated_done = after is not None and exact_upper is None  # the cursor is among the undated
        while not dated_done and len(found) < wanted:
            if top is not None:
                order = [m for m in order if m <= top.isoformat()[:7]]
            if not order:
                break
            low = _window(order, months, top, 1.2 * (wanted - len(found)))
            bound: dict[str, Any] = {"$gte": low.isoformat()}
            if exact_upper is not None:
                bound["$lte"], exact_upper = exact_upper, None
            elif top is not None:
                bound["$lte"] = top.isoformat()
            for doc in self.views.find_invoices({"customer_id": link, "issued_on": bound}):
                if keep(doc) and (after is None or before(doc, after)):
                    found.append(doc)
            dated_done = low.isoformat() == order[-1] + "-01"
            top = low - dt.timedelta(days=1)
        if len(found) < wanted:
            found += [d for d in undated if after is None or before(d, after)]
        return found, total

    # -- search ----------------------------------------------------------------------
    def search(self, raw: Any) -> dict[str, Any]:
        catalog = self.catalog()
        query = load_query(raw, catalog)
        sort = query.sort + (("id", "asc"),)
        after = decode_cursor(query.cursor, query.sort, catalog) if query.cursor else None

        def key_cmp(a: Sequence[Any], b: Sequence[Any]) -> int:
            for (_, direction), x, y in zip(sort, a, b, strict=True):
                result = _cmp(x, y)
                if result:
                    return -result if direction == "desc" else result
            return 0

        def key(doc: Mapping[str, Any]) -> list[Any]:
            view = _eval_view(doc)
            return [value_at(view, field) for field, _ in sort]

        ordered = cmp_to_key(key_cmp)
        last = None if after is None else [*after[0], after[1]]
        linked = self._linked_page(query, last, lambda doc, mark: key_cmp(key(doc), mark) > 0)
        if linked is not None:
            page, total = linked
            page.sort(key=lambda doc: ordered(key(doc)))
        else:
            counted = [0]

            def after_cursor() -> Iterator[dict[str, Any]]:
                for doc in self._matches(query):
                    counted[0] += 1
                    if last is None or key_cmp(key(doc), last) > 0:
                        yield doc
            # a heap of the page (and one more), not every match (issue 14: RSS)
            page = heapq.nsmallest(query.limit + 1, after_cursor(),
                                   key=lambda doc: ordered(key(doc)))
            total = counted[0]
        items = page[:query.limit]
        next_cursor = None
        if len(page) > query.limit:
            last_key = key(items[-1])
            next_cursor = encode_cursor(query.sort, last_key[:-1], items[-1]["id"])
        return {"items": [to_wire(public(doc)) for doc in items], "total": total,
                "next_cursor": next_cursor}

    def get_invoice_view(self, invoice_id: str, only_filled: bool = False) -> dict[str, Any]:
        doc = self.views.invoice(invoice_id)
        if doc is None:
            raise NotFound(f"invoice {invoice_id} not found")
        if not self.covers(doc):
            raise Forbidden(f"invoice {invoice_id} is outside your data scope")
        view = to_wire(public(doc))
        return only_filled_values(view) if only_filled else view

    # -- stats -----------------------------------------------------------------------
    def stats(self, raw_query: Any, raw_group_by: Any) -> dict[str, Any]:
        group_by = load_group_by(raw_group_by)
        query = load_query(raw_query, self.catalog())
        if query.cursor is not None:
            raise ValidationError.field("query.cursor", "stats take no cursor")
        rows = self._group(query, group_by)
        total_count = sum(r["count"] for r in rows.values())
        total = buckets.sums_of(None)
        for row in rows.values():
            total = buckets.add_sums(total, row["sums"])
        ordered = [dict(zip(group_by, k, strict=True), count=v["count"], **_money(v["sums"]))
                   for k, v in sorted(rows.items(), key=lambda kv: [str(x) for x in kv[0]])]
        return {"rows": ordered, "total": {"count": total_count, **_money(total)}}

    def _group(self, query: Query, group_by: Sequence[str]) -> dict[tuple[Any, ...], dict[str, Any]]:
        fields = [GROUP_FIELD.get(g, g) for g in group_by]
        sources = self._bucket_rows(query, group_by)
        if sources is None:
            sources = ((doc, 1, buckets.sums_of(doc)) for doc in self._matches(query))
        rows: dict[tuple[Any, ...], dict[str, Any]] = {}
        for doc, count, sums in sources:
            group = tuple(doc.get(f) for f in fields)
            row = rows.setdefault(group, {"count": 0, "sums": buckets.sums_of(None)})
            row["count"] += count
            row["sums"] = buckets.add_sums(row["sums"], sums)
        return {k: v for k, v in rows.items() if v["count"]}

    def _bucket_rows(self, query: Query, group_by: Sequence[str],
                     each: Callable[[Mapping[str, Any]], None] | None = None,
                     ) -> Iterable[tuple[Any, int, buckets.Sums]] | None:
        """Bucket documents answering the query, or None when buckets cannot; ``each``
        sees every bucket read, before the data scope and void are applied."""
        if self.scope is None:
            return []
        if query.text or (query.match == "any" and len(query.conditions) > 1) \
                or any(c.field not in BUCKET_FIELDS for c in query.conditions):
            return None
        dims = {GROUP_FIELD.get(g, g) for g in group_by} | {c.field for c in query.conditions}
        dims = {"day" if d == "issued_on" else d for d in dims} | {"status"}
        if self.scope == "own":
            dims.add("owner_id")
        elif self.scope == "department":
            dims |= {"owner_id", "department_id"}
        needs_day = "day" in group_by or any(
            c.field == "issued_on" and not buckets.month_aligned(c.op, c.value) for c in query.conditions)
        family = buckets.family_for(dims, needs_day, frozenset(buckets.FAMILIES))
        if family in buckets.COARSE and family not in self.views.complete_families():
            family = buckets.family_for(dims, needs_day)  # an older projection: the fine ones
        if family is None:
            return None
        void_ok = query.include_void or any(c.field == "status" for c in query.conditions)

        def rows() -> Iterable[tuple[Any, int, buckets.Sums]]:
            for doc in self.views.find_buckets(bucket_driver(family, query.conditions)):
                if each is not None:
                    each(doc)
                doc["issued_on"] = doc["day"]
                if not void_ok and doc.get("status") == "void":  # credited ones count, net
                    continue
                if self.covers(doc) and evaluate(query.conditions, "all", doc):
                    yield doc, int(doc["count"]), buckets.sums_of(doc)
        return rows()

    def calendar(self, year: Any, month: Any, raw_query: Any) -> list[dict[str, Any]]:
        if isinstance(year, bool) or not isinstance(year, int) or not 1900 <= year <= 9999:
            raise ValidationError.field("year", "must be a year such as 2026")
        if isinstance(month, bool) or not isinstance(month, int) or not 1 <= month <= 12:
            raise ValidationError.field("month", "must be a month number 1-12")
        query = load_query(raw_query, self.catalog())
        last_day = calendar_module.monthrange(year, month)[1]
        window = Condition("issued_on", "between",
                           (f"{year:04d}-{month:02d}-01", f"{year:04d}-{month:02d}-{last_day:02d}"), "date")
        if query.match == "any" and len(query.conditions) > 1:
            matches = [d for d in self._matches(query) if str(d.get("issued_on", "")).startswith(window.value[0][:7])]
            rows: dict[tuple[Any, ...], dict[str, Any]] = {}
            for doc in matches:
                row = rows.setdefault((doc["issued_on"],), {"count": 0, "sums": buckets.sums_of(None)})
                row["count"] += 1
                row["sums"] = buckets.add_sums(row["sums"], buckets.sums_of(doc))
        else:
            rows = self._group(replace(query, conditions=query.conditions + (window,)), ["day"])
        return [{"date": day, "count": row["count"], **_money(row["sums"])}
                for (day,), row in sorted(rows.items())]

    # -- customer tab, reconciliation, payments --------------------------------------
    def customer_invoices(self, customer_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
        flt = [{"field": "customer_id", "op": "eq", "value": customer_id}]
        page = self.search({"filters": flt, "limit": limit, "cursor": cursor})
        totals = self.stats({"filters": flt}, ["status"])["total"]
        return {"items": page["items"], "count": totals["count"], "amount": totals["amount"],
                "next_cursor": page["next_cursor"]}

    def reconciliation(self, customer_id: str | None, contract_id: str | None) -> list[dict[str, Any]]:
        if contract_id is not None:
            contracts = [c for c in [self.views.contract(contract_id)] if c]
            if customer_id is not None:
                contracts = [c for c in contracts if c.get("customer_id") == customer_id]
        elif customer_id is not None:
            contracts = list(self.views.find("contracts", {"customer_id": customer_id}))
        else:
            contracts = list(self.views.find("contracts", {}))
        result = []
        for contract in sorted(contracts, key=lambda c: str(c.get("number"))):
            if not self.covers(contract):
                continue
            payments = sorted(self.views.find("payments", {"contract_id": contract["_id"]}),
                              key=lambda p: (str(p.get("received_on")), p["_id"]))
            payments = [p for p in payments if p.get("known")]
            on_contract = list(self.views.find_invoices({"contract_id": contract["_id"]}))
            hidden = {i["_id"] for i in on_contract if not self.covers(i)}  # not the actor's to see
            invoices = [i for i in on_contract
                        if i.get("status") != "void" and i["_id"] not in hidden]  # credit notes negative: net
            result.append({
                "contract_id": contract["_id"], "contract_number": contract.get("number"),
                "customer_id": contract.get("customer_id"),
                "contract_amount": money_str(contract.get("amount")),
                "received_amount": money_str(sum((p["amount"] for p in payments), Decimal(0))),
                "invoiced_amount": money_str(sum((i["amount"] for i in invoices), Decimal(0))),
                "payments": [{"id": p["_id"], "amount": money_str(p["amount"]),
                              "received_on": p.get("received_on"),
                              "invoice_ids": sorted(set(p.get("invoice_ids") or []) - hidden)}
                             for p in payments],
            })
        return result

    def uninvoiced_payments(self, raw_query: Any) -> dict[str, Any]:
        conditions, match = load_payment_query(raw_query)
        found = [p for p in self.views.find("payments", {"invoice_count": 0})
                 if p.get("known") and self.covers(p) and evaluate(conditions, match, p)]
        found.sort(key=lambda p: (str(p.get("received_on")), p["_id"]), reverse=True)
        items = [{"id": p["_id"], "customer_id": p.get("customer_id"),
                  "contract_id": p.get("contract_id"), "amount": money_str(p["amount"]),
                  "received_on": p.get("received_on"), "method": p.get("method"),
                  "reference": p.get("reference")} for p in found]
        return {"items": items, "total": len(items)}




__all__ = ["Queries", "GROUPS", "FieldSpec"]
