"""The invoice aggregate (see shared.events.aggregate for how commands and events divide
the work). Its state moves by the one invoice fold in shared.invoice_events."""
from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from invoice.domain import events as ev
from shared.errors import Conflict
from shared.events.aggregate import Aggregate, differs, is_empty
from shared.events.envelope import StreamHead
from shared.invoice_events import (  # noqa: F401 - re-exported for this service
    ACTIVE,
    APPROVAL_STATUSES,
    INVOICE_FIELDS,
    VOID,
    custom_key,
    fold,
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

    # -- commands --------------------------------------------------------------------
    @classmethod
    def create(cls, invoice_id: str, number: str, values: Mapping[str, Any]) -> Invoice:
        invoice = cls(id=invoice_id)
        fields = {name: copy.deepcopy(values.get(name)) for name in INVOICE_FIELDS}
        fields["payment_ids"] = list(fields["payment_ids"] or [])
        fields["custom"] = dict(fields["custom"] or {})
        invoice.record(ev.INVOICE_CREATED, {"number": number, "fields": fields})
        return invoice

    def change(self, values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """Record the fields whose value differs; nothing when all are equal.

        ``values`` maps field names (``custom.<key>`` for custom fields) to new values.
        """
        self._require_active()
        changes: dict[str, dict[str, Any]] = {}
        for name, new in values.items():
            old = self.value_of(name)
            if differs(old, new):
                changes[name] = {"from": copy.deepcopy(old), "to": copy.deepcopy(new)}
        if changes:
            self.record(ev.INVOICE_FIELDS_CHANGED, {"changes": changes})
        return changes

    def void(self, reason: str) -> None:
        if self.status == VOID:
            raise Conflict(f"invoice {self.id} is void already")
        self.record(ev.INVOICE_VOIDED, {"reason": reason})

    def set_approval_status(self, status: str, request_id: str | None) -> bool:
        if status not in APPROVAL_STATUSES:
            raise ValueError(f"unknown approval status {status!r}")
        if status == self.approval_status and request_id == self.approval_request_id:
            return False
        self.record(ev.INVOICE_APPROVAL_STATUS_CHANGED,
                     {"from": self.approval_status, "to": status, "request_id": request_id})
        return True

    # -- queries ---------------------------------------------------------------------
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
        })
        data.update(self.audit_fields())
        return only_filled_values(data) if only_filled else data

    # -- event sourcing --------------------------------------------------------------
    def _require_active(self) -> None:
        if self.status == VOID:
            raise Conflict(f"invoice {self.id} is void and cannot be changed")

    @classmethod
    def from_snapshot(cls, state: Mapping[str, Any], head_hash: str) -> Invoice:
        """Rebuild from a state written atomically with the events up to its version
        (the same fold, saved): commands on long streams stay one read."""
        def actor(name: str) -> dict[str, Any] | None:
            return dict(state[name]) if state.get(name) else None

        return cls(
            id=str(state["id"]), version=int(state["version"]),
            head=StreamHead(int(state["version"]), head_hash), number=state["number"],
            fields={name: copy.deepcopy(state.get(name)) for name in INVOICE_FIELDS},
            status=state["status"], void_reason=state.get("void_reason"),
            approval_status=state["approval_status"],
            approval_request_id=state.get("approval_request_id"),
            created_at=state.get("created_at"), created_by=actor("created_by"),
            updated_at=state.get("updated_at"), updated_by=actor("updated_by"))

    def state(self) -> dict[str, Any]:
        """The state as the shared fold sees it (a plain dict)."""
        data: dict[str, Any] = {"id": self.id, "number": self.number, **self.fields,
                                "status": self.status, "void_reason": self.void_reason,
                                "approval_status": self.approval_status,
                                "approval_request_id": self.approval_request_id}
        data.update(self.audit_fields())
        return data

    def apply(self, envelope: Mapping[str, Any]) -> None:
        state = fold(self.state(), envelope)
        self.number = state["number"]
        self.fields = {name: state.get(name) for name in INVOICE_FIELDS}
        self.status, self.void_reason = state["status"], state.get("void_reason")
        self.approval_status = state["approval_status"]
        self.approval_request_id = state.get("approval_request_id")
        self.version = state["version"]
        self.head = StreamHead(self.version, envelope["hash"])
        self.created_at, self.created_by = state.get("created_at"), state.get("created_by")
        self.updated_at, self.updated_by = state["updated_at"], state["updated_by"]


def only_filled_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """Leave out empty fields (None, "", [], {}), inside ``custom`` too."""
    result = {k: v for k, v in data.items() if not is_empty(v)}
    if isinstance(result.get("custom"), dict):
        result["custom"] = {k: v for k, v in result["custom"].items() if not is_empty(v)}
        if not result["custom"]:
            del result["custom"]
    return result
