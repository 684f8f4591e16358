"""The approval domain without I/O: flow validation, trigger rules, request decisions
and who is notified. Envelopes are built by hand, as the store would build them."""
from __future__ import annotations

import copy
import itertools
import uuid
from typing import Any

import pytest

from approval.domain import events as ev
from approval.domain.flow import Flow, validate_definition
from approval.domain.notifications import notifications_for
from approval.domain.request import ApprovalRequest, invoice_status_for, request_id_for
from approval.domain.triggers import changed_fields, first_triggered, fold_invoice, triggers
from approval.schemas import load_flow
from shared.auth import Actor
from shared.errors import Conflict, Forbidden, ValidationError
from shared.query import invoice_catalog

ROLES = {"admin", "finance", "sales", "sales_manager", "auditor"}
CATALOG = invoice_catalog([{"key": "level", "kind": "select", "options": ["A", "B"]}], view_fields=False)
_positions = itertools.count(1)


def stored(aggregate: Any) -> Any:
    """Apply an aggregate's pending events as if the store had appended them."""
    for pending in aggregate.pending:
        aggregate.apply({"type": pending.type, "data": pending.data, "version": aggregate.version + 1,
                         "hash": uuid.uuid4().hex, "occurred_at": "2026-05-01T00:00:00Z",
                         "actor": {"id": "x"}})
    aggregate.pending.clear()
    return aggregate


def definition(**overrides: Any) -> dict[str, Any]:
    data = {"name": "大额", "watched_fields": ["amount"], "trigger_on_create": False,
            "condition": [{"field": "amount", "op": "gte", "value": "10000"}],
            "stages": [{"name": "财务", "approvers": ["role:finance"], "mode": "any"},
                       {"name": "经理", "approvers": ["user:m1", "user:m2"], "mode": "all"}],
            "cc": ["user:cc1"], "active": True}
    data.update(overrides)
    return data


def flow_state(**overrides: Any) -> dict[str, Any]:
    checked = validate_definition(definition(**overrides), CATALOG, ROLES)
    return dict(checked, id="flow_1", version=1, created_at="2026-05-01T00:00:00Z")


def invoice_event(kind: str, data: dict[str, Any], version: int, actor: str = "s1") -> dict[str, Any]:
    return {"event_id": uuid.uuid4().hex, "stream_id": "inv_1", "stream_type": "invoice",
            "version": version, "position": next(_positions), "type": kind, "data": data,
            "occurred_at": "2026-05-01T00:00:00Z", "actor": {"id": actor, "name": actor, "roles": ["sales"]}}


def created(amount: str = "500.00") -> dict[str, Any]:
    return invoice_event(ev.INVOICE_CREATED, {"number": "INV-1", "fields": {
        "title": "t", "amount": amount, "custom": {}, "payment_ids": []}}, 1)


def amount_changed(old: str, new: str, version: int = 2) -> dict[str, Any]:
    return invoice_event(ev.INVOICE_FIELDS_CHANGED, {"changes": {"amount": {"from": old, "to": new}}}, version)


def opened_request(**flow_overrides: Any) -> ApprovalRequest:
    trigger = amount_changed("500.00", "20000.00")
    return stored(ApprovalRequest.open(trigger=trigger, flow=flow_state(**flow_overrides),
                                       changed_fields=changed_fields(trigger)))


def person(user_id: str, *roles: str) -> Actor:
    return Actor(id=user_id, name=user_id, roles=tuple(roles))


# -- flows ------------------------------------------------------------------------------
def test_a_valid_definition_records_the_kinds_its_condition_needs() -> None:
    checked = validate_definition(definition(watched_fields=["amount", "custom.level"]), CATALOG, ROLES)

    assert checked["condition_kinds"] == {"amount": "money"}
    assert checked["watched_fields"] == ["amount", "custom.level"]


@pytest.mark.parametrize("overrides, key", [
    ({"watched_fields": ["amount", "bogus"]}, "watched_fields"),
    ({"watched_fields": ["custom.nope"]}, "watched_fields"),
    ({"watched_fields": ["status"]}, "watched_fields"),
    ({"condition": [{"field": "amount", "op": "gte", "value": "lots"}]}, "condition"),
    ({"condition": {"filters": [], "match": "some"}}, "condition.match"),
    ({"stages": [{"name": "s", "approvers": ["role:wizard"], "mode": "any"}]}, "stages"),
    ({"cc": ["role:wizard"]}, "cc"),
    ({"watched_fields": [], "trigger_on_create": False}, "watched_fields"),
])
def test_a_definition_naming_what_does_not_exist_is_refused(overrides: dict[str, Any], key: str) -> None:
    with pytest.raises(ValidationError) as refused:
        validate_definition(definition(**overrides), CATALOG, ROLES)

    assert key in refused.value.messages


