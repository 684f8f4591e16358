"""The invoice event contract, one definition for every service: the event type names,
their data shapes, the invoice field catalogue and the one pure fold of invoice state
that the invoice aggregate, the approval service's replica and the search view call.

Event data shapes (schema_version 1):
- InvoiceCreated: {number, fields: {<invoice field or derived field>: value}, held?: {request_id, flow_id,
  flow_version}} (``held``: a holding flow's trigger_on_create made the creation wait
  for approval; approval_status is ``pending`` from the start)
- InvoiceFieldsChanged: {changes: {<field, derived field or custom.key>: {from, to}}}
  (a change of amount, tax_rate or lines carries the recomputed tax_amount and
  amount_excluding_tax; events written before VAT simply lack them: None)
- InvoiceVoided: {reason}
- InvoiceApprovalStatusChanged: {from, to, request_id, trigger_version?, request_version?}
  (the report's order, issue 9: the request's trigger version -- the invoice version of
  the change that opened it -- and the request's own version. The state keeps the order
  of the report it applied as ``approval_order: {trigger_version, request_version}``; a
  report ordered before it changes nothing. Reports written before the order existed
  lack both: they apply as they always did and leave ``approval_order`` None. A held
  change -- InvoiceCreated with ``held``, InvoiceChangeProposed that is not a revision --
  orders itself as ``{trigger_version: <its own version>, request_version: 0}``)
- InvoiceChangeProposed: {request_id, flow_id, flow_version, watched_fields, changes,
  revision?: true} (``revision``: the submitter revised a returned held change)
  (a holding flow's watched change, not applied: the state shows it as
  ``pending_change: {request_id, kind: change, changes, proposed_at, proposed_by,
  watched_fields, flow_id, flow_version}``; a held creation shows ``kind: create`` with no changes)
- InvoiceChangeApplied: {request_id, changes, approvers: [{id, name}]} (actor: the submitter)
- InvoiceChangeDiscarded: {request_id, changes, outcome: rejected | withdrawn | cancelled,
  comment}
- InvoiceCreated of a credit note (红字发票) also carries {kind: "credit",
  credits_invoice_id, reason}; its amounts (and lines) are negative
- CreditNoteIssued (on the credited invoice, in the same transaction as the note's
  InvoiceCreated): {credit_note_id, amount, tax_amount (the part credited, positive),
  credited_amount, credited_tax_amount (the running totals), fully_credited, reason};
  ``fully_credited`` makes the status ``credited``
- InvoiceAttachmentAdded: {attachment_id, filename, content_type, size, sha256} (the file
  itself in GridFS; its hash is in the chain); InvoiceAttachmentRemoved: {attachment_id}
  (hidden, kept). The state keeps ``attachments: [{attachment_id, filename,
  content_type, size, sha256, added_at, added_by, removed, removed_at, removed_by}]``
- InvoiceTypeCreated: {key, label, color, active, required_fields?: [field]};
  InvoiceTypeUpdated: {changes} (``required_fields`` absent: none)
- CustomFieldDefined: {key, label, kind, options, required, active}; CustomFieldUpdated: {changes}
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from shared.events.aggregate import is_empty

INVOICE_CREATED = "InvoiceCreated"
INVOICE_FIELDS_CHANGED = "InvoiceFieldsChanged"
INVOICE_VOIDED = "InvoiceVoided"
INVOICE_APPROVAL_STATUS_CHANGED = "InvoiceApprovalStatusChanged"
INVOICE_CHANGE_PROPOSED = "InvoiceChangeProposed"
INVOICE_CHANGE_APPLIED = "InvoiceChangeApplied"
INVOICE_CHANGE_DISCARDED = "InvoiceChangeDiscarded"
CREDIT_NOTE_ISSUED = "CreditNoteIssued"
INVOICE_ATTACHMENT_ADDED = "InvoiceAttachmentAdded"
INVOICE_ATTACHMENT_REMOVED = "InvoiceAttachmentRemoved"
INVOICE_EVENTS = (INVOICE_CREATED, INVOICE_FIELDS_CHANGED, INVOICE_VOIDED,
                  INVOICE_APPROVAL_STATUS_CHANGED, INVOICE_CHANGE_PROPOSED,
                  INVOICE_CHANGE_APPLIED, INVOICE_CHANGE_DISCARDED, CREDIT_NOTE_ISSUED,
                  INVOICE_ATTACHMENT_ADDED, INVOICE_ATTACHMENT_REMOVED)
DISCARD_OUTCOMES = ("rejected", "withdrawn", "cancelled")
INVOICE_TYPE_CREATED = "InvoiceTypeCreated"
INVOICE_TYPE_UPDATED = "InvoiceTypeUpdated"
CUSTOM_FIELD_DEFINED = "CustomFieldDefined"
CUSTOM_FIELD_UPDATED = "CustomFieldUpdated"

STREAM_INVOICE = "invoice"
STREAM_INVOICE_TYPE = "invoice_type"
STREAM_CUSTOM_FIELD = "custom_field"

# The invoice field catalogue: every list of invoice fields elsewhere is made from these.
GENERAL_FIELDS = (
    "title", "content", "type", "amount", "issued_on", "customer_id", "contract_id",
    "payment_ids", "invoice_no", "tracking_number", "courier", "owner_id",
    "department_id", "remarks",
)
CUSTOM = "custom"  # {key: value}; each defined custom field is ``custom.<key>`` elsewhere
# The buyer (抬头) and tax fields a VAT invoice type may require (issue 15).
VAT_FIELDS = ("buyer_name", "buyer_tax_id", "buyer_address_phone", "buyer_bank_account", "tax_rate")
LINES = "lines"
# Fields a caller may set, in display order.
INVOICE_FIELDS = GENERAL_FIELDS + (CUSTOM,) + VAT_FIELDS + (LINES,)
# The legal VAT rates (canonical decimal strings); an invoice whose lines differ: MIXED.
TAX_RATES = ("0", "0.01", "0.03", "0.05", "0.06", "0.09", "0.13")
MIXED = "mixed"
# Fields the invoice service computes and records with the caller's (VAT: from amount,
# tax_rate and lines; see services/invoice/invoice/domain/vat.py). Money as the amount.
DERIVED_FIELDS = ("tax_amount", "amount_excluding_tax")
RECORDED_FIELDS = INVOICE_FIELDS + DERIVED_FIELDS
# Stored money fields besides the lines' (decimal strings in events and views).
MONEY_FIELDS = ("amount", "tax_amount", "amount_excluding_tax", "credited_amount",
                "credited_tax_amount")
# Fields an invoice type may require (its ``required_fields``).
REQUIRABLE_FIELDS = ("buyer_name", "buyer_tax_id", "buyer_address_phone",
                     "buyer_bank_account", "tax_rate", "lines", "contract_id", "invoice_no",
                     "content", "remarks")
APPROVAL_STATUSES = ("none", "pending", "approved", "rejected")
ACTIVE, VOID, CREDITED = "active", "void", "credited"
STATUSES = (ACTIVE, VOID, CREDITED)
INVOICE, CREDIT = "invoice", "credit"  # kinds: an invoice, a credit note (红字发票)
# What the fold keeps about credit notes (on the note: kind, credits_invoice_id,
# credit_reason; on a credited invoice: the running totals and the notes' ids).
CREDIT_KEYS = ("kind", "credits_invoice_id", "credit_reason", "credited_amount",
               "credited_tax_amount", "credit_note_ids")
EXTRA_KEYS = CREDIT_KEYS + ("attachments",)
# What the fold keeps besides the invoice fields.
STATE_KEYS = ("id", "number", "status", "void_reason", "approval_status", "approval_request_id",
              "approval_order", "pending_change", "version", "created_at", "created_by", "updated_at",
              "updated_by") + EXTRA_KEYS


def watchable_fields() -> tuple[str, ...]:
    """The fields an approval flow may watch (``custom.<key>`` besides): every field a
    caller sets one by one (the lines change through amount and tax_rate). Read at each
    call: a field added to the catalogue is watchable without another edit."""
    return tuple(name for name in INVOICE_FIELDS if name not in (CUSTOM, LINES))


def only_filled_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """An invoice without its empty fields (None, "", [], {}), inside ``custom`` too
    (the pages' 仅显示已填信息, ``only_filled=True``)."""
    result = {k: v for k, v in data.items() if not is_empty(v)}
    if isinstance(result.get(CUSTOM), dict):
        result[CUSTOM] = {k: v for k, v in result[CUSTOM].items() if not is_empty(v)}
        if not result[CUSTOM]:
            del result[CUSTOM]
    return result


def custom_key(field_name: str) -> str | None:
    """'custom.level' -> 'level'; None for an ordinary field."""
    return field_name[len("custom."):] if field_name.startswith("custom.") else None


def fold(state: Mapping[str, Any] | None, envelope: Mapping[str, Any]) -> dict[str, Any]:
    """The invoice as a plain dict after one stored event (``state`` is None before
    InvoiceCreated). Keys the fold does not know (a view's joins) are kept as they are.
    Values stay as the events carry them (money: a decimal string). ValueError for an
    event that is not an invoice event."""
    kind, data = envelope["type"], envelope["data"]
    handler = _APPLY.get(kind)
    if handler is None:
        raise ValueError(f"not an invoice event: {kind}")
    result: dict[str, Any] = copy.deepcopy(dict(state or {}))
    if kind == INVOICE_CREATED:
        result = {"id": envelope["stream_id"]}
    actor = envelope.get("actor") or {}
    if kind in (INVOICE_CHANGE_PROPOSED, INVOICE_CREATED, INVOICE_ATTACHMENT_ADDED,
                INVOICE_ATTACHMENT_REMOVED):
        data = dict(data, proposed_at=envelope.get("occurred_at"),
                    proposed_by={"id": actor.get("id"), "name": actor.get("name")},
                    proposed_version=int(envelope["version"]))
    handler(result, data)
    result["version"] = int(envelope["version"])
    result["updated_at"] = envelope.get("occurred_at")
    result["updated_by"] = {"id": actor.get("id"), "name": actor.get("name")}
    if result["version"] == 1:
        result["created_at"], result["created_by"] = result["updated_at"], result["updated_by"]
    return result


def report_order(data: Mapping[str, Any]) -> dict[str, int] | None:
    """``{trigger_version, request_version}`` of an approval status report (event data or
    a report about to be recorded); None for one written before reports were ordered."""
    if data.get("trigger_version") is None:
        return None
    return {"trigger_version": int(data["trigger_version"]),
            "request_version": int(data.get("request_version") or 0)}


def is_stale_report(state: Mapping[str, Any], data: Mapping[str, Any]) -> bool:
    """True when ``state`` already shows a report ordered after this one (by the request's
    trigger version, then by the request's own version): it must change nothing. An
    unordered report, or a state without an order, compares as not stale."""
    order, applied = report_order(data), state.get("approval_order")
    if order is None or not applied:
        return False
    return (order["trigger_version"], order["request_version"]) < \
        (int(applied["trigger_version"]), int(applied["request_version"]))


def apply_changes(state: dict[str, Any], changes: Mapping[str, Mapping[str, Any]]) -> None:
    """Set each field to its ``to`` value (``custom.<key>``: inside ``custom``; None
    removes a custom value)."""
    for name, change in changes.items():
        key = custom_key(name)
        if key is not None:
            custom = dict(state.get("custom") or {})
            if change.get("to") is None:
                custom.pop(key, None)
            else:
                custom[key] = copy.deepcopy(change["to"])
            state["custom"] = custom
        else:
            state[name] = copy.deepcopy(change.get("to"))


def _created(state: dict[str, Any], data: Mapping[str, Any]) -> None:
    fields = data.get("fields") or {}
    state.update({"number": data.get("number"), "status": ACTIVE, "void_reason": None,
                  "approval_status": "none", "approval_request_id": None,
                  "approval_order": None, "pending_change": None})
    if data.get("held"):
        state["pending_change"] = {
            "request_id": data["held"]["request_id"], "kind": "create", "changes": {},
            "proposed_at": data["proposed_at"], "proposed_by": data["proposed_by"],
            "watched_fields": []}
        state["approval_status"] = "pending"
        state["approval_request_id"] = data["held"]["request_id"]
        state["approval_order"] = _held_order(data)
    for name in RECORDED_FIELDS:
        state[name] = copy.deepcopy(fields.get(name))
    state["payment_ids"] = list(state.get("payment_ids") or [])
    state["custom"] = dict(state.get("custom") or {})
    _credit_keys(state, data)


def _credit_keys(state: dict[str, Any], data: Mapping[str, Any]) -> None:
    state.update({"kind": data.get("kind") or INVOICE,
                  "credits_invoice_id": data.get("credits_invoice_id"),
                  "credit_reason": data.get("reason"), "credited_amount": None,
                  "credited_tax_amount": None, "credit_note_ids": [], "attachments": []})


def _attachment_added(state: dict[str, Any], data: Mapping[str, Any]) -> None:
    entry = {name: data[name] for name in ("attachment_id", "filename", "content_type",
                                           "size", "sha256")}
    entry.update(added_at=data["proposed_at"], added_by=data["proposed_by"], removed=False,
                 removed_at=None, removed_by=None)
    state["attachments"] = [*(state.get("attachments") or []), entry]


def _attachment_removed(state: dict[str, Any], data: Mapping[str, Any]) -> None:
    state["attachments"] = [
        dict(a, removed=True, removed_at=data["proposed_at"], removed_by=data["proposed_by"])
        if a["attachment_id"] == data["attachment_id"] else a
        for a in state.get("attachments") or []]


def _credit_note_issued(state: dict[str, Any], data: Mapping[str, Any]) -> None:
    state["credited_amount"] = data["credited_amount"]
    state["credited_tax_amount"] = data.get("credited_tax_amount")
    state["credit_note_ids"] = [*(state.get("credit_note_ids") or []), data["credit_note_id"]]
    if data.get("fully_credited"):
        state["status"] = CREDITED


def _fields_changed(state: dict[str, Any], data: Mapping[str, Any]) -> None:
    apply_changes(state, data["changes"])


def _voided(state: dict[str, Any], data: Mapping[str, Any]) -> None:
    state["status"], state["void_reason"] = VOID, data.get("reason")


def _approval_status_changed(state: dict[str, Any], data: Mapping[str, Any]) -> None:
    if is_stale_report(state, data):
        return  # never recorded by the invoice (it checks first); kept out here as well
    state["approval_status"] = data["to"]
    state["approval_request_id"] = data.get("request_id")
    state["approval_order"] = report_order(data)


def _held_order(data: Mapping[str, Any]) -> dict[str, int]:
    """A held change's request was opened by this very event: its order is the event's."""
    return {"trigger_version": int(data["proposed_version"]), "request_version": 0}


def _change_proposed(state: dict[str, Any], data: Mapping[str, Any]) -> None:
    state["pending_change"] = {
        "request_id": data["request_id"], "kind": "change",
        "changes": copy.deepcopy(dict(data["changes"])),
        "proposed_at": data["proposed_at"], "proposed_by": data["proposed_by"],
        "watched_fields": list(data.get("watched_fields") or data["changes"]),
        "flow_id": data.get("flow_id"), "flow_version": data.get("flow_version")}
    state["approval_status"], state["approval_request_id"] = "pending", data["request_id"]
    if not data.get("revision"):  # a revision belongs to the request proposed before
        state["approval_order"] = _held_order(data)


def _change_applied(state: dict[str, Any], data: Mapping[str, Any]) -> None:
    apply_changes(state, data["changes"])
    state["pending_change"] = None
    state["approval_status"], state["approval_request_id"] = "approved", data["request_id"]


def _change_discarded(state: dict[str, Any], data: Mapping[str, Any]) -> None:
    state["pending_change"] = None
    state["approval_status"] = "rejected" if data["outcome"] == "rejected" else "none"
    state["approval_request_id"] = data["request_id"]


_APPLY = {
    INVOICE_CREATED: _created,
    INVOICE_FIELDS_CHANGED: _fields_changed,
    INVOICE_VOIDED: _voided,
    INVOICE_APPROVAL_STATUS_CHANGED: _approval_status_changed,
    INVOICE_CHANGE_PROPOSED: _change_proposed,
    INVOICE_CHANGE_APPLIED: _change_applied,
    INVOICE_CHANGE_DISCARDED: _change_discarded,
    CREDIT_NOTE_ISSUED: _credit_note_issued,
    INVOICE_ATTACHMENT_ADDED: _attachment_added,
    INVOICE_ATTACHMENT_REMOVED: _attachment_removed,
}
