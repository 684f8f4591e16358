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
invoice appends nothing when the status is unchanged. Each report names its order -- the
request's trigger version (``invoice_version``) and the request's own version -- because
two reports can still cross on the way (one retried after a write conflict on the
invoice): the invoice ignores a report ordered before the one it applied last.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from approval.domain import events as ev
from approval.domain.request import ApprovalRequest, approvers_of, invoice_status_for
from approval.domain.triggers import changed_fields, first_triggered, fold_invoice
from approval.ports import FlowRules, ReactionRepositories, RequestRepository
from shared.events.envelope import Metadata

Report = Callable[[str, str, str, int, int], Any]  # invoice, status, request, its order
Settle = Callable[[str, str, str, str, list[dict[str, Any]]], Any]
SETTLED = {"approved": "approved", "rejected": "rejected", "withdrawn": "withdrawn"}
# The tracker's transaction (opaque here) -> the repositories inside it.
Bind = Callable[[Any], ReactionRepositories]


def decision_comment(state: Mapping[str, Any]) -> str:
    """The rejecting approver's comment (the reason a held creation is voided with)."""
    for stage in state.get("stages") or []:
        for d in stage.get("decisions") or []:
            if d["decision"] == "rejected":
                return str(d.get("comment") or "")
    return ""


def is_invoice_event(envelope: Mapping[str, Any]) -> bool:
    return envelope.get("stream_type") == ev.STREAM_INVOICE and envelope.get("type") in ev.INVOICE_EVENTS


LOOK_SECONDS = 1.0  # how long may_open's look at the active flows is reused


@dataclass
class InvoiceEventReaction:
    flows: FlowRules
    bind: Bind
    clock: Callable[[], float] = time.monotonic
    _look: tuple[float, list[dict[str, Any]]] | None = field(default=None, init=False, repr=False)

    def may_open(self, envelope: Mapping[str, Any]) -> bool:
        """A cheap look before the transaction: could this event append to a request?
        (No: status changes, edits that touch no watched field of an active flow.)
        It only decides whether the tracked transaction takes the append lock, which is
        for speed (the transaction reads the flows itself and stays correct), so the
        active flows it looks at are read at most once per ``LOOK_SECONDS``, not once
        per event."""
        if envelope.get("type") in (ev.INVOICE_CHANGE_PROPOSED, ev.INVOICE_VOIDED):
            return True
        if envelope.get("type") == ev.INVOICE_CREATED:
            return bool(envelope["data"].get("held")) or \
                any(f.get("trigger_on_create") for f in self._active_flows())
        if envelope.get("type") == ev.INVOICE_FIELDS_CHANGED:
            changed = set(envelope["data"]["changes"])
            return any(changed & set(f.get("watched_fields") or ()) for f in self._active_flows())
        return False

    def _active_flows(self) -> list[dict[str, Any]]:
        now = self.clock()
        if self._look is None or now - self._look[0] >= LOOK_SECONDS:
            self._look = (now, self.flows.active())
        return self._look[1]

    def apply(self, envelope: Mapping[str, Any], transaction: Any) -> None:
        """The tracker's ``apply``: called once per invoice stream version, in order,
        inside the tracker's ``transaction`` (``bind`` gives the repositories in it)."""
        if is_invoice_event(envelope):
            self.react(envelope, self.bind(transaction))

    def react(self, envelope: Mapping[str, Any], repos: ReactionRepositories) -> None:
        invoice_id = envelope["stream_id"]
        state = fold_invoice(repos.invoice(invoice_id), envelope)
        repos.put_invoice(state)
        meta = Metadata(actor=dict(envelope.get("actor") or {}),
                        correlation_id=envelope.get("correlation_id"),
                        causation_id=envelope["event_id"])
        if envelope["type"] == ev.INVOICE_VOIDED:
            self._cancel_held(invoice_id, repos, meta)
            return
        held = held_request(envelope)
        if held is not None and held.get("revision"):
            return  # a returned request's revised values: the request exists already
        if held is not None:
            flow: Mapping[str, Any] | None = self.flows.load_version(
                held["flow_id"], int(held["flow_version"])).rule()
            changes = envelope["data"]["changes"] if envelope["type"] == ev.INVOICE_CHANGE_PROPOSED \
                else changed_fields(envelope)
        elif envelope["type"] in (ev.INVOICE_CREATED, ev.INVOICE_FIELDS_CHANGED):
            flow = first_triggered(repos.active_flows(), envelope, state)
            changes = changed_fields(envelope)
        else:
            return
        if flow is None:
            return
        request = ApprovalRequest.open(trigger=envelope, flow=flow, changed_fields=changes,
                                       held_as=None if held is None else held["request_id"])
        # The change's author caused the request: their identity goes on its events.
        # A held request is not superseded by a later request: its change still waits.
        for old_id in repos.pending_requests(invoice_id, held=False):
            if old_id != request.id:
                old = repos.load_request(old_id)
                old.supersede(request.id)
                repos.save_request(old, meta)
        repos.save_request(request, meta)

    @staticmethod
    def _cancel_held(invoice_id: str, repos: ReactionRepositories, meta: Metadata) -> None:
        """Voiding an invoice cancels its held request (the invoice discarded the change)."""
        for request_id in repos.pending_requests(invoice_id, held=True):
            request = repos.load_request(request_id)
            request.cancel("invoice voided")
            repos.save_request(request, meta)