def test_every_flow_change_is_a_new_version_and_equal_values_record_nothing() -> None:
    flow = stored(Flow.define("flow_1", validate_definition(definition(), CATALOG, ROLES)))

    flow.update(dict(flow.definition, name="新名字"))
    stored(flow)
    nothing = flow.update(dict(flow.definition))

    assert flow.version == 2 and flow.definition["name"] == "新名字" and nothing == {}


# -- triggers ---------------------------------------------------------------------------
def test_a_watched_change_whose_condition_holds_on_the_new_state_triggers() -> None:
    state = fold_invoice(fold_invoice(None, created()), amount_changed("500.00", "20000.00"))

    assert state["amount"] == "20000.00" and state["version"] == 2
    assert triggers(flow_state(), amount_changed("500.00", "20000.00"), state)


def test_an_unwatched_change_a_false_condition_or_an_inactive_flow_do_not_trigger() -> None:
    remarks = invoice_event(ev.INVOICE_FIELDS_CHANGED, {"changes": {"remarks": {"from": None, "to": "x"}}}, 2)
    small = amount_changed("500.00", "600.00")
    big = amount_changed("500.00", "20000.00")

    assert not triggers(flow_state(), remarks, fold_invoice(fold_invoice(None, created("20000.00")), remarks))
    assert not triggers(flow_state(), small, fold_invoice(fold_invoice(None, created()), small))
    assert not triggers(flow_state(active=False), big, fold_invoice(fold_invoice(None, created()), big))


def test_creation_triggers_only_flows_with_trigger_on_create() -> None:
    event = created("50000.00")
    state = fold_invoice(None, event)

    assert not triggers(flow_state(), event, state)
    assert triggers(flow_state(trigger_on_create=True), event, state)
    assert changed_fields(event)["amount"] == {"from": None, "to": "50000.00"}


def test_a_custom_field_change_is_folded_and_watched() -> None:
    change = invoice_event(ev.INVOICE_FIELDS_CHANGED, {"changes": {"custom.level": {"from": None, "to": "A"}}}, 2)
    state = fold_invoice(fold_invoice(None, created("20000.00")), change)
    flow = flow_state(watched_fields=["custom.level"],
                      condition=[{"field": "custom.level", "op": "eq", "value": "A"}])

    assert state["custom"] == {"level": "A"}
    assert triggers(flow, change, state)


def test_of_several_triggering_flows_the_earliest_defined_opens_the_request() -> None:
    later = dict(flow_state(), id="flow_2", created_at="2026-06-01T00:00:00Z")
    earlier = dict(flow_state(), id="flow_9", created_at="2026-04-01T00:00:00Z")
    event = amount_changed("500.00", "20000.00")

    chosen = first_triggered([later, earlier], event, fold_invoice(fold_invoice(None, created()), event))

    assert chosen is not None and chosen["id"] == "flow_9"


# -- requests ---------------------------------------------------------------------------
def test_the_request_id_comes_from_the_triggering_event() -> None:
    trigger = amount_changed("1", "2")
    request = ApprovalRequest.open(trigger=trigger, flow=flow_state(), changed_fields={})

    assert request.id == request_id_for(trigger["event_id"]) == f"apr_{trigger['event_id']}"


def test_an_any_stage_ends_with_one_approval_and_an_all_stage_needs_every_entry() -> None:
    request = opened_request()

    stored(request).approve(person("f1", "finance"), "ok")
    stored(request)
    assert request.current_stage == 1 and request.waiting_on() == ["user:m1", "user:m2"]
    request.approve(person("m1"), "")
    stored(request)
    assert request.status == "pending" and request.waiting_on() == ["user:m2"]
    request.approve(person("m2"), "")
    stored(request)

    assert request.status == "approved" and invoice_status_for(request.status) == "approved"


def test_a_role_entry_of_an_all_stage_is_satisfied_by_any_one_holder() -> None:
    request = opened_request(stages=[{"name": "会签", "approvers": ["role:finance", "user:m1"], "mode": "all"}])

    request.approve(person("f9", "finance"), "")
    stored(request)
    with pytest.raises(Conflict):
        request.approve(person("f8", "finance"), "")

    assert request.waiting_on() == ["user:m1"]


def test_the_submitter_others_and_decided_requests_are_refused() -> None:
    request = opened_request()

    with pytest.raises(Forbidden):
        request.approve(person("s1", "finance"), "")   # s1 made the change
    with pytest.raises(Forbidden):
        request.approve(person("m1"), "")               # stage 2 is not open yet
    with pytest.raises(Forbidden):
        request.withdraw(person("f1", "finance"), "")   # only the submitter withdraws
    with pytest.raises(ValidationError):
        request.reject(person("f1", "finance"), " ")
    request.reject(person("f1", "finance"), "不对")
    stored(request)
    with pytest.raises(Conflict):
        request.approve(person("f1", "finance"), "")

    assert request.status == "rejected" and invoice_status_for("withdrawn") == "none"


