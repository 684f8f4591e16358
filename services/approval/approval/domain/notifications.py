"""Who is told what, derived from a request's state before and after an append:
the approvers of a stage when it opens (and a delegate when handed a task), the
submitter on the decision, ``cc`` on the outcome."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from approval.domain.request import APPROVED, PENDING, REJECTED, ApprovalRequest


@dataclass(frozen=True)
class Notification:
    recipient: str  # "user:<id>" or "role:<name>": a role's holders all see it
    kind: str       # approval_needed | request_approved | request_rejected
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
    if after.status == PENDING:
        stage = after.stages[after.current_stage]
        if opened or before.current_stage != after.current_stage:  # type: ignore[union-attr]
            tell(stage["approvers"], "approval_needed", after.current_stage,
                 f"invoice {after.invoice_id}: stage '{stage['name']}' of '{after.flow_name}' "
                 "waits for your approval")
        elif before is not None:
            added = [e for e in stage["approvers"]
                     if e not in before.stages[after.current_stage]["approvers"]]
            tell(added, "approval_needed", after.current_stage,
                 f"invoice {after.invoice_id}: a task of stage '{stage['name']}' was delegated to you")
    was_pending = opened or before.status == PENDING  # type: ignore[union-attr]
    if was_pending and after.status in (APPROVED, REJECTED):
        kind = f"request_{after.status}"
        message = f"invoice {after.invoice_id}: approval request {after.status} ('{after.flow_name}')"
        tell([f"user:{after.submitter.get('id')}"] + after.cc, kind, None, message)
    return found
