"""VAT arithmetic and the buyer's taxpayer number (pure domain, no I/O)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from invoice.domain.vat import (
    check_tax_id,
    parse_tax_rate,
    tax_figures,
    tax_of,
)
from shared.errors import ValidationError

# Real unified social credit codes (统一社会信用代码) as printed on invoices.
REAL_CODES = ("91350100M000100Y43", "91110000100017643K", "914403001922038216",
              "9144030071526726XG", "91310000132149237G")


@pytest.mark.parametrize("code", REAL_CODES)
def test_a_real_unified_social_credit_code_passes_its_check_character(code: str) -> None:
    assert check_tax_id(code) == code


@pytest.mark.parametrize("code", REAL_CODES)
def test_one_character_changed_fails_the_check(code: str) -> None:
    changed = code[:5] + ("1" if code[5] != "1" else "2") + code[6:]

    with pytest.raises(ValueError, match="check character"):
        check_tax_id(changed)


@pytest.mark.parametrize("code,reason", [
    ("9144030071526726xg", "capital"),
    ("9144030071526726", "15, 17, 18 or 20"),
    ("9144030071526726XGA1B", "15, 17, 18 or 20"),
    ("91440300715267I6XG", "not used"),  # I, O, S, V, Z are not in the code's alphabet
    ("", "15, 17, 18 or 20"),
])
def test_lowercase_wrong_length_or_foreign_letters_are_refused(code: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        check_tax_id(code)


@pytest.mark.parametrize("code", [
    "110108700000001",        # 15: six-digit area code + nine-character organisation code
    "11010870000000101",      # 17
    "11010819900307123X01",   # 20: an ID card number + two digits
])
def test_the_older_taxpayer_number_formats_are_accepted(code: str) -> None:
    assert check_tax_id(code) == code


@pytest.mark.parametrize("code", ["A1010870000000A", "1101087000000010!", "ABCDEF19900307123X01"])
def test_the_older_formats_keep_their_shape(code: str) -> None:
    with pytest.raises(ValueError):
        check_tax_id(code)


@pytest.mark.parametrize("given,stored", [
    ("0.13", "0.13"), ("0.130", "0.13"), ("0", "0"), ("0.00", "0"), ("0.06", "0.06"),
    ("0.01", "0.01"), ("0.03", "0.03"), ("0.05", "0.05"), ("0.09", "0.09"),
])
def test_tax_rates_are_the_seven_legal_ones_as_decimal_strings(given: str, stored: str) -> None:
    assert parse_tax_rate(given) == stored


@pytest.mark.parametrize("given", ["0.17", "13", "13%", 0.13, -0.13, "mixed", True, None])
def test_other_tax_rates_are_refused(given: Any) -> None:
    with pytest.raises(ValueError):
        parse_tax_rate(given)


@pytest.mark.parametrize("amount,rate,tax", [
    ("113.00", "0.13", "13.00"),
    ("1.00", "0.13", "0.12"),      # 0.1150... -> 0.12
    ("0.09", "0.06", "0.01"),      # 0.00509... -> 0.01
    ("0.08", "0.06", "0.00"),      # 0.00452... -> 0.00
    ("1.07", "0.01", "0.01"),      # 0.010594 -> 0.01
    ("0.53", "0.01", "0.01"),      # 0.005247... half-up at the third place -> 0.01
    ("0.50", "0.01", "0.00"),      # 0.004950... -> 0.00
    ("100.00", "0", "0.00"),
])
def test_tax_is_amount_times_rate_over_one_plus_rate_half_up(amount: str, rate: str, tax: str) -> None:
    assert tax_of(Decimal(amount), rate) == Decimal(tax)


def test_the_figures_without_lines_come_from_the_amount_and_rate() -> None:
    figures = tax_figures(Decimal("1130.00"), "0.13", None)

    assert figures == {"tax_rate": "0.13", "tax_amount": Decimal("130.00"),
                       "amount_excluding_tax": Decimal("1000.00"), "lines": None}


def test_without_a_rate_there_is_no_tax_figure() -> None:
    assert tax_figures(Decimal("10.00"), None, None) == {
        "tax_rate": None, "tax_amount": None, "amount_excluding_tax": None, "lines": None}


def line(**overrides: Any) -> dict[str, Any]:
    return {"name": "服务费", "quantity": "3", "unit_price": "0.335", "amount": "1.01",
            "tax_rate": "0.06", **overrides}


def test_a_line_amount_is_quantity_times_unit_price_half_up_and_checked() -> None:
    figures = tax_figures(Decimal("1.01"), None, [line()])  # 3 x 0.335 = 1.005 -> 1.01

    assert figures["lines"][0]["amount"] == Decimal("1.01")
    with pytest.raises(ValidationError) as error:
        tax_figures(Decimal("1.00"), None, [line(amount="1.00")])
    assert error.value.messages == {"lines": {0: {"amount": ["3 x 0.335 = 1.01 (half-up to 0.01), not 1.00"]}}}


def test_the_tax_of_many_lines_is_rounded_per_line_then_summed() -> None:
    lines = [line(quantity="1", unit_price="0.09", amount="0.09") for _ in range(100)]

    figures = tax_figures(Decimal("9.00"), None, lines)

    # per line 0.09 x 0.06 / 1.06 = 0.0051 -> 0.01; summed 1.00 (rounding the total: 0.51)
    assert figures["tax_amount"] == Decimal("1.00")
    assert figures["amount_excluding_tax"] == Decimal("8.00")
    assert figures["tax_rate"] == "0.06"


def test_lines_must_add_up_to_the_amount_exactly() -> None:
    with pytest.raises(ValidationError) as error:
        tax_figures(Decimal("1.02"), None, [line()])

    assert "amount" in error.value.messages


def test_lines_of_different_rates_make_the_rate_mixed_and_a_disagreeing_rate_is_refused() -> None:
    lines = [line(), line(quantity="1", unit_price="1.13", amount="1.13", tax_rate="0.13")]

    assert tax_figures(Decimal("2.14"), None, lines)["tax_rate"] == "mixed"
    assert tax_figures(Decimal("2.14"), "mixed", lines)["tax_rate"] == "mixed"
    with pytest.raises(ValidationError) as error:
        tax_figures(Decimal("2.14"), "0.13", lines)
    assert "tax_rate" in error.value.messages
    with pytest.raises(ValidationError):
        tax_figures(Decimal("1.01"), "0.13", [line()])


def test_a_line_needs_a_name_an_amount_and_a_legal_rate() -> None:
    with pytest.raises(ValidationError) as error:
        tax_figures(Decimal("1.01"), None, [line(tax_rate="0.17", name="")])

    assert set(error.value.messages["lines"][0]) == {"tax_rate", "name"}
