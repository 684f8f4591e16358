"""marshmallow building blocks used at every service's edge.

``load`` turns marshmallow's errors into the contract's ValidationError (field ->
messages, nested keys for nested input) so that bad input never reaches a use case.
"""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, fields, validate
from marshmallow import ValidationError as SchemaError

from shared.dates import parse_date, parse_timestamp
from shared.errors import ValidationError
from shared.idempotency import MAX_KEY_LENGTH as MAX_IDEMPOTENCY_KEY
from shared.money import money_str, parse_money

__all__ = ["EXCLUDE", "RAISE", "Schema", "fields", "validate", "load", "Money", "Date",
           "Text", "Id", "Timestamp", "Bool", "Integer", "check_keys", "MAX_INT",
           "IdempotencyKey"]

# MongoDB stores integers in 64 bits: a larger one fails deep inside the driver.
MAX_INT = 2 ** 63 - 1
ID_PATTERN = r"[A-Za-z0-9_\-:.]{1,64}\Z"


class Money(fields.Field):
    """A decimal string with at most 2 places (ints accepted), loaded as Decimal."""

    def __init__(self, *, positive: bool = False, **kwargs: Any) -> None:
        self.positive = positive
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Decimal:
        try:
            return parse_money(value, positive=self.positive)
        except ValueError as exc:
            raise SchemaError(str(exc)) from None

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        return money_str(value)


class Date(fields.Field):
    """A calendar date as 'YYYY-MM-DD', kept as that string."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        try:
            return parse_date(value)
        except ValueError as exc:
            raise SchemaError(str(exc)) from None


class Timestamp(fields.Field):
    """An ISO 8601 timestamp, normalised to UTC with 'Z'."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        try:
            return parse_timestamp(value)
        except ValueError as exc:
            raise SchemaError(str(exc)) from None


class Bool(fields.Field):
    """``true`` or ``false`` and nothing else: marshmallow's Boolean takes "yes", "no",
    1 and 0 (it has no ``strict``)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise SchemaError("must be true or false")
        return value


def Integer(*, minimum: int = 0, maximum: int = MAX_INT, **kwargs: Any) -> fields.Integer:
    """A JSON integer (no strings, no floats) within 64 bits."""
    return fields.Integer(strict=True, validate=validate.Range(min=minimum, max=maximum), **kwargs)


def _not_blank(value: str) -> None:
    if not value.strip():
        raise SchemaError("must not be blank")


def Text(max_length: int, *, required: bool = False, allow_none: bool = True,
         min_length: int = 0) -> fields.String:
    """Text of at most ``max_length``; with ``min_length`` it must also hold more than
    whitespace."""
    checks: list[Any] = [validate.Length(min=min_length, max=max_length)]
    if min_length > 0:
        checks.append(_not_blank)
    return fields.String(required=required, allow_none=allow_none, validate=checks)


def Id(*, required: bool = False, allow_none: bool = True) -> fields.String:
    return fields.String(required=required, allow_none=allow_none,
                         validate=validate.Regexp(ID_PATTERN, error="not a valid id"))


def _printable(value: str) -> None:
    if not value.isprintable():
        raise SchemaError("must be printable characters")


def IdempotencyKey() -> fields.String:
    """A create's ``idempotency_key`` (shared.idempotency): 1 to 100 printable characters."""
    return fields.String(allow_none=True, validate=[
        validate.Length(min=1, max=MAX_IDEMPOTENCY_KEY), _printable])


class ReadEventsInput(Schema):
    """``read_events(after_position, limit)`` of every service that has events."""

    class Meta:
        unknown = RAISE

    after_position = Integer()
    limit = Integer(minimum=1, maximum=1000)


def check_keys(value: Any, path: str = "") -> dict[str, list[str]]:
    """Find keys that could reach MongoDB as operators or paths ('$x', 'a.b')."""
    errors: dict[str, list[str]] = {}
    if isinstance(value, Mapping):
        for key, inner in value.items():
            where = f"{path}.{key}" if path else str(key)
            if not isinstance(key, str) or key.startswith("$") or "." in key or "\x00" in key:
                errors[where] = ["keys may not start with '$' or contain '.'"]
            else:
                errors.update(check_keys(inner, where))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            errors.update(check_keys(inner, f"{path}[{index}]"))
    return errors


def load(schema: Schema, data: Any, *, name: str = "data", partial: bool = False) -> Any:
    """Validate ``data`` with ``schema`` or raise the contract's ValidationError."""
    if not isinstance(data, Mapping):
        raise ValidationError.field(name, "must be an object")
    try:
        return schema.load(data, partial=partial)
    except SchemaError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {name: exc.messages}
        raise ValidationError(messages) from None


def id_arg(value: Any, name: str) -> str:
    """A positional id argument of an RPC call."""
    if not isinstance(value, str) or not value or len(value) > 64 or value.startswith("$"):
        raise ValidationError.field(name, "must be an id string")
    return value


def version_arg(value: Any, name: str = "expected_version") -> int | None:
    """``expected_version`` (or another version argument): None or an int >= 0."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT:
        raise ValidationError.field(name, "must be a non-negative integer (64 bits)")
    return value


def heads_args(after_stream_id: Any, limit: Any) -> tuple[str, int]:
    """``read_heads`` paging: a stream id to start after ("" for the first page) and a
    page size from 1 to 1000."""
    if after_stream_id != "":
        id_arg(after_stream_id, "after_stream_id")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise ValidationError.field("limit", "must be an integer from 1 to 1000")
    return str(after_stream_id), limit


def flag_arg(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError.field(name, "must be true or false")
    return value


def changes_arg(schema: Schema, changes: Any) -> dict[str, Any]:
    """A ``changes`` object loaded by ``schema``; at least one field."""
    loaded = load(schema, changes, name="changes")
    if not loaded:
        raise ValidationError.field("changes", "must change at least one field")
    return dict(loaded)
