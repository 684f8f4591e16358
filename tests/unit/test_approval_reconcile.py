"""The reconcile round, with in-memory stand-ins for the replica and the requests: an
outcome whose report was parked is reported again; agreeing states cost nothing."""
from __future__ import annotations

from typing import Any

from approval.reactions import Reconciler, run_repairs
from tests.support.fakes import RequestStates


class Replica:
    def __init__(self, *invoices: dict[str, Any]) -> None:
        self.invoices = {i["id"]: i for i in invoices}

    def awaiting_outcome(self) -> list[dict[str, Any]]:
        return [i for i in self.invoices.values() if i["status"] == "active" and
                (i["approval_status"] == "pending" or i.get("pending_change"))]

    def get(self, invoice_id: str) -> dict[str, Any] | None:
        return self.invoices.get(invoice_id)


def invoice(invoice_id: str, **overrides: Any) -> dict[str, Any]:
    return {"id": invoice_id, "status": "active", "approval_status": "none",
            "approval_request_id": None, "pending_change": None, **overrides}


def request(request_id: str, invoice_id: str, status: str, **overrides: Any) -> dict[str, Any]:
    return {"id": request_id, "invoice_id": invoice_id, "status": status, "invoice_version": 2,
            "version": 1, "hold": False, "stages": [{"decisions": []}], **overrides}


def test_a_parked_outcome_is_reported_again_and_agreeing_states_are_left_alone() -> None:
    approver = {"user": {"id": "f1", "name": "财务"}, "decision": "approved", "comment": ""}
    replica = Replica(
        invoice("inv_held", approval_status="pending", approval_request_id="apr_h",
                pending_change={"request_id": "apr_h"}),
        invoice("inv_after", approval_status="pending", approval_request_id="apr_a"),
        invoice("inv_missed"),                                   # "pending" report parked
        invoice("inv_fine", approval_status="pending", approval_request_id="apr_f"))
    requests = RequestStates(
        request("apr_h", "inv_held", "approved", hold=True, stages=[{"decisions": [approver]}]),
        request("apr_a", "inv_after", "rejected"),
        request("apr_m", "inv_missed", "pending"),
        request("apr_f", "inv_fine", "pending"))
    reported: list[tuple[Any, ...]] = []
    settled: list[tuple[Any, ...]] = []

    repairs = Reconciler(replica, requests).repairs()
    run_repairs(repairs, lambda *a: reported.append(a), lambda *a: settled.append(a))

    assert settled == [("inv_held", "apr_h", "approved", "", [{"id": "f1", "name": "财务"}])]
    assert sorted(reported) == [("inv_after", "rejected", "apr_a", 2, 1),
                                ("inv_missed", "pending", "apr_m", 2, 1)]
