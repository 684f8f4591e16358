"""The list's URL parameters → a search query (``search.search``'s shape).

The filter parameters have the names of ``GET /api/invoices`` (``q``, ``type``,
``customer_id``, ``contract_id``, ``department_id``, ``owner_id``, ``issued_from``,
``issued_to``, ``limit``, ``cursor``), so a page URL and an API URL filter alike. The
pages add the search builder (``field``/``op``/``value``, repeated, one condition per
position; ``match`` all/any) and ``sort`` (``issued_on`` or ``-issued_on``). Nothing
is validated here: the search service checks the query and names what is wrong.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from werkzeug.datastructures import MultiDict

EQUALITY_PARAMS = ("type", "customer_id", "contract_id", "department_id", "owner_id")
FILTER_PARAMS = ("q", *EQUALITY_PARAMS, "issued_from", "issued_to")
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

    def filters(self) -> list[dict[str, Any]]:
        """The filter list; the fixed filters always hold, builder conditions by ``match``."""
        return [*self.fixed_filters(), *self.builder_filters()]

    def fixed_filters(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = [{"field": name, "op": "eq", "value": self.params[name]}
                                     for name in EQUALITY_PARAMS if name in self.params]
        if "issued_from" in self.params:
            out.append({"field": "issued_on", "op": "gte", "value": self.params["issued_from"]})
        if "issued_to" in self.params:
            out.append({"field": "issued_on", "op": "lte", "value": self.params["issued_to"]})
        return out

    def builder_filters(self) -> list[dict[str, Any]]:
        return [{"field": c.field, "op": c.op, "value": True if c.op == "exists" else c.value}
                for c in self.conditions]

    def search_query(self, *, paged: bool = True) -> dict[str, Any]:
        """``search.search``'s query. ``match: any`` over builder conditions needs the
        fixed filters to hold as well, which one flat list cannot say; then they are
        kept only when there is no builder condition, and the page says so."""
        query: dict[str, Any] = {}
        if self.match == "any" and self.conditions:
            query["filters"], query["match"] = self.builder_filters(), "any"
        else:
            query["filters"], query["match"] = self.filters(), "all"
        if "q" in self.params:
            query["text"] = self.params["q"]
        if self.sort:
            name = self.sort.lstrip("-")
            query["sort"] = [{"field": name, "dir": "desc" if self.sort.startswith("-") else "asc"}]
        if paged:
            query["limit"] = self.limit
            if self.cursor:
                query["cursor"] = self.cursor
        return query

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


def api_args(query: ListQuery) -> Mapping[str, str]:
    """The parameters ``GET /api/invoices/export.*`` understands (no cursor: every match)."""
    return dict(query.url_args(cursor=None, limit=None))
