"""Request and response schemas of the invoice service (edges only)."""
from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError as SchemaError
from marshmallow import validates_schema

from invoice.domain.attachments import MAX_SIZE, check_filename
from invoice.domain.settings import COLOR_PATTERN, CUSTOM_KINDS, KEY_PATTERN
from invoice.domain.vat import MAX_LINES, MIXED, check_tax_id, parse_tax_rate
from shared import invoice_events
from shared.errors import ValidationError
from shared.events.envelope import to_wire
from shared.invoice_events import CREDIT_KEYS, REQUIRABLE_FIELDS
from shared.money import money_str
from shared.schemas import (
    EXCLUDE,
    RAISE,
    Bool,
    Date,
    Id,
    IdempotencyKey,
    Integer,
    Money,
    Schema,
    Text,
    check_keys,
    fields,
    load,
    validate,
)


class TaxId(fields.String):
    """The buyer's taxpayer number (纳税人识别号), checked (see domain.vat)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return check_tax_id(text)
        except ValueError as exc:
            raise SchemaError(str(exc)) from None


class TaxRate(fields.Field):
    """One of the legal rates as a decimal string; ``mixed`` (lines of several rates)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if value == MIXED:
            return MIXED
        try:
            return parse_tax_rate(value)
        except ValueError as exc:
            raise SchemaError(str(exc)) from None


class CustomValues(fields.Dict):
    """The ``custom`` object: keys are custom field keys; values checked later against
    their definitions."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        result = super()._deserialize(value, attr, data, **kwargs)
        bad = check_keys(result)
        bad.update({k: ["not a valid custom field key"] for k in result
                    if isinstance(k, str) and not KEY_PATTERN.match(k) and k not in bad})
        if bad:
            raise SchemaError(bad)
        return result


class InvoiceInput(Schema):
    """Fields of create_invoice (and, partially, of updates)."""

    class Meta:
        unknown = RAISE

    title = Text(200, required=True, allow_none=False, min_length=1)
    content = Text(2000)
    type = fields.String(required=True, allow_none=False,
                         validate=validate.Regexp(KEY_PATTERN, error="not a valid type key"))
    amount = Money(required=True, allow_none=False, positive=True)
    issued_on = Date(required=True, allow_none=False)
    customer_id = Id(required=True, allow_none=False)
    contract_id = Id()
    payment_ids = fields.List(Id(allow_none=False), allow_none=True,
                              validate=validate.Length(max=200))
    invoice_no = Text(64)
    tracking_number = Text(64)
    courier = Text(100)
    owner_id = Id()
    department_id = Id()
    remarks = Text(2000)
    custom = CustomValues(keys=fields.String(), values=fields.Raw(allow_none=True),
                          allow_none=True)
    buyer_name = Text(200)
    buyer_tax_id = TaxId(allow_none=True)
    buyer_address_phone = Text(300)
    buyer_bank_account = Text(300)
    tax_rate = TaxRate(allow_none=True)
    # each line is checked by the use case (domain.vat.check_lines): errors lines.<i>.<field>
    lines = fields.List(fields.Dict(), allow_none=True, validate=validate.Length(max=MAX_LINES))
    idempotency_key = IdempotencyKey()

    @validates_schema
    def _unique_payments(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        payments = data.get("payment_ids") or []
        if len(set(payments)) != len(payments):
            raise SchemaError("listed more than once", "payment_ids")


class ImportRowInput(InvoiceInput):
    """One row of ``import_invoices``: ``create_invoice``'s data plus ``external_id``,
    the row's id in the system it comes from (an import skips ids imported before)."""

    external_id = Text(100, allow_none=True, min_length=1)


class CreditNoteInput(Schema):
    """``create_credit_note``: the reason, and the part credited (default: what remains)."""

    class Meta:
        unknown = RAISE

    reason = Text(500, required=True, allow_none=False, min_length=1)
    amount = Money(allow_none=True, positive=True)
    lines = fields.List(fields.Dict(), allow_none=True, validate=validate.Length(min=1, max=MAX_LINES))
    issued_on = Date(allow_none=True)
    invoice_no = Text(64)
    idempotency_key = IdempotencyKey()


class Base64File(fields.String):
    """A file as base64 (RPC callers without HTTP); its length is checked before it is
    decoded, so an oversized body is refused without decoding it."""

    MAX_LENGTH = (MAX_SIZE + 2) // 3 * 4

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) > self.MAX_LENGTH:
            raise SchemaError(f"the file is larger than {MAX_SIZE // (1024 * 1024)} MB")
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise SchemaError("not valid base64") from None


class FileName(fields.String):
    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        try:
            return check_filename(super()._deserialize(value, attr, data, **kwargs))
        except ValueError as exc:
            raise SchemaError(str(exc)) from None


class AttachmentInput(Schema):
    """``add_attachment``: the file name as shown, the content as base64."""

    class Meta:
        unknown = RAISE

    filename = FileName(required=True, allow_none=False)
    content_base64 = Base64File(required=True, allow_none=False)


class VoidInput(Schema):
    class Meta:
        unknown = RAISE

    reason = Text(500, required=True, allow_none=False, min_length=1)


