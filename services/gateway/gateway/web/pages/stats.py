"""``/stats``: count and amount by type per month for a period, table and SVG chart."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from werkzeug.wrappers import Response

from gateway.schemas import as_of_arg
from gateway.web.page import Page
from gateway.web.pages.invoices import _totals_query, filter_context
from gateway.web.query import ListQuery
from shared.errors import ValidationError

CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 720, 260, 40


def _default_period() -> tuple[str, str]:
    today = date.today()
    year, month = (today.year, today.month - 5) if today.month > 5 else (today.year - 1, today.month + 7)
    end = date(today.year + (today.month == 12), today.month % 12 + 1, 1)
    return date(year, month, 1).isoformat(), date.fromordinal(end.toordinal() - 1).isoformat()


def months_between(start: str, end: str, at_most: int = 36) -> list[str]:
    """``YYYY-MM`` of every month the period touches (none for a malformed date: the
    search service names that error)."""
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        return []
    months: list[str] = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month) and len(months) < at_most:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def stats_page(page: Page) -> Response:
    query = ListQuery.from_args(page.request.args)
    start, end = _default_period()
    query.params.setdefault("issued_from", start)
    query.params.setdefault("issued_to", end)
    as_of_input = str(page.request.args.get("as_of") or "").strip()
    errors = None
    try:
        stats = page.rpc.search.stats(_totals_query(query), group_by=["month", "type"],
                                      as_of=as_of_arg(as_of_input or None))
    except ValidationError as exc:
        errors, stats = exc.messages, {"rows": [], "total": {"count": 0, "amount": "0.00"}}
    if stats.get("as_of") and not as_of_input.isdigit():
        # the picker (datetime-local, UTC) shows the moment the search service understood
        as_of_input = str(stats["as_of"]["timestamp"])[:19]
    context = filter_context(page, query)
    months = sorted({r["month"] for r in stats["rows"]} |
                    set(months_between(query.params["issued_from"], query.params["issued_to"])))
    type_keys = sorted({r["type"] for r in stats["rows"]})
    cells = {(r["month"], r["type"]): r for r in stats["rows"]}
    return page.render("stats.html", stats=stats, months=months, type_keys=type_keys,
                       cells=cells, chart=chart(months, type_keys, cells, context["types"]),
                       errors=errors, as_of_input=as_of_input, **context)


def chart(months: list[str], type_keys: list[str], cells: dict[tuple[str, str], Any],
          types: dict[str, Any]) -> dict[str, Any]:
    """Stacked bars of amount per month, one colour per type (drawn by stats.html)."""
    totals = {m: sum((Decimal(cells[(m, t)]["amount"]) for t in type_keys if (m, t) in cells),
                     Decimal(0)) for m in months}
    top = max(totals.values(), default=Decimal(0)) or Decimal(1)
    inner_h = CHART_HEIGHT - 2 * CHART_PAD
    slot = (CHART_WIDTH - 2 * CHART_PAD) / max(len(months), 1)
    bars = []
    for i, month in enumerate(months):
        y = float(CHART_HEIGHT - CHART_PAD)
        for key in type_keys:
            cell = cells.get((month, key))
            if not cell:
                continue
            height = float(Decimal(cell["amount"]) / top) * inner_h
            y -= height
            bars.append({"x": CHART_PAD + i * slot + slot * 0.15, "y": y, "w": slot * 0.7,
                         "h": height, "color": (types.get(key) or {}).get("color", "#888888"),
                         "title": f"{month} {(types.get(key) or {}).get('label', key)}: "
                                  f"{cell['count']} / {cell['amount']}"})
    labels = [{"x": CHART_PAD + i * slot + slot / 2, "text": m} for i, m in enumerate(months)]
    return {"width": CHART_WIDTH, "height": CHART_HEIGHT, "pad": CHART_PAD, "bars": bars,
            "labels": labels, "top": top, "base": CHART_HEIGHT - CHART_PAD}
