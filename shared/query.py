"""The one filter language of the system: search queries and approval conditions.

A filter is ``{"field", "op", "value"}``; a list of them is combined with ``match``
("all" or "any"). This module validates filters against a field catalog (so nothing
unknown, mistyped or looking like a MongoDB operator gets through), evaluates them on
a plain invoice dict (approval conditions), and translates them to a MongoDB filter
(search). Both readers share these rules, so a condition means the same everywhere.

Semantics, kept identical in ``evaluate`` and ``to_mongo``:
- a list-valued field matches when any of its elements does (MongoDB's array rule);
  ``ne``/``nin`` match when no element is equal;
- ``contains`` and ``prefix`` are case-insensitive;
- ``exists: true`` means "has a value": not missing, null, "", [] or {};
- comparisons never match a missing value; ``ne``/``nin`` do.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.errors import ValidationError
from shared.invoice_events import (
    APPROVAL_STATUSES,
    CREDIT,
    INVOICE,
    MIXED,
    STATUSES,
    TAX_RATES,
)
from shared.parsing import parse_date, parse_money, parse_number, parse_timestamp

MAX_FILTERS = 50
MAX_LIST_VALUES = 500
MAX_TEXT_VALUE = 500

EQUALITY_OPS = ("eq", "ne", "in", "nin", "exists")
RANGE_OPS = ("gt", "gte", "lt", "lte", "between")
TEXT_OPS = ("contains", "prefix")
OPS = EQUALITY_OPS + RANGE_OPS + TEXT_OPS
MATCHES = ("all", "any")

# kind -> the ops it allows
_OPS_BY_KIND: dict[str, tuple[str, ...]] = {
    "text": OPS,
    "id": OPS,
    "keyword": OPS,
    "ids": EQUALITY_OPS + TEXT_OPS,
    "money": EQUALITY_OPS + RANGE_OPS,
    "number": EQUALITY_OPS + RANGE_OPS,
    "int": EQUALITY_OPS + RANGE_OPS,
    "date": EQUALITY_OPS + RANGE_OPS,
    "timestamp": EQUALITY_OPS + RANGE_OPS,
    "bool": ("eq", "ne", "exists"),
}


@dataclass(frozen=True)
class FieldSpec:
    kind: str
    choices: tuple[str, ...] = ()


INVOICE_FIELDS: dict[str, FieldSpec] = {
    "id": FieldSpec("id"),
    "number": FieldSpec("text"),
    "title": FieldSpec("text"),
    "content": FieldSpec("text"),
    "type": FieldSpec("keyword"),
    "amount": FieldSpec("money"),
    "issued_on": FieldSpec("date"),
    "customer_id": FieldSpec("id"),
    "contract_id": FieldSpec("id"),
    "payment_ids": FieldSpec("ids"),
    "invoice_no": FieldSpec("text"),
    "tracking_number": FieldSpec("text"),
    "courier": FieldSpec("text"),
    "owner_id": FieldSpec("id"),
    "department_id": FieldSpec("id"),
    "remarks": FieldSpec("text"),
    "buyer_name": FieldSpec("text"),
    "buyer_tax_id": FieldSpec("text"),
    "buyer_address_phone": FieldSpec("text"),
    "buyer_bank_account": FieldSpec("text"),
    "tax_rate": FieldSpec("keyword", TAX_RATES + (MIXED,)),
    "tax_amount": FieldSpec("money"),
    "amount_excluding_tax": FieldSpec("money"),
    "status": FieldSpec("keyword", STATUSES),
    "kind": FieldSpec("keyword", (INVOICE, CREDIT)),
    "credits_invoice_id": FieldSpec("id"),
    "credited_amount": FieldSpec("money"),
    "net_amount": FieldSpec("money"),
    "approval_status": FieldSpec("keyword", APPROVAL_STATUSES),
    "version": FieldSpec("int"),
    "created_at": FieldSpec("timestamp"),
    "created_by": FieldSpec("id"),
    "updated_at": FieldSpec("timestamp"),
    "updated_by": FieldSpec("id"),
}
# Fields only the search views have (joined from customer events).
VIEW_FIELDS: dict[str, FieldSpec] = {
    "customer_name": FieldSpec("text"),
    "contract_number": FieldSpec("text"),
}
# custom field kind (invoice settings) -> filter kind
_CUSTOM_KINDS = {"text": "text", "number": "number", "money": "money", "date": "date",
                 "select": "keyword", "bool": "bool"}


class Catalog:
    """The fields a filter may name, each with its kind."""

    def __init__(self, fields: Mapping[str, FieldSpec]) -> None:
        self._fields = dict(fields)

    def spec(self, name: str) -> FieldSpec | None:
        return self._fields.get(name)

    def kind(self, name: str) -> str | None:
        spec = self._fields.get(name)
        return spec.kind if spec else None

    def names(self) -> list[str]:
        return list(self._fields)


def invoice_catalog(custom_fields: Iterable[Mapping[str, Any]] = (), *,
                    view_fields: bool = True) -> Catalog:
    """The invoice fields, plus ``custom.<key>`` for every defined custom field (active
    or not: old invoices keep their values), plus the search-only view fields."""
    fields = dict(INVOICE_FIELDS)
    if view_fields:
        fields.update(VIEW_FIELDS)
    for definition in custom_fields:
        kind = _CUSTOM_KINDS.get(str(definition.get("kind")))
        if kind is None:
            continue
        choices = tuple(definition.get("options") or ()) if kind == "keyword" else ()
        fields[f"custom.{definition['key']}"] = FieldSpec(kind, choices)
    return Catalog(fields)


@dataclass(frozen=True)
class Condition:
    """One validated filter; ``value`` is normalised for its kind (see module doc)."""

    field: str
    op: str
    value: Any
    kind: str


# -- validation -----------------------------------------------------------------------
class _Errors:
    """Collects messages at nested paths, marshmallow style: {"filters": {"0": {"op": [..]}}}."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}

    def add(self, path: Sequence[str], message: str) -> None:
        node = self.tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node.setdefault(path[-1], []).append(message)

    def raise_if_any(self) -> None:
        if self.tree:
            raise ValidationError(self.tree)


