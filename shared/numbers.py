"""Plain numbers (custom ``number`` fields, number filters): exact decimals that
MongoDB's Decimal128 stores without rounding, written the way people write them."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# ASCII digits, an optional sign and point: no exponents, no full-width or other
# Unicode digits (Decimal() takes all of those), no underscores, no spaces inside.
DECIMAL_TEXT = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")
MAX_NUMBER = Decimal("1e18")
MAX_PLACES = 6


def parse_decimal_text(value: str) -> Decimal:
    """``"1234.50"`` -> Decimal; ValueError for anything else (``"1e3"``, ``"１２"``)."""
    text = value.strip()
    if not DECIMAL_TEXT.fullmatch(text):
        raise ValueError("must be a decimal number written with digits 0-9 and an optional point")
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        raise ValueError("not a valid number") from None


def parse_number(value: object) -> Decimal:
    """An int or a decimal string (floats refused, as for money); |x| < 10^18 with at most 6 places, so
    that it is stored exactly (Decimal128 keeps 34 digits)."""
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
        raise ValueError("must be a number as an integer or a decimal string")
    if isinstance(value, str):
        number = parse_decimal_text(value)
    else:
        try:
            number = Decimal(value)
        except InvalidOperation:  # pragma: no cover - ints and Decimals convert
            raise ValueError("must be a number") from None
    if not number.is_finite():
        raise ValueError("must be a finite number")
    if abs(number) >= MAX_NUMBER:
        raise ValueError("must be less than 10^18 in size")
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)
    if exponent < -MAX_PLACES:
        raise ValueError(f"at most {MAX_PLACES} decimal places")
    return number
