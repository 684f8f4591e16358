"""Reading import files and turning their rows into create_invoice data (no services:
look-ups answered by a hand-written fake)."""
from __future__ import annotations

import datetime as dt
import io
from typing import Any

import openpyxl
import pytest

from gateway.imports.files import read_table
from gateway.imports.rows import RowMaker, check_columns, merged, row_values
from shared.errors import ValidationError


def xlsx(rows: list[list[Any]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for line in rows:
        sheet.append(line)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_a_workbook_reads_as_the_text_the_export_writes() -> None:
    table = read_table(xlsx([["title", "amount", "issued_on", "flag"],
                             ["甲", 1200.5, dt.datetime(2026, 5, 20), True],
                             [None, None, None, None],
                             ["乙", 3.0, "2026-05-21", None]]))

    assert (table.format, table.columns) == ("xlsx", ["title", "amount", "issued_on", "flag"])
    assert table.rows == [["甲", "1200.5", "2026-05-20", "true"], ["乙", "3", "2026-05-21", ""]]


def test_a_csv_saved_by_excel_in_gb18030_reads_too() -> None:
    table = read_table("title,amount\r\n发票,10.00\r\n".encode("gb18030"))

    assert (table.format, table.rows) == ("csv", [["发票", "10.00"]])


@pytest.mark.parametrize("content,message", [
    (b"", "empty"),
    (b"\x89PNG\r\n\x1a\n\0\0\0", "not a CSV or XLSX"),
    (b"PK\x03\x04broken", "not a readable XLSX"),
    (b"title,amount\r\n", "no rows"),
    (b"title,title\r\na,b\r\n", "more than once"),
    (b"title,,amount\r\na,b,c\r\n", "no name"),
    (b",".join(b"c%d" % n for n in range(10)) + b"\r\n" + b"a\r\n"
     + b",".join([b"x" * 100_001] * 10) + b"\r\n", "row 3 is larger than"),
])
def test_a_bad_file_is_refused_naming_the_file_field(content: bytes, message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        read_table(content)

    assert list(refused.value.messages) == ["file"]
    assert message in refused.value.messages["file"][0]


def test_missing_required_columns_are_named_and_unknown_ones_ignored() -> None:
    missing, ignored = check_columns(["title", "type_label", "customer_name", "id", "notes"])

    assert missing == ["amount", "issued_on"] and ignored == ["notes"]


class Lookups:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def __call__(self, service: str, method: str, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((service, method, *args))
        if method == "list_customers":
            return {"items": [{"id": "cus_1", "name": "甲公司"}, {"id": "cus_2", "name": "甲公司分部"},
                              {"id": "cus_3", "name": "同名"}, {"id": "cus_4", "name": "同名"}],
                    "next_cursor": None}
        if method == "list_contracts":
            return [{"id": "con_1", "number": "HT-1"}]
        if method == "list_invoice_types":
            return [{"key": "receipt", "label": "收据"}]
        if method == "list_custom_fields":
            return [{"key": "paid", "kind": "bool"}]
        raise AssertionError(method)


def test_names_become_ids_and_are_looked_up_once() -> None:
    lookups = Lookups()
    maker = RowMaker(lookups)
    columns = ["customer_name", "contract_number", "type_label", "payment_ids", "custom.paid", "title"]

    made = [maker.make(2 + n, row_values(columns, ["甲公司", "HT-1", "收据", "pay_1; pay_2", "是", "'=1+1"]))
            for n in range(3)]

    data, errors = made[0]
    assert errors == {}
    assert data == {"customer_id": "cus_1", "contract_id": "con_1", "type": "receipt",
                    "payment_ids": ["pay_1", "pay_2"], "custom": {"paid": True}, "title": "=1+1"}
    assert len(lookups.calls) == 4      # customers, contracts, types, custom fields: once each


def test_an_unknown_or_ambiguous_name_and_a_repeat_are_errors_of_their_column() -> None:
    maker = RowMaker(Lookups())
    columns = ["customer_name", "contract_number", "external_id", "type", "invoice_no"]

    _, unknown = maker.make(2, row_values(columns, ["乙公司", "HT-1", "e1", "receipt", "N1"]))
    _, ambiguous = maker.make(3, row_values(columns, ["同名", "", "e2", "receipt", "N2"]))
    _, repeated = maker.make(4, row_values(columns, ["甲公司", "HT-9", "e1", "receipt", "N1"]))

    assert set(unknown) == {"customer_name", "contract_number"}
    assert "2 customers" in ambiguous["customer_name"][0]
    assert repeated == {"contract_number": ["the customer has no contract numbered 'HT-9'"],
                        "external_id": ["repeats row 2 of this file"],
                        "invoice_no": ["repeats row 2 of this file (same type)"]}


def test_an_unresolved_name_replaces_the_services_missing_id() -> None:
    answer = {"status": "error", "errors": {"customer_id": ["Missing data for required field."],
                                            "amount": ["Not a valid number."]}}

    result = merged(answer, {"customer_name": ["no customer is named '乙'"]})

    assert result["errors"] == {"amount": ["Not a valid number."],
                                "customer_name": ["no customer is named '乙'"]}
