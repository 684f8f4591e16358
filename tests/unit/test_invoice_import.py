"""Bulk import in the invoice service with in-memory fakes: a dry run answers per row
like create_invoice would, a commit creates the valid rows, and an external_id imported
before is skipped (so a cut-off import can be sent again)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from invoice.domain.importing import ImportRow
from invoice.service import _import_row
from shared.auth import Actor
from shared.errors import Forbidden
from tests.unit.test_invoice_application import ADMIN, World, values


@pytest.fixture
def world() -> World:
    return World()


def wire_row(**overrides: Any) -> dict[str, Any]:
    return {"title": "导入发票", "type": "receipt", "amount": "10.00", "issued_on": "2026-05-01",
            "customer_id": "cus_a", **overrides}


def mixed_rows() -> list[ImportRow]:
    return [_import_row(row) for row in (
        wire_row(external_id="erp-1"),
        wire_row(external_id="erp-2", amount="-3", issued_on="2026-13-01"),
        wire_row(external_id="erp-3", customer_id="cus_missing"),
        wire_row(external_id="erp-4", customer_id="cus_b", contract_id="con_a"),
        wire_row(title="无外部编号"),
    )]


def test_a_dry_run_answers_each_row_as_create_invoice_would_and_writes_nothing(world: World) -> None:
    results = world.app_as(ADMIN).import_invoices(mixed_rows(), commit=False)

    assert [r["status"] for r in results] == ["ok", "error", "error", "error", "ok"]
    assert set(results[1]["errors"]) == {"amount", "issued_on"}
    assert list(results[2]["errors"]) == ["customer_id"]
    assert list(results[3]["errors"]) == ["contract_id"]
    assert world.log.events == [] or all(e["stream_type"] != "invoice" for e in world.log.events)


def test_a_commit_creates_the_valid_rows_and_a_second_commit_skips_them(world: World) -> None:
    first = world.app_as(ADMIN).import_invoices(mixed_rows(), commit=True)
    again = world.app_as(ADMIN).import_invoices(mixed_rows(), commit=True)

    assert [r["status"] for r in first] == ["created", "error", "error", "error", "created"]
    created = world.app_as(ADMIN).get_invoice(first[0]["invoice_id"])
    assert created["amount"] == Decimal("10.00") and created["number"] == first[0]["number"]
    # erp-1 is skipped; the row without an external_id cannot be recognised: created again
    assert [r["status"] for r in again] == ["skipped", "error", "error", "error", "created"]
    assert again[0]["invoice_id"] == first[0]["invoice_id"]
    assert world.invoices.imported(["erp-1", "erp-2"]) == {"erp-1": first[0]["invoice_id"]}


def test_the_same_external_id_twice_in_one_call_is_created_once(world: World) -> None:
    rows = [_import_row(wire_row(external_id="dup")), _import_row(wire_row(external_id="dup"))]

    results = world.app_as(ADMIN).import_invoices(rows, commit=True)

    assert [r["status"] for r in results] == ["created", "skipped"]
    assert results[1]["invoice_id"] == results[0]["invoice_id"]


def test_a_skipped_row_does_not_name_an_invoice_the_importer_may_not_see(world: World) -> None:
    owner = Actor("s1", "Sam", "east", ("sales",))
    other = Actor("s2", "Sue", "west", ("sales",))
    world.app_as(owner).import_invoices([_import_row(wire_row(external_id="x-1"))], commit=True)

    results = world.app_as(other).import_invoices([_import_row(wire_row(external_id="x-1"))],
                                                  commit=True)

    assert results == [{"status": "skipped", "message": "external_id 'x-1' was imported before"}]


def test_an_auditor_may_not_import(world: World) -> None:
    auditor = Actor("a1", "Al", "hq", ("auditor",))

    with pytest.raises(Forbidden):
        world.app_as(auditor).import_invoices([_import_row(wire_row())], commit=False)


def test_a_dry_run_checks_invoice_no_against_existing_invoices(world: World) -> None:
    world.app_as(ADMIN).create_invoice(values(invoice_no="NO-1"))

    results = world.app_as(ADMIN).import_invoices([_import_row(wire_row(invoice_no="NO-1"))],
                                                  commit=False)

    assert results[0]["status"] == "error" and list(results[0]["errors"]) == ["invoice_no"]