class InvoiceTypeInput(Schema):
    class Meta:
        unknown = RAISE

    key = fields.String(required=True, validate=validate.Regexp(
        KEY_PATTERN, error="lowercase letters, digits and _; starts with a letter"))
    label = Text(50, required=True, allow_none=False, min_length=1)
    color = fields.String(required=True, validate=validate.Regexp(
        COLOR_PATTERN, error="a colour like #RRGGBB"))
    required_fields = fields.List(fields.String(validate=validate.OneOf(REQUIRABLE_FIELDS)),
                                  load_default=list)


class InvoiceTypeChanges(Schema):
    class Meta:
        unknown = RAISE

    label = Text(50, allow_none=False, min_length=1)
    color = fields.String(validate=validate.Regexp(COLOR_PATTERN, error="a colour like #RRGGBB"))
    active = Bool()
    required_fields = fields.List(fields.String(validate=validate.OneOf(REQUIRABLE_FIELDS)))


class CustomFieldInput(Schema):
    class Meta:
        unknown = RAISE

    key = fields.String(required=True, validate=validate.Regexp(
        KEY_PATTERN, error="lowercase letters, digits and _; starts with a letter"))
    label = Text(50, required=True, allow_none=False, min_length=1)
    kind = fields.String(required=True, validate=validate.OneOf(CUSTOM_KINDS))
    options = fields.List(Text(100, allow_none=False, min_length=1), load_default=list,
                          validate=validate.Length(max=200))
    required = Bool(load_default=False)

    @validates_schema
    def _select_needs_options(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if data.get("kind") == "select" and not data.get("options"):
            raise SchemaError("a select field needs options", "options")


class CustomFieldChanges(Schema):
    class Meta:
        unknown = RAISE

    label = Text(50, allow_none=False, min_length=1)
    options = fields.List(Text(100, allow_none=False, min_length=1),
                          validate=validate.Length(max=200))
    required = Bool()
    active = Bool()



_CHANGES_SCHEMA = InvoiceInput()
NOT_EDITABLE = ("id", "number", "status", "approval_status", "version", "created_at",
                "created_by", "updated_at", "updated_by", "void_reason", "approval_request_id",
                "tax_amount", "amount_excluding_tax") + CREDIT_KEYS + ("net_amount", "idempotency_key")


def load_changes(changes: Any) -> dict[str, Any]:
    """Validate update changes: editable fields and ``custom.<key>`` / ``custom``.

    Returns plain fields plus ``custom.<key>`` entries (custom values still raw: they
    are checked against their definitions by the use case)."""
    if not isinstance(changes, Mapping) or not changes:
        raise ValidationError.field("changes", "must be a non-empty object")
    errors: dict[str, Any] = {}
    plain: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for name, value in changes.items():
        if not isinstance(name, str):
            errors[str(name)] = ["not a field name"]
        elif name.startswith("custom."):
            custom[name[len("custom."):]] = value
        elif name in NOT_EDITABLE:
            errors[name] = ["is not an editable field"]
        else:
            plain[name] = value
    if isinstance(plain.get("custom"), Mapping):
        custom.update(plain.pop("custom"))
    try:
        loaded = load(_CHANGES_SCHEMA, plain, partial=True) if plain else {}
    except ValidationError as exc:
        errors.update(exc.messages)
        loaded = {}
    custom_errors = check_keys(custom)
    custom_errors.update({k: ["not a valid custom field key"] for k in custom
                          if not KEY_PATTERN.match(k) and k not in custom_errors})
    if custom_errors:
        errors["custom"] = custom_errors
    if errors:
        raise ValidationError(errors)
    loaded.update({f"custom.{key}": value for key, value in custom.items()})
    return loaded


class PersonInput(Schema):
    id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    name = fields.String(load_default="", allow_none=True, validate=validate.Length(max=200))


class SettleInput(Schema):
    """``settle_change`` (internal): how a held change's request ended."""

    class Meta:
        unknown = RAISE

    request_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    outcome = fields.String(required=True, validate=validate.OneOf(
        ("approved", "rejected", "withdrawn"), error="one of approved, rejected, withdrawn"))
    comment = fields.String(load_default="", allow_none=False, validate=validate.Length(max=2000))
    approvers = fields.List(fields.Nested(PersonInput), load_default=list,
                            validate=validate.Length(max=200))


class FlowRuleInput(Schema):
    """``replicate_flow`` (internal): an approval flow's trigger rule."""

    class Meta:
        unknown = EXCLUDE

    id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    version = Integer(minimum=1, required=True)
    created_at = fields.String(allow_none=True, load_default=None)
    active = Bool(required=True)
    hold = Bool(load_default=False)
    watched_fields = fields.List(fields.String(), load_default=list)
    trigger_on_create = Bool(load_default=False)
    condition = fields.Raw(allow_none=True, load_default=None)
    condition_kinds = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)


def dump_invoice(invoice: Mapping[str, Any]) -> dict[str, Any]:
    """The wire form of an invoice: money as two-place strings, everything JSON-safe."""
    result = to_wire(dict(invoice))
    for name in MONEY_FIELDS:
        if invoice.get(name) is not None:
            result[name] = money_str(invoice[name])
    if invoice.get("attachments"):  # removed ones are listed for auditors only
        result["attachments"] = [a for a in result["attachments"] if not a.get("removed")]
    if invoice.get("lines"):
        result["lines"] = [dict(line, amount=money_str(line["amount"])) if "amount" in line else line
                           for line in result["lines"]]
    return result


MONEY_FIELDS = (*invoice_events.MONEY_FIELDS, "net_amount")
