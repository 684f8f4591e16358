"""The one parsing of input values by kind: numbers, money, dates and timestamps.

Custom field values (``invoice.domain.settings``) and the filter language
(``shared.query``) both parse through here, so a value of a kind is accepted or refused
alike everywhere. Each parser raises ``ValueError`` with the reason; callers key it
under the offending field. Money and dates keep their own modules (``shared.money``,
``shared.dates``); they are re-exported here."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from shared.dates import parse_date, parse_timestamp
from shared.money import parse_money

__all__ = ["parse_date", "parse_money", "parse_number", "parse_timestamp"]


def parse_number(value: object) -> Decimal:
    """An integer or a decimal string (or a Decimal) as a finite Decimal.

    Floats are refused, as for money: they cannot carry an exact decimal."""
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
        raise ValueError("must be a number as an integer or a decimal string")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("must be a number") from None
    if not number.is_finite():
        raise ValueError("must be a finite number")
    return number
