"""Invoice types (票据类型) and custom field definitions (自定义字段): small aggregates
of their own, plus the validation of custom values against their definitions."""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from invoice.domain import events as ev
from shared.errors import ValidationError
from shared.events.aggregate import Aggregate, is_empty
from shared.parsing import parse_date, parse_money, parse_number

COLOR_PATTERN = re.compile(r"#[0-9A-Fa-f]{6}\Z")
KEY_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,39}\Z")
CUSTOM_KINDS = ("text", "number", "money", "date", "select", "bool")
MAX_TEXT = 2000

SEEDED_TYPES: tuple[dict[str, Any], ...] = (
    {"key": "vat_special", "label": "增值税专用发票", "color": "#D9534F",
     "required_fields": ["buyer_name", "buyer_tax_id", "tax_rate"]},
    {"key": "vat_ordinary", "label": "增值税普通发票", "color": "#337AB7", "required_fields": []},
    {"key": "receipt", "label": "收据", "color": "#5CB85C", "required_fields": []},
)


def setting_stream(kind: str, key: str) -> str:
    return f"{kind}-{key}"


@dataclass
class Setting(Aggregate):
    """An invoice type or a custom field definition: a keyed record with a history.
    Its id (= stream id) is ``<kind>-<key>``, e.g. ``invoice_type-receipt``."""

    kind: str = ""
    key: str = ""
    values: dict[str, Any] = field(default_factory=dict)

    def stream_type(self) -> str:
        return self.kind  # one class, two kinds of stream

    @classmethod
    def new(cls, kind: str, key: str) -> Setting:
        return cls(id=setting_stream(kind, key), kind=kind, key=key)

    def change(self, event_type: str, changes: Mapping[str, Any]) -> bool:
        diff = {k: {"from": self.values.get(k), "to": v} for k, v in changes.items()
                if self.values.get(k) != v}
        if diff:
            self.record(event_type, {"changes": diff})
        return bool(diff)

    def _apply_defined(self, data: Mapping[str, Any]) -> None:
        self.values = dict(data)

    def _apply_changed(self, data: Mapping[str, Any]) -> None:
        for name, change in data["changes"].items():
            self.values[name] = change["to"]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.values, key=self.key, version=self.version)


Setting.APPLY = {
    ev.INVOICE_TYPE_CREATED: Setting._apply_defined,
    ev.INVOICE_TYPE_UPDATED: Setting._apply_changed,
    ev.CUSTOM_FIELD_DEFINED: Setting._apply_defined,
    ev.CUSTOM_FIELD_UPDATED: Setting._apply_changed,
}


def new_invoice_type(key: str, label: str, color: str,
                     required_fields: Sequence[str] = ()) -> Setting:
    setting = Setting.new(ev.STREAM_INVOICE_TYPE, key)
    setting.record(ev.INVOICE_TYPE_CREATED,
                   {"key": key, "label": label, "color": color.upper(), "active": True,
                    "required_fields": list(required_fields)})
    return setting


def missing_required(invoice_type: Setting, values: Mapping[str, Any],
                     only: Iterable[str] | None = None) -> dict[str, list[str]]:
    """The type's required fields empty in ``values`` (``only``: just these names, for
    an edit: a later rule does not make an existing invoice invalid)."""
    required = list(invoice_type.values.get("required_fields") or ())
    names = required if only is None else [n for n in required if n in set(only)]
    return {name: [f"is required for invoice type {invoice_type.key}"]
            for name in names if is_empty(values.get(name))}


def new_custom_field(definition: Mapping[str, Any]) -> Setting:
    setting = Setting.new(ev.STREAM_CUSTOM_FIELD, definition["key"])
    setting.record(ev.CUSTOM_FIELD_DEFINED, {
        "key": definition["key"], "label": definition["label"], "kind": definition["kind"],
        "options": list(definition.get("options") or []),
        "required": bool(definition.get("required", False)), "active": True,
    })
    return setting


def validate_custom_value(definition: Mapping[str, Any], value: Any) -> Any:
    """Return the value in its stored form, or raise ValueError saying why not."""
    if value is None or value == "":
        if definition.get("required"):
            raise ValueError("is required")
        return None
    kind = definition["kind"]
    if kind == "text":
        if not isinstance(value, str):
            raise ValueError("must be text")
        if len(value) > MAX_TEXT:
            raise ValueError(f"at most {MAX_TEXT} characters")
        return value
    if kind == "number":
        return parse_number(value)
    if kind == "money":
        return parse_money(value)
    if kind == "date":
        return parse_date(value)
    if kind == "select":
        if value not in (definition.get("options") or []):
            raise ValueError(f"must be one of {definition.get('options')}")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    raise ValueError(f"unknown kind {kind}")


def validate_custom_values(definitions: Mapping[str, Mapping[str, Any]],
                           values: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """Validate a ``custom`` object; errors are keyed under ``custom``."""
    errors: dict[str, list[str]] = {}
    result: dict[str, Any] = {}
    for key, value in values.items():
        definition = definitions.get(key)
        if definition is None or not definition.get("active", True):
            errors[key] = ["is not a defined custom field"]
            continue
        try:
            result[key] = validate_custom_value(definition, value)
        except ValueError as exc:
            errors[key] = [str(exc)]
    if creating:
        for key, definition in definitions.items():
            if definition.get("required") and definition.get("active", True) \
                    and result.get(key) is None and key not in errors:
                errors[key] = ["is required"]
    if errors:
        raise ValidationError({"custom": errors})
    return {k: v for k, v in result.items() if v is not None}
