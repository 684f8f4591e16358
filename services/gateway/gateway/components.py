"""Schemas of the OpenAPI document's components: the services' shapes as docs/rpc.md
describes them. Documentation only — the gateway passes bodies through, the services
validate and shape them."""
from __future__ import annotations

from marshmallow import Schema, fields

MONEY = {"type": "string", "pattern": r"^-?\d+(\.\d{1,2})?$", "example": "1200.00"}
DATE = {"type": "string", "format": "date", "example": "2026-05-20"}


def money(**kwargs: object) -> fields.String:
    return fields.String(metadata=MONEY, **kwargs)  # type: ignore[arg-type]


def date(**kwargs: object) -> fields.String:
    return fields.String(metadata=DATE, **kwargs)  # type: ignore[arg-type]


class UserRefDoc(Schema):
    id = fields.String()
    name = fields.String()


class InvoiceInputDoc(Schema):
    title = fields.String(required=True, metadata={"maxLength": 200})
    content = fields.String(metadata={"maxLength": 2000})
    type = fields.String(required=True, metadata={"example": "vat_special"})
    amount = money(required=True)
    issued_on = date(required=True)
    customer_id = fields.String(required=True)
    contract_id = fields.String(allow_none=True)
    payment_ids = fields.List(fields.String())
    invoice_no = fields.String(allow_none=True)
    tracking_number = fields.String(allow_none=True)
    courier = fields.String(allow_none=True)
    owner_id = fields.String()
    department_id = fields.String()
    remarks = fields.String(allow_none=True)
    custom = fields.Dict(keys=fields.String(), metadata={"description": "custom field values by key"})


class InvoiceChangesDoc(Schema):
    """Any editable field, ``custom.<key>`` keys, or a ``custom`` object (merged per key)."""

    title = fields.String()
    amount = money()
    courier = fields.String(allow_none=True)
    tracking_number = fields.String(allow_none=True)
    custom = fields.Dict(keys=fields.String())


class InvoiceDoc(InvoiceInputDoc):
    id = fields.String(metadata={"example": "inv_…"})
    number = fields.String(metadata={"example": "INV-2026-000001"})
    status = fields.String(metadata={"enum": ["active", "void"]})
    approval_status = fields.String(metadata={"enum": ["none", "pending", "approved", "rejected"]})
    version = fields.Integer()
    created_at = fields.String(metadata={"format": "date-time"})
    created_by = fields.Nested(UserRefDoc)
    updated_at = fields.String(metadata={"format": "date-time"})
    updated_by = fields.Nested(UserRefDoc)
    void_reason = fields.String(allow_none=True)
    approval_request_id = fields.String(allow_none=True)


class InvoiceViewDoc(InvoiceDoc):
    customer_name = fields.String()
    contract_number = fields.String(allow_none=True)
    type_label = fields.String()
    type_color = fields.String()
    payments = fields.List(fields.Dict())


class HistoryEntryDoc(Schema):
    version = fields.Integer()
    event_type = fields.String()
    occurred_at = fields.String(metadata={"format": "date-time"})
    actor = fields.Nested(UserRefDoc)
    changes = fields.Dict(metadata={"description": "field → {from, to}"})


class EventDoc(Schema):
    stream_id = fields.String()
    version = fields.Integer()
    event_type = fields.String()
    data = fields.Dict()
    hash = fields.String()
    prev_hash = fields.String()


class FilterDoc(Schema):
    field = fields.String(required=True)
    op = fields.String(required=True, metadata={"enum": [
        "eq", "ne", "in", "nin", "gt", "gte", "lt", "lte", "between", "contains", "prefix", "exists"]})
    value = fields.Raw()


class SortDoc(Schema):
    field = fields.String()
    dir = fields.String(metadata={"enum": ["asc", "desc"]})


class SearchQueryDoc(Schema):
    filters = fields.List(fields.Nested(FilterDoc))
    match = fields.String(metadata={"enum": ["all", "any"]})
    text = fields.String()
    sort = fields.List(fields.Nested(SortDoc))
    limit = fields.Integer(metadata={"minimum": 1, "maximum": 500})
    cursor = fields.String(allow_none=True)
    include_void = fields.Boolean()


class SearchPageDoc(Schema):
    items = fields.List(fields.Nested(InvoiceViewDoc))
    total = fields.Integer()
    next_cursor = fields.String(allow_none=True)


