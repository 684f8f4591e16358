"""Invoice-side event types: the names, data shapes and fold live in
shared.invoice_events (a cross-service contract); the upcasters here."""
from __future__ import annotations

from shared.events.upcasting import UpcasterRegistry
from shared.invoice_events import (  # noqa: F401 - the names live in shared: others consume them
    CREDIT,
    CREDIT_NOTE_ISSUED,
    CUSTOM_FIELD_DEFINED,
    CUSTOM_FIELD_UPDATED,
    DISCARD_OUTCOMES,
    INVOICE_APPROVAL_STATUS_CHANGED,
    INVOICE_ATTACHMENT_ADDED,
    INVOICE_ATTACHMENT_REMOVED,
    INVOICE_CHANGE_APPLIED,
    INVOICE_CHANGE_DISCARDED,
    INVOICE_CHANGE_PROPOSED,
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