def test_delegation_hands_the_entry_to_the_delegate_and_keeps_the_original() -> None:
    request = opened_request(stages=[{"name": "经理", "approvers": ["user:m1"], "mode": "any"}])

    request.delegate(person("m1"), "m2", "代批")
    stored(request)

    stage = request.stages[0]
    assert stage["approvers"] == ["user:m2"] and stage["original_approvers"] == ["user:m1"]
    assert stage["decisions"][0]["decision"] == "delegated"
    with pytest.raises(ValidationError):
        request.delegate(person("m2"), "s1", "")        # not to the submitter
    with pytest.raises(Forbidden):
        request.approve(person("m1"), "")


def test_the_submitter_may_not_delegate_their_own_request_even_as_an_approver() -> None:
    # given a request whose submitter s1 holds the role that approves its stage
    request = opened_request(stages=[{"name": "财务", "approvers": ["role:finance"], "mode": "any"}])

    # when s1 hands it to a colleague, then that is forbidden and nothing is recorded
    with pytest.raises(Forbidden):
        request.delegate(person("s1", "finance"), "f2", "帮我批")
    assert not request.pending and request.stages[0]["approvers"] == ["role:finance"]


def test_notifications_go_to_stage_approvers_then_submitter_and_cc_on_the_outcome() -> None:
    empty = ApprovalRequest(id="apr_x")
    request = opened_request()
    opened = notifications_for(empty, request)
    before = stored(request)
    snapshot = copy.deepcopy(before)
    request.approve(person("f1", "finance"), "")
    stored(request)
    advanced = notifications_for(snapshot, request)
    snapshot = copy.deepcopy(request)
    request.reject(person("m1"), "no")
    stored(request)
    decided = notifications_for(snapshot, request)

    assert [(n.recipient, n.kind) for n in opened] == [("user:cc1", "request_opened"),
                                                       ("role:finance", "approval_needed")]
    assert [n.recipient for n in advanced] == ["user:m1", "user:m2"]
    assert {(n.recipient, n.kind) for n in decided} == {("user:s1", "request_rejected"),
                                                        ("user:cc1", "request_rejected")}


# -- actions (issue 13) -------------------------------------------------------------------
ONE_STAGE = [{"name": "财务", "approvers": ["role:finance"], "mode": "any"}]


def test_adding_approvers_before_opens_a_new_stage_the_current_one_waits_for() -> None:
    request = opened_request(stages=ONE_STAGE)

    request.add_approvers(person("f1", "finance"), ["user:x1"], "before", "请法务先看")
    stored(request)

    assert [s["name"] for s in request.stages] == ["加签", "财务"]
    assert request.current_stage == 0 and request.waiting_on() == ["user:x1"]
    with pytest.raises(Forbidden):
        request.approve(person("f1", "finance"), "")
    request.approve(person("x1"), "")
    stored(request)
    assert request.current_stage == 1 and request.status == "pending"


def test_adding_approvers_after_or_with_and_the_refusals() -> None:
    after = opened_request(stages=ONE_STAGE)
    after.add_approvers(person("f1", "finance"), ["user:x1"], "after", "")
    stored(after)
    after.approve(person("f1", "finance"), "")
    stored(after)
    assert after.status == "pending" and after.waiting_on() == ["user:x1"]

    with_ = opened_request(stages=[{"name": "会签", "approvers": ["user:m1"], "mode": "all"}])
    with_.add_approvers(person("m1"), ["user:m2"], "with", "")
    stored(with_)
    with_.approve(person("m1"), "")
    stored(with_)
    assert with_.status == "pending" and with_.waiting_on() == ["user:m2"]

    with pytest.raises(Forbidden):
        with_.add_approvers(person("s1"), ["user:x"], "with", "")   # the submitter
    with pytest.raises(Forbidden):
        with_.add_approvers(person("z9"), ["user:x"], "with", "")   # not an approver
    with pytest.raises(Conflict):
        with_.add_approvers(person("m1"), ["user:x"], "with", "")   # m1's entry is satisfied
    with pytest.raises(ValidationError):
        with_.add_approvers(person("m2"), ["user:s1"], "after", "")  # the submitter as approver


