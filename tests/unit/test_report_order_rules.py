"""Issue 9, finding 5: approval status reports are ordered by the request's trigger
version (the invoice version of the change that opened it), then by the request's own
version -- never by arrival. A report ordered before the one the invoice applied is
acknowledged and changes nothing; reports written before the order existed fold as
they always did."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from approval.reactions import OutcomeReporter, Reconciler
from invoice.domain.model import Invoice
from invoice.service import report_order_args
from shared.errors import ValidationError
from shared.events.envelope import Metadata
from shared.events.store import build_envelopes
from shared.invoice_events import fold
from tests.support.fakes import RequestStates


# -- the shared fold ------------------------------------------------------------------
def envelope(event_type: str, version: int, **data: Any) -> dict[str, Any]:
    return {"type": event_type, "stream_id": "inv_1", "version": version, "data": data,
            "occurred_at": f"2026-05-01T00:00:{version:02d}.000Z",
            "actor": {"id": "svc-approval", "name": "approval"}}


def created(version: int = 1, **data: Any) -> dict[str, Any]:
    return envelope("InvoiceCreated", version, number="INV-2026-000001",
                    fields={"amount": "10.00", "customer_id": "cus_1"}, **data)


def report(version: int, to: str, request_id: str, trigger: int | None = None,
           request_version: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"from": "?", "to": to, "request_id": request_id}
    if trigger is not None:
        data.update(trigger_version=trigger, request_version=request_version)
    return envelope("InvoiceApprovalStatusChanged", version, **data)


def folded(*envelopes: dict[str, Any]) -> dict[str, Any]:
    state: dict[str, Any] | None = None
    for each in envelopes:
        state = fold(state, each)
    assert state is not None
    return state


def named(state: dict[str, Any]) -> tuple[str, str | None]:
    return state["approval_status"], state["approval_request_id"]


def test_a_report_about_an_older_request_arriving_after_a_newer_one_changes_nothing() -> None:
    state = folded(created(), report(4, "pending", "apr_new", trigger=3, request_version=1),
                   report(5, "pending", "apr_old", trigger=2, request_version=1))

    assert named(state) == ("pending", "apr_new")
    assert state["approval_order"] == {"trigger_version": 3, "request_version": 1}


def test_a_stale_approved_about_an_older_request_does_not_overwrite_a_newer_pending() -> None:
    state = folded(created(), report(4, "pending", "apr_new", trigger=3, request_version=1),
                   report(5, "approved", "apr_old", trigger=2, request_version=4))

    assert named(state) == ("pending", "apr_new")


def test_an_older_report_about_the_same_request_does_not_undo_its_outcome() -> None:
    state = folded(created(), report(3, "approved", "apr_1", trigger=2, request_version=3),
                   report(4, "pending", "apr_1", trigger=2, request_version=1))

    assert named(state) == ("approved", "apr_1")


def test_reports_in_order_each_apply_and_record_their_order() -> None:
    state = folded(created(), report(3, "pending", "apr_1", trigger=2, request_version=1),
                   report(5, "pending", "apr_2", trigger=4, request_version=1),
                   report(6, "approved", "apr_2", trigger=4, request_version=3))

    assert named(state) == ("approved", "apr_2")
    assert state["approval_order"] == {"trigger_version": 4, "request_version": 3}


def test_reports_written_before_the_order_existed_fold_as_they_always_did() -> None:
    state = folded(created(), report(3, "pending", "apr_2", trigger=4, request_version=1),
                   report(4, "pending", "apr_1"))

    assert named(state) == ("pending", "apr_1")  # no order to compare: applied, as before
    assert state["approval_order"] is None
    assert folded(created(), report(3, "pending", "apr_1"))["approval_order"] is None


def test_a_held_change_orders_itself_by_its_own_version() -> None:
    proposed = envelope("InvoiceChangeProposed", 4, request_id="apr_held", flow_id="flw_1",
                        flow_version=1, watched_fields=["amount"],
                        changes={"amount": {"from": "10.00", "to": "99.00"}})

    state = folded(created(), report(3, "pending", "apr_old", trigger=2, request_version=1),
                   proposed, report(5, "pending", "apr_old", trigger=2, request_version=1))

    assert named(state) == ("pending", "apr_held")
    assert state["approval_order"] == {"trigger_version": 4, "request_version": 0}
    held_create = folded(created(held={"request_id": "apr_c", "flow_id": "flw_1", "flow_version": 1}))
    assert held_create["approval_order"] == {"trigger_version": 1, "request_version": 0}


# -- the invoice aggregate -------------------------------------------------------------
def stored(invoice: Invoice) -> None:
    for each in build_envelopes(invoice.id, "invoice", invoice.head, invoice.pending,
                                Metadata(actor={"id": "svc", "name": "svc"}),
                                "2026-05-01T00:00:00.000Z", invoice.version + 1):
        invoice.apply(each)
    invoice.pending.clear()


def new_invoice() -> Invoice:
    invoice = Invoice.create("inv_1", "INV-2026-000001", {"title": "发票", "amount": Decimal("10.00"),
                                                          "customer_id": "cus_1"})
    stored(invoice)
    return invoice


def test_the_invoice_acknowledges_a_stale_report_without_recording_anything() -> None:
    invoice = new_invoice()
    assert invoice.set_approval_status("pending", "apr_new", trigger_version=3, request_version=1)
    stored(invoice)

    assert invoice.set_approval_status("pending", "apr_old", trigger_version=2, request_version=1) is False
    assert invoice.set_approval_status("approved", "apr_old", trigger_version=2, request_version=5) is False
    assert invoice.set_approval_status("pending", "apr_new", trigger_version=3, request_version=1) is False
    assert not invoice.pending
    assert (invoice.approval_status, invoice.approval_request_id) == ("pending", "apr_new")


def test_the_invoice_records_a_newer_report_with_its_order() -> None:
    invoice = new_invoice()
    invoice.set_approval_status("pending", "apr_1", trigger_version=2, request_version=1)
    stored(invoice)

    assert invoice.set_approval_status("approved", "apr_1", trigger_version=2, request_version=3)
    assert invoice.pending[0].data == {"from": "pending", "to": "approved", "request_id": "apr_1",
                                       "trigger_version": 2, "request_version": 3}
    stored(invoice)
    assert invoice.approval_order == {"trigger_version": 2, "request_version": 3}
    again = Invoice.from_snapshot(invoice.to_dict(), invoice.head.hash)
    assert again.set_approval_status("pending", "apr_1", trigger_version=2, request_version=1) is False


@pytest.mark.parametrize(("trigger", "version", "field"), [
    (3, None, "request_version"), (None, 1, "trigger_version"), (0, 1, "trigger_version"),
    ("3", 1, "trigger_version"), (3, True, "request_version"), (3, -1, "request_version")])
def test_the_report_order_is_two_versions_or_none(trigger: Any, version: Any, field: str) -> None:
    assert report_order_args(None, None) == (None, None)
    assert report_order_args(3, 1) == (3, 1)
    with pytest.raises(ValidationError) as error:
        report_order_args(trigger, version)
    assert field in error.value.args[0]


# -- the approval side: every report names its request's order ---------------------------
def request(request_id: str, status: str, invoice_version: int, version: int) -> dict[str, Any]:
    return {"id": request_id, "invoice_id": "inv_1", "status": status, "hold": False,
            "invoice_version": invoice_version, "version": version, "stages": [{"decisions": []}]}


def test_the_outcome_report_carries_the_latest_requests_trigger_and_own_version() -> None:
    requests = RequestStates(request("apr_1", "superseded", 2, 2), request("apr_2", "approved", 4, 3))
    reported: list[tuple[Any, ...]] = []

    OutcomeReporter(requests, lambda *a: reported.append(a)).handle(  # type: ignore[arg-type]
        {"stream_type": "approval_request", "stream_id": "apr_1"})

    assert reported == [("inv_1", "approved", "apr_2", 4, 3)]


def test_a_reconcile_repair_carries_the_requests_order() -> None:
    class Replica:
        invoice = {"id": "inv_1", "status": "active", "approval_status": "pending",
                   "approval_request_id": "apr_1", "pending_change": None}

        def awaiting_outcome(self) -> list[dict[str, Any]]:
            return [self.invoice]

        def get(self, invoice_id: str) -> dict[str, Any]:
            return self.invoice

    requests = RequestStates(request("apr_1", "superseded", 2, 2), request("apr_2", "pending", 4, 1))

    assert Reconciler(Replica(), requests).repairs() == [
        ("report", ("inv_1", "pending", "apr_2", 4, 1))]
