"""Request and response schemas of the customer service (edges only)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.events.envelope import to_wire
from shared.money import money_str
from shared.schemas import (
    RAISE,
    Date,
    Id,
    IdempotencyKey,
    Integer,
    Money,
    Schema,
    Text,
    fields,
    validate,
)


def Name(max_length: int, *, required: bool = False) -> fields.String:
    """Text that must have a visible character (a name, a number)."""
    return fields.String(required=required, allow_none=False, validate=[
        validate.Length(min=1, max=max_length),
        validate.Regexp(r"\S", error="must not be blank"),
    ])


class CustomerInput(Schema):
    """Fields of create_customer."""

    class Meta:
        unknown = RAISE

    name = Name(200, required=True)
    code = Text(64)
    industry = Text(100)
    phone = Text(50)
    address = Text(500)
    owner_id = Id()
    department_id = Id()
    idempotency_key = IdempotencyKey()


class CustomerChanges(CustomerInput):
    """Fields of update_customer: any of them; ``name`` cannot be cleared."""

    class Meta:
        unknown = RAISE
        exclude = ("idempotency_key",)

    name = Name(200)


class ContractInput(Schema):
    class Meta:
        unknown = RAISE

    customer_id = Id(required=True, allow_none=False)
    number = Name(64, required=True)
    title = Text(200)
    amount = Money(required=True, allow_none=False, positive=True)
    signed_on = Date(allow_none=True)
    owner_id = Id()
    department_id = Id()
    idempotency_key = IdempotencyKey()


class PaymentInput(Schema):
    class Meta:
        unknown = RAISE

    contract_id = Id(required=True, allow_none=False)
    # Taken from the contract; accepted only as a check that it names the same customer.
    customer_id = Id()
    amount = Money(required=True, allow_none=False, positive=True)
    received_on = Date(required=True, allow_none=False)
    method = Text(50)
    reference = Text(100)
    note = Text(2000)
    idempotency_key = IdempotencyKey()


class ListCustomersInput(Schema):
    class Meta:
        unknown = RAISE

    name_contains = Text(200)
    limit = Integer(minimum=1, maximum=500)
    cursor = fields.String(allow_none=True, validate=validate.Length(max=1000))



def dump_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """The wire form of a customer, contract or payment: money as two-place strings."""
    result = to_wire(dict(record))
    if record.get("amount") is not None:
        result["amount"] = money_str(record["amount"])
    return result


def dump_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [dump_record(r) for r in records]
