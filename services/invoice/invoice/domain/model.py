"""The invoice aggregate (see shared.events.aggregate for how commands and events divide
the work). Its state moves by the one invoice fold in shared.invoice_events."""
from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from invoice.domain import events as ev
from shared.errors import Conflict, Forbidden, NotFound, ValidationError
from shared.events.aggregate import Aggregate, differs
from shared.events.envelope import StreamHead
from shared.invoice_events import (  # noqa: F401 - re-exported for this service
    ACTIVE,
    APPROVAL_STATUSES,
    CREDIT,
    CREDIT_KEYS,
    CREDITED,
    INVOICE,
    INVOICE_FIELDS,
    RECORDED_FIELDS,
    VOID,
    apply_changes,
    custom_key,
    fold,
    is_stale_report,
    only_filled_values,
)


@dataclass
class Invoice(Aggregate):
    STREAM_TYPE: ClassVar[str] = ev.STREAM_INVOICE

    number: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    status: str = ACTIVE
    void_reason: str | None = None
    approval_status: str = "none"
    approval_request_id: str | None = None
    approval_order: dict[str, int] | None = None  # of the report applied last (issue 9)
    pending_change: dict[str, Any] | None = None
    credit: dict[str, Any] = field(default_factory=dict)  # CREDIT_KEYS
    attachments: list[dict[str, Any]] = field(default_factory=list)

    # -- commands --------------------------------------------------------------------
    @classmethod
    def create(cls, invoice_id: str, number: str, values: Mapping[str, Any],
               held: Mapping[str, Any] | None = None,
               credits: Mapping[str, Any] | None = None) -> Invoice:
        """``held``: ``{request_id, flow_id, flow_version}`` when a holding flow makes
        the creation wait for approval; ``credits``: ``{invoice_id, reason}`` for a
        credit note (its values negative already)."""
        invoice = cls(id=invoice_id)
        data: dict[str, Any] = {"number": number, "fields": initial_fields(values)}
        if held:
            data["held"] = dict(held)
        if credits:
            data.update({"kind": CREDIT, "credits_invoice_id": credits["invoice_id"],
                         "reason": credits["reason"]})
        invoice.record(ev.INVOICE_CREATED, data)
        return invoice

    def change(self, values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """Record the fields whose value differs; nothing when all are equal.

        ``values`` maps field names (``custom.<key>`` for custom fields) to new values.
        """
        self._require_active()
        changes = self.changes_for(values)
        self._require_not_held(changes)
        self._require_credit_allows(changes)
        if changes:
            self.record(ev.INVOICE_FIELDS_CHANGED, {"changes": changes})
        return changes

    def issue_credit(self, note_id: str, amount: Decimal, tax_amount: Decimal | None,
                     reason: str) -> None:
        """Record that credit note ``note_id`` credits ``amount`` (positive) of this
        invoice; Conflict when it is a credit note, void, credited already, or when
        ``amount`` is more than remains."""
        self.require_creditable()
        remaining = self.remaining()
        if amount > remaining:
            raise Conflict({"amount": [f"only {remaining} remains to be credited"]})
        credited = self.credited() + amount
        credited_tax = Decimal(self.credit.get("credited_tax_amount") or 0) + (tax_amount or 0)
        self.record(ev.CREDIT_NOTE_ISSUED, {
            "credit_note_id": note_id, "amount": amount, "tax_amount": tax_amount,
            "credited_amount": credited, "credited_tax_amount": credited_tax,
            "fully_credited": credited == Decimal(self.fields["amount"]), "reason": reason})

    def add_attachment(self, attachment: Mapping[str, Any]) -> None:
        """``{attachment_id, filename, content_type, size, sha256}`` of a stored file."""
        self._require_active()
        self.record(ev.INVOICE_ATTACHMENT_ADDED, {
            name: attachment[name] for name in ("attachment_id", "filename", "content_type",
                                                "size", "sha256")})

    def remove_attachment(self, attachment_id: str) -> None:
        """Hide an attachment (the file and its record stay for auditors)."""
        self._require_active()
        found = [a for a in self.attachments if a["attachment_id"] == attachment_id]
        if not found:
            raise NotFound(f"attachment {attachment_id} not found")
        if found[0].get("removed"):
            raise Conflict(f"attachment {attachment_id} is removed already")
        self.record(ev.INVOICE_ATTACHMENT_REMOVED, {"attachment_id": attachment_id})

    def require_creditable(self) -> None:
        if self.credit.get("kind") == CREDIT:
            raise Conflict(f"{self.id} is a credit note and cannot be credited")
        if self.status != ACTIVE:
            raise Conflict(f"invoice {self.id} is {self.status} and cannot be credited")
        if self.pending_change is not None:
            raise awaits_approval(self.pending_change["request_id"])

    def credited(self) -> Decimal:
        return Decimal(self.credit.get("credited_amount") or 0)

    def remaining(self) -> Decimal:
        return Decimal(self.fields["amount"]) - self.credited()

    def propose(self, values: Mapping[str, Any], request_id: str,
                flow: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """A holding flow triggered: its watched fields' changes wait for approval
        (InvoiceChangeProposed); the other fields change now."""
        self._require_active()
        changes = self.changes_for(values)
        self._require_not_held(changes)
        self._require_credit_allows(changes)
        if self.pending_change is not None:
            raise awaits_approval(self.pending_change["request_id"])
        watched = with_tax_group(flow.get("watched_fields") or [])
        free = {k: v for k, v in changes.items() if k not in watched}
        held = {k: v for k, v in changes.items() if k in watched}
        if free:
            self.record(ev.INVOICE_FIELDS_CHANGED, {"changes": free})
        self.record(ev.INVOICE_CHANGE_PROPOSED, {
            "request_id": request_id, "flow_id": flow["id"], "flow_version": int(flow["version"]),
            "watched_fields": watched, "changes": held})
        return changes

    def revise(self, request_id: str, values: Mapping[str, Any], actor_id: str) -> None:
        """New values for the held change of ``request_id`` (by its submitter, within
        the flow's watched fields)."""
        self._require_active()
        pending = self.pending_change
        if pending is None or pending["request_id"] != request_id or pending.get("kind") != "change":
            raise Conflict(f"invoice {self.id} has no held change of request {request_id}")
        if (pending.get("proposed_by") or {}).get("id") != actor_id:
            raise Forbidden("only the submitter may revise a held change")
        watched = with_tax_group(pending.get("watched_fields") or ())
        outside = [name for name in values if name not in watched]
        if outside:
            raise ValidationError({name: ["not a watched field of the held change"] for name in outside})
        changes = self.changes_for(values)
        if not changes:
            raise ValidationError.field("changes", "revise at least one value")
        self.record(ev.INVOICE_CHANGE_PROPOSED, {
            "request_id": request_id, "flow_id": pending.get("flow_id"),
            "flow_version": pending.get("flow_version"), "watched_fields": watched,
            "changes": changes, "revision": True})

    def settle(self, request_id: str, outcome: str, comment: str,
               approvers: list[dict[str, Any]]) -> bool:
        """The held change's request ended: ``approved`` applies it, ``rejected`` /
        ``withdrawn`` discard it (a held creation is voided). False (nothing recorded)
        when no change of that request is pending: a repeated report."""
        pending = self.pending_change
        if pending is None or pending["request_id"] != request_id or self.status == VOID:
            return False
        if outcome == "approved":
            changes = {name: {"from": copy.deepcopy(self.value_of(name)), "to": copy.deepcopy(c["to"])}
                       for name, c in pending["changes"].items()}
            self.record(ev.INVOICE_CHANGE_APPLIED, {"request_id": request_id, "changes": changes,
                                                    "approvers": list(approvers)})
            return True
        if outcome not in ev.DISCARD_OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        self.record(ev.INVOICE_CHANGE_DISCARDED, {
            "request_id": request_id, "changes": copy.deepcopy(pending["changes"]),
            "outcome": outcome, "comment": comment})
        if pending.get("kind") == "create":
            label = "审批驳回" if outcome == "rejected" else "提交人撤回"
            self.record(ev.INVOICE_VOIDED, {"reason": f"{label}: {comment}" if comment else label})
        return True

    def void(self, reason: str) -> None:
        """Void the invoice; a change waiting for approval is discarded (``cancelled``)."""
        if self.status == VOID:
            raise Conflict(f"invoice {self.id} is void already")
        if self.credit.get("kind") == CREDIT:
            raise Conflict(f"{self.id} is a credit note: a credit note is not voided")
        if self.credited():
            raise Conflict(f"invoice {self.id} has credit notes and cannot be voided")
        if self.pending_change is not None:
            self.record(ev.INVOICE_CHANGE_DISCARDED, {
                "request_id": self.pending_change["request_id"],
                "changes": copy.deepcopy(self.pending_change["changes"]),
                "outcome": "cancelled", "comment": reason})
        self.record(ev.INVOICE_VOIDED, {"reason": reason})

    def set_approval_status(self, status: str, request_id: str | None,
                            trigger_version: int | None = None,
                            request_version: int | None = None) -> bool:
        """The approval service reports the status of a request. ``trigger_version`` (the
        invoice version that opened the request) and ``request_version`` order reports:
        one ordered before the report applied last is acknowledged and records nothing,
        whatever order they arrive in. Without them (an older caller) it applies as
        before. False when nothing is recorded."""
        if status not in APPROVAL_STATUSES:
            raise ValueError(f"unknown approval status {status!r}")
        data: dict[str, Any] = {"from": self.approval_status, "to": status, "request_id": request_id}
        if trigger_version is not None:
            data.update(trigger_version=trigger_version, request_version=request_version or 0)
        if is_stale_report(self.state(), data):
            return False  # about an older request, or older news of the same one
        if status == self.approval_status and (status == "none" or request_id == self.approval_request_id):
            return False  # "none" carries no request: none -> none is no change
        self.record(ev.INVOICE_APPROVAL_STATUS_CHANGED, data)
        return True

    # -- queries ---------------------------------------------------------------------
    def changes_for(self, values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """``{field: {from, to}}`` for the values that differ from the current ones."""
        changes: dict[str, dict[str, Any]] = {}
        for name, new in values.items():
            old = self.value_of(name)
            if differs(old, new):
                changes[name] = {"from": copy.deepcopy(old), "to": copy.deepcopy(new)}
        return changes

    def proposed_state(self, changes: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
        """The state as it would be with ``changes`` applied (conditions look at it)."""
        state = self.state()
        apply_changes(state, changes)
        return state

    def value_of(self, name: str) -> Any:
        key = custom_key(name)
        if key is not None:
            return (self.fields.get("custom") or {}).get(key)
        return self.fields.get(name)

    def to_dict(self, only_filled: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "number": self.number}
        data.update(copy.deepcopy(self.fields))
        data.update({
            "status": self.status, "void_reason": self.void_reason,
            "approval_status": self.approval_status,
            "approval_request_id": self.approval_request_id,
            "approval_order": copy.deepcopy(self.approval_order),
            "pending_change": copy.deepcopy(self.pending_change),
        })
        data.update(self.credit_dict())
        data["attachments"] = copy.deepcopy(self.attachments)
        data.update(self.audit_fields())
        return only_filled_values(data) if only_filled else data

    def credit_dict(self) -> dict[str, Any]:
        """The credit keys, with ``net_amount`` (amount less what credit notes took)."""
        data = {name: copy.deepcopy(self.credit.get(name)) for name in CREDIT_KEYS}
        data["kind"] = data["kind"] or INVOICE
        data["credit_note_ids"] = list(data["credit_note_ids"] or [])
        amount = self.fields.get("amount")
        data["net_amount"] = None if amount is None else Decimal(amount) - self.credited()
        return data

    # -- event sourcing --------------------------------------------------------------
    def _require_active(self) -> None:
        if self.status == VOID:
            raise Conflict(f"invoice {self.id} is void and cannot be changed")

    def _require_credit_allows(self, changes: Mapping[str, Any]) -> None:
        """A credit note's figures and links, and a credited invoice's figures, stay."""
        locked = set(CREDIT_LOCKED) if self.credit.get("kind") == CREDIT else \
            set(TAX_INPUTS) if self.credited() else set()
        touched = sorted(locked & set(changes))
        if touched:
            raise Conflict({name: ["cannot change: credit notes refer to it"] for name in touched})

    def _require_not_held(self, changes: Mapping[str, Any]) -> None:
        """While a change waits for approval, its flow's watched fields are locked."""
        if self.pending_change is not None and \
                set(changes) & set(with_tax_group(self.pending_change.get("watched_fields") or ())):
            raise awaits_approval(self.pending_change["request_id"])

    @classmethod
    def from_snapshot(cls, state: Mapping[str, Any], head_hash: str) -> Invoice:
        """Rebuild from a state written atomically with the events up to its version
        (the same fold, saved): commands on long streams stay one read."""
        def actor(name: str) -> dict[str, Any] | None:
            return dict(state[name]) if state.get(name) else None

        return cls(
            id=str(state["id"]), version=int(state["version"]),
            head=StreamHead(int(state["version"]), head_hash), number=state["number"],
            fields={name: copy.deepcopy(state.get(name)) for name in RECORDED_FIELDS},
            status=state["status"], void_reason=state.get("void_reason"),
            approval_status=state["approval_status"],
            approval_request_id=state.get("approval_request_id"),
            approval_order=copy.deepcopy(state.get("approval_order")),
            pending_change=copy.deepcopy(state.get("pending_change")),
            credit={name: copy.deepcopy(state.get(name)) for name in CREDIT_KEYS},
            attachments=copy.deepcopy(list(state.get("attachments") or [])),
            created_at=state.get("created_at"), created_by=actor("created_by"),
            updated_at=state.get("updated_at"), updated_by=actor("updated_by"))

    def state(self) -> dict[str, Any]:
        """The state as the shared fold sees it (a plain dict)."""
        data: dict[str, Any] = {"id": self.id, "number": self.number, **self.fields,
                                "status": self.status, "void_reason": self.void_reason,
                                "approval_status": self.approval_status,
                                "approval_request_id": self.approval_request_id,
                                "approval_order": copy.deepcopy(self.approval_order),
                                "pending_change": copy.deepcopy(self.pending_change),
                                **copy.deepcopy(self.credit),
                                "attachments": copy.deepcopy(self.attachments)}
        data.update(self.audit_fields())
        return data

    def apply(self, envelope: Mapping[str, Any]) -> None:
        state = fold(self.state(), envelope)
        self.number = state["number"]
        self.fields = {name: state.get(name) for name in RECORDED_FIELDS}
        self.status, self.void_reason = state["status"], state.get("void_reason")
        self.approval_status = state["approval_status"]
        self.approval_request_id = state.get("approval_request_id")
        self.approval_order = state.get("approval_order")
        self.pending_change = state.get("pending_change")
        self.credit = {name: state.get(name) for name in CREDIT_KEYS}
        self.attachments = list(state.get("attachments") or [])
        self.version = state["version"]
        self.head = StreamHead(self.version, envelope["hash"])
        self.created_at, self.created_by = state.get("created_at"), state.get("created_by")
        self.updated_at, self.updated_by = state["updated_at"], state["updated_by"]


TAX_INPUTS = ("amount", "tax_rate", "lines")
TAX_GROUP = TAX_INPUTS + ("tax_amount", "amount_excluding_tax")


def with_tax_group(fields: Iterable[str]) -> list[str]:
    """Watched fields, plus the whole tax group when one of its inputs is watched: the
    computed figures wait (and stay locked) with the amount, rate or lines they follow."""
    names = list(fields)
    if set(names) & set(TAX_INPUTS):
        names += [name for name in TAX_GROUP if name not in names]
    return names
CREDIT_LOCKED = TAX_INPUTS + ("type", "customer_id", "contract_id", "payment_ids")


def initial_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    fields = {name: copy.deepcopy(values.get(name)) for name in RECORDED_FIELDS}
    fields["payment_ids"] = list(fields["payment_ids"] or [])
    fields["custom"] = dict(fields["custom"] or {})
    return fields


def awaits_approval(request_id: str) -> Conflict:
    return Conflict({"message": "a change awaits approval", "request_id": request_id})

