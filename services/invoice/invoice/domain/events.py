"""Invoice-side event types. Names are past tense; each carries a schema version.

Event data shapes (schema_version 1):
- InvoiceCreated: {number, fields: {<invoice field>: value}}
- InvoiceFieldsChanged: {changes: {<field or custom.key>: {from, to}}}
- InvoiceVoided: {reason}
- InvoiceApprovalStatusChanged: {from, to, request_id}
- InvoiceTypeCreated: {key, label, color, active}; InvoiceTypeUpdated: {changes}
- CustomFieldDefined: {key, label, kind, options, required, active}; CustomFieldUpdated: {changes}
"""
from __future__ import annotations

from shared.events.upcasting import UpcasterRegistry
from shared.invoice_events import (  # noqa: F401 - the names live in shared: others consume them
    CUSTOM_FIELD_DEFINED,
    CUSTOM_FIELD_UPDATED,
    INVOICE_APPROVAL_STATUS_CHANGED,
    INVOICE_CREATED,
    INVOICE_FIELDS_CHANGED,
    INVOICE_TYPE_CREATED,
    INVOICE_TYPE_UPDATED,
    INVOICE_VOIDED,
    STREAM_CUSTOM_FIELD,
    STREAM_INVOICE,
    STREAM_INVOICE_TYPE,
)

upcasters = UpcasterRegistry()
