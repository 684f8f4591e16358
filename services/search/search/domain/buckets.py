"""Per-day counters behind stats, calendar and the customer tab.

Every invoice view counts once (count 1, its amount, tax_amount and amount_excluding_tax:
``SUMS``; a credit note's are negative) in one bucket of each family. A
family's bucket is identified by the day and the family's dimensions; the projector
moves an invoice's contribution from its old buckets to its new ones in the same
transaction as the view, so the counters always equal a count over the views.

Families, coarsest first (a query uses the coarsest one holding every dimension it
needs, so it reads as few bucket documents as possible):
- ``t``: per day: type, kind, status, approval_status
- ``o``: per month: ... + owner_id, department_id
- ``k``: per month: customer_id, status -- a customer's total and its months for an
  unscoped caller in about a document per month, not one per invoice (``c`` splits a
  customer by owner and contract too); used only once a generation's ``k`` buckets are
  known complete (``COARSE``: a projection older than the family lacks them)
- ``c``: per month: ... + customer_id, contract_id
The finer families count per month (their ``day`` is the month's first day), else they
would hold about one bucket per invoice; they answer whole-month date ranges only.
"""
from __future__ import annotations

import calendar
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

BASE_DIMS = ("type", "kind", "status", "approval_status")
SUMS = ("amount", "tax_amount", "amount_excluding_tax")
Sums = dict[str, Decimal]
FAMILIES: dict[str, tuple[str, ...]] = {
    "t": BASE_DIMS,
    "o": BASE_DIMS + ("owner_id", "department_id"),
    "k": ("customer_id", "status"),
    "c": BASE_DIMS + ("owner_id", "department_id", "customer_id", "contract_id"),
}
GRAIN = {"t": "day", "o": "month", "k": "month", "c": "month"}
COARSE = frozenset({"k"})  # families a generation may lack (see Views.complete_families)
ALL_DIMS = FAMILIES["c"]
Contribution = tuple[str, dict[str, Any]]  # (bucket id, key fields)


def bucket_keys(doc: Mapping[str, Any] | None) -> list[Contribution]:
    """The buckets an invoice view counts in (none before it exists)."""
    if not doc or not doc.get("issued_on"):
        return []
    keys = []
    for family, dims in FAMILIES.items():
        day = str(doc["issued_on"]) if GRAIN[family] == "day" else str(doc["issued_on"])[:7] + "-01"
        fields: dict[str, Any] = {"family": family, "day": day, "month": day[:7]}
        fields.update({dim: doc.get(dim) for dim in dims})
        bucket_id = "|".join([family, day] + [str(doc.get(dim) or "") for dim in dims])
        keys.append((bucket_id, fields))
    return keys


def sums_of(doc: Mapping[str, Any] | None, sign: int = 1) -> Sums:
    """A view's (or bucket's) money sums. An invoice without a tax rate adds 0 tax and
    its whole amount to amount_excluding_tax, so every sum keeps amount = tax_amount +
    amount_excluding_tax."""
    doc = doc or {}
    amount, tax = Decimal(doc.get("amount") or 0), Decimal(doc.get("tax_amount") or 0)
    excluding = doc.get("amount_excluding_tax")
    excluding = amount - tax if excluding is None else Decimal(excluding)
    return {"amount": sign * amount, "tax_amount": sign * tax,
            "amount_excluding_tax": sign * excluding}


def add_sums(a: Sums, b: Sums) -> Sums:
    return {name: a.get(name, Decimal(0)) + b.get(name, Decimal(0)) for name in SUMS}


def deltas(old: Mapping[str, Any] | None,
           new: Mapping[str, Any] | None) -> dict[str, tuple[dict[str, Any], int, Sums]]:
    """bucket id -> (key fields, count delta, sums delta); unchanged buckets left out."""
    result: dict[str, tuple[dict[str, Any], int, Sums]] = {}
    for doc, sign in ((old, -1), (new, 1)):
        sums = sums_of(doc, sign)
        for bucket_id, fields in bucket_keys(doc):
            _, count, total = result.get(bucket_id, (fields, 0, sums_of(None)))
            result[bucket_id] = (fields, count + sign, add_sums(total, sums))
    return {k: v for k, v in result.items() if v[1] != 0 or any(v[2].values())}


def family_for(dims: set[str], needs_day: bool = False,
               families: frozenset[str] = frozenset(FAMILIES) - COARSE) -> str | None:
    """The coarsest of ``families`` (by default those every generation has) that has
    every dimension in ``dims`` (and counts per day when ``needs_day``)."""
    for family, family_dims in FAMILIES.items():
        if family in families and dims <= set(family_dims) | {"day", "month"} and (GRAIN[family] == "day" or not needs_day):
            return family
    return None


def month_aligned(op: str, value: Any) -> bool:
    """Whether a date condition selects whole months (so per-month buckets answer it)."""
    def first(day: str) -> bool:
        return day[8:] == "01"

    def last(day: str) -> bool:
        year, month = int(day[:4]), int(day[5:7])
        return day[8:] == f"{calendar.monthrange(year, month)[1]:02d}"
    if op == "gte":
        return first(value)
    if op == "lte":
        return last(value)
    if op == "between":
        return first(value[0]) and last(value[1])
    return False
