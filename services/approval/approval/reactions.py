"""The approval service's reactions to events (no transport code here).

``InvoiceEventReaction`` runs inside the StreamTracker's transaction for one invoice
event: it folds the invoice replica, and when a flow triggers it supersedes the
invoice's pending request and opens the new one -- events, request states, inbox and
notifications committed together with the tracker's checkpoint. So each invoice stream
version is handled exactly once, whatever the redelivery or the number of instances,
and the request id (``apr_<event_id>``) could not open twice anyway.

``OutcomeReporter`` reacts to the service's own request events: it tells the invoice
service the approval_status of the invoice's *latest* request (pending / approved /
rejected; ``none`` when withdrawn). It reads the current state instead of trusting the
event it got, so redelivered or reordered events converge on the same answer, and the
invoice appends nothing when the status is unchanged.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pymongo.client_session import ClientSession

from approval.adapters.flows import MongoFlowRepository
from approval.adapters.invoice_replica import InvoiceReplica
from approval.adapters.requests import MongoRequestRepository
from approval.domain import events as ev
from approval.domain.request import ApprovalRequest, invoice_status_for
from approval.domain.triggers import changed_fields, first_triggered, fold_invoice
from shared.events.envelope import Metadata

Report = Callable[[str, str, str], Any]


def is_invoice_event(envelope: Mapping[str, Any]) -> bool:
    return envelope.get("stream_type") == ev.STREAM_INVOICE and envelope.get("type") in ev.INVOICE_EVENTS


@dataclass
class InvoiceEventReaction:
    replica: InvoiceReplica
    flows: MongoFlowRepository
    requests: MongoRequestRepository

    def may_open(self, envelope: Mapping[str, Any]) -> bool:
        """A cheap look before the transaction: could this event open a request? (No:
        status changes, voids, edits that touch no watched field of an active flow.)"""
        if envelope.get("type") == ev.INVOICE_CREATED:
            return any(f.get("trigger_on_create") for f in self.flows.active())
        if envelope.get("type") == ev.INVOICE_FIELDS_CHANGED:
            changed = set(envelope["data"]["changes"])
            return any(changed & set(f.get("watched_fields") or ()) for f in self.flows.active())
        return False

    def apply(self, envelope: Mapping[str, Any], session: ClientSession) -> None:
        """The tracker's ``apply``: called once per invoice stream version, in order."""
        if not is_invoice_event(envelope):
            return
        invoice_id = envelope["stream_id"]
        state = fold_invoice(self.replica.get(invoice_id, session), envelope)
        self.replica.put(state, session)
        if envelope["type"] not in (ev.INVOICE_CREATED, ev.INVOICE_FIELDS_CHANGED):
            return
        flow = first_triggered(self.flows.active(session), envelope, state)
        if flow is None:
            return
        request = ApprovalRequest.open(trigger=envelope, flow=flow,
                                       changed_fields=changed_fields(envelope))
        # The change's author caused the request: their identity goes on its events.
        meta = Metadata(actor=dict(envelope.get("actor") or {}),
                        correlation_id=envelope.get("correlation_id"),
                        causation_id=envelope["event_id"])
        for old_id in self.requests.pending_for_invoice(invoice_id, session):
            if old_id != request.id:
                old = self.requests.load_in(session, old_id)
                old.supersede(request.id)
                self.requests.save_in(session, old, meta)
        self.requests.save_in(session, request, meta)


@dataclass
class OutcomeReporter:
    requests: MongoRequestRepository
    report: Report

    def handle(self, envelope: Mapping[str, Any]) -> None:
        if envelope.get("stream_type") != ev.STREAM_REQUEST:
            return
        state = self.requests.state(envelope["stream_id"])
        if state is None:
            return
        latest = self.requests.latest_for_invoice(state["invoice_id"])
        if latest is None:
            return
        status = invoice_status_for(latest["status"])
        if status is not None:
            self.report(latest["invoice_id"], status, latest["id"])
