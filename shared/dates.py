"""Dates (YYYY-MM-DD) and UTC timestamps (ISO 8601, millisecond precision, 'Z')."""
from __future__ import annotations

import datetime as dt

_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"


def parse_date(value: object) -> str:
    """Validate a calendar date and return it as YYYY-MM-DD; raise ValueError otherwise."""
    if not isinstance(value, str):
        raise ValueError("must be a date string YYYY-MM-DD")
    try:
        parsed = dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError("not a valid date (YYYY-MM-DD)") from None
    if len(value) != 10:
        raise ValueError("not a valid date (YYYY-MM-DD)")
    return parsed.isoformat()


def format_timestamp(moment: dt.datetime) -> str:
    moment = moment.astimezone(dt.timezone.utc)
    return moment.strftime(_TS_FORMAT)[:-3] + "Z"


def utc_now() -> str:
    """The current time as an ISO 8601 UTC string; these sort lexicographically."""
    return format_timestamp(dt.datetime.now(dt.timezone.utc))


def parse_timestamp(value: object) -> str:
    """Normalise an ISO 8601 timestamp (offset or 'Z'; naive means UTC) to our form."""
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 timestamp")
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("not a valid ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return format_timestamp(moment)
