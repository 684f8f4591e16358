"""The invoice service's event type names: a cross-service event schema, consumed by
the approval and search services (data shapes: services/invoice/invoice/domain/events.py)."""
from __future__ import annotations

INVOICE_CREATED = "InvoiceCreated"
INVOICE_FIELDS_CHANGED = "InvoiceFieldsChanged"
INVOICE_VOIDED = "InvoiceVoided"
INVOICE_APPROVAL_STATUS_CHANGED = "InvoiceApprovalStatusChanged"
INVOICE_EVENTS = (INVOICE_CREATED, INVOICE_FIELDS_CHANGED, INVOICE_VOIDED,
                  INVOICE_APPROVAL_STATUS_CHANGED)
INVOICE_TYPE_CREATED = "InvoiceTypeCreated"
INVOICE_TYPE_UPDATED = "InvoiceTypeUpdated"
CUSTOM_FIELD_DEFINED = "CustomFieldDefined"
CUSTOM_FIELD_UPDATED = "CustomFieldUpdated"

STREAM_INVOICE = "invoice"
STREAM_INVOICE_TYPE = "invoice_type"
STREAM_CUSTOM_FIELD = "custom_field"
