"""The export's columns come from the invoice field catalogue, and what the export
writes the import reads back (no services: look-ups answered by a hand-written fake)."""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from gateway.export import _write_workbook, columns_for, row_of
from gateway.imports.files import read_table
from gateway.imports.rows import RowMaker, check_columns, row_values
from shared.invoice_events import CREDIT_KEYS, RECORDED_FIELDS

CUSTOM = [{"key": "grade", "kind": "select"}]
LINES = [{"name": "咨询服务", "spec": "", "unit": "次", "quantity": "2", "unit_price": "50.00",
          "amount": "100.00", "tax_rate": "0.06"},
         {"name": "软件", "spec": "v1", "unit": "套", "quantity": "1", "unit_price": "13.00",
          "amount": "13.00", "tax_rate": "0.06"}]


def vat_invoice(**overrides: Any) -> dict[str, Any]:
    """An invoice as the search service answers it."""
    return {"id": "inv_1", "number": "INV-1", "kind": "invoice", "title": "=技术服务费",
            "type": "vat_special", "type_label": "增值税专票", "amount": "113.00",
            "issued_on": "2026-05-20", "status": "active", "customer_id": "cus_1",
            "customer_name": "甲公司", "buyer_name": "甲公司", "buyer_tax_id": "91350100M000100Y43",
            "buyer_address_phone": "福州市 0591-1234567", "buyer_bank_account": "工行 1234",
            "tax_rate": "0.06", "tax_amount": "6.40", "amount_excluding_tax": "106.60",
            "lines": LINES, "credited_amount": "0", "net_amount": "113.00",
            "payment_ids": ["pay_1"], "custom": {"grade": "A"}, **overrides}


class Lookups:
    def __call__(self, service: str, method: str, *args: Any, **kwargs: Any) -> Any:
        if method == "list_custom_fields":
            return CUSTOM
        raise AssertionError(method)


def exported_csv(items: list[dict[str, Any]]) -> bytes:
    columns = columns_for(CUSTOM)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    writer.writerows(row_of(item, columns) for item in items)
    return buffer.getvalue().encode("utf-8")


def imported(content: bytes) -> list[tuple[dict[str, Any], dict[str, list[str]]]]:
    table = read_table(content)
    maker = RowMaker(Lookups())
    return [maker.make(n + 2, row_values(table.columns, cells)) for n, cells in enumerate(table.rows)]


def test_the_export_has_a_column_for_every_recorded_field_and_the_credit_totals() -> None:
    columns = columns_for(CUSTOM)

    expected = {*RECORDED_FIELDS, *CREDIT_KEYS, "net_amount"} - {"custom"}
    assert expected <= set(columns)
    assert "custom.grade" in columns
    assert len(columns) == len(set(columns))


def test_the_import_knows_every_column_of_the_export() -> None:
    missing, ignored = check_columns(columns_for(CUSTOM))

    assert (missing, ignored) == ([], [])


def test_a_vat_invoice_exported_as_csv_imports_back_with_its_vat_fields_and_lines() -> None:
    [(data, errors)] = imported(exported_csv([vat_invoice()]))

    assert errors == {}
    assert data == {"title": "=技术服务费", "type": "vat_special", "amount": "113.00",
                    "issued_on": "2026-05-20", "customer_id": "cus_1", "payment_ids": ["pay_1"],
                    "buyer_name": "甲公司", "buyer_tax_id": "91350100M000100Y43",
                    "buyer_address_phone": "福州市 0591-1234567", "buyer_bank_account": "工行 1234",
                    "tax_rate": "0.06", "lines": LINES, "custom": {"grade": "A"}}


def test_a_vat_invoice_exported_as_xlsx_imports_back_with_its_vat_fields_and_lines(tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    _write_workbook(str(path), columns_for(CUSTOM), iter([[vat_invoice()]]))

    [(data, errors)] = imported(path.read_bytes())

    assert errors == {}
    assert (data["amount"], data["tax_rate"], data["buyer_tax_id"]) == ("113", "0.06", "91350100M000100Y43")
    assert data["lines"] == LINES


def test_a_credit_note_row_is_refused_naming_kind_not_imported_as_an_invoice() -> None:
    note = vat_invoice(kind="credit", amount="-13.00", credits_invoice_id="inv_0", lines=None)

    [(_, errors)] = imported(exported_csv([note]))

    assert list(errors) == ["kind"]
    assert "create_credit_note" in errors["kind"][0]


def test_lines_that_are_not_a_json_list_are_an_error_of_lines() -> None:
    [(_, errors)] = imported(exported_csv([vat_invoice(lines="咨询服务")]))

    assert list(errors) == ["lines"]
