"""History lines built from an invoice's events."""
from __future__ import annotations

from typing import Any

from invoice.domain.history import history_lines


def envelope(version: int, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"version": version, "type": event_type, "data": data, "occurred_at": "2026-11-26T10:00:00.000Z",
            "actor": {"id": "system:approval", "name": "approval"}}


def test_an_approval_decision_line_keeps_the_request_it_was_linked_to() -> None:
    lines = history_lines([
        envelope(1, "InvoiceCreated", {"number": "INV-2026-000001", "fields": {"title": "t", "custom": {}}}),
        envelope(2, "InvoiceApprovalStatusChanged", {"from": "none", "to": "pending", "request_id": "apr_1"}),
        envelope(3, "InvoiceApprovalStatusChanged", {"from": "pending", "to": "approved", "request_id": "apr_1"}),
        envelope(4, "InvoiceApprovalStatusChanged", {"from": "approved", "to": "pending", "request_id": "apr_2"}),
    ])

    assert lines[1]["changes"] == {"approval_status": {"from": "none", "to": "pending"},
                                   "approval_request_id": {"from": None, "to": "apr_1"}}
    assert lines[2]["changes"] == {"approval_status": {"from": "pending", "to": "approved"}}
    assert lines[3]["changes"]["approval_request_id"] == {"from": "apr_1", "to": "apr_2"}
    assert [line["version"] for line in lines] == [1, 2, 3, 4]
