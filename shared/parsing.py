"""The one parsing of input values by kind: numbers, money, dates and timestamps.

Custom field values (``invoice.domain.settings``) and the filter language
(``shared.query``) both parse through here, so a value of a kind is accepted or refused
alike everywhere. Each parser raises ``ValueError`` with the reason; callers key it
under the offending field. Money and dates keep their own modules (``shared.money``,
``shared.dates``); they are re-exported here."""
from __future__ import annotations

from shared.dates import parse_date, parse_timestamp
from shared.money import parse_money
from shared.numbers import parse_number

__all__ = ["parse_date", "parse_money", "parse_number", "parse_timestamp"]
