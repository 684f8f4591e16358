"""The approval request aggregate: one per triggering invoice event.

Stages run in order. ``any``: one approval ends the stage. ``all``: every approver
entry must be satisfied; an approval satisfies every entry its giver matches (their
``user:<id>`` and each ``role:<name>`` they hold), so a role entry is satisfied by any
one holder of the role. One rejection rejects the request. Delegation replaces the
delegating approver's unsatisfied entries in the current stage by ``user:<to>``; the
delegation stays recorded among the stage's decisions.
"""
from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from approval.domain import events as ev
from shared.actor import Actor
from shared.dates import format_timestamp
from shared.errors import Conflict, Forbidden, ValidationError
from shared.events.aggregate import Aggregate

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
WITHDRAWN, SUPERSEDED, CANCELLED = "withdrawn", "superseded", "cancelled"
RETURNED = "returned"
STATUSES = (PENDING, APPROVED, REJECTED, WITHDRAWN, SUPERSEDED, CANCELLED, RETURNED)
WHERE = ("before", "after", "with")
ADDED_STAGE_NAME = "加签"
TIMEOUT_KEYS = ("due_in_hours", "on_timeout", "escalate_to")
TIMER = {"id": "system:approval-timer", "name": "超时处理"}


def request_id_for(trigger_event_id: str) -> str:
    """Deterministic: a redelivered or retried trigger can never open a second request."""
    return f"apr_{trigger_event_id}"


def entries_of(actor: Actor) -> list[str]:
    """The approver entries an actor answers to."""
    return [f"user:{actor.id}"] + [f"role:{role}" for role in actor.roles]


def person(actor: Actor) -> dict[str, Any]:
    return {"id": actor.id, "name": actor.name}


