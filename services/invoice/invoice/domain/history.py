"""An invoice event as a history line: who changed which fields from what to what."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from invoice.domain import events as ev


def history_lines(envelopes: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The history of one invoice, its events in version order (from version 1: a
    line may need what came before, e.g. the previous approval request id)."""
    lines = []
    request_id: str | None = None
    for envelope in envelopes:
        lines.append(history_entry(envelope, request_id))
        if envelope["type"] in (ev.INVOICE_APPROVAL_STATUS_CHANGED, ev.INVOICE_CHANGE_PROPOSED,
                                ev.INVOICE_CHANGE_APPLIED, ev.INVOICE_CHANGE_DISCARDED):
            request_id = envelope["data"].get("request_id")
        elif envelope["type"] == ev.INVOICE_CREATED and envelope["data"].get("held"):
            request_id = envelope["data"]["held"]["request_id"]
    return lines


def history_entry(envelope: Mapping[str, Any], request_id: str | None = None) -> dict[str, Any]:
    """One event as a history line; ``request_id`` is the approval request the invoice
    was linked to before this event."""
    data, event_type = envelope["data"], envelope["type"]
    if event_type == ev.INVOICE_CREATED:
        changes = {"number": {"from": None, "to": data["number"]}}
        for name, value in data["fields"].items():
            if name == "custom":
                changes.update({f"custom.{k}": {"from": None, "to": v} for k, v in value.items()})
            elif value not in (None, "", []):
                changes[name] = {"from": None, "to": value}
        if data.get("kind") == ev.CREDIT:
            changes.update({"kind": {"from": None, "to": ev.CREDIT},
                            "credits_invoice_id": {"from": None, "to": data["credits_invoice_id"]},
                            "credit_reason": {"from": None, "to": data.get("reason")}})
    elif event_type == ev.INVOICE_FIELDS_CHANGED:
        changes = dict(data["changes"])
    elif event_type == ev.INVOICE_VOIDED:
        changes = {"status": {"from": "active", "to": "void"},
                   "void_reason": {"from": None, "to": data.get("reason")}}
    elif event_type == ev.INVOICE_APPROVAL_STATUS_CHANGED:
        changes = {"approval_status": {"from": data["from"], "to": data["to"]}}
        if data.get("request_id") != request_id:
            changes["approval_request_id"] = {"from": request_id, "to": data.get("request_id")}
    elif event_type == ev.INVOICE_CHANGE_PROPOSED:
        # Proposed, not applied: the values are in ``proposed``, not in ``changes``.
        changes = {"approval_status": {"from": None, "to": "pending"},
                   "approval_request_id": {"from": request_id, "to": data["request_id"]}}
    elif event_type == ev.INVOICE_CHANGE_APPLIED:
        changes = dict(data["changes"])
        changes["approval_status"] = {"from": "pending", "to": "approved"}
    elif event_type == ev.INVOICE_CHANGE_DISCARDED:
        changes = {"approval_status": {"from": "pending",
                                       "to": "rejected" if data["outcome"] == "rejected" else "none"}}
    elif event_type == ev.CREDIT_NOTE_ISSUED:
        previous = Decimal(str(data["credited_amount"])) - Decimal(str(data["amount"]))
        changes = {"credited_amount": {"from": previous or None, "to": data["credited_amount"]}}
        if data.get("fully_credited"):
            changes["status"] = {"from": "active", "to": "credited"}
    elif event_type == ev.INVOICE_ATTACHMENT_ADDED:
        changes = {"attachments": {"from": None, "to": data["filename"]}}
    elif event_type == ev.INVOICE_ATTACHMENT_REMOVED:
        changes = {"attachments": {"from": data["attachment_id"], "to": None}}
    else:
        changes = {}
    actor = envelope.get("actor") or {}
    line = {"version": envelope["version"], "event_type": event_type,
            "occurred_at": envelope["occurred_at"],
            "actor": {"id": actor.get("id"), "name": actor.get("name")}, "changes": changes}
    if event_type == ev.INVOICE_CHANGE_PROPOSED:
        line.update(request_id=data["request_id"], proposed=dict(data["changes"]))
    elif event_type == ev.INVOICE_CHANGE_APPLIED:
        line.update(request_id=data["request_id"], approvers=list(data.get("approvers") or []))
    elif event_type in (ev.INVOICE_ATTACHMENT_ADDED, ev.INVOICE_ATTACHMENT_REMOVED):
        line.update(attachment=dict(data))
    elif event_type == ev.CREDIT_NOTE_ISSUED:
        line.update(credit_note_id=data["credit_note_id"], reason=data.get("reason"))
    elif event_type == ev.INVOICE_CHANGE_DISCARDED:
        line.update(request_id=data["request_id"], discarded=dict(data["changes"]),
                    outcome=data["outcome"], comment=data.get("comment", ""))
    return line
