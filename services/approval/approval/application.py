"""Approval use cases: load -> decide -> save. No transport code here.

Inputs arrive shaped by the schemas; this layer checks permissions, validates flow
definitions against the invoice settings, and applies request decisions with the
store's optimistic concurrency (two approvers at once: one decision, the other sees the
new state and gets Conflict or Forbidden)."""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from approval.domain.flow import Flow, validate_definition
from approval.domain.request import ApprovalRequest, entries_of, parse_at
from approval.domain.webhooks import DELIVERED, after_failure, headers_for
from approval.ports import (
    Deliveries,
    EventLog,
    FlowRepository,
    NotificationStore,
    RequestRepository,
    Webhooks,
)
from shared.auth import SERVICE_ROLE, Actor, Policy
from shared.dates import format_timestamp, utc_now
from shared.errors import NotFound, ServiceError, ValidationError
from shared.events.envelope import Metadata, envelope_to_wire, metadata_for
from shared.events.repository import decide_and_save
from shared.query import invoice_catalog

CustomFields = Callable[[], list[dict[str, Any]]]
Replicate = Callable[[dict[str, Any]], Any]
Revise = Callable[[str, str, Any], dict[str, Any]]
REMIND_INTERVAL_SECONDS = 600.0
INBOX_KEYS = ("involved", "decided_in_stage")


def public(state: Mapping[str, Any]) -> dict[str, Any]:
    """A request state as answered: without the inbox bookkeeping."""
    return {k: v for k, v in state.items() if k not in INBOX_KEYS}


def known_roles(policy: Policy) -> set[str]:
    """Every role the policy names (approver entries must use one of them)."""
    roles = {role for allowed in policy.permissions.values() for role in allowed}
    roles |= {role for by_role in policy.scopes.values() for role in by_role}
    return roles - {SERVICE_ROLE}


@dataclass
class FlowApplication:
    """Flows (admin). ``replicate`` hands a saved flow's trigger rule to the invoice
    service, which decides at each change whether it is held: define/update return only
    once it has it, so no change acknowledged afterwards slips through unheld."""

    flows: FlowRepository
    custom_fields: CustomFields
    policy: Policy
    actor: Actor
    correlation_id: str | None = None
    replicate: Replicate | None = None

    def define_flow(self, definition: Mapping[str, Any]) -> dict[str, Any]:
        self.policy.require(self.actor, "settings.manage")
        checked = self._validate(definition)
        flow = Flow.define(f"flow_{uuid.uuid4().hex}", checked)
        self.flows.save(flow, self._meta())
        self._replicate(flow)
        return flow.to_dict()

    def update_flow(self, flow_id: str, changes: Mapping[str, Any],
                    expected_version: int | None) -> dict[str, Any]:
        self.policy.require(self.actor, "settings.manage")

        def decide(flow: Flow) -> None:
            merged = {k: v for k, v in flow.definition.items()}
            merged.update(changes)
            flow.update(self._validate(merged))

        flow = decide_and_save(lambda: self.flows.load(flow_id), decide,
                               lambda changed: self.flows.save(changed, self._meta()),
                               expected_version, key=flow_id)
        self._replicate(flow)
        return flow.to_dict()

    def flow_rules(self) -> list[dict[str, Any]]:
        """Internal: every flow's trigger rule (the invoice service's replica catches up)."""
        self.policy.require(self.actor, "approval.status")
        return [self.flows.load(f["id"]).rule() for f in self.flows.all()]

    def _replicate(self, flow: Flow) -> None:
        if self.replicate is not None:
            self.replicate(flow.rule())

    def get_flow(self, flow_id: str, version: int | None = None) -> dict[str, Any]:
        self.policy.require(self.actor, "settings.read")
        flow = self.flows.load(flow_id) if version is None else self.flows.load_version(flow_id, version)
        return flow.to_dict()

    def list_flows(self) -> list[dict[str, Any]]:
        self.policy.require(self.actor, "settings.read")
        return self.flows.all()

    def _validate(self, definition: Mapping[str, Any]) -> dict[str, Any]:
        catalog = invoice_catalog(self.custom_fields(), view_fields=False)
        return validate_definition(definition, catalog, known_roles(self.policy))

    def _meta(self) -> Metadata:
        return metadata_for(self.actor, self.correlation_id)


