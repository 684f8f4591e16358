"""The invoice aggregate: commands decide events, apply methods fold them."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from invoice.domain.model import Invoice
from shared.errors import Conflict, NotFound
from shared.events.envelope import Metadata, StreamHead
from shared.events.store import build_envelopes


def stored(invoice: Invoice, actor: str = "u1") -> list[dict[str, Any]]:
    """Turn pending events into envelopes the way the store does, and apply them."""
    envelopes = build_envelopes(invoice.id, "invoice", invoice.head, invoice.pending,
                                      Metadata(actor={"id": actor, "name": actor}),
                                      "2026-05-01T00:00:00.000Z", invoice.version + 1)
    for envelope in envelopes:
        invoice.apply(envelope)
    invoice.pending.clear()
    return envelopes


def new_invoice(**values: Any) -> Invoice:
    fields = {"title": "发票", "type": "receipt", "amount": Decimal("10.00"),
              "issued_on": "2026-05-01", "customer_id": "cus_1", **values}
    invoice = Invoice.create("inv_1", "INV-2026-000001", fields)
    stored(invoice)
    return invoice


def test_creating_records_one_event_with_every_field() -> None:
    invoice = Invoice.create("inv_1", "INV-2026-000001", {"title": "t", "amount": Decimal("1.00")})

    assert [e.type for e in invoice.pending] == ["InvoiceCreated"]
    fields = invoice.pending[0].data["fields"]
    assert fields["title"] == "t" and fields["payment_ids"] == [] and fields["custom"] == {}
    assert invoice.version == 0  # nothing changes until the event is stored


def test_replaying_the_stored_events_gives_the_same_state() -> None:
    invoice = new_invoice()
    invoice.change({"courier": "顺丰", "custom.level": "A"})
    envelopes_1 = stored(invoice)
    invoice.void("wrong customer")
    envelopes_2 = stored(invoice)

    replayed = Invoice.replay("inv_1", [*_created(invoice), *envelopes_1, *envelopes_2])

    assert replayed.to_dict()["courier"] == "顺丰"
    assert replayed.fields["custom"] == {"level": "A"}
    assert replayed.status == "void" and replayed.version == 3


def _created(invoice: Invoice) -> list[dict[str, Any]]:
    fresh = Invoice.create("inv_1", invoice.number, {
        "title": "发票", "type": "receipt", "amount": Decimal("10.00"),
        "issued_on": "2026-05-01", "customer_id": "cus_1"})
    return stored(fresh)


def test_changing_to_equal_values_records_nothing() -> None:
    invoice = new_invoice(remarks=None)

    changes = invoice.change({"title": "发票", "remarks": "", "amount": Decimal("10.00")})

    assert changes == {} and invoice.pending == []


def test_a_change_records_from_and_to_for_each_field() -> None:
    invoice = new_invoice()

    invoice.change({"amount": Decimal("12.50"), "title": "新标题"})

    assert invoice.pending[0].data["changes"] == {
        "amount": {"from": Decimal("10.00"), "to": Decimal("12.50")},
        "title": {"from": "发票", "to": "新标题"}}


def test_clearing_a_custom_value_removes_it() -> None:
    invoice = new_invoice(custom={"level": "A"})

    invoice.change({"custom.level": None})
    stored(invoice)

    assert invoice.fields["custom"] == {}


def test_a_void_invoice_cannot_be_changed_or_voided_again() -> None:
    invoice = new_invoice()
    invoice.void("dup")
    stored(invoice)

    with pytest.raises(Conflict):
        invoice.change({"title": "x"})
    with pytest.raises(Conflict):
        invoice.void("again")


def test_approval_status_changes_are_recorded_once() -> None:
    invoice = new_invoice()

    assert invoice.set_approval_status("pending", "req_1") is True
    stored(invoice)
    assert invoice.set_approval_status("pending", "req_1") is False
    assert invoice.approval_status == "pending" and invoice.approval_request_id == "req_1"


def test_only_filled_leaves_out_empty_values() -> None:
    invoice = new_invoice(contract_id="", custom={"a": None, "b": "x"})

    filled = invoice.to_dict(only_filled=True)

    assert "contract_id" not in filled and "payment_ids" not in filled
    assert filled["custom"] == {"b": "x"} and filled["amount"] == Decimal("10.00")


def test_replaying_no_events_is_not_found() -> None:
    with pytest.raises(NotFound):
        Invoice.replay("inv_x", [])


def test_the_head_follows_the_last_stored_event() -> None:
    invoice = new_invoice()
    assert invoice.head.version == 1 and invoice.head != StreamHead()


# -- held changes -------------------------------------------------------------------------
FLOW = {"id": "flow_1", "version": 2, "watched_fields": ["amount"]}


def test_a_proposed_change_keeps_the_values_and_shows_the_pending_change() -> None:
    invoice = new_invoice()

    invoice.propose({"amount": Decimal("20.00"), "remarks": "加急"}, "apr_1", FLOW)
    stored(invoice, actor="sales-1")

    assert invoice.fields["amount"] == Decimal("10.00") and invoice.fields["remarks"] == "加急"
    assert invoice.approval_status == "pending" and invoice.approval_request_id == "apr_1"
    assert invoice.pending_change is not None
    assert invoice.pending_change["changes"] == {"amount": {"from": Decimal("10.00"), "to": Decimal("20.00")}}
    assert invoice.pending_change["proposed_by"] == {"id": "sales-1", "name": "sales-1"}


def test_a_watched_field_is_locked_while_its_change_is_pending() -> None:
    invoice = new_invoice()
    invoice.propose({"amount": Decimal("20.00")}, "apr_1", FLOW)
    stored(invoice)

    with pytest.raises(Conflict, match="a change awaits approval"):
        invoice.change({"amount": Decimal("30.00")})
    with pytest.raises(Conflict, match="apr_1"):
        invoice.propose({"title": "新"}, "apr_2", dict(FLOW, watched_fields=["title"]))
    invoice.change({"title": "新"})
    assert [e.type for e in invoice.pending] == ["InvoiceFieldsChanged"]


def test_approval_applies_the_change_rejection_discards_it_and_a_repeat_records_nothing() -> None:
    approved, rejected = new_invoice(), new_invoice()
    for invoice in (approved, rejected):
        invoice.propose({"amount": Decimal("20.00")}, "apr_1", FLOW)
        stored(invoice)

    assert approved.settle("apr_1", "approved", "", [{"id": "fin-1", "name": "财务"}])
    stored(approved)
    assert rejected.settle("apr_1", "rejected", "不对", [])
    stored(rejected)

    assert approved.fields["amount"] == Decimal("20.00") and approved.approval_status == "approved"
    assert rejected.fields["amount"] == Decimal("10.00") and rejected.approval_status == "rejected"
    assert approved.pending_change is None and rejected.pending_change is None
    assert not approved.settle("apr_1", "approved", "", []) and not approved.pending


def test_a_rejected_held_creation_is_voided_with_the_comment() -> None:
    invoice = Invoice.create("inv_1", "INV-1", {"title": "t"},
                             held={"request_id": "apr_9", "flow_id": "flow_1", "flow_version": 1})
    stored(invoice)
    assert invoice.approval_status == "pending" and invoice.pending_change is not None

    invoice.settle("apr_9", "rejected", "客户未签合同", [])
    stored(invoice)

    assert invoice.status == "void" and invoice.void_reason == "审批驳回: 客户未签合同"


def test_voiding_discards_a_pending_change() -> None:
    invoice = new_invoice()
    invoice.propose({"amount": Decimal("20.00")}, "apr_1", FLOW)
    stored(invoice)

    invoice.void("开错了")

    assert [e.type for e in invoice.pending] == ["InvoiceChangeDiscarded", "InvoiceVoided"]
    assert invoice.pending[0].data["outcome"] == "cancelled"
