"""Customers, contracts and payments received, each rebuilt by replaying its events.

Public command methods check the rules and decide which event to record (``pending``);
the fields move by the one customer-side fold in shared.customer_events. State moves
forward only through ``apply`` with a stored envelope, so what a command sees is always
exactly the fold of the store.

A contract is opened by its customer and a payment is received on its contract: the
links (``customer_id``, ``contract_id``) come from the record that owns them, never
from the caller.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from customer.domain import events as ev
from shared.customer_events import (  # noqa: F401 - the catalogue lives in shared
    CONTRACT_FIELDS,
    CUSTOMER_FIELDS,
    PAYMENT_FIELDS,
    fold,
)
from shared.errors import Conflict, ValidationError
from shared.events.aggregate import Aggregate, Apply, differs


def folding(event_type: str) -> Apply:
    """The apply method of one event type: the shared customer-side fold of the fields."""
    def apply(record: Any, data: Mapping[str, Any]) -> None:
        record.fields = fold(record.fields, {"type": event_type, "data": data})
    return apply


@dataclass
class Record(Aggregate):
    """What customers, contracts and payments share: their fields and audit fields."""

    FIELDS: ClassVar[tuple[str, ...]] = ()

    fields: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id}
        data.update(copy.deepcopy(self.fields))
        data.update(self.audit_fields())
        return data

    def _record_created(self, event_type: str, values: Mapping[str, Any]) -> None:
        self.record(event_type, {name: copy.deepcopy(values.get(name)) for name in self.FIELDS})


@dataclass
class Customer(Record):
    """A customer (客户); its fields change through CustomerUpdated."""

    STREAM_TYPE: ClassVar[str] = ev.STREAM_CUSTOMER
    FIELDS: ClassVar[tuple[str, ...]] = CUSTOMER_FIELDS

    @classmethod
    def create(cls, customer_id: str, values: Mapping[str, Any]) -> Customer:
        _require_text(values, "name")
        customer = cls(id=customer_id)
        customer._record_created(ev.CUSTOMER_CREATED, values)
        return customer

    def change(self, values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """Record the fields whose value differs; nothing when all are equal."""
        unknown = [name for name in values if name not in CUSTOMER_FIELDS]
        if unknown:
            raise ValidationError({name: ["is not an editable field"] for name in unknown})
        if "name" in values:
            _require_text(values, "name")
        changes = {name: {"from": copy.deepcopy(self.fields.get(name)), "to": copy.deepcopy(new)}
                   for name, new in values.items()
                   if differs(self.fields.get(name), new)}
        if changes:
            self.record(ev.CUSTOMER_UPDATED, {"changes": changes})
        return changes

    def open_contract(self, contract_id: str, values: Mapping[str, Any]) -> Contract:
        """A new contract of this customer (``customer_id`` is this customer's id)."""
        _require_text(values, "number")
        _require_positive(values, "amount")
        contract = Contract(id=contract_id)
        contract._record_created(ev.CONTRACT_CREATED, dict(values, customer_id=self.id))
        return contract

    APPLY: ClassVar[dict[str, Apply]] = {ev.CUSTOMER_CREATED: folding(ev.CUSTOMER_CREATED),
                                         ev.CUSTOMER_UPDATED: folding(ev.CUSTOMER_UPDATED)}


@dataclass
class Contract(Record):
    """A contract (合同) signed with one customer; payments are received on it."""

    STREAM_TYPE: ClassVar[str] = ev.STREAM_CONTRACT
    FIELDS: ClassVar[tuple[str, ...]] = CONTRACT_FIELDS
    APPLY: ClassVar[dict[str, Apply]] = {ev.CONTRACT_CREATED: folding(ev.CONTRACT_CREATED)}

    @property
    def customer_id(self) -> str:
        return str(self.fields["customer_id"])

    def receive_payment(self, payment_id: str, values: Mapping[str, Any]) -> Payment:
        """A payment (回款) on this contract, credited to the contract's customer.

        A ``customer_id`` in ``values`` is only a check: it must name that customer."""
        claimed = values.get("customer_id")
        if claimed is not None and claimed != self.customer_id:
            raise ValidationError.field(
                "customer_id", f"contract {self.id} belongs to customer {self.customer_id}")
        _require_positive(values, "amount")
        payment = Payment(id=payment_id)
        payment._record_created(ev.PAYMENT_RECEIVED,
                                dict(values, contract_id=self.id, customer_id=self.customer_id))
        return payment


@dataclass
class Payment(Record):
    """A payment received (回款) on a contract; never changed once recorded."""

    STREAM_TYPE: ClassVar[str] = ev.STREAM_PAYMENT
    FIELDS: ClassVar[tuple[str, ...]] = PAYMENT_FIELDS
    APPLY: ClassVar[dict[str, Apply]] = {ev.PAYMENT_RECEIVED: folding(ev.PAYMENT_RECEIVED)}


def number_taken(number: Any) -> Conflict:
    """The error for a contract number that another contract has already."""
    return Conflict({"number": [f"contract number {number!r} is already used"]})


def _require_text(values: Mapping[str, Any], name: str) -> None:
    value = values.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError.field(name, "is required")


def _require_positive(values: Mapping[str, Any], name: str) -> None:
    value = values.get(name)
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        raise ValidationError.field(name, "must be an amount greater than 0")
