"""The approval service's entrypoints (票据审批): load with a schema, call one use case,
dump. Every RPC call needs context data ``authorization: "Bearer <JWT>"``."""
from __future__ import annotations

from typing import Any

from nameko.dependency_providers import Config

from approval.application import (
    FlowApplication,
    HistoryApplication,
    RequestApplication,
    WebhookApplication,
)
from approval.dependencies import ApprovalStorage, ApprovalStore
from approval.domain.events import INVOICE_EVENTS, OUTCOME_EVENTS
from approval.domain.request import STATUSES
from approval.reactions import OutcomeReporter
from approval.schemas import (
    approvers_arg,
    changes_arg,
    comment_arg,
    ids_arg,
    load_flow,
    load_flow_changes,
    load_webhook,
    stage_arg,
    user_id_arg,
    where_arg,
)
from shared import ops
from shared.auth import Actor, Policy
from shared.errors import ValidationError
from shared.events.consumer import event_stream
from shared.events.envelope import to_wire
from shared.rpc import CorrelationId, CurrentActor, PolicyProvider, RpcProxy, ServiceRpcProxy, rpc
from shared.schemas import flag_arg, heads_args, id_arg, version_arg


class ApprovalService(ops.OpsEndpoints):
    name = "approval"

    actor: Actor = CurrentActor()
    correlation_id: str = CorrelationId()
    policy: Policy = PolicyProvider()
    storage: ApprovalStorage = ApprovalStore()
    invoice_rpc = RpcProxy("invoice")              # as the caller (list_custom_fields)
    invoice_as_service = ServiceRpcProxy("invoice")  # as this service (event handlers)
    config = Config()

    def _flows(self) -> FlowApplication:
        return FlowApplication(self.storage.flows, self.invoice_rpc.list_custom_fields,
                               self.policy, self.actor, self.correlation_id,
                               replicate=self.invoice_as_service.replicate_flow)

    def _requests(self) -> RequestApplication:
        return RequestApplication(self.storage.requests, self.storage.notices, self.policy,
                                  self.actor, self.correlation_id,
                                  revise=self.invoice_rpc.revise_change,
                                  remind_interval=float(self.config.get("REMIND_INTERVAL_SECONDS") or 600))

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
    def flow_rules(self) -> list[dict[str, Any]]:
        """Internal (service role): every flow's trigger rule, for the invoice service's
        replica to catch up at start-up."""
        return to_wire(self._flows().flow_rules())

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
    def add_approvers(self, request_id: str, approvers: Any, where: Any,
                      comment: Any = "") -> dict[str, Any]:
        """加签 by a current-stage approver with an open entry (not the submitter):
        ``where`` ``before`` (a new stage first), ``after`` (a new stage next), ``with``
        (into the current stage). Example: ``add_approvers("apr_…", ["user:u-7"], "before")``."""
        return to_wire(self._requests().add_approvers(
            id_arg(request_id, "request_id"), approvers_arg(approvers), where_arg(where),
            comment_arg(comment)))

    @rpc
    def send_back(self, request_id: str, comment: Any = "", to_stage: Any = None) -> dict[str, Any]:
        """退回 by a current-stage approver: to an earlier stage, or (``to_stage=None``) to
        the submitter (status ``returned``)."""
        return to_wire(self._requests().send_back(
            id_arg(request_id, "request_id"), comment_arg(comment), stage_arg(to_stage)))

    @rpc
    def resubmit(self, request_id: str, changes: Any = None, comment: Any = "") -> dict[str, Any]:
        """The submitter resubmits a returned request (it restarts at stage 0); with a
        held change, ``changes`` revises its values: ``{"amount": "1200.00"}``."""
        return to_wire(self._requests().resubmit(
            id_arg(request_id, "request_id"), changes_arg(changes), comment_arg(comment)))

    @rpc
    def remind(self, request_id: str) -> dict[str, Any]:
        """催办 by the submitter: a ``reminder`` to the entries the stage waits on; at most
        once per ``REMIND_INTERVAL_SECONDS`` (600) per request, else ``Conflict``."""
        return to_wire(self._requests().remind(id_arg(request_id, "request_id")))

    @rpc
    def approve_many(self, request_ids: Any, comment: Any = "") -> dict[str, Any]:
        """Approve several requests, each on its own: ``{id: {"status": …} | {"error":
        exc_type, "message": …}}``."""
        return to_wire(self._requests().approve_many(ids_arg(request_ids, "request_ids"),
                                                     comment_arg(comment)))

    # -- webhooks (admin) --------------------------------------------------------------
    @rpc
    def define_webhook(self, data: Any) -> dict[str, Any]:
        """Admin: ``{"url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…",
        "secret": "s3cret-value", "events": ["approval_needed", "reminder"], "format": "wecom"}``."""
        return to_wire(self._webhooks().define_webhook(load_webhook(data)))

    @rpc
    def list_webhooks(self) -> list[dict[str, Any]]:
        """Admin: the webhooks (secrets left out)."""
        return to_wire(self._webhooks().list_webhooks())

    @rpc
    def delete_webhook(self, webhook_id: str) -> dict[str, Any]:
        """Admin: stop pushing to a webhook (its undelivered deliveries are dropped)."""
        return self._webhooks().delete_webhook(id_arg(webhook_id, "webhook_id"))

    @rpc
    def list_webhook_deliveries(self, status: Any = None) -> list[dict[str, Any]]:
        """Admin: the outbox (``status``: pending | delivered | parked | dropped)."""
        if status is not None and status not in ("pending", "delivered", "parked", "dropped"):
            raise ValidationError.field("status", "one of pending, delivered, parked, dropped")
        return to_wire(self._webhooks().list_deliveries(status))

    def _webhooks(self) -> WebhookApplication:
        return WebhookApplication(self.storage.webhooks, self.storage.deliveries, self.policy,
                                  self.actor)

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
    def read_heads(self, after_stream_id: Any = "", limit: Any = 1000) -> dict[str, Any]:
        """Every stream's signed head (last version, hash, signature), in stream id
        order, for auditors (``python -m shared.audit`` compares the events with them):
        ``read_heads(after_stream_id="", limit=1000)`` -> ``{heads, last_stream_id}``."""
        return self._history().read_heads(*heads_args(after_stream_id, limit))

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
    @event_stream("invoice", event_types=INVOICE_EVENTS, batch=True)
    def on_invoice_event(self, envelopes: list[dict[str, Any]]) -> None:
        """Fold the invoice replica; open (and supersede) requests when a flow triggers."""
        self.storage.handle_invoice_events(envelopes, self._fetch_invoice_events)

    @event_stream("approval", event_types=OUTCOME_EVENTS)
    def on_request_outcome(self, envelope: dict[str, Any]) -> None:
        """Tell the invoice service the approval_status of the invoice's latest request."""
        OutcomeReporter(self.storage.requests, self._report_status, self._settle).handle(envelope)

    def _settle(self, invoice_id: str, request_id: str, outcome: str, comment: str,
                approvers: list[dict[str, Any]]) -> None:
        self.invoice_as_service.settle_change(invoice_id, request_id, outcome, comment, approvers)

    def _report_status(self, invoice_id: str, status: str, request_id: str, trigger_version: int,
                       request_version: int) -> None:
        self.invoice_as_service.record_approval_status(invoice_id, status, request_id,
                                                       trigger_version, request_version)

    def _fetch_invoice_events(self, stream_id: str, after_version: int) -> list[dict[str, Any]]:
        return list(self.invoice_as_service.get_events(stream_id, after_version))
