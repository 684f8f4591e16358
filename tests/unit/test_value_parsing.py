"""One parsing of numbers, money and dates: a custom field value and a query value of
the same kind are accepted or refused alike."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from invoice.domain.settings import validate_custom_value
from shared.errors import ValidationError
from shared.query import Catalog, FieldSpec, parse_filters

CATALOG = Catalog({"n": FieldSpec("number"), "m": FieldSpec("money"), "d": FieldSpec("date")})
VALUES: dict[str, tuple[Any, ...]] = {
    "number": (1, "1.5", " 2 ", "-3.25", 1.5, 0.1, True, "NaN", "Infinity", "x", [1]),
    "money": (1, "1.50", "1.555", 1.5, True, "x", "1e20"),
    "date": ("2024-02-29", "2023-02-29", "2024-1-1", 20240101),
}


def custom_verdict(kind: str, value: Any) -> Any:
    try:
        return validate_custom_value({"kind": kind}, value)
    except ValueError:
        return "refused"


def query_verdict(kind: str, value: Any) -> Any:
    key = {"number": "n", "money": "m", "date": "d"}[kind]
    try:
        return parse_filters([{"field": key, "op": "eq", "value": value}], CATALOG)[0].value
    except ValidationError:
        return "refused"


@pytest.mark.parametrize(("kind", "value"), [(k, v) for k, vs in VALUES.items() for v in vs])
def test_custom_fields_and_queries_parse_a_value_alike(kind: str, value: Any) -> None:
    assert custom_verdict(kind, value) == query_verdict(kind, value)


def test_a_float_is_no_number_anywhere() -> None:
    # a float cannot carry an exact decimal: send an integer or a decimal string
    assert custom_verdict("number", 1.5) == "refused"
    assert custom_verdict("number", "1.5") == Decimal("1.5")
