"""The list's URL parameters → a search query (``search.search``'s shape).

The filter parameters have the names of ``GET /api/invoices`` (``q``, ``type``,
``customer_id``, ``contract_id``, ``department_id``, ``owner_id``, ``issued_from``,
``issued_to``, ``limit``, ``cursor``), so a page URL and an API URL filter alike. The
API takes the search builder too (``field``/``op``/``value``, repeated, one condition
per position; ``match`` all/any) and ``sort`` (``amount`` or ``-amount``). The query is
made by the gateway's rules (``gateway.schemas``), checked by the search service.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from marshmallow import ValidationError as SchemaError
from werkzeug.datastructures import MultiDict

from gateway.schemas import InvoiceListQuery, search_query
from shared.errors import ValidationError

FILTER_PARAMS = ("q", "type", "customer_id", "contract_id", "department_id", "owner_id",
                 "issued_from", "issued_to")
BUILDER_OPS = ("eq", "ne", "contains", "prefix", "gt", "gte", "lt", "lte", "exists")
DEFAULT_LIMIT = 50
BUILDER_ROWS = 3


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: str


@dataclass
class ListQuery:
    """What the list (and the calendar, stats and export) is asked to show."""

    params: dict[str, str] = field(default_factory=dict)
    conditions: list[Condition] = field(default_factory=list)
    match: str = "all"
    sort: str = ""
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None

    @classmethod
    def from_args(cls, args: MultiDict[str, str]) -> ListQuery:
        params = {name: str(args.get(name)).strip() for name in FILTER_PARAMS
                  if str(args.get(name) or "").strip()}
        fields, ops, values = args.getlist("field"), args.getlist("op"), args.getlist("value")
        conditions = [Condition(f, ops[i] if i < len(ops) else "eq", values[i] if i < len(values) else "")
                      for i, f in enumerate(fields)
                      if f and (i < len(values) and values[i].strip() or
                                i < len(ops) and ops[i] == "exists")]
        match = "any" if args.get("match") == "any" else "all"
        try:
            limit = int(args.get("limit") or DEFAULT_LIMIT)
        except ValueError:
            limit = DEFAULT_LIMIT
        return cls(params, conditions, match, str(args.get("sort") or ""), limit,
                   args.get("cursor") or None)

    def api_params(self, *, paged: bool = True) -> dict[str, Any]:
        """These parameters as ``GET /api/invoices`` takes them."""
        args: dict[str, Any] = dict(self.params)
        if self.conditions:
            args.update({"field": [c.field for c in self.conditions], "op": [c.op for c in self.conditions],
                         "value": [c.value for c in self.conditions], "match": self.match})
        if self.sort:
            args["sort"] = self.sort
        if paged:
            args["limit"] = self.limit
            if self.cursor:
                args["cursor"] = self.cursor
        return args

    def search_query(self, *, paged: bool = True) -> dict[str, Any]:
        """``search.search``'s query, made by the gateway's own rules for its list
        parameters (``gateway.schemas``): a malformed parameter → ValidationError."""
        try:
            loaded = InvoiceListQuery().load(self.api_params(paged=paged))
        except SchemaError as exc:
            messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
            raise ValidationError({f"query.{k}": v for k, v in messages.items()}) from None
        return search_query(loaded, paged=paged)

    def fixed_filters(self) -> list[str]:
        return [name for name in FILTER_PARAMS if name != "q" and name in self.params]

    def any_drops_fixed(self) -> bool:
        return self.match == "any" and bool(self.conditions) and bool(self.fixed_filters())

    def url_args(self, **override: Any) -> list[tuple[str, str]]:
        """The URL parameters of this query (``override`` replaces or, with None, drops one)."""
        pairs: list[tuple[str, str]] = [(k, v) for k, v in self.params.items()]
        for c in self.conditions:
            pairs += [("field", c.field), ("op", c.op), ("value", c.value)]
        if self.conditions:
            pairs.append(("match", self.match))
        if self.sort:
            pairs.append(("sort", self.sort))
        if self.limit != DEFAULT_LIMIT:
            pairs.append(("limit", str(self.limit)))
        for key, value in override.items():
            pairs = [(k, v) for k, v in pairs if k != key]
            if value is not None:
                pairs.append((key, str(value)))
        return pairs

    def encode(self, **override: Any) -> str:
        return urlencode(self.url_args(**override))

    def builder_rows(self) -> Sequence[Condition]:
        """The builder's rows: the given conditions and empty ones up to BUILDER_ROWS."""
        blanks = max(BUILDER_ROWS - len(self.conditions), 1)
        return [*self.conditions, *[Condition("", "eq", "")] * blanks]


def api_args(query: ListQuery) -> list[tuple[str, str]]:
    """The parameters of ``GET /api/invoices/export.*`` for this query (no cursor: every
    match), as pairs: the builder's parameters repeat."""
    return query.url_args(cursor=None, limit=None)