class StatsDoc(Schema):
    rows = fields.List(fields.Dict(), metadata={"description": "{<group keys>, count, amount}"})
    total = fields.Dict(metadata={"description": "{count, amount}"})


class CalendarDayDoc(Schema):
    date = date()
    count = fields.Integer()
    amount = money()


class VerificationDoc(Schema):
    ok = fields.Boolean()
    checked = fields.Integer()
    broken = fields.List(fields.Dict())


class CustomerInputDoc(Schema):
    name = fields.String(required=True, metadata={"maxLength": 200})
    code = fields.String()
    industry = fields.String()
    phone = fields.String()
    address = fields.String()
    owner_id = fields.String()
    department_id = fields.String()


class CustomerDoc(CustomerInputDoc):
    id = fields.String(metadata={"example": "cus_…"})
    version = fields.Integer()


class CustomerPageDoc(Schema):
    items = fields.List(fields.Nested(CustomerDoc))
    next_cursor = fields.String(allow_none=True)


class CustomerInvoicesDoc(Schema):
    items = fields.List(fields.Nested(InvoiceViewDoc))
    count = fields.Integer()
    amount = money()
    next_cursor = fields.String(allow_none=True)


class ContractInputDoc(Schema):
    customer_id = fields.String(required=True)
    number = fields.String(required=True)
    title = fields.String()
    amount = money(required=True)
    signed_on = date()
    owner_id = fields.String()
    department_id = fields.String()


class ContractDoc(ContractInputDoc):
    id = fields.String(metadata={"example": "con_…"})
    version = fields.Integer()


class PaymentInputDoc(Schema):
    contract_id = fields.String(required=True)
    amount = money(required=True)
    received_on = date(required=True)
    method = fields.String()
    reference = fields.String()
    note = fields.String()


class PaymentDoc(PaymentInputDoc):
    id = fields.String(metadata={"example": "pay_…"})
    customer_id = fields.String()
    version = fields.Integer()


class UninvoicedPageDoc(Schema):
    items = fields.List(fields.Nested(PaymentDoc))
    total = fields.Integer()


class ReconciliationDoc(Schema):
    contract_id = fields.String()
    contract_number = fields.String()
    customer_id = fields.String()
    contract_amount = money()
    received_amount = money()
    invoiced_amount = money()
    payments = fields.List(fields.Dict())


class InvoiceTypeDoc(Schema):
    key = fields.String(metadata={"pattern": "^[a-z][a-z0-9_]*$"})
    label = fields.String()
    color = fields.String(metadata={"pattern": "^#[0-9A-Fa-f]{6}$"})
    active = fields.Boolean()
    version = fields.Integer()


class CustomFieldDoc(Schema):
    key = fields.String()
    label = fields.String()
    kind = fields.String(metadata={"enum": ["text", "number", "money", "date", "select", "bool"]})
    options = fields.List(fields.String())
    required = fields.Boolean()
    active = fields.Boolean()
    version = fields.Integer()


class StageDoc(Schema):
    name = fields.String()
    approvers = fields.List(fields.String(), metadata={"description": "user:<id> | role:<name>"})
    mode = fields.String(metadata={"enum": ["any", "all"]})


class FlowDoc(Schema):
    id = fields.String()
    name = fields.String()
    watched_fields = fields.List(fields.String())
    trigger_on_create = fields.Boolean()
    condition = fields.Raw(allow_none=True)
    stages = fields.List(fields.Nested(StageDoc))
    cc = fields.List(fields.String())
    active = fields.Boolean()
    version = fields.Integer()


class ApprovalRequestDoc(Schema):
    id = fields.String()
    flow_id = fields.String()
    invoice_id = fields.String()
    status = fields.String()
    stages = fields.List(fields.Dict())
    version = fields.Integer()


class AttachmentDoc(Schema):
    attachment_id = fields.String()
    filename = fields.String()
    content_type = fields.String(metadata={"description": "decided from the content"})
    size = fields.Integer()
    sha256 = fields.String()
    added_at = fields.String(metadata={"format": "date-time"})
    added_by = fields.Raw()
    removed = fields.Boolean()


class AttachmentUploadDoc(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary",
                                               "description": "multipart/form-data, at most 10 MB"})


class ImportUploadDoc(Schema):
    file = fields.Raw(required=True, metadata={
        "type": "string", "format": "binary",
        "description": "a CSV (UTF-8 or GB 18030) or XLSX file in the export's columns, at most 20 MB"})


