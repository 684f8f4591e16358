"""An invoice event as a history line: who changed which fields from what to what."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from invoice.domain import events as ev


def history_entry(envelope: Mapping[str, Any]) -> dict[str, Any]:
    data, event_type = envelope["data"], envelope["type"]
    if event_type == ev.INVOICE_CREATED:
        changes = {"number": {"from": None, "to": data["number"]}}
        for name, value in data["fields"].items():
            if name == "custom":
                changes.update({f"custom.{k}": {"from": None, "to": v} for k, v in value.items()})
            elif value not in (None, "", []):
                changes[name] = {"from": None, "to": value}
    elif event_type == ev.INVOICE_FIELDS_CHANGED:
        changes = dict(data["changes"])
    elif event_type == ev.INVOICE_VOIDED:
        changes = {"status": {"from": "active", "to": "void"},
                   "void_reason": {"from": None, "to": data.get("reason")}}
    elif event_type == ev.INVOICE_APPROVAL_STATUS_CHANGED:
        changes = {"approval_status": {"from": data["from"], "to": data["to"]},
                   "approval_request_id": {"from": None, "to": data.get("request_id")}}
    else:
        changes = {}
    actor = envelope.get("actor") or {}
    return {"version": envelope["version"], "event_type": event_type,
            "occurred_at": envelope["occurred_at"],
            "actor": {"id": actor.get("id"), "name": actor.get("name")}, "changes": changes}