def test_sending_back_to_an_earlier_stage_reopens_it_and_old_decisions_stop_counting() -> None:
    request = opened_request()
    request.approve(person("f1", "finance"), "ok")
    stored(request)

    with pytest.raises(ValidationError):
        request.send_back(person("m1"), "", to_stage=1)
    request.send_back(person("m1"), "金额再核", to_stage=0)
    stored(request)

    assert request.current_stage == 0 and request.status == "pending"
    assert request.waiting_on() == ["role:finance"]
    assert request.stages[0]["decisions"][0]["stale"] is True  # kept in the history
    assert request.stages[1]["decisions"][0]["decision"] == "sent_back"


def test_sent_back_to_the_submitter_it_is_returned_and_resubmitted_from_stage_zero() -> None:
    request = opened_request()
    request.send_back(person("f1", "finance"), "补充材料", to_stage=None)
    stored(request)
    assert request.status == "returned" and request.waiting_on() == []
    with pytest.raises(Conflict):
        request.approve(person("f1", "finance"), "")
    with pytest.raises(Forbidden):
        request.resubmit(person("f1", "finance"), "", None)

    revised = {"amount": {"from": "500.00", "to": "15000.00"}}
    request.resubmit(person("s1"), "已补充", revised)
    stored(request)

    assert request.status == "pending" and request.current_stage == 0
    assert request.changed_fields == revised
    with pytest.raises(Conflict):
        request.resubmit(person("s1"), "", None)


def test_a_reminder_is_the_submitters_and_at_most_once_per_interval() -> None:
    request = opened_request()

    with pytest.raises(Forbidden):
        request.remind(person("f1", "finance"), "2026-05-01T00:00:00Z", 600)
    before = copy.deepcopy(stored(request))
    request.remind(person("s1"), "2026-05-01T00:00:00Z", 600)
    stored(request)  # stored at 2026-05-01T00:00:00Z

    notes = notifications_for(before, request)
    assert [(n.recipient, n.kind) for n in notes] == [("role:finance", "reminder")]
    with pytest.raises(Conflict):
        request.remind(person("s1"), "2026-05-01T00:09:59Z", 600)
    request.remind(person("s1"), "2026-05-01T00:10:00Z", 600)


# -- stage timeouts -----------------------------------------------------------------------
def timed_stage(action: str, **extra: Any) -> list[dict[str, Any]]:
    return [{"name": "财务", "approvers": ["role:finance"], "mode": "any", "due_in_hours": 0.5,
             "on_timeout": action, **extra},
            {"name": "经理", "approvers": ["user:m1"], "mode": "any"}]


def test_a_stage_times_out_once_after_its_fractional_hours() -> None:
    request = stored(opened_request(stages=timed_stage("approve")))   # opened 00:00:00Z
    assert request.stages[0]["due_at"] == "2026-05-01T00:30:00.000Z" == request.due_at()

    assert not request.time_out("2026-05-01T00:29:59Z")
    assert request.time_out("2026-05-01T00:30:00Z")
    stored(request)
    assert not request.time_out("2026-05-01T01:00:00Z")   # once

    assert request.current_stage == 1 and request.due_at() is None
    assert request.stages[0]["decisions"][0]["decision"] == "timed_out"


@pytest.mark.parametrize("action", ["remind", "escalate", "reject"])
def test_each_on_timeout_kind(action: str) -> None:
    request = stored(opened_request(stages=timed_stage(action, escalate_to=["user:boss"])))
    before = copy.deepcopy(request)

    request.time_out("2026-05-01T01:00:00Z")
    stored(request)
    notes = {(n.recipient, n.kind) for n in notifications_for(before, request)}

    if action == "remind":
        assert request.status == "pending" and ("role:finance", "reminder") in notes
    elif action == "escalate":
        assert "user:boss" in request.stages[0]["approvers"]
        assert ("user:boss", "approval_needed") in notes
        request.approve(person("boss"), "")
        assert [e.type for e in request.pending][-1] == ev.STAGE_ADVANCED
    else:
        assert request.status == "rejected"
        assert request.stages[0]["decisions"][-1]["comment"] == "超时自动驳回"


def test_a_timeout_without_escalate_to_or_due_hours_is_refused() -> None:
    bad = definition(stages=[{"name": "x", "approvers": ["role:finance"], "mode": "any",
                              "on_timeout": "escalate", "due_in_hours": 1}])
    with pytest.raises(ValidationError) as refused:
        load_flow(bad)
    assert "escalate_to" in str(refused.value)
    with pytest.raises(ValidationError):
        load_flow(definition(stages=[{"name": "x", "approvers": ["role:finance"], "due_in_hours": 0}]))


def test_a_flow_may_watch_every_invoice_field_the_settings_page_offers() -> None:
    from gateway.web.pages.common import editable_fields

    offered = list(editable_fields())

    checked = validate_definition(definition(watched_fields=offered), CATALOG, ROLES)

    assert checked["watched_fields"] == offered
