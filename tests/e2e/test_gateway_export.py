"""Exports: every match of a query, custom fields as columns, parsed back and compared
with what search answers for the same query."""
from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import openpyxl

from gateway.export import MONEY_COLUMNS, columns_for, plain_text
from tests.e2e.search_support import settled
from tests.support.factories import customer_data, invoice_data
from tests.support.gateway import Api, problem


def every_match(api: Api, params: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = api.get("/api/invoices", params={**params, "limit": 2,
                                                **({"cursor": cursor} if cursor else {})}).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


def expected_rows(api: Api, items: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    columns = columns_for(api.get("/api/custom-fields").json())
    rows = [[plain_text((item.get("custom") or {}).get(c[7:]) if c.startswith("custom.") else item.get(c), c)
             for c in columns] for item in items]
    return columns, rows


def setup_invoices(api: Api, admin: Any, count: int) -> tuple[dict[str, Any], str]:
    field_key = f"grade_{uuid.uuid4().hex[:6]}"
    defined = api.post("/api/custom-fields", json={"key": field_key, "label": "等级",
                                                   "kind": "select", "options": ["A", "B"]})
    assert defined.status_code == 201, defined.text
    customer = api.post("/api/customers", json=customer_data(name="导出客户")).json()
    for n in range(count):
        created = api.post("/api/invoices", json=invoice_data(
            customer["id"], title="=SUM(A1) 导出发票 0" if n == 0 else f"导出发票 {n}",
            amount=f"{100 + n}.50", issued_on=f"2026-{3 + n % 3:02d}-{n + 1:02d}",
            custom={field_key: "A" if n % 2 else "B"}))
        assert created.status_code == 201, created.text
    settled(admin)
    return customer, field_key


def test_csv_export_holds_every_match_with_custom_columns(api: Api, admin: Any) -> None:
    customer, field_key = setup_invoices(api, admin, 5)
    params = {"customer_id": customer["id"]}

    response = api.get("/api/invoices/export.csv", params=params)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.content.startswith("\ufeff".encode())
    parsed = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    columns, rows = expected_rows(api, every_match(api, params))
    assert parsed[0] == columns and f"custom.{field_key}" in columns
    defused = [[("'" + v if v.startswith(("=", "+", "-", "@")) else v) for v in row] for row in rows]
    assert parsed[1:] == defused and len(rows) == 5
    assert parsed[5][parsed[0].index("title")] == "'=SUM(A1) 导出发票 0"    # never a formula
    assert response.headers["X-Total-Count"] == "5"


def test_an_export_with_an_explicit_sort_holds_every_match_in_that_order(api: Api, admin: Any) -> None:
    customer, _ = setup_invoices(api, admin, 5)
    params = {"customer_id": customer["id"], "sort": "amount"}

    response = api.get("/api/invoices/export.csv", params=params)

    parsed = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    amount = parsed[0].index("amount")
    assert [row[amount] for row in parsed[1:]] == ["100.50", "101.50", "102.50", "103.50", "104.50"]
    assert response.headers["X-Total-Count"] == "5"


def test_xlsx_export_holds_every_match_with_custom_columns(api: Api, admin: Any) -> None:
    customer, field_key = setup_invoices(api, admin, 4)
    params = {"customer_id": customer["id"]}

    response = api.get("/api/invoices/export.xlsx", params=params)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True).active
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    columns, rows = expected_rows(api, every_match(api, params))
    assert values[0] == columns
    money = {columns.index(name) for name in MONEY_COLUMNS}
    as_text = [[f"{v:.2f}" if i in money and isinstance(v, float | int) else ("" if v is None else str(v))
                for i, v in enumerate(row)] for row in values[1:]]
    assert as_text == rows and len(rows) == 4


def test_an_export_with_a_bad_query_is_a_problem_not_a_file(api: Api) -> None:
    response = api.get("/api/invoices/export.csv", params={"limit": "x"})
    bad_type = api.get("/api/invoices/export.xlsx", params={"status": "burnt"})

    assert response.status_code == 422 and problem(response)
    assert bad_type.status_code == 422


def test_an_export_with_no_match_is_the_header_row_alone(api: Api) -> None:
    csv_file = api.get("/api/invoices/export.csv", params={"customer_id": "cus_nobody"})
    xlsx_file = api.get("/api/invoices/export.xlsx", params={"customer_id": "cus_nobody"})

    rows = list(csv.reader(io.StringIO(csv_file.content.decode("utf-8-sig"))))
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_file.content), read_only=True).active
    assert csv_file.status_code == 200 and csv_file.content.startswith("\ufeff".encode())
    assert len(rows) == 1 and rows[0][0] == "id" and csv_file.headers["X-Total-Count"] == "0"
    assert [row[0] for row in sheet.iter_rows(values_only=True)] == ["id"]
