"""An export of a query whose filters hold by ``match: any`` (the pages' search builder)
must not be read month by month: a month's date filters added to an any-query would
widen it instead of narrowing it."""
from __future__ import annotations

from typing import Any

from gateway.export import Plan


class RecordingSearch:
    """Stands in for the gateway's RPC helper; answers one month with one invoice."""

    def __init__(self) -> None:
        self.searches: list[dict[str, Any]] = []

    def stats(self, query: dict[str, Any], group_by: list[str]) -> dict[str, Any]:
        return {"rows": [{"month": "2026-03", "count": 1, "amount": "1.00"}],
                "total": {"count": 1, "amount": "1.00"}}

    def search(self, query: dict[str, Any]) -> dict[str, Any]:
        self.searches.append(query)
        return {"items": [{"id": "inv_1"}], "total": 1, "next_cursor": None}


class Hub:
    def __init__(self) -> None:
        self.search = RecordingSearch()


def test_an_any_match_export_reads_its_one_query_without_month_filters() -> None:
    hub = Hub()
    query = {"filters": [{"field": "courier", "op": "eq", "value": "EMS"},
                         {"field": "title", "op": "contains", "value": "服务"}], "match": "any"}
    rows = [row for page in Plan(hub, query).pages() for row in page]  # type: ignore[arg-type]
    assert rows == [{"id": "inv_1"}]
    assert all(q["filters"] == query["filters"] and q["match"] == "any" for q in hub.search.searches)