@dataclass
class ApprovalRequest(Aggregate):
    STREAM_TYPE: ClassVar[str] = ev.STREAM_REQUEST

    invoice_id: str = ""
    invoice_version: int = 0
    trigger_event_id: str = ""
    flow_id: str = ""
    flow_version: int = 0
    flow_name: str = ""
    changed_fields: dict[str, Any] = field(default_factory=dict)
    stages: list[dict[str, Any]] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    submitter: dict[str, Any] = field(default_factory=dict)
    status: str = PENDING
    current_stage: int = 0
    decided_at: str | None = None
    superseded_by: str | None = None
    hold: bool = False
    last_reminded_at: str | None = None
    _at: str | None = None

    # -- commands --------------------------------------------------------------------
    @classmethod
    def open(cls, *, trigger: Mapping[str, Any], flow: Mapping[str, Any],
             changed_fields: Mapping[str, Any], held_as: str | None = None) -> ApprovalRequest:
        """``trigger``: the invoice event envelope; ``flow``: the flow as of its version.
        ``held_as``: the request id the invoice chose when it held the change (the
        change takes effect only when this request is approved)."""
        request = cls(id=held_as or request_id_for(trigger["event_id"]))
        actor = trigger.get("actor") or {}
        request.record(ev.REQUEST_OPENED, {
            "invoice_id": trigger["stream_id"], "invoice_version": int(trigger["version"]),
            "trigger_event_id": trigger["event_id"], "trigger_type": trigger["type"],
            "flow_id": flow["id"], "flow_version": int(flow["version"]),
            "flow_name": flow["name"], "changed_fields": copy.deepcopy(dict(changed_fields)),
            "stages": [{"name": s["name"], "approvers": list(s["approvers"]), "mode": s["mode"],
                        **{k: copy.deepcopy(s[k]) for k in TIMEOUT_KEYS if s.get(k) is not None}}
                       for s in flow["stages"]],
            "cc": list(flow.get("cc") or []),
            "submitter": {"id": actor.get("id"), "name": actor.get("name"),
                          "roles": list(actor.get("roles") or [])},
            "hold": held_as is not None,
        })
        return request

    def approve(self, actor: Actor, comment: str) -> None:
        stage = self._actable_stage(actor)
        if actor.id == self.submitter.get("id"):
            raise Forbidden("the submitter of a change may not approve it")
        mine = self._my_entries(stage, actor)
        if any(d["decision"] == APPROVED and d["user"]["id"] == actor.id
               for d in live_decisions(stage)):
            raise Conflict("you have approved this stage already")
        if stage["mode"] == "all" and not set(mine) - satisfied_entries(stage):
            raise Conflict("your approver entries in this stage are satisfied already")
        self.record(ev.APPROVAL_GIVEN, {"stage": self.current_stage, "user": person(actor),
                                        "entries": mine, "comment": comment})
        done = stage["mode"] == "any" or set(stage["approvers"]) <= satisfied_entries(stage) | set(mine)
        if done:
            self._advance_or_approve()

    def reject(self, actor: Actor, comment: str) -> None:
        stage = self._actable_stage(actor)
        self._my_entries(stage, actor)
        if not comment.strip():
            raise ValidationError.field("comment", "a rejection needs a comment")
        self.record(ev.REQUEST_REJECTED, {"stage": self.current_stage, "user": person(actor),
                                          "comment": comment})

    def withdraw(self, actor: Actor, comment: str) -> None:
        if self.status != RETURNED:
            self._require_pending()
        if actor.id != self.submitter.get("id"):
            raise Forbidden("only the submitter may withdraw a request")
        self.record(ev.REQUEST_WITHDRAWN, {"user": person(actor), "comment": comment})

    def delegate(self, actor: Actor, to_user_id: str, comment: str) -> None:
        """Only a current approver who is not the submitter hands their entry on: the
        submitter would otherwise pick who approves their own change."""
        stage = self._actable_stage(actor)
        if actor.id == self.submitter.get("id"):
            raise Forbidden("the submitter of a change may not delegate its approval")
        mine = [e for e in self._my_entries(stage, actor) if e not in satisfied_entries(stage)]
        if not mine:
            raise Conflict("your approver entries in this stage are satisfied already")
        if to_user_id == actor.id:
            raise ValidationError.field("to_user_id", "cannot delegate to yourself")
        if to_user_id == self.submitter.get("id"):
            raise ValidationError.field("to_user_id", "the submitter may not approve their own change")
        self.record(ev.REQUEST_DELEGATED, {"stage": self.current_stage, "user": person(actor),
                                           "to_user_id": to_user_id, "entries": mine,
                                           "comment": comment})

    def add_approvers(self, actor: Actor, approvers: list[str], where: str, comment: str) -> None:
        """加签: ``before`` -- a new stage before the current one (which waits for it);
        ``after`` -- a new stage right after it; ``with`` -- added to the current stage
        (its mode applies). By a current approver with an open entry, not the submitter."""
        stage = self._actable_stage(actor)
        self._require_not_submitter(actor, "add approvers to")
        self._my_open_entries(stage, actor)
        if where not in WHERE:
            raise ValidationError.field("where", "one of before, after, with")
        added = list(dict.fromkeys(approvers))
        if not added:
            raise ValidationError.field("approvers", "at least one approver")
        if f"user:{self.submitter.get('id')}" in added:
            raise ValidationError.field("approvers", "the submitter may not approve their own change")
        if where == "with":
            added = [a for a in added if a not in stage["approvers"]]
            if not added:
                raise Conflict("those approvers are in the current stage already")
        self.record(ev.APPROVERS_ADDED, {"stage": self.current_stage, "where": where,
                                         "approvers": added, "user": person(actor),
                                         "comment": comment})

    def send_back(self, actor: Actor, comment: str, to_stage: int | None) -> None:
        """退回: to an earlier stage (it opens again; earlier decisions stay in the
        history, no longer counted) or, with ``to_stage`` None, to the submitter
        (status ``returned``: resubmit or withdraw)."""
        stage = self._actable_stage(actor)
        self._require_not_submitter(actor, "send back")
        self._my_entries(stage, actor)
        if to_stage is not None and not 0 <= to_stage < self.current_stage:
            raise ValidationError.field("to_stage", f"an earlier stage: 0 to {self.current_stage - 1}"
                                        if self.current_stage else "there is no earlier stage")
        self.record(ev.REQUEST_SENT_BACK, {"stage": self.current_stage, "to_stage": to_stage,
                                           "user": person(actor), "comment": comment})

    def resubmit(self, actor: Actor, comment: str,
                 revised: Mapping[str, Any] | None) -> None:
        """The submitter sends a returned request again; it restarts at stage 0.
        ``revised``: the held change's new ``{field: {from, to}}`` (already recorded by
        the invoice)."""
        self.require_resubmittable(actor)
        self.record(ev.REQUEST_RESUBMITTED, {"user": person(actor), "comment": comment,
                                             "changes": copy.deepcopy(dict(revised)) if revised else None})

    def require_resubmittable(self, actor: Actor) -> None:
        if self.status != RETURNED:
            raise Conflict(f"request {self.id} is {self.status}, not returned")
        if actor.id != self.submitter.get("id"):
            raise Forbidden("only the submitter may resubmit a request")

    def remind(self, actor: Actor, now: str, interval_seconds: float) -> None:
        """催办: the submitter reminds the entries the stage waits on, at most once per
        ``interval_seconds``."""
        self._require_pending()
        if actor.id != self.submitter.get("id"):
            raise Forbidden("only the submitter may send a reminder")
        if self.last_reminded_at is not None:
            allowed = seconds_between(self.last_reminded_at, now) >= interval_seconds
            if not allowed:
                raise Conflict({"message": "reminded recently; try again later",
                                "last_reminded_at": self.last_reminded_at})
        self.record(ev.REMINDER_SENT, {"stage": self.current_stage, "user": person(actor),
                                       "entries": self.waiting_on()})

    def time_out(self, now: str) -> bool:
        """The timer: if the current stage is past its due time and has not timed out
        since it opened, record its ``on_timeout`` (once: a second timer instance
        deciding on the stored state finds it done)."""
        if self.status != PENDING:
            return False
        stage = self.stages[self.current_stage]
        due_at = stage.get("due_at")
        if not due_at or stage.get("timed_out") or parse_at(due_at) > parse_at(now):
            return False
        action = stage.get("on_timeout") or "remind"
        self.record(ev.STAGE_TIMED_OUT, {"stage": self.current_stage, "action": action,
                                         "due_at": due_at, "user": dict(TIMER),
                                         "escalate_to": list(stage.get("escalate_to") or [])})
        if action == "approve":
            self._advance_or_approve()
        elif action == "reject":
            self.record(ev.REQUEST_REJECTED, {"stage": self.current_stage, "user": dict(TIMER),
                                              "comment": "超时自动驳回"})
        return True

    def due_at(self) -> str | None:
        """When the current stage times out (None: no timeout, done, or not pending)."""
        if self.status != PENDING or not self.stages:
            return None
        stage = self.stages[self.current_stage]
        return None if stage.get("timed_out") else stage.get("due_at")

    def _advance_or_approve(self) -> None:
        if self.current_stage + 1 < len(self.stages):
            self.record(ev.STAGE_ADVANCED, {"from_stage": self.current_stage,
                                            "to_stage": self.current_stage + 1})
        else:
            self.record(ev.REQUEST_APPROVED, {"stage": self.current_stage})

    def cancel(self, reason: str) -> None:
        """The invoice was voided while the request was pending."""
        self._require_pending()
        self.record(ev.REQUEST_CANCELLED, {"reason": reason})

    def supersede(self, by_request_id: str) -> None:
        self._require_pending()
        self.record(ev.REQUEST_SUPERSEDED, {"by_request_id": by_request_id})

    # -- queries ---------------------------------------------------------------------
    def waiting_on(self) -> list[str]:
        """The entries the current stage still waits for (empty unless pending)."""
        if self.status != PENDING:
            return []
        stage = self.stages[self.current_stage]
        if stage["mode"] == "any":
            return list(stage["approvers"])
        satisfied = satisfied_entries(stage)
        return [e for e in stage["approvers"] if e not in satisfied]

    def decided_in_stage(self) -> list[str]:
        """Users who approved in the current stage (they are not waited on any more)."""
        if self.status != PENDING:
            return []
        return [d["user"]["id"] for d in live_decisions(self.stages[self.current_stage])
                if d["decision"] == APPROVED]

    def involved(self) -> list[str]:
        """Everyone the request concerns, as entries: submitter, approvers, delegates, cc."""
        found = [f"user:{self.submitter.get('id')}"]
        for stage in self.stages:
            found += stage["original_approvers"] + stage["approvers"]
        return list(dict.fromkeys(found + self.cc))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "invoice_id": self.invoice_id, "invoice_version": self.invoice_version,
            "flow_id": self.flow_id, "flow_version": self.flow_version, "flow_name": self.flow_name,
            "changed_fields": copy.deepcopy(self.changed_fields), "status": self.status,
            "current_stage": self.current_stage, "stages": copy.deepcopy(self.stages),
            "cc": list(self.cc), "submitter": {k: self.submitter.get(k) for k in ("id", "name")},
            "trigger_event_id": self.trigger_event_id, "superseded_by": self.superseded_by,
            "waiting_on": self.waiting_on(), "created_at": self.created_at,
            "decided_at": self.decided_at, "version": self.version, "hold": self.hold,
            "last_reminded_at": self.last_reminded_at, "due_at": self.due_at(),
            "updated_at": self.updated_at,
        }

    # -- rules -----------------------------------------------------------------------
    def _require_pending(self) -> None:
        if self.status != PENDING:
            raise Conflict(f"request {self.id} is {self.status}, no longer pending")

    def _actable_stage(self, actor: Actor) -> dict[str, Any]:
        self._require_pending()
        return self.stages[self.current_stage]

    def _require_not_submitter(self, actor: Actor, what: str) -> None:
        if actor.id == self.submitter.get("id"):
            raise Forbidden(f"the submitter of a change may not {what} its request")

    def _my_open_entries(self, stage: Mapping[str, Any], actor: Actor) -> list[str]:
        mine = [e for e in self._my_entries(stage, actor) if e not in satisfied_entries(stage)]
        if not mine:
            raise Conflict("your approver entries in this stage are satisfied already")
        return mine

    @staticmethod
    def _my_entries(stage: Mapping[str, Any], actor: Actor) -> list[str]:
        mine = [e for e in stage["approvers"] if e in entries_of(actor)]
        if not mine:
            raise Forbidden(f"you are not an approver of the current stage ({stage['name']})")
        return mine

    # -- event sourcing --------------------------------------------------------------
    def apply(self, envelope: Mapping[str, Any]) -> None:
        self._at = envelope["occurred_at"]  # decisions carry the time they were stored
        super().apply(envelope)

    def _decision(self, data: Mapping[str, Any], decision: str, **extra: Any) -> None:
        self.stages[data["stage"]]["decisions"].append(dict(
            {"user": dict(data["user"]), "decision": decision, "comment": data.get("comment", ""),
             "at": self._at, "entries": list(data.get("entries") or [])}, **extra))

    def _apply_opened(self, data: Mapping[str, Any]) -> None:
        for name in ("invoice_id", "invoice_version", "trigger_event_id", "flow_id",
                     "flow_version", "flow_name"):
            setattr(self, name, data[name])
        self.changed_fields = copy.deepcopy(dict(data["changed_fields"]))
        self.stages = [{"name": s["name"], "mode": s["mode"], "approvers": list(s["approvers"]),
                        "original_approvers": list(s["approvers"]), "decisions": [],
                        "status": "waiting",
                        **{k: copy.deepcopy(s[k]) for k in TIMEOUT_KEYS if k in s}}
                       for s in data["stages"]]
        self.cc, self.submitter = list(data["cc"]), dict(data["submitter"])
        self.status, self.current_stage = PENDING, 0
        self.hold = bool(data.get("hold"))
        self._open_stage(0)

    def _open_stage(self, index: int) -> None:
        """A stage opens (again): its timeout clock starts now."""
        stage = self.stages[index]
        stage["status"], stage["timed_out"] = "open", False
        hours = stage.get("due_in_hours")
        stage["due_at"] = None if hours is None or self._at is None else \
            format_timestamp(parse_at(self._at) + dt.timedelta(hours=float(hours)))

    def _apply_given(self, data: Mapping[str, Any]) -> None:
        self._decision(data, APPROVED)

    def _apply_advanced(self, data: Mapping[str, Any]) -> None:
        self.stages[data["from_stage"]]["status"] = APPROVED
        self._open_stage(data["to_stage"])
        self.current_stage = data["to_stage"]

    def _apply_approved(self, data: Mapping[str, Any]) -> None:
        self.stages[data["stage"]]["status"] = APPROVED
        self.status, self.decided_at = APPROVED, self._at

    def _apply_rejected(self, data: Mapping[str, Any]) -> None:
        self._decision(data, REJECTED)
        self.stages[data["stage"]]["status"] = REJECTED
        self.status, self.decided_at = REJECTED, self._at

    def _apply_withdrawn(self, data: Mapping[str, Any]) -> None:
        self.status, self.decided_at = WITHDRAWN, self._at

    def _apply_delegated(self, data: Mapping[str, Any]) -> None:
        stage = self.stages[data["stage"]]
        self._decision(data, "delegated", to_user_id=data["to_user_id"])
        target = f"user:{data['to_user_id']}"
        approvers = [target if e in data["entries"] else e for e in stage["approvers"]]
        stage["approvers"] = list(dict.fromkeys(approvers))

    def _apply_approvers_added(self, data: Mapping[str, Any]) -> None:
        index, added = data["stage"], list(data["approvers"])
        self._decision(data, "approvers_added", where=data["where"], approvers=added)
        if data["where"] == "with":
            self.stages[index]["approvers"] = list(dict.fromkeys(self.stages[index]["approvers"] + added))
            return
        new = {"name": ADDED_STAGE_NAME, "mode": "all", "approvers": added,
               "original_approvers": list(added), "decisions": [], "status": "waiting",
               "added_by": dict(data["user"])}
        if data["where"] == "before":
            self.stages[index]["status"] = "waiting"
            new["status"] = "open"
            self.stages.insert(index, new)
        else:
            self.stages.insert(index + 1, new)

    def _apply_sent_back(self, data: Mapping[str, Any]) -> None:
        self._decision(data, "sent_back", to_stage=data["to_stage"])
        start = 0 if data["to_stage"] is None else data["to_stage"]
        for stage in self.stages[start:data["stage"] + 1]:
            stage["status"] = "waiting"
            for decision in stage["decisions"]:
                decision["stale"] = True
        if data["to_stage"] is None:
            self.status = RETURNED
        else:
            self._open_stage(start)
            self.current_stage = start

    def _apply_resubmitted(self, data: Mapping[str, Any]) -> None:
        for stage in self.stages:
            stage["status"] = "waiting"
            for decision in stage["decisions"]:
                decision["stale"] = True
        if data.get("changes"):
            self.changed_fields = copy.deepcopy(dict(data["changes"]))
        self.status, self.current_stage = PENDING, 0
        self._open_stage(0)

    def _apply_reminded(self, data: Mapping[str, Any]) -> None:
        self.last_reminded_at = self._at

    def _apply_timed_out(self, data: Mapping[str, Any]) -> None:
        stage = self.stages[data["stage"]]
        self._decision(data, "timed_out", action=data["action"])
        stage["timed_out"] = True
        if data["action"] == "escalate":
            stage["approvers"] = list(dict.fromkeys(stage["approvers"] + list(data["escalate_to"])))

    def _apply_cancelled(self, data: Mapping[str, Any]) -> None:
        self.status, self.decided_at = CANCELLED, self._at

    def _apply_superseded(self, data: Mapping[str, Any]) -> None:
        self.status, self.decided_at = SUPERSEDED, self._at
        self.superseded_by = data["by_request_id"]


