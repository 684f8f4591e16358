"""Who is told what, derived from a request's state before and after an append:
the approvers of a stage when it opens (and a delegate or an added approver when handed
a task), ``cc`` when the request opens and on the outcome, the submitter on the outcome
and when the request is sent back to them, the waited-on entries on a reminder."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from approval.domain.request import APPROVED, PENDING, REJECTED, RETURNED, ApprovalRequest


@dataclass(frozen=True)
class Notification:
    recipient: str  # "user:<id>" or "role:<name>": a role's holders all see it
    kind: str       # approval_needed | request_opened | request_approved | request_rejected
                    # | request_returned | reminder
    request_id: str
    invoice_id: str
    stage: int | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"recipient": self.recipient, "kind": self.kind, "request_id": self.request_id,
                "invoice_id": self.invoice_id, "stage": self.stage, "message": self.message}


def notifications_for(before: ApprovalRequest | None, after: ApprovalRequest) -> list[Notification]:
    found: list[Notification] = []

    def tell(recipients: list[str], kind: str, stage: int | None, message: str) -> None:
        for recipient in dict.fromkeys(recipients):
            found.append(Notification(recipient, kind, after.id, after.invoice_id, stage, message))

    opened = before is None or before.version == 0
    if opened:
        tell(after.cc, "request_opened", None,
             f"invoice {after.invoice_id}: approval request opened ('{after.flow_name}')")
    if after.status == PENDING:
        stage = after.stages[after.current_stage]
        if before is None or opened or before.status != PENDING or \
                before.current_stage != after.current_stage:
            tell(stage["approvers"], "approval_needed", after.current_stage,
                 f"invoice {after.invoice_id}: stage '{stage['name']}' of '{after.flow_name}' "
                 "waits for your approval")
        elif before is not None:
            added = [e for e in stage["approvers"]
                     if e not in before.stages[after.current_stage]["approvers"]]
            tell(added, "approval_needed", after.current_stage,
                 f"invoice {after.invoice_id}: a task of stage '{stage['name']}' was handed to you")
        timed_out_to_remind = before is not None and stage.get("timed_out") \
            and stage.get("on_timeout", "remind") == "remind" \
            and before.current_stage == after.current_stage \
            and not before.stages[after.current_stage].get("timed_out")
        if before is not None and (after.last_reminded_at != before.last_reminded_at
                                   or timed_out_to_remind):
            tell(after.waiting_on(), "reminder", after.current_stage,
                 f"invoice {after.invoice_id}: reminder -- stage '{stage['name']}' of "
                 f"'{after.flow_name}' waits for your approval")
    if after.status == RETURNED and before is not None and before.status != RETURNED:
        tell([f"user:{after.submitter.get('id')}"], "request_returned", None,
             f"invoice {after.invoice_id}: approval request sent back to you ('{after.flow_name}')")
    was_pending = opened or before.status == PENDING  # type: ignore[union-attr]
    if was_pending and after.status in (APPROVED, REJECTED):
        kind = f"request_{after.status}"
        message = f"invoice {after.invoice_id}: approval request {after.status} ('{after.flow_name}')"
        tell([f"user:{after.submitter.get('id')}"] + after.cc, kind, None, message)
    return found
