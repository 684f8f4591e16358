"""Export every invoice a query matches, as CSV or XLSX, page by page.

What can fail is read before the response starts (custom fields, the counts per month
or the first page), so a bad query or a missing permission is still a proper status;
then each page is written out and dropped, so memory stays flat however many rows match.
Columns: the invoice field catalogue (shared/invoice_events.py: the fields a caller sets,
each id followed by the name it stands for, the derived VAT amounts, the credit-note
keys and ``net_amount``), then one per custom field definition (``custom.<key>``);
``lines`` is a JSON list, so the import reads it back. Scope is the search service's: a
caller only ever exports what they may view.
"""
from __future__ import annotations

import calendar
import csv
import io
import json
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import xlsxwriter
from werkzeug.wrappers import Response

from gateway.hub import ServiceHub
from shared.invoice_events import CREDIT_KEYS, DERIVED_FIELDS, INVOICE_FIELDS

PAGE_SIZE = 500
CHUNK_BYTES = 64 * 1024
# the name the search view joins to an id field, written next to it
LOOKUP_OF = {"type": "type_label", "customer_id": "customer_name", "contract_id": "contract_number"}
HEAD_COLUMNS = ("id", "number")
STATE_COLUMNS = ("status", "approval_status", "void_reason", "created_at", "created_by",
                 "updated_at", "updated_by", "version")
COLUMNS = (*HEAD_COLUMNS,
           *(name for field in INVOICE_FIELDS if field != "custom"
             for name in (field, *([LOOKUP_OF[field]] if field in LOOKUP_OF else []))),
           *DERIVED_FIELDS, *CREDIT_KEYS, "net_amount", *STATE_COLUMNS)
MONEY_COLUMNS = frozenset({"amount", *DERIVED_FIELDS, "credited_amount", "credited_tax_amount",
                           "net_amount"})
JSON_COLUMNS = frozenset({"lines"})
# A cell starting with one of these is a formula to a spreadsheet: written with a
# leading apostrophe so that opening an export never runs anything.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def plain_text(value: Any, name: str = "") -> str:
    """One value as export text: lists joined by ';', users by name, None empty; a
    ``JSON_COLUMNS`` list (the VAT lines) as JSON."""
    if name in JSON_COLUMNS and isinstance(value, list):
        return json.dumps(value, ensure_ascii=False, default=str) if value else ""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(plain_text(v) for v in value)
    if isinstance(value, dict):
        return str(value.get("name") or value.get("id") or "")
    return str(value)


def cell_text(value: Any, name: str = "") -> str:
    """``plain_text`` for CSV, where a leading formula character is defused."""
    text = plain_text(value, name)
    return "'" + text if text.startswith(FORMULA_START) else text


def columns_for(custom_fields: list[dict[str, Any]]) -> list[str]:
    return [*COLUMNS, *(f"custom.{field['key']}" for field in custom_fields)]


def row_of(item: dict[str, Any], columns: list[str]) -> list[str]:
    custom = item.get("custom") or {}
    return [cell_text(custom.get(name[7:]) if name.startswith("custom.") else item.get(name), name)
            for name in columns]


