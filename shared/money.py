"""Money: exact decimals with at most two places, never floats."""
from __future__ import annotations

from decimal import Decimal

from shared.numbers import parse_decimal_text

MAX_MONEY = Decimal("1e15")


def parse_money(value: object, *, positive: bool = False) -> Decimal:
    """Parse a decimal string (or int) into a Decimal; raise ValueError with a reason.

    Floats are refused: they cannot carry an exact amount.
    """
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError("must be a decimal string such as \"1234.50\", not a float")
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        amount = value
    elif isinstance(value, str):
        amount = parse_decimal_text(value)
    else:
        raise ValueError("must be a decimal string")
    if not amount.is_finite():
        raise ValueError("must be a finite amount")
    exponent = amount.as_tuple().exponent
    assert isinstance(exponent, int)
    if exponent < -2:
        raise ValueError("at most 2 decimal places")
    if abs(amount) >= MAX_MONEY:
        raise ValueError("amount too large")
    if positive and amount <= 0:
        raise ValueError("must be greater than 0")
    return amount.quantize(Decimal("0.01"))


def money_str(amount: Decimal | None) -> str | None:
    """Format for the wire: always two places."""
    if amount is None:
        return None
    return str(Decimal(amount).quantize(Decimal("0.01")))