@dataclass
class RequestApplication:
    """Requests: decisions and actions. ``revise`` asks the invoice service (as the
    caller) to revise a held change; ``remind_interval`` is the 催办 rate limit."""

    requests: RequestRepository
    notices: NotificationStore
    policy: Policy
    actor: Actor
    correlation_id: str | None = None
    revise: Revise | None = None
    remind_interval: float = REMIND_INTERVAL_SECONDS

    # -- decisions -------------------------------------------------------------------
    def approve(self, request_id: str, comment: str) -> dict[str, Any]:
        return self._decide(request_id, lambda r: r.approve(self.actor, comment))

    def reject(self, request_id: str, comment: str) -> dict[str, Any]:
        return self._decide(request_id, lambda r: r.reject(self.actor, comment))

    def withdraw(self, request_id: str, comment: str) -> dict[str, Any]:
        return self._decide(request_id, lambda r: r.withdraw(self.actor, comment))

    def delegate(self, request_id: str, to_user_id: str, comment: str) -> dict[str, Any]:
        return self._decide(request_id, lambda r: r.delegate(self.actor, to_user_id, comment))

    def add_approvers(self, request_id: str, approvers: list[str], where: str,
                      comment: str) -> dict[str, Any]:
        roles = known_roles(self.policy)
        unknown = [a for a in approvers if a.startswith("role:") and a[5:] not in roles]
        if unknown:
            raise ValidationError({"approvers": [f"unknown role {a[5:]!r}; one of {sorted(roles)}"
                                                 for a in unknown]})
        return self._decide(request_id, lambda r: r.add_approvers(self.actor, approvers, where, comment))

    def send_back(self, request_id: str, comment: str, to_stage: int | None) -> dict[str, Any]:
        return self._decide(request_id, lambda r: r.send_back(self.actor, comment, to_stage))

    def resubmit(self, request_id: str, changes: Mapping[str, Any] | None,
                 comment: str) -> dict[str, Any]:
        """The submitter sends a returned request again; with a held change, ``changes``
        revises its values first (the invoice validates them like an update)."""
        request = self.requests.load(request_id)
        request.require_resubmittable(self.actor)
        revised = None
        if changes is not None:
            if not request.hold:
                raise ValidationError.field("changes", "only a held change can be revised")
            if self.revise is None:
                raise ValidationError.field("changes", "revising is not available")
            invoice = self.revise(request.invoice_id, request_id, changes)
            revised = (invoice.get("pending_change") or {}).get("changes")
        return self._decide(request_id, lambda r: r.resubmit(self.actor, comment, revised))

    def remind(self, request_id: str) -> dict[str, Any]:
        return self._decide(request_id, lambda r: r.remind(self.actor, utc_now(), self.remind_interval))

    def approve_many(self, request_ids: list[str], comment: str) -> dict[str, Any]:
        """Each request decided on its own: ``{id: {"status": …} | {"error", "message"}}``."""
        results: dict[str, Any] = {}
        for request_id in dict.fromkeys(request_ids):
            try:
                results[request_id] = {"status": self.approve(request_id, comment)["status"]}
            except ServiceError as exc:
                results[request_id] = {"error": type(exc).__name__, "message": str(exc)}
        return results

    def _decide(self, request_id: str, decide: Callable[[ApprovalRequest], None]) -> dict[str, Any]:
        # No visibility check: the contract answers a non-approver with Forbidden (the
        # domain's rule), and a request that does not exist with NotFound (the load).
        request = decide_and_save(lambda: self.requests.load(request_id), decide,
                                  lambda changed: self.requests.save(changed, self._meta()), None,
                                  key=request_id)
        return request.to_dict()

    # -- reading ---------------------------------------------------------------------
    def get_request(self, request_id: str) -> dict[str, Any]:
        return public(self._visible(request_id))

    def requests_for_invoice(self, invoice_id: str) -> list[dict[str, Any]]:
        return [public(r) for r in self.requests.for_invoice(invoice_id) if self._may_see(r)]

    def list_requests(self, status: str | None, mine: bool) -> list[dict[str, Any]]:
        if mine:
            found = [r for r in self.requests.waiting_on_any(entries_of(self.actor))
                     if r["status"] == "pending" and r["submitter"]["id"] != self.actor.id
                     and self.actor.id not in r["decided_in_stage"]]
            found = [r for r in found if status is None or r["status"] == status]
        else:
            found = self.requests.find(status, None if self._sees_all() else entries_of(self.actor))
        return [public(r) for r in found]

    def notifications(self, unread_only: bool) -> list[dict[str, Any]]:
        return self.notices.for_recipients(entries_of(self.actor), self.actor.id, unread_only)

    def mark_read(self, notification_ids: list[str]) -> list[dict[str, Any]]:
        self.notices.mark_read(notification_ids, entries_of(self.actor), self.actor.id)
        return self.notifications(unread_only=False)

    # -- helpers ---------------------------------------------------------------------
    def _sees_all(self) -> bool:
        return self.policy.allows(self.actor, "history.read")

    def _may_see(self, state: Mapping[str, Any]) -> bool:
        return self._sees_all() or bool(set(state.get("involved") or ()) & set(entries_of(self.actor)))

    def _visible(self, request_id: str) -> dict[str, Any]:
        """The request if the actor may see it (auditing roles, or involved); else NotFound."""
        state = self.requests.state(request_id)
        if state is None or not self._may_see(state):
            raise NotFound(f"request {request_id} not found")
        return state

    def _meta(self) -> Metadata:
        return metadata_for(self.actor, self.correlation_id)


TIMER_ACTOR = Actor(id="system:approval-timer", name="超时处理", roles=(SERVICE_ROLE,))


