"""Customer-side event types. Names are past tense; each carries a schema version.

Event data shapes (schema_version 1). Other services (the invoice service's replica,
search projections) read these exactly, so they stay plain:
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

from shared.events.upcasting import UpcasterRegistry

CUSTOMER_CREATED = "CustomerCreated"
CUSTOMER_UPDATED = "CustomerUpdated"
CONTRACT_CREATED = "ContractCreated"
PAYMENT_RECEIVED = "PaymentReceived"

STREAM_CUSTOMER = "customer"
STREAM_CONTRACT = "contract"
STREAM_PAYMENT = "payment"

upcasters = UpcasterRegistry()
