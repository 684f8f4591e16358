"""Which MongoDB filter fetches the candidates of a query.

The local store uses an index only when every field of a filter belongs to one index
(an ``$and``, ``$or`` or one extra field makes it scan the whole collection). So a query
is answered in two steps: a *driver* filter shaped exactly like one of the indexes in
search.adapters.views fetches the candidates, and the complete query (shared.query's
``evaluate``, the data scope, void, free text) is checked on them in memory. Pure."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from search.domain.terms import prefix_range, query_terms
from shared.query import Condition

UNIQUE_FIELDS = ("invoice_no", "tracking_number", "number", "id")
LINK_FIELDS = ("customer_id", "contract_id", "type", "owner_id", "department_id")


def _field(name: str) -> str:
    return "_id" if name == "id" else name


def date_range(conditions: Sequence[Condition], field: str = "issued_on") -> dict[str, Any] | None:
    """The tightest range on ``field`` the (all-matched) conditions imply, as a Mongo range."""
    low: str | None = None
    high: str | None = None
    for c in conditions:
        if c.field != field:
            continue
        if c.op == "eq":
            low = max(low or c.value, c.value)
            high = min(high or c.value, c.value)
        elif c.op in ("gt", "gte"):
            low = max(low or c.value, c.value)
        elif c.op in ("lt", "lte"):
            high = min(high or c.value, c.value)
        elif c.op == "between":
            low = max(low or c.value[0], c.value[0])
            high = min(high or c.value[1], c.value[1])
    if low is None and high is None:
        return None
    bounds: dict[str, Any] = {}
    if low is not None:
        bounds["$gte"] = low
    if high is not None:
        bounds["$lte"] = high
    return bounds


def invoice_driver(conditions: Sequence[Condition], match: str, text: str | None,
                   scope_owner: str | None) -> dict[str, Any]:
    """The index-shaped filter that fetches every invoice the query can match."""
    if match == "any" and len(conditions) > 1:
        return {}
    for c in conditions:
        if c.field in UNIQUE_FIELDS and c.op in ("eq", "in"):
            return {_field(c.field): c.value if c.op == "eq" else {"$in": list(c.value)}}
    dates = date_range(conditions)
    for name in LINK_FIELDS:
        for c in conditions:
            if c.field == name and c.op in ("eq", "in"):
                driver: dict[str, Any] = {name: c.value if c.op == "eq" else {"$in": list(c.value)}}
                if dates:
                    driver["issued_on"] = dates
                return driver
    words = [t for t in query_terms(text or "") if len(t) > 1 or not t.isascii()]
    for c in conditions:
        if c.op in ("contains", "prefix"):
            words += [t for t in query_terms(c.value) if len(t) > 1 or not t.isascii()]
    if words:
        return {"terms": prefix_range(max(words, key=len))}
    for c in conditions:
        if c.field == "payment_ids" and c.op == "eq":
            return {"payment_ids": c.value}
    if dates:
        return {"issued_on": dates}
    if scope_owner is not None:
        return {"owner_id": scope_owner}
    return {}


# The link fields each bucket family has an index for (family, <field>, day).
BUCKET_LINKS: dict[str, tuple[str, ...]] = {
    "o": ("owner_id", "department_id"),
    "k": ("customer_id",),
    "c": ("customer_id", "contract_id", "owner_id", "department_id"),
}


def bucket_driver(family: str, conditions: Sequence[Condition]) -> dict[str, Any]:
    """The index-shaped filter over one family's buckets."""
    driver: dict[str, Any] = {"family": family}
    indexed = BUCKET_LINKS.get(family, ())
    for name in ("customer_id", "contract_id", "owner_id", "department_id"):
        for c in conditions:
            if c.field == name and c.op in ("eq", "in") and name in indexed:
                driver[name] = c.value if c.op == "eq" else {"$in": list(c.value)}
                break
        if len(driver) > 1:
            break
    dates = date_range(conditions)
    if dates:
        driver["day"] = dates
    return driver