def pages(hub: ServiceHub, query: dict[str, Any], first: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
    """Every page of one query, following ``next_cursor``."""
    page = first
    while True:
        yield page["items"]
        if not page.get("next_cursor"):
            return
        page = hub.search.search({**query, "limit": PAGE_SIZE, "cursor": page["next_cursor"]})


def month_bounds(month: str) -> tuple[str, str]:
    year, number = (int(part) for part in month.split("-"))
    return f"{month}-01", f"{month}-{calendar.monthrange(year, number)[1]:02d}"


class Plan:
    """How an export reads: by default (newest first, as the list) one month at a time,
    newest month first, each month paged by cursor. The search service reads and sorts
    every match of a query for each page, so paging one query through 20,000 matches
    costs 40 full reads; a month holds a small share of them. With an explicit ``sort``,
    or filters combined by ``match: any``, the export pages the one query instead."""

    def __init__(self, hub: ServiceHub, query: dict[str, Any]) -> None:
        self.hub = hub
        self.query = query
        self.months: list[str] | None = None
        # an any-match query is paged as it is: month filters would widen it
        if not query.get("sort") and query.get("match", "all") == "all":
            stats = hub.search.stats(query, ["month"])
            self.total = int(stats["total"]["count"])
            self.months = sorted((row["month"] for row in stats["rows"] if row.get("count")),
                                 reverse=True)
            self.first: dict[str, Any] | None = None
        else:
            self.first = hub.search.search({**query, "limit": PAGE_SIZE})
            self.total = int(self.first.get("total") or 0)

    def pages(self) -> Iterator[list[dict[str, Any]]]:
        if self.months is None:
            assert self.first is not None
            yield from pages(self.hub, self.query, self.first)
            return
        for month in self.months:
            first_day, last_day = month_bounds(month)
            monthly = {**self.query, "filters": [
                *self.query.get("filters", []),
                {"field": "issued_on", "op": "gte", "value": first_day},
                {"field": "issued_on", "op": "lte", "value": last_day}]}
            yield from pages(self.hub, monthly, self.hub.search.search({**monthly, "limit": PAGE_SIZE}))


def _start(hub: ServiceHub, query: dict[str, Any]) -> tuple[list[str], Plan]:
    """Read what can fail before the answer starts: custom fields and the plan."""
    return columns_for(hub.invoice.list_custom_fields()), Plan(hub, query)


def _filename(extension: str) -> str:
    return f"invoices-{datetime.now(UTC):%Y%m%d-%H%M%S}.{extension}"


def csv_response(hub: ServiceHub, query: dict[str, Any]) -> Response:
    columns, plan = _start(hub, query)

    def generate() -> Iterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")                       # BOM: Excel then reads UTF-8
        writer.writerow(columns)
        yield buffer.getvalue().encode("utf-8")      # the header even when nothing matches
        buffer.seek(0)
        buffer.truncate()
        for items in plan.pages():
            for item in items:
                writer.writerow(row_of(item, columns))
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()

    return Response(generate(), content_type="text/csv; charset=utf-8", direct_passthrough=True,
                    headers={"Content-Disposition": f'attachment; filename="{_filename("csv")}"',
                             "X-Total-Count": str(plan.total)})


def xlsx_response(hub: ServiceHub, query: dict[str, Any]) -> Response:
    """XlsxWriter in constant-memory mode flushes each row to a temporary file; the
    workbook (a zip) exists only once every row is written, so it is built in a
    temporary file first and then streamed."""
    columns, plan = _start(hub, query)

    def generate() -> Iterator[bytes]:
        handle, path = tempfile.mkstemp(prefix="export-", suffix=".xlsx")
        os.close(handle)
        try:
            _write_workbook(path, columns, plan.pages())
            with open(path, "rb") as result:
                while chunk := result.read(CHUNK_BYTES):
                    yield chunk
        finally:
            os.unlink(path)

    return Response(generate(), direct_passthrough=True,
                    content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{_filename("xlsx")}"',
                             "X-Total-Count": str(plan.total)})


def _write_workbook(path: str, columns: list[str], all_pages: Iterator[list[dict[str, Any]]]) -> None:
    workbook = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_numbers": False,
                                          "strings_to_formulas": False, "strings_to_urls": False})
    try:
        sheet = workbook.add_worksheet("invoices")
        money = workbook.add_format({"num_format": "0.00"})
        bold = workbook.add_format({"bold": True})
        sheet.write_row(0, 0, columns, bold)
        row = 1
        for items in all_pages:
            for item in items:
                for col, name in enumerate(columns):
                    value = item.get(name) if not name.startswith("custom.") \
                        else (item.get("custom") or {}).get(name[7:])
                    if name in MONEY_COLUMNS and value is not None:
                        try:
                            sheet.write_number(row, col, float(Decimal(str(value))), money)
                            continue
                        except (InvalidOperation, ValueError):
                            pass
                    # strings_to_formulas=False: text stays text, nothing to defuse here
                    sheet.write_string(row, col, plain_text(value, name))
                row += 1
    finally:
        workbook.close()
