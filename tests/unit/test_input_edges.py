"""Edge inputs that reached the services as non-contract errors or were let through:
one parsing function per concept (money, number, date, timestamp, flag, id, counter)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from bson.decimal128 import Decimal128

from approval.schemas import load_flow
from invoice.domain.model import Invoice
from invoice.schemas import load_changes
from invoice.service import SCHEMAS
from shared.dates import parse_date, parse_timestamp
from shared.errors import ValidationError
from shared.money import parse_money
from shared.numbers import parse_number
from shared.query import invoice_catalog, parse_filters
from shared.schemas import load, version_arg
from tests.unit.test_invoice_aggregate import new_invoice, stored

HUGE = 2 ** 63


@pytest.mark.parametrize("bad", ["１２３", "1e3", "1E+7000", "12.5 0", "0x10", "١٢٣", "+-1", "",
                                 "1_000"])
def test_money_is_ascii_digits_with_an_optional_point(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_money(bad)


@pytest.mark.parametrize("bad", ["1" + "0" * 40, "1E+7000", "1e3", "１２", "NaN", "Infinity",
                                 float("nan"), float("inf"), 1e300, HUGE * 10 ** 20, "0.0000001"])
def test_a_number_is_refused_when_it_cannot_be_stored_exactly(bad: Any) -> None:
    with pytest.raises(ValueError):
        parse_number(bad)


@pytest.mark.parametrize("good, expected", [("12.5", Decimal("12.5")), (7, Decimal(7)),
                                            ("-0.25", Decimal("-0.25")),
                                            ("999999999999999999.999999", Decimal("999999999999999999.999999"))])
def test_a_number_round_trips_through_decimal128_exactly(good: Any, expected: Decimal) -> None:
    number = parse_number(good)
    assert number == expected and Decimal128(number).to_decimal() == number


@pytest.mark.parametrize("bad", ["2026-W01-1", "2026-001", "２０２６-01-01", "20260101", "2026-01-01\n"])
def test_a_date_is_exactly_yyyy_mm_dd(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_date(bad)


@pytest.mark.parametrize("bad", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-05:00"])
def test_a_timestamp_out_of_the_calendar_in_utc_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(bad)


def test_early_timestamps_keep_four_year_digits() -> None:
    assert parse_timestamp("0005-01-01T00:00:00Z") == "0005-01-01T00:00:00.000Z"


@pytest.mark.parametrize("field", ["created_at", "updated_at"])
def test_a_timestamp_filter_out_of_range_is_a_validation_error(field: str) -> None:
    with pytest.raises(ValidationError) as error:
        parse_filters([{"field": field, "op": "gte", "value": "0001-01-01T00:00:00+01:00"}],
                      invoice_catalog())
    assert error.value.messages


@pytest.mark.parametrize("value", [HUGE, -1, True, 1.0])
def test_a_version_argument_is_a_64_bit_non_negative_integer(value: Any) -> None:
    with pytest.raises(ValidationError) as error:
        version_arg(value, "after_version")
    assert "after_version" in error.value.messages


def test_read_events_refuses_positions_beyond_64_bits() -> None:
    with pytest.raises(ValidationError) as error:
        load(SCHEMAS.read_events_input, {"after_position": HUGE, "limit": 10})
    assert "after_position" in error.value.messages


@pytest.mark.parametrize("changes, field", [
    ({"type": "receipt\n"}, "type"), ({"owner_id": "u-1\n"}, "owner_id"),
    ({"title": "   "}, "title"), ({"amount": "1e3"}, "amount"), ({"amount": "１２"}, "amount"),
    ({"issued_on": "2026-W01-1"}, "issued_on"),
])
def test_invoice_changes_refuse_near_misses(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as error:
        load_changes(changes)
    assert field in error.value.messages


@pytest.mark.parametrize("data, field", [
    ({"key": "voucher\n", "label": "凭证", "color": "#AA66CC"}, "key"),
    ({"key": "voucher", "label": "凭证", "color": "#AA66CC\n"}, "color"),
])
def test_invoice_type_input_refuses_a_trailing_newline(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as error:
        load(SCHEMAS.invoice_type_input, data)
    assert field in error.value.messages


@pytest.mark.parametrize("flag", ["yes", "no", 1, 0, "true"])
def test_a_flag_is_true_or_false_only(flag: Any) -> None:
    with pytest.raises(ValidationError) as error:
        load(SCHEMAS.invoice_type_changes, {"active": flag})
    assert "active" in error.value.messages


def test_a_void_reason_must_not_be_blank() -> None:
    with pytest.raises(ValidationError) as error:
        load(SCHEMAS.void_input, {"reason": " \t\n"})
    assert "reason" in error.value.messages


@pytest.mark.parametrize("flow_changes, field", [
    ({"stages": [{"name": "s", "approvers": ["user:x\n"]}]}, "stages"),
    ({"cc": ["role:finance\n"]}, "cc"),
    ({"trigger_on_create": "yes"}, "trigger_on_create"),
])
def test_a_flow_refuses_near_misses(flow_changes: dict[str, Any], field: str) -> None:
    data = {"name": "f", "stages": [{"name": "s", "approvers": ["role:finance"]}], **flow_changes}
    with pytest.raises(ValidationError) as error:
        load_flow(data)
    assert field in error.value.messages


def test_resetting_an_approval_status_of_none_to_none_records_nothing() -> None:
    invoice: Invoice = new_invoice()
    assert invoice.set_approval_status("none", "req_1") is False
    assert invoice.set_approval_status("none", None) is False
    assert not invoice.pending


def test_a_status_with_a_new_request_is_recorded() -> None:
    invoice: Invoice = new_invoice()
    assert invoice.set_approval_status("pending", "req_1") is True
    stored(invoice)
    assert invoice.set_approval_status("pending", "req_2") is True