class ImportRowDoc(Schema):
    index = fields.Integer(metadata={"description": "0-based row index (the header not counted)"})
    line = fields.Integer(metadata={"description": "the row's line in the file (the header is 1)"})
    external_id = fields.String()
    status = fields.String(metadata={"enum": ["ok", "created", "skipped", "error"]})
    errors = fields.Dict(metadata={"description": "field → messages, as create_invoice's 422"})
    invoice_id = fields.String()
    number = fields.String()
    message = fields.String()
    values = fields.Dict(metadata={"description": "the row's cells as read, by column"})


class ImportJobDoc(Schema):
    id = fields.String(metadata={"example": "imp_…"})
    status = fields.String(metadata={"enum": ["queued", "running", "done", "failed"]})
    commit = fields.Boolean()
    filename = fields.String()
    format = fields.String(metadata={"enum": ["csv", "xlsx"]})
    total = fields.Integer()
    processed = fields.Integer()
    summary = fields.Dict(metadata={"description": "rows per answer: {ok, created, skipped, error}"})
    resumed = fields.Integer(metadata={"description": "times the job was taken over after its "
                                                      "gateway died"})
    ignored_columns = fields.List(fields.String())
    message = fields.String(allow_none=True, metadata={"description": "why a failed job stopped, "
                                                                      "or that it was resumed"})
    created_at = fields.String(metadata={"format": "date-time"})
    finished_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    rows = fields.List(fields.Nested(ImportRowDoc))
    offset = fields.Integer()
    next_offset = fields.Integer(allow_none=True)


class WebhookDoc(Schema):
    id = fields.String()
    url = fields.String()
    events = fields.List(fields.String())
    format = fields.String()
    created_at = fields.String(metadata={"format": "date-time"})
    created_by = fields.String()


class DeletedDoc(Schema):
    id = fields.String()
    deleted = fields.Boolean()


class NotificationDoc(Schema):
    id = fields.String()
    kind = fields.String()
    recipient = fields.String()
    request_id = fields.String()
    invoice_id = fields.String()
    message = fields.String()
    created_at = fields.String(metadata={"format": "date-time"})
    read = fields.Boolean()


class ProblemDoc(Schema):
    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict(allow_none=True, metadata={
        "description": "field → messages (422), current_version (409/412)"})


class HealthDoc(Schema):
    status = fields.String(metadata={"enum": ["ok", "unavailable"]})
    services = fields.Dict(keys=fields.String(), values=fields.String())


class MeDoc(Schema):
    id = fields.String()
    name = fields.String()
    department = fields.String(allow_none=True)
    roles = fields.List(fields.String())
    via = fields.String(metadata={"enum": ["bearer", "session"]})
    csrf_token = fields.String()
    username = fields.String()


COMPONENTS: dict[str, type[Schema]] = {
    "Invoice": InvoiceDoc, "InvoiceInput": InvoiceInputDoc, "InvoiceChanges": InvoiceChangesDoc,
    "InvoiceView": InvoiceViewDoc, "HistoryEntry": HistoryEntryDoc, "Event": EventDoc,
    "SearchQuery": SearchQueryDoc, "SearchPage": SearchPageDoc, "Stats": StatsDoc,
    "CalendarDay": CalendarDayDoc, "Verification": VerificationDoc,
    "Customer": CustomerDoc, "CustomerInput": CustomerInputDoc, "CustomerPage": CustomerPageDoc,
    "CustomerInvoices": CustomerInvoicesDoc, "Contract": ContractDoc,
    "ContractInput": ContractInputDoc, "Payment": PaymentDoc, "PaymentInput": PaymentInputDoc,
    "UninvoicedPage": UninvoicedPageDoc, "Reconciliation": ReconciliationDoc,
    "InvoiceType": InvoiceTypeDoc, "CustomField": CustomFieldDoc, "Flow": FlowDoc,
    "ApprovalRequest": ApprovalRequestDoc, "Notification": NotificationDoc,
    "Webhook": WebhookDoc, "Deleted": DeletedDoc, "Attachment": AttachmentDoc,
    "AttachmentUpload": AttachmentUploadDoc, "ImportUpload": ImportUploadDoc,
    "ImportJob": ImportJobDoc,
    "Problem": ProblemDoc, "Health": HealthDoc, "Me": MeDoc,
}