@dataclass
class TimeoutApplication:
    """Stage timeouts, run by a timer in every approval instance. Each due stage times
    out once: the request's append is optimistic, so when two instances race, the loser
    decides again on the stored state and finds nothing left to do. Requests due while
    no instance ran are simply due at the next run (catch-up after a restart)."""

    requests: RequestRepository

    def apply_due(self, now: str) -> int:
        return sum(self._time_out(request_id, now) for request_id in self.requests.due(now))

    def _time_out(self, request_id: str, now: str) -> bool:
        decided: list[bool] = []

        def decide(request: ApprovalRequest) -> None:
            decided.append(request.time_out(now))

        decide_and_save(lambda: self.requests.load(request_id), decide,
                        lambda changed: self.requests.save(changed, metadata_for(TIMER_ACTOR)), None,
                        key=request_id)
        return bool(decided and decided[-1])


Post = Callable[[str, bytes, Mapping[str, str], float], int]


@dataclass
class WebhookApplication:
    """Webhooks (admin): define, list (secrets left out), delete; the outbox for operators."""

    webhooks: Webhooks
    deliveries: Deliveries
    policy: Policy
    actor: Actor

    def define_webhook(self, data: Mapping[str, Any]) -> dict[str, Any]:
        self.policy.require(self.actor, "settings.manage")
        webhook = {"id": f"whk_{uuid.uuid4().hex}", "url": data["url"], "secret": data["secret"],
                   "events": list(dict.fromkeys(data["events"])), "format": data["format"],
                   "created_at": utc_now(), "created_by": {"id": self.actor.id, "name": self.actor.name}}
        self.webhooks.add(webhook)
        return without_secret(webhook)

    def list_webhooks(self) -> list[dict[str, Any]]:
        self.policy.require(self.actor, "settings.manage")
        return [without_secret(w) for w in self.webhooks.all()]

    def delete_webhook(self, webhook_id: str) -> dict[str, Any]:
        self.policy.require(self.actor, "settings.manage")
        if not self.webhooks.delete(webhook_id):
            raise NotFound(f"webhook {webhook_id} not found")
        return {"id": webhook_id, "deleted": True}

    def list_deliveries(self, status: str | None) -> list[dict[str, Any]]:
        self.policy.require(self.actor, "settings.manage")
        return self.deliveries.find(status)


def without_secret(webhook: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in webhook.items() if k != "secret"}


@dataclass
class DeliveryApplication:
    """Sends due webhook deliveries: 2xx -> delivered; otherwise retried with back-off
    (``base_seconds`` doubling, at most an hour) for 24 h, then parked."""

    deliveries: Deliveries
    webhooks: Webhooks
    post: Post
    base_seconds: float = 5.0
    lease_seconds: float = 30.0
    timeout: float = 5.0

    def send_due(self, now: dt.datetime, limit: int = 50) -> int:
        sent = 0
        secrets = {w["id"]: w["secret"] for w in self.webhooks.all()}
        for _ in range(limit):
            delivery = self.deliveries.claim_due(
                format_timestamp(now), format_timestamp(now + dt.timedelta(seconds=self.lease_seconds)))
            if delivery is None:
                break
            sent += self._send(delivery, secrets.get(delivery["webhook_id"]), now)
        return sent

    def _send(self, delivery: Mapping[str, Any], secret: str | None, now: dt.datetime) -> int:
        if secret is None:
            self.deliveries.finish(delivery["_id"], {"status": "dropped",
                                                     "last_error": "webhook deleted"})
            return 0
        body = delivery["body"].encode()
        status = self.post(delivery["url"], body, headers_for(secret, delivery["_id"], body),
                           self.timeout)
        attempts = int(delivery["attempts"]) + 1
        first = delivery.get("first_attempt_at") or format_timestamp(now)
        if 200 <= status < 300:
            self.deliveries.finish(delivery["_id"], {"status": DELIVERED, "attempts": attempts,
                                                     "first_attempt_at": first,
                                                     "delivered_at": format_timestamp(now)})
            return 1
        outcome, next_at = after_failure(attempts, parse_at(first), now, self.base_seconds)
        self.deliveries.finish(delivery["_id"], {
            "status": outcome, "attempts": attempts, "first_attempt_at": first,
            "next_at": format_timestamp(next_at) if next_at else None,
            "last_error": f"HTTP {status}" if status else "no answer"})
        return 0


@dataclass
class HistoryApplication:
    """The approval store's raw history for auditors: flows' and requests' events."""

    log: EventLog
    policy: Policy
    actor: Actor

    def read_heads(self, after_stream_id: str, limit: int) -> dict[str, Any]:
        self.policy.require(self.actor, "history.read")
        return self.log.heads_page(after_stream_id, limit)

    def read_events(self, after_position: int, limit: int) -> dict[str, Any]:
        self.policy.require(self.actor, "history.read")
        events = [envelope_to_wire(e) for e in self.log.read_all(after_position, limit)]
        return {"events": events, "last_position": events[-1]["position"] if events else after_position}

    def get_events(self, stream_id: str, after_version: int) -> list[dict[str, Any]]:
        self.policy.require(self.actor, "history.read")
        return [envelope_to_wire(e) for e in self.log.stream(stream_id, after_version, upcast=False)]

    def verify(self, stream_id: str | None) -> dict[str, Any]:
        self.policy.require(self.actor, "history.read")
        return self.log.verify(None if stream_id is None else [stream_id])