def held_request(envelope: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """``{request_id, flow_id, flow_version}`` when the invoice held this change."""
    if envelope["type"] == ev.INVOICE_CHANGE_PROPOSED:
        return envelope["data"]  # type: ignore[no-any-return]
    if envelope["type"] == ev.INVOICE_CREATED:
        return envelope["data"].get("held")  # type: ignore[no-any-return]
    return None


@dataclass
class OutcomeReporter:
    requests: RequestRepository
    report: Report
    settle: Settle | None = None

    def handle(self, envelope: Mapping[str, Any]) -> None:
        if envelope.get("stream_type") != ev.STREAM_REQUEST:
            return
        state = self.requests.state(envelope["stream_id"])
        if state is None:
            return
        if state.get("hold"):
            # The invoice already shows the held change as pending; it learns the end.
            outcome = SETTLED.get(state["status"])
            if outcome is not None and self.settle is not None:
                self.settle(state["invoice_id"], state["id"], outcome,
                            decision_comment(state), approvers_of(state))
            return
        latest = self.requests.latest_for_invoice(state["invoice_id"])
        if latest is None or latest.get("hold"):
            return  # a held request speaks for itself (settle_change above)
        status = invoice_status_for(latest["status"])
        if status is not None:
            self.report(*report_args(latest, status))


Repair = tuple[str, tuple[Any, ...]]  # ("report" | "settle", arguments)


@dataclass
class Reconciler:
    """The reconcile timer's round: every invoice still waiting for an outcome, and every
    invoice with a pending request, is checked (in this service's replica of invoice
    states) against its latest request; where they disagree the outcome is reported
    again -- so a report parked on a dead-letter queue is repaired. Reports are
    idempotent on the invoice side, so a lagging replica costs a no-op call at most."""

    replica: Any  # InvoiceReplica: awaiting_outcome(), get()
    requests: Any  # MongoRequestRepository: state(), latest_for_invoice(), find()

    def repairs(self) -> list[Repair]:
        found: list[Repair] = []
        for invoice in self.replica.awaiting_outcome():
            pending = invoice.get("pending_change") or None
            request = self.requests.state(pending["request_id"]) if pending else \
                self.requests.latest_for_invoice(invoice["id"])
            if request is not None:
                found += self._repair(invoice, request)
        for request in self.requests.find("pending", None):
            invoice = self.replica.get(request["invoice_id"])
            if invoice is not None and invoice.get("status") == "active" and not request.get("hold"):
                latest = self.requests.latest_for_invoice(request["invoice_id"])
                if latest is not None and latest["id"] == request["id"]:
                    found += self._repair(invoice, request)
        return list(dict.fromkeys(found))

    @staticmethod
    def _repair(invoice: Mapping[str, Any], request: Mapping[str, Any]) -> list[Repair]:
        if request.get("hold"):
            outcome = SETTLED.get(request["status"])
            if outcome is None:
                return []
            return [("settle", (invoice["id"], request["id"], outcome, decision_comment(request),
                                tuple(tuple(sorted(a.items())) for a in approvers_of(request))))]
        status = invoice_status_for(request["status"])
        if status is None or (status, request["id"]) == \
                (invoice.get("approval_status"), invoice.get("approval_request_id")):
            return []
        return [("report", report_args(request, status))]


def report_args(request: Mapping[str, Any], status: str) -> tuple[str, str, str, int, int]:
    """``record_approval_status``'s arguments: the invoice, the status, the request and
    the report's order (the request's trigger version, then its own version)."""
    return (request["invoice_id"], status, request["id"], int(request["invoice_version"]),
            int(request["version"]))


def run_repairs(repairs: list[Repair], report: Report, settle: Settle) -> int:
    for kind, args in repairs:
        if kind == "settle":
            invoice_id, request_id, outcome, comment, approvers = args
            settle(invoice_id, request_id, outcome, comment, [dict(a) for a in approvers])
        else:
            report(*args)
    return len(repairs)
