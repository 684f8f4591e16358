"""Query-parameter schemas (marshmallow) of the API, and how list filters become a
search query. Bodies go to the services as sent: their schemas judge them (422)."""
from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, fields, validate, validates_schema
from marshmallow import ValidationError as SchemaError

from shared.schemas import Date

DATE_DOC = {"type": "string", "format": "date", "description": "YYYY-MM-DD, inclusive"}


class Flag(fields.Boolean):
    truthy = {"true", "1", "yes", "on", True}
    falsy = {"false", "0", "no", "off", False}


class Strict(Schema):
    class Meta:
        unknown = RAISE


class InvoiceFilters(Strict):
    """Filters shared by list, export, stats and calendar."""

    q = fields.String(metadata={"description": "free text (Chinese by characters)"})
    type = fields.String()
    customer_id = fields.String()
    contract_id = fields.String()
    department_id = fields.String()
    owner_id = fields.String()
    status = fields.String(validate=validate.OneOf(["active", "void"]))
    approval_status = fields.String()
    issued_from = Date(metadata=DATE_DOC)
    issued_to = Date(metadata=DATE_DOC)
    include_void = Flag()
    lang = fields.String(metadata={"description": "ignored (pages)"})
    # The pages' search builder: condition i is (field[i], op[i], value[i]), any field of
    # the search language (custom.<key> too); ``match`` combines them (default all).
    field = fields.List(fields.String(), metadata={"description": "builder: repeat with op and value"})
    op = fields.List(fields.String(), metadata={"description": "builder: eq, ne, contains, prefix, gt, gte, lt, lte, exists"})
    value = fields.List(fields.String(), metadata={"description": "builder: the value of each condition"})
    match = fields.String(validate=validate.OneOf(["all", "any"]),
                          metadata={"description": "builder: all (default) or any of the conditions; "
                                                   "with any, the other filters do not apply"})


class InvoiceListQuery(InvoiceFilters):
    sort = fields.String(metadata={"description": "fields, '-' for descending: -issued_on,amount"})
    limit = fields.Integer(validate=validate.Range(1, 500))
    cursor = fields.String()


class ExportQuery(InvoiceFilters):
    sort = fields.String()


class StatsQuery(InvoiceFilters):
    group_by = fields.String(metadata={"description": "comma-separated: type,month"})
    as_of = fields.String(metadata={"description": "the figures as they stood then: an ISO "
                                                   "timestamp or an invoice-store position"})


class InvoiceGetQuery(Strict):
    only_filled = Flag()
    as_of = fields.String(metadata={"description": "a version (integer) or an ISO timestamp"})


class AttachmentQuery(Strict):
    inline = Flag(metadata={"description": "show a PDF, JPEG or PNG in the browser "
                                           "(Content-Disposition: inline) instead of saving it"})


class EventsQuery(Strict):
    after_version = fields.Integer(validate=validate.Range(min=0))


class PageQuery(Strict):
    limit = fields.Integer(validate=validate.Range(1, 500))
    cursor = fields.String()


class CustomerListQuery(PageQuery):
    name_contains = fields.String()


class PaymentListQuery(Strict):
    contract_id = fields.String()
    customer_id = fields.String()


class UninvoicedQuery(Strict):
    customer_id = fields.String()
    contract_id = fields.String()
    received_from = Date(metadata=DATE_DOC)
    received_to = Date(metadata=DATE_DOC)


class ReconciliationQuery(Strict):
    customer_id = fields.String()
    contract_id = fields.String()


class IncludeInactiveQuery(Strict):
    include_inactive = Flag()


class FlowGetQuery(Strict):
    version = fields.Integer(validate=validate.Range(min=1))


class RequestListQuery(Strict):
    status = fields.String()
    mine = Flag()


class NotificationsQuery(Strict):
    unread_only = Flag()


class VerifyQuery(Strict):
    invoice_id = fields.String()


class NoQuery(Strict):
    pass


# -- request bodies of the gateway's own shape (documented; checked by the services) --
class VoidBody(Schema):
    class Meta:
        unknown = EXCLUDE

    reason = fields.String(required=True)


class DecisionBody(Schema):
    comment = fields.String()
    to_user_id = fields.String(metadata={"description": "delegate only"})


class AddApproversBody(Schema):
    approvers = fields.List(fields.String(), required=True,
                            metadata={"description": '"user:<id>" or "role:<name>"'})
    where = fields.String(required=True, metadata={"enum": ["before", "after", "with"]})
    comment = fields.String()


class SendBackBody(Schema):
    comment = fields.String()
    to_stage = fields.Integer(allow_none=True,
                              metadata={"description": "an earlier stage; null → the submitter"})


class ResubmitBody(Schema):
    changes = fields.Dict(allow_none=True, metadata={"description": "revised held values"})
    comment = fields.String()


class ApproveManyBody(Schema):
    request_ids = fields.List(fields.String(), required=True)
    comment = fields.String()


class WebhookBody(Schema):
    url = fields.String(required=True)
    secret = fields.String(required=True, metadata={"description": "8–200 characters"})
    events = fields.List(fields.String(), required=True)
    format = fields.String(metadata={"enum": ["json", "wecom", "dingtalk"]})


class MarkReadBody(Schema):
    ids = fields.List(fields.String(), required=True)

    @validates_schema
    def _not_empty(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not isinstance(data.get("ids"), list):
            raise SchemaError({"ids": ["a list of notification ids"]})


# -- list parameters → search query --------------------------------------------------
EQUALITY_FILTERS = ("type", "customer_id", "contract_id", "department_id", "owner_id",
                    "status", "approval_status")


def search_query(args: dict[str, Any], *, paged: bool = True) -> dict[str, Any]:
    """``GET /api/invoices`` parameters as the search service's query."""
    filters: list[dict[str, Any]] = [{"field": name, "op": "eq", "value": args[name]}
                                     for name in EQUALITY_FILTERS if name in args]
    if "issued_from" in args:
        filters.append({"field": "issued_on", "op": "gte", "value": args["issued_from"]})
    if "issued_to" in args:
        filters.append({"field": "issued_on", "op": "lte", "value": args["issued_to"]})
    conditions = builder_conditions(args)
    if args.get("match") == "any" and conditions:
        query: dict[str, Any] = {"filters": conditions, "match": "any"}
    else:
        query = {"filters": filters + conditions}
    if args.get("q"):
        query["text"] = args["q"]
    if args.get("include_void"):
        query["include_void"] = True
    if args.get("sort"):
        query["sort"] = [{"field": part.lstrip("-+"), "dir": "desc" if part.startswith("-") else "asc"}
                         for part in str(args["sort"]).split(",") if part.strip()]
    if paged:
        for name in ("limit", "cursor"):
            if name in args:
                query[name] = args[name]
    return query


def builder_conditions(args: dict[str, Any]) -> list[dict[str, Any]]:
    """The search builder's rows as filters; a row without a field, or without a value
    (but for ``exists``), is an unused row of the form and left out."""
    names, ops, values = args.get("field") or [], args.get("op") or [], args.get("value") or []
    out: list[dict[str, Any]] = []
    for i, name in enumerate(names):
        op = ops[i] if i < len(ops) and ops[i] else "eq"
        value = values[i] if i < len(values) else ""
        if not name or (op != "exists" and not str(value).strip()):
            continue
        out.append({"field": name, "op": op, "value": True if op == "exists" else value})
    return out


def as_of_arg(value: str | None) -> int | str | None:
    """``as_of`` of a query: digits → a version / position, else the timestamp as given
    (the service names a bad one)."""
    if value is None:
        return None
    return int(value) if value.isdigit() else value
