"""Custom field validation and the edge schemas of the invoice service."""
from __future__ import annotations

from decimal import Decimal

import pytest

from invoice.domain.settings import validate_custom_value, validate_custom_values
from invoice.schemas import load_changes
from shared.errors import ValidationError

DEFINITIONS = {
    "level": {"kind": "select", "options": ["A", "B"], "required": True, "active": True},
    "budget": {"kind": "money", "required": False, "active": True},
    "due": {"kind": "date", "required": False, "active": True},
    "vip": {"kind": "bool", "required": False, "active": True},
    "score": {"kind": "number", "required": False, "active": True},
}


def test_custom_values_are_converted_to_their_stored_form() -> None:
    values = validate_custom_values(DEFINITIONS, {"level": "A", "budget": "12.5", "due": "2026-01-31",
                                                  "vip": True, "score": "3.25"}, creating=True)
    assert values == {"level": "A", "budget": Decimal("12.50"), "due": "2026-01-31",
                      "vip": True, "score": Decimal("3.25")}


def test_each_bad_custom_value_is_named_under_custom() -> None:
    with pytest.raises(ValidationError) as error:
        validate_custom_values(DEFINITIONS, {"level": "Z", "vip": "yes", "nope": 1}, creating=True)
    assert set(error.value.messages["custom"]) == {"level", "vip", "nope"}


def test_a_required_custom_field_must_be_given_on_create() -> None:
    with pytest.raises(ValidationError) as error:
        validate_custom_values(DEFINITIONS, {}, creating=True)
    assert error.value.messages == {"custom": {"level": ["is required"]}}


def test_numbers_refuse_booleans_and_nan() -> None:
    for bad in (True, "NaN", "x"):
        with pytest.raises(ValueError):
            validate_custom_value(DEFINITIONS["score"], bad)


def test_changes_split_plain_and_custom_fields() -> None:
    changes = load_changes({"amount": "5", "custom.level": "B", "custom": {"vip": True}})
    assert changes == {"amount": Decimal("5.00"), "custom.level": "B", "custom.vip": True}


@pytest.mark.parametrize("changes,field", [
    ({"status": "void"}, "status"), ({"number": "x"}, "number"), ({"amount": "-1"}, "amount"),
    ({"custom.$where": 1}, "custom"), ({"bogus": 1}, "bogus"), ({}, "changes"), ("x", "changes"),
])
def test_bad_changes_name_the_field(changes: object, field: str) -> None:
    with pytest.raises(ValidationError) as error:
        load_changes(changes)
    assert field in error.value.messages