ApprovalRequest.APPLY = {
    ev.REQUEST_OPENED: ApprovalRequest._apply_opened,
    ev.APPROVAL_GIVEN: ApprovalRequest._apply_given,
    ev.STAGE_ADVANCED: ApprovalRequest._apply_advanced,
    ev.REQUEST_APPROVED: ApprovalRequest._apply_approved,
    ev.REQUEST_REJECTED: ApprovalRequest._apply_rejected,
    ev.REQUEST_WITHDRAWN: ApprovalRequest._apply_withdrawn,
    ev.REQUEST_DELEGATED: ApprovalRequest._apply_delegated,
    ev.REQUEST_SUPERSEDED: ApprovalRequest._apply_superseded,
    ev.REQUEST_CANCELLED: ApprovalRequest._apply_cancelled,
    ev.APPROVERS_ADDED: ApprovalRequest._apply_approvers_added,
    ev.REQUEST_SENT_BACK: ApprovalRequest._apply_sent_back,
    ev.REQUEST_RESUBMITTED: ApprovalRequest._apply_resubmitted,
    ev.REMINDER_SENT: ApprovalRequest._apply_reminded,
    ev.STAGE_TIMED_OUT: ApprovalRequest._apply_timed_out,
}


def live_decisions(stage: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The stage's decisions that still count (not before a send-back or resubmission)."""
    return [d for d in stage["decisions"] if not d.get("stale")]


def satisfied_entries(stage: Mapping[str, Any]) -> set[str]:
    return {e for d in live_decisions(stage) if d["decision"] == APPROVED for e in d["entries"]}


def parse_at(value: str) -> dt.datetime:
    """A stored timestamp (ISO 8601, 'Z') as an aware datetime."""
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def seconds_between(earlier: str, later: str) -> float:
    """Seconds from one stored timestamp to another."""
    return (parse_at(later) - parse_at(earlier)).total_seconds()


def approvers_of(request: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Who approved, over every stage, in order (``{id, name}``; each once)."""
    found: dict[str, dict[str, Any]] = {}
    for stage in request.get("stages") or []:
        for d in stage.get("decisions") or []:
            if d["decision"] == APPROVED:
                found.setdefault(d["user"]["id"], {"id": d["user"]["id"], "name": d["user"].get("name")})
    return list(found.values())


def invoice_status_for(status: str) -> str | None:
    """The invoice approval_status a request's status stands for. A withdrawn request
    leaves the change unapproved: ``none``. A superseded one stands for nothing (the
    request that superseded it speaks for the invoice)."""
    return {PENDING: "pending", APPROVED: "approved", REJECTED: "rejected",
            WITHDRAWN: "none"}.get(status)
