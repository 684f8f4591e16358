"""Request schemas of the approval service (edges only): shapes, types and forms.
What needs the world (known fields, custom fields, roles) is checked by the use case."""
from __future__ import annotations

from typing import Any

from marshmallow import ValidationError as SchemaError
from marshmallow import validates_schema

from approval.domain.flow import APPROVER_PATTERN, MODES, ON_TIMEOUT
from approval.domain.webhooks import FORMATS, KINDS
from shared.errors import ValidationError
from shared.schemas import RAISE, Bool, Id, Schema, Text, fields, load, validate

APPROVER_ERROR = "must be 'user:<id>' or 'role:<name>'"
MAX_COMMENT = 2000


def Approvers(*, required: bool = False, min_length: int = 0) -> fields.List:
    entry = fields.String(validate=validate.Regexp(APPROVER_PATTERN, error=APPROVER_ERROR))
    return fields.List(entry, required=required, validate=validate.Length(min=min_length, max=50))


class StageInput(Schema):
    class Meta:
        unknown = RAISE

    name = Text(100, required=True, allow_none=False, min_length=1)
    approvers = Approvers(required=True, min_length=1)
    mode = fields.String(load_default="any",
                         validate=validate.OneOf(MODES, error="must be one of any, all"))
    due_in_hours = fields.Float(allow_none=True, allow_nan=False, validate=validate.Range(
        min=0, min_inclusive=False, max=24 * 366, error="more than 0 (fractions allowed)"))
    on_timeout = fields.String(allow_none=True, validate=validate.OneOf(
        ON_TIMEOUT, error="must be one of remind, escalate, approve, reject"))
    escalate_to = Approvers()

    @validates_schema
    def _timeout_parts(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("on_timeout") and data.get("due_in_hours") is None:
            raise SchemaError("on_timeout needs due_in_hours", "due_in_hours")
        if data.get("on_timeout") == "escalate" and not data.get("escalate_to"):
            raise SchemaError("escalate needs at least one entry", "escalate_to")


class FlowChanges(Schema):
    """The fields of a flow; all optional (``update_flow``)."""

    class Meta:
        unknown = RAISE

    name = Text(200, allow_none=False, min_length=1)
    watched_fields = fields.List(fields.String(validate=validate.Length(min=1, max=100)),
                                 validate=validate.Length(max=100))
    trigger_on_create = Bool()
    condition = fields.Raw(allow_none=True)
    stages = fields.List(fields.Nested(StageInput), validate=validate.Length(
        min=1, max=20, error="at least one stage (at most 20)"))
    cc = Approvers()
    active = Bool()
    hold = Bool()


class FlowInput(FlowChanges):
    """``define_flow``: name and stages required."""

    name = Text(200, required=True, allow_none=False, min_length=1)
    stages = fields.List(fields.Nested(StageInput), required=True, validate=validate.Length(
        min=1, max=20, error="at least one stage (at most 20)"))
    watched_fields = fields.List(fields.String(validate=validate.Length(min=1, max=100)),
                                 load_default=list, validate=validate.Length(max=100))
    trigger_on_create = Bool(load_default=False)
    condition = fields.Raw(allow_none=True, load_default=None)
    cc = Approvers()
    active = Bool(load_default=True)
    hold = Bool(load_default=True)


def load_flow(data: Any) -> dict[str, Any]:
    loaded = dict(load(FlowInput(), data))
    loaded.setdefault("cc", [])
    return loaded


def load_flow_changes(changes: Any) -> dict[str, Any]:
    loaded = dict(load(FlowChanges(), changes, name="changes"))
    if not loaded:
        raise ValidationError.field("changes", "must change at least one field")
    return loaded


def comment_arg(value: Any, *, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or len(value) > MAX_COMMENT:
        raise ValidationError.field("comment", f"must be a string of at most {MAX_COMMENT} characters")
    if required and not value.strip():
        raise ValidationError.field("comment", "is required")
    return value


class WebhookInput(Schema):
    """``define_webhook``: where and how notifications are pushed."""

    class Meta:
        unknown = RAISE

    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False,
                     validate=validate.Length(max=2000))
    secret = fields.String(required=True, validate=validate.Length(min=8, max=200))
    events = fields.List(fields.String(validate=validate.OneOf(
        KINDS, error=f"one of {', '.join(KINDS)}")), required=True, validate=validate.Length(min=1))
    format = fields.String(load_default="json", validate=validate.OneOf(
        FORMATS, error="one of json, wecom, dingtalk"))


def load_webhook(data: Any) -> dict[str, Any]:
    return dict(load(WebhookInput(), data))


WHERE_ERROR = "one of before, after, with"


def approvers_arg(value: Any) -> list[str]:
    loaded = load(_ApproversInput(), {"approvers": value}, name="approvers")
    return list(loaded["approvers"])


def where_arg(value: Any) -> str:
    if value not in ("before", "after", "with"):
        raise ValidationError.field("where", WHERE_ERROR)
    return str(value)


def stage_arg(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError.field("to_stage", "a stage index (0 or more) or null")
    return value


def changes_arg(value: Any) -> dict[str, Any] | None:
    """The revised values of a held change; their rules are the invoice's (like an update)."""
    if value is None:
        return None
    if not isinstance(value, dict) or not value:
        raise ValidationError.field("changes", "an object of field -> new value, or null")
    return value


class _ApproversInput(Schema):
    approvers = Approvers(required=True, min_length=1)


def user_id_arg(value: Any, name: str) -> str:
    try:
        return str(load(_UserId(), {"id": value}, name=name)["id"])
    except ValidationError:
        raise ValidationError.field(name, "must be a user id") from None


def ids_arg(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or len(value) > 500 or \
            not all(isinstance(v, str) and 0 < len(v) <= 200 for v in value):
        raise ValidationError.field(name, "must be a list of ids")
    return list(value)


class _UserId(Schema):
    id = Id(required=True, allow_none=False)
