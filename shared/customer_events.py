"""The customer-side event contract, one definition for every service: the event type
names, their data shapes, the field catalogue of customers, contracts and payments, and
the one pure fold of a record's fields that the customer aggregates, the invoice
service's replica and the search views call.

Event data shapes (schema_version 1). Other services read these exactly, so they stay
plain:
- CustomerCreated: {name, code, industry, phone, address, owner_id, department_id}
- CustomerUpdated: {changes: {<customer field>: {from, to}}}
- ContractCreated: {customer_id, number, title, amount (Decimal), signed_on, owner_id,
  department_id}
- PaymentReceived: {contract_id, customer_id, amount (Decimal), received_on, method,
  reference, note}

The stream id is the record's id; the stream type is ``customer``, ``contract`` or
``payment``.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

CUSTOMER_CREATED = "CustomerCreated"
CUSTOMER_UPDATED = "CustomerUpdated"
CONTRACT_CREATED = "ContractCreated"
PAYMENT_RECEIVED = "PaymentReceived"
CUSTOMER_EVENTS = (CUSTOMER_CREATED, CUSTOMER_UPDATED, CONTRACT_CREATED, PAYMENT_RECEIVED)

STREAM_CUSTOMER = "customer"
STREAM_CONTRACT = "contract"
STREAM_PAYMENT = "payment"

# Fields a caller may set, in display order.
CUSTOMER_FIELDS = ("name", "code", "industry", "phone", "address", "owner_id", "department_id")
CONTRACT_FIELDS = ("customer_id", "number", "title", "amount", "signed_on", "owner_id",
                   "department_id")
PAYMENT_FIELDS = ("contract_id", "customer_id", "amount", "received_on", "method",
                  "reference", "note")

# The event that creates each kind of record, with the fields it carries.
CREATED_FIELDS = {CUSTOMER_CREATED: CUSTOMER_FIELDS, CONTRACT_CREATED: CONTRACT_FIELDS,
                  PAYMENT_RECEIVED: PAYMENT_FIELDS}


def values_set(envelope: Mapping[str, Any]) -> dict[str, Any]:
    """The fields one customer-side event sets, as it carries them: every field of a
    creation, the ``to`` of each CustomerUpdated change (what a view ``$set``s).
    ValueError for an event that is not a customer-side event."""
    kind, data = envelope["type"], envelope["data"]
    if kind not in CUSTOMER_EVENTS:
        raise ValueError(f"not a customer-side event: {kind}")
    if kind == CUSTOMER_UPDATED:
        return {name: copy.deepcopy(change.get("to")) for name, change in data["changes"].items()}
    return copy.deepcopy(dict(data))


def fold(fields: Mapping[str, Any] | None, envelope: Mapping[str, Any]) -> dict[str, Any]:
    """A customer's, contract's or payment's fields after one stored event (``fields`` is
    None before its creation). A creation sets exactly its record's fields (one it does
    not carry: None); an update changes the fields it names and keeps the others."""
    values = values_set(envelope)
    created = CREATED_FIELDS.get(envelope["type"])
    if created is not None:
        return {name: values.get(name) for name in created}
    return {**copy.deepcopy(dict(fields or {})), **values}
