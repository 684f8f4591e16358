"""Dates (YYYY-MM-DD) and UTC timestamps (ISO 8601, millisecond precision, 'Z')."""
from __future__ import annotations

import datetime as dt
import re

# fromisoformat also takes week dates (2026-W01-1), ordinal dates and other digits
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.,+Z-]*)?")


def parse_date(value: object) -> str:
    """Validate a calendar date and return it as YYYY-MM-DD; raise ValueError otherwise."""
    if not isinstance(value, str):
        raise ValueError("must be a date string YYYY-MM-DD")
    if not _DATE.fullmatch(value):
        raise ValueError("not a valid date (YYYY-MM-DD)")
    try:
        parsed = dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError("not a valid date (YYYY-MM-DD)") from None
    return parsed.isoformat()


def format_timestamp(moment: dt.datetime) -> str:
    moment = moment.astimezone(dt.timezone.utc)
    # isoformat, not strftime: %Y does not pad years before 1000 to four digits
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def utc_now() -> str:
    """The current time as an ISO 8601 UTC string; these sort lexicographically."""
    return format_timestamp(dt.datetime.now(dt.timezone.utc))


def parse_timestamp(value: object) -> str:
    """Normalise an ISO 8601 timestamp (offset or 'Z'; naive means UTC) to our form."""
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 timestamp")
    text = value.strip()
    if not _TIMESTAMP.fullmatch(text):
        raise ValueError("not a valid ISO 8601 timestamp (YYYY-MM-DDTHH:MM:SS, offset or Z)")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        moment = dt.datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.timezone.utc)
        return format_timestamp(moment)
    except (ValueError, OverflowError):
        raise ValueError("not a valid ISO 8601 timestamp, or outside years 1-9999 in UTC") from None
