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

INVOICE_CREATED = "InvoiceCreated"
INVOICE_FIELDS_CHANGED = "InvoiceFieldsChanged"
INVOICE_VOIDED = "InvoiceVoided"
INVOICE_APPROVAL_STATUS_CHANGED = "InvoiceApprovalStatusChanged"
INVOICE_TYPE_CREATED = "InvoiceTypeCreated"
INVOICE_TYPE_UPDATED = "InvoiceTypeUpdated"
CUSTOM_FIELD_DEFINED = "CustomFieldDefined"
CUSTOM_FIELD_UPDATED = "CustomFieldUpdated"

STREAM_INVOICE = "invoice"
STREAM_INVOICE_TYPE = "invoice_type"
STREAM_CUSTOM_FIELD = "custom_field"

upcasters = UpcasterRegistry()
