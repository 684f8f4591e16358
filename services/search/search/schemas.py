"""Request validation at the edge: the search query (filters through shared.query),
group_by lists, payment filters, and keyset cursors. Nothing reaches MongoDB that did
not pass here; every error is a ValidationError naming the offending part."""
from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from shared.errors import ValidationError
from shared.numbers import parse_number
from shared.query import Catalog, Condition, FieldSpec, parse_filters, parse_match

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
MAX_TEXT = 500
MAX_SORT = 5
QUERY_KEYS = ("filters", "match", "text", "sort", "limit", "cursor", "include_void")
GROUPS = ("type", "month", "day", "customer_id", "contract_id", "department_id", "owner_id",
          "approval_status", "status", "kind")
DEFAULT_SORT: tuple[tuple[str, str], ...] = (("issued_on", "desc"),)
UNSORTABLE_KINDS = ("ids",)
PAYMENT_CATALOG = Catalog({"customer_id": FieldSpec("id"), "contract_id": FieldSpec("id"),
                           "received_on": FieldSpec("date"), "amount": FieldSpec("money")})


@dataclass(frozen=True)
class Query:
    conditions: tuple[Condition, ...] = ()
    match: str = "all"
    text: str | None = None
    sort: tuple[tuple[str, str], ...] = DEFAULT_SORT
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None
    include_void: bool = False


def load_query(raw: Any, catalog: Catalog, path: str = "query") -> Query:
    """``{"filters", "match", "text", "sort", "limit", "cursor", "include_void"}``."""
    if raw is None:
        return Query()
    if not isinstance(raw, Mapping):
        raise ValidationError.field(path, "must be an object")
    unknown = [str(k) for k in raw if k not in QUERY_KEYS]
    if unknown:
        raise ValidationError({f"{path}.{k}": [f"unknown key (allowed: {', '.join(QUERY_KEYS)})"]
                               for k in unknown})
    conditions = parse_filters(raw.get("filters"), catalog, f"{path}.filters")
    match = parse_match(raw.get("match"), f"{path}.match")
    text = raw.get("text")
    if text is not None and (not isinstance(text, str) or len(text) > MAX_TEXT):
        raise ValidationError.field(f"{path}.text", f"must be a string of at most {MAX_TEXT} characters")
    limit = raw.get("limit", DEFAULT_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError.field(f"{path}.limit", f"must be an integer from 1 to {MAX_LIMIT}")
    include_void = raw.get("include_void", False)
    if not isinstance(include_void, bool):
        raise ValidationError.field(f"{path}.include_void", "must be true or false")
    cursor = raw.get("cursor")
    if cursor is not None and not isinstance(cursor, str):
        raise ValidationError.field(f"{path}.cursor", "must be a cursor string from a previous page")
    return Query(conditions, match, (text or "").strip() or None,
                 load_sort(raw.get("sort"), catalog, f"{path}.sort"), limit, cursor, include_void)


def load_sort(raw: Any, catalog: Catalog, path: str) -> tuple[tuple[str, str], ...]:
    if raw is None or raw == []:
        return DEFAULT_SORT
    if not isinstance(raw, list) or len(raw) > MAX_SORT:
        raise ValidationError.field(path, f"must be a list of at most {MAX_SORT} {{field, dir}} objects")
    result = []
    for index, item in enumerate(raw):
        at = f"{path}.{index}"
        if not isinstance(item, Mapping) or set(item) - {"field", "dir"}:
            raise ValidationError.field(at, "must be an object {field, dir}")
        field, direction = item.get("field"), item.get("dir", "asc")
        kind = catalog.kind(field) if isinstance(field, str) else None
        if kind is None or kind in UNSORTABLE_KINDS:
            raise ValidationError.field(f"{at}.field", f"cannot sort by {field!r}")
        if direction not in ("asc", "desc"):
            raise ValidationError.field(f"{at}.dir", "must be 'asc' or 'desc'")
        result.append((str(field), str(direction)))
    return tuple(result)


def load_group_by(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ("type",)
    if not isinstance(raw, list) or not raw or len(raw) > len(GROUPS):
        raise ValidationError.field("group_by", f"must be a non-empty list of {list(GROUPS)}")
    for index, name in enumerate(raw):
        if name not in GROUPS:
            raise ValidationError.field(f"group_by.{index}", f"unknown group {name!r}; one of {list(GROUPS)}")
    return tuple(dict.fromkeys(raw))


def load_payment_query(raw: Any) -> tuple[tuple[Condition, ...], str]:
    if raw is None:
        return (), "all"
    if not isinstance(raw, Mapping):
        raise ValidationError.field("query", "must be an object {filters, match}")
    unknown = [str(k) for k in raw if k not in ("filters", "match")]
    if unknown:
        raise ValidationError({f"query.{k}": ["unknown key (allowed: filters, match)"] for k in unknown})
    return (parse_filters(raw.get("filters"), PAYMENT_CATALOG, "query.filters"),
            parse_match(raw.get("match"), "query.match"))


# -- keyset cursors -------------------------------------------------------------------
def encode_cursor(sort: tuple[tuple[str, str], ...], values: list[Any], last_id: str) -> str:
    payload = {"s": [list(s) for s in sort], "v": [str(v) if isinstance(v, Decimal) else v
                                                   for v in values], "id": last_id}
    return base64.urlsafe_b64encode(json.dumps(payload, ensure_ascii=False).encode()).decode()


def decode_cursor(cursor: str, sort: tuple[tuple[str, str], ...], catalog: Catalog,
                  path: str = "query.cursor") -> tuple[list[Any], str]:
    """The sort values and id of the last item of the previous page."""
    bad = ValidationError.field(path, "is not a cursor of this query (use next_cursor as given)")
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, binascii.Error, UnicodeError):
        raise bad from None
    if not isinstance(payload, dict) or payload.get("s") != [list(s) for s in sort] \
            or not isinstance(payload.get("id"), str) or not isinstance(payload.get("v"), list) \
            or len(payload["v"]) != len(sort):
        raise bad
    values = []
    for (field, _), value in zip(sort, payload["v"], strict=True):
        if value is not None and (isinstance(value, bool) and catalog.kind(field) != "bool"
                                  or not isinstance(value, (str, int, bool))):
            raise bad
        if value is not None and catalog.kind(field) in ("money", "number"):
            try:
                value = parse_number(value)
            except ValueError:
                raise bad from None
        values.append(value)
    return values, payload["id"]
