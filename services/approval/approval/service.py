"""The approval service's entrypoints (票据审批): load with a schema, call one use case,
dump. Every RPC call needs context data ``authorization: "Bearer <JWT>"``."""
from __future__ import annotations

from typing import Any

from nameko.rpc import RpcProxy

from approval.application import FlowApplication, HistoryApplication, RequestApplication
from approval.dependencies import ApprovalStorage, ApprovalStore
from approval.domain.events import INVOICE_EVENTS, OUTCOME_EVENTS
from approval.domain.request import STATUSES
from approval.reactions import OutcomeReporter
from approval.schemas import comment_arg, ids_arg, load_flow, load_flow_changes, user_id_arg
from shared import ops
from shared.auth import Actor, Policy
from shared.errors import ValidationError
from shared.events.consumer import event_stream
from shared.events.envelope import to_wire
from shared.rpc import CorrelationId, CurrentActor, PolicyProvider, ServiceRpcProxy, rpc
from shared.schemas import flag_arg, id_arg, version_arg


class ApprovalService(ops.OpsEndpoints):
    name = "approval"

    actor: Actor = CurrentActor()
    correlation_id: str = CorrelationId()
    policy: Policy = PolicyProvider()
    storage: ApprovalStorage = ApprovalStore()
    invoice_rpc = RpcProxy("invoice")              # as the caller (list_custom_fields)
    invoice_as_service = ServiceRpcProxy("invoice")  # as this service (event handlers)

    def _flows(self) -> FlowApplication:
        return FlowApplication(self.storage.flows, self.invoice_rpc.list_custom_fields,
                               self.policy, self.actor, self.correlation_id)

    def _requests(self) -> RequestApplication:
        return RequestApplication(self.storage.requests, self.storage.notices, self.policy,
                                  self.actor, self.correlation_id)

    # -- flows (admin) ---------------------------------------------------------------
    @rpc
    def define_flow(self, data: Any) -> dict[str, Any]:
        """Admin: ``{"name": "大额发票", "watched_fields": ["amount"], "condition":
        [{"field": "amount", "op": "gte", "value": "10000"}], "stages": [{"name": "财务",
        "approvers": ["role:finance"], "mode": "any"}], "cc": ["user:u-9"]}``."""
        return to_wire(self._flows().define_flow(load_flow(data)))

    @rpc
    def update_flow(self, flow_id: str, changes: Any,
                    expected_version: int | None = None) -> dict[str, Any]:
        """Admin: change any flow field; a new flow version (running requests keep theirs)."""
        return to_wire(self._flows().update_flow(
            id_arg(flow_id, "flow_id"), load_flow_changes(changes), version_arg(expected_version)))

    @rpc
    def get_flow(self, flow_id: str, version: int | None = None) -> dict[str, Any]:
        """The flow now, or as of one of its versions."""
        return to_wire(self._flows().get_flow(id_arg(flow_id, "flow_id"), version_arg(version, "version")))

    @rpc
    def list_flows(self) -> list[dict[str, Any]]:
        """Every flow (current versions), oldest first."""
        return to_wire(self._flows().list_flows())

    # -- requests --------------------------------------------------------------------
    @rpc
    def list_requests(self, status: Any = None, mine: Any = False) -> list[dict[str, Any]]:
        """``mine=True``: the actor's inbox (waiting on them now). Example:
        ``list_requests(status="pending")``."""
        if status is not None and status not in STATUSES:
            raise ValidationError.field("status", f"one of {list(STATUSES)}")
        return to_wire(self._requests().list_requests(status, flag_arg(mine, "mine")))

    @rpc
    def get_request(self, request_id: str) -> dict[str, Any]:
        """One request with its stages and decisions."""
        return to_wire(self._requests().get_request(id_arg(request_id, "request_id")))

    @rpc
    def requests_for_invoice(self, invoice_id: str) -> list[dict[str, Any]]:
        """Every request of an invoice, oldest first."""
        return to_wire(self._requests().requests_for_invoice(id_arg(invoice_id, "invoice_id")))

    @rpc
    def approve(self, request_id: str, comment: Any = "") -> dict[str, Any]:
        """A current-stage approver approves (not the submitter)."""
        return to_wire(self._requests().approve(id_arg(request_id, "request_id"), comment_arg(comment)))

    @rpc
    def reject(self, request_id: str, comment: Any = None) -> dict[str, Any]:
        """A current-stage approver rejects; ``comment`` required."""
        return to_wire(self._requests().reject(id_arg(request_id, "request_id"),
                                               comment_arg(comment, required=True)))

    @rpc
    def withdraw(self, request_id: str, comment: Any = "") -> dict[str, Any]:
        """The submitter withdraws a pending request; the invoice's approval_status -> none."""
        return to_wire(self._requests().withdraw(id_arg(request_id, "request_id"), comment_arg(comment)))

    @rpc
    def delegate(self, request_id: str, to_user_id: Any, comment: Any = "") -> dict[str, Any]:
        """转交: a current approver hands their part of the stage to another user."""
        return to_wire(self._requests().delegate(id_arg(request_id, "request_id"),
                                                 user_id_arg(to_user_id, "to_user_id"),
                                                 comment_arg(comment)))

    @rpc
    def notifications(self, unread_only: Any = False) -> list[dict[str, Any]]:
        """The actor's notifications (addressed to them or to one of their roles), newest first."""
        return to_wire(self._requests().notifications(flag_arg(unread_only, "unread_only")))

    @rpc
    def mark_read(self, notification_ids: Any) -> list[dict[str, Any]]:
        """Mark notifications read for the actor; returns the actor's notifications."""
        return to_wire(self._requests().mark_read(ids_arg(notification_ids, "notification_ids")))

    # -- history (history.read: admin, auditor, finance) -------------------------------
    @rpc
    def read_events(self, after_position: Any = 0, limit: Any = 1000) -> dict[str, Any]:
        """Every flow and request event in global order: ``{events, last_position}``
        (``python -m shared.audit approval`` verifies them)."""
        after = version_arg(after_position, "after_position") or 0
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise ValidationError.field("limit", "an integer from 1 to 1000")
        return self._history().read_events(after, limit)

    @rpc
    def get_events(self, stream_id: str, after_version: Any = 0) -> list[dict[str, Any]]:
        """One flow's or request's envelopes, as stored."""
        return self._history().get_events(id_arg(stream_id, "stream_id"),
                                          version_arg(after_version, "after_version") or 0)

    @rpc
    def verify(self, stream_id: str | None = None) -> dict[str, Any]:
        """Recompute the hash chains: ``{ok, checked, broken}``."""
        return self._history().verify(None if stream_id is None else id_arg(stream_id, "stream_id"))

    def _history(self) -> HistoryApplication:
        return HistoryApplication(self.storage.log, self.policy, self.actor)

    # -- events ----------------------------------------------------------------------
    @event_stream("invoice", event_types=INVOICE_EVENTS)
    def on_invoice_event(self, envelope: dict[str, Any]) -> None:
        """Fold the invoice replica; open (and supersede) requests when a flow triggers."""
        self.storage.handle_invoice_event(envelope, self._fetch_invoice_events)

    @event_stream("approval", event_types=OUTCOME_EVENTS)
    def on_request_outcome(self, envelope: dict[str, Any]) -> None:
        """Tell the invoice service the approval_status of the invoice's latest request."""
        OutcomeReporter(self.storage.requests, self._report_status).handle(envelope)

    def _report_status(self, invoice_id: str, status: str, request_id: str) -> None:
        self.invoice_as_service.record_approval_status(invoice_id, status, request_id)

    def _fetch_invoice_events(self, stream_id: str, after_version: int) -> list[dict[str, Any]]:
        return list(self.invoice_as_service.get_events(stream_id, after_version))