def parse_match(raw: Any, path: str = "match") -> str:
    if raw is None:
        return "all"
    if raw not in MATCHES:
        raise ValidationError.field(path, f"must be one of {list(MATCHES)}")
    return str(raw)


def parse_filters(raw: Any, catalog: Catalog, path: str = "filters") -> tuple[Condition, ...]:
    """Validate a filter list; raise ValidationError naming each offending part."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ValidationError.field(path, "must be a list of {field, op, value} objects")
    if len(raw) > MAX_FILTERS:
        raise ValidationError.field(path, f"at most {MAX_FILTERS} filters")
    errors = _Errors()
    conditions = []
    for index, item in enumerate(raw):
        condition = _parse_one(item, catalog, (path, str(index)), errors)
        if condition is not None:
            conditions.append(condition)
    errors.raise_if_any()
    return tuple(conditions)


def _parse_one(item: Any, catalog: Catalog, at: tuple[str, ...],
               errors: _Errors) -> Condition | None:
    if not isinstance(item, Mapping):
        errors.add(at, "must be an object {field, op, value}")
        return None
    for key in item:
        if key not in ("field", "op", "value"):
            errors.add((*at, str(key)), "unknown key (allowed: field, op, value)")
    field, op = item.get("field"), item.get("op")
    spec = catalog.spec(field) if isinstance(field, str) else None
    if spec is None:
        errors.add((*at, "field"), _unknown_field(field))
    if not isinstance(op, str) or op not in OPS:
        errors.add((*at, "op"), f"unknown op {op!r}; one of {list(OPS)}")
        return None
    if spec is None:
        return None
    if op not in _OPS_BY_KIND[spec.kind]:
        errors.add((*at, "op"), f"{op!r} does not apply to {field} ({spec.kind}); "
                                f"use one of {list(_OPS_BY_KIND[spec.kind])}")
        return None
    if "value" not in item and op != "exists":
        errors.add((*at, "value"), "is required")
        return None
    try:
        value = _parse_value(op, spec, item.get("value", True))
    except ValueError as exc:
        errors.add((*at, "value"), str(exc))
        return None
    return Condition(str(field), op, value, spec.kind)


def _unknown_field(field: Any) -> str:
    if isinstance(field, str) and field.startswith("custom."):
        return f"unknown field {field!r}: no custom field with that key"
    return f"unknown field {field!r}"


def _parse_value(op: str, spec: FieldSpec, value: Any) -> Any:
    if op == "exists":
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    if op in ("in", "nin"):
        if not isinstance(value, list) or not value:
            raise ValueError("must be a non-empty list")
        if len(value) > MAX_LIST_VALUES:
            raise ValueError(f"at most {MAX_LIST_VALUES} values")
        return tuple(_scalar(spec, v) for v in value)
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise ValueError("must be a list [low, high]")
        low, high = _scalar(spec, value[0]), _scalar(spec, value[1])
        if low > high:
            raise ValueError("low must not be greater than high")
        return (low, high)
    if op in TEXT_OPS:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("must be a non-empty string")
        return _text(value)
    return _scalar(spec, value)


def _scalar(spec: FieldSpec, value: Any) -> Any:
    kind = spec.kind
    if kind in ("text", "id", "keyword", "ids"):
        text = _text(value)
        if spec.choices and text not in spec.choices:
            raise ValueError(f"must be one of {list(spec.choices)}")
        return text
    if kind == "money":
        return parse_money(value)
    if kind == "number":
        return parse_number(value)
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("must be an integer")
        return value
    if kind == "date":
        return parse_date(value)
    if kind == "timestamp":
        return parse_timestamp(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    raise ValueError(f"unsupported kind {kind}")  # pragma: no cover - catalog kinds only


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    if len(value) > MAX_TEXT_VALUE:
        raise ValueError(f"at most {MAX_TEXT_VALUE} characters")
    return value


# -- in-memory evaluation -------------------------------------------------------------
def value_at(doc: Mapping[str, Any], field: str) -> Any:
    """``custom.level`` -> doc["custom"]["level"]; None when any step is missing."""
    node: Any = doc
    for part in field.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def evaluate(conditions: Sequence[Condition], match: str, doc: Mapping[str, Any]) -> bool:
    """Whether ``doc`` (an invoice as a plain dict) satisfies the conditions."""
    if not conditions:
        return True
    results = (_holds(c, value_at(doc, c.field)) for c in conditions)
    return any(results) if match == "any" else all(results)


def _holds(condition: Condition, raw: Any) -> bool:
    op, wanted = condition.op, condition.value
    if op == "exists":
        return _is_filled(raw) == wanted
    values = raw if isinstance(raw, list) else [raw]
    values = [_comparable(condition.kind, v) for v in values if v is not None]
    if op == "ne":
        return wanted not in values
    if op == "nin":
        return not any(v in wanted for v in values)
    return any(_element_holds(op, wanted, v) for v in values)


def _element_holds(op: str, wanted: Any, value: Any) -> bool:
    try:
        if op == "eq":
            return bool(value == wanted)
        if op == "in":
            return value in wanted
        if op == "gt":
            return bool(value > wanted)
        if op == "gte":
            return bool(value >= wanted)
        if op == "lt":
            return bool(value < wanted)
        if op == "lte":
            return bool(value <= wanted)
        if op == "between":
            return bool(wanted[0] <= value <= wanted[1])
        if op == "contains":
            return isinstance(value, str) and wanted.casefold() in value.casefold()
        if op == "prefix":
            return isinstance(value, str) and value.casefold().startswith(wanted.casefold())
    except TypeError:  # a stored value of another type never matches
        return False
    raise ValueError(f"unknown op {op}")  # pragma: no cover - parse_filters checked it


def _comparable(kind: str, value: Any) -> Any:
    if kind in ("money", "number") and not isinstance(value, Decimal):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return value
    return value


def _is_filled(value: Any) -> bool:
    return value is not None and not (isinstance(value, (str, list, dict)) and not value)


# -- MongoDB translation --------------------------------------------------------------
Translate = Callable[[Condition], "dict[str, Any] | None"]

_MONGO_OPS = {"eq": "$eq", "ne": "$ne", "gt": "$gt", "gte": "$gte", "lt": "$lt", "lte": "$lte"}


def to_mongo(conditions: Sequence[Condition], match: str,
             translate: Translate | None = None) -> dict[str, Any]:
    """A MongoDB filter for the conditions. Field names are the catalog's (dotted for
    custom fields); ``translate`` may replace the translation of single conditions."""
    parts = []
    for condition in conditions:
        custom = translate(condition) if translate else None
        parts.append(custom if custom is not None else condition_to_mongo(condition))
    if not parts:
        return {}
    if len(parts) == 1:
        return parts[0]
    return {"$or": parts} if match == "any" else {"$and": parts}


def condition_to_mongo(condition: Condition) -> dict[str, Any]:
    field, op, value = condition.field, condition.op, condition.value
    if op == "exists":
        empties: list[Any] = [None, "", [], {}]
        return {field: {"$nin": empties} if value else {"$in": empties}}
    if op in _MONGO_OPS:
        return {field: {_MONGO_OPS[op]: value}}
    if op in ("in", "nin"):
        return {field: {f"${op}": list(value)}}
    if op == "between":
        return {field: {"$gte": value[0], "$lte": value[1]}}
    pattern = re.escape(value)
    if op == "prefix":
        pattern = "^" + pattern
    return {field: {"$regex": pattern, "$options": "i"}}
