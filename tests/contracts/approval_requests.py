"""What the approval service's request, notification and webhook ports (fake or MongoDB)
must do together: a request's save writes its state, the notifications and the webhook
deliveries it causes in one append; senders lease deliveries."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from approval.domain.request import ApprovalRequest
from approval.ports import Deliveries, NotificationStore, RequestRepository, Webhooks
from shared.auth import Actor
from shared.errors import ConcurrencyConflict, NotFound
from shared.events.envelope import Metadata

META = Metadata(actor={"id": "s1", "name": "Sam"})
FINANCE = Actor(id="f1", name="Fay", roles=("finance",))
LONG_AGO, FAR_AHEAD = "2000-01-01T00:00:00.000Z", "2999-01-01T00:00:00.000Z"


@dataclass
class ApprovalPorts:
    """One store's ports, wired as the service wires them (the requests' saves fill the
    notifications and the webhook outbox)."""

    requests: RequestRepository
    notifications: NotificationStore
    webhooks: Webhooks
    deliveries: Deliveries


def flow(**overrides: Any) -> dict[str, Any]:
    return {"id": f"flow_{uuid.uuid4().hex[:12]}", "version": 1, "name": "大额",
            "stages": [{"name": "财务", "approvers": ["role:finance"], "mode": "any"},
                       {"name": "经理", "approvers": ["user:m1"], "mode": "any"}],
            "cc": ["user:cc1"], **overrides}


def new_request(invoice_id: str | None = None, invoice_version: int = 2,
                **flow_overrides: Any) -> ApprovalRequest:
    trigger = {"event_id": uuid.uuid4().hex, "stream_id": invoice_id or f"inv_{uuid.uuid4().hex}",
               "version": invoice_version, "type": "InvoiceFieldsChanged",
               "actor": {"id": "s1", "name": "Sam", "roles": ["sales"]}}
    return ApprovalRequest.open(trigger=trigger, flow=flow(**flow_overrides),
                                changed_fields={"amount": {"from": "1", "to": "2"}})


def webhook(**overrides: Any) -> dict[str, Any]:
    return {"id": f"wh_{uuid.uuid4().hex[:12]}", "url": "http://127.0.0.1:9/hook", "format": "json",
            "events": ["approval_needed"], "secret": "s3cret", "created_at": "2026-05-01T00:00:00.000Z",
            **overrides}


class ApprovalPortsContract:
    """Subclasses provide the ``ports`` fixture (fresh, empty, wired together)."""

    def test_a_saved_request_loads_back_as_the_same_fold_with_its_inbox_state(
            self, ports: ApprovalPorts) -> None:
        request = new_request()
        ports.requests.save(request, META)
        request.approve(FINANCE, "ok")
        ports.requests.save(request, META)

        loaded, state = ports.requests.load(request.id), ports.requests.state(request.id)

        assert loaded.to_dict() == request.to_dict() and loaded.version == 3
        assert state is not None and state["current_stage"] == 1 and state["waiting_on"] == ["user:m1"]
        assert {"user:s1", "role:finance", "user:m1", "user:cc1"} <= set(state["involved"])
        assert ports.requests.state("apr_unknown") is None
        with pytest.raises(NotFound):
            ports.requests.load("apr_unknown")

    def test_a_stale_head_is_a_concurrency_conflict(self, ports: ApprovalPorts) -> None:
        request = new_request()
        ports.requests.save(request, META)
        stale = ports.requests.load(request.id)
        request.approve(FINANCE, "ok")
        ports.requests.save(request, META)

        stale.approve(FINANCE, "me too")
        with pytest.raises(ConcurrencyConflict):
            ports.requests.save(stale, META)
        assert ports.requests.load(request.id).version == 3

    def test_an_invoices_requests_are_listed_oldest_trigger_first(self, ports: ApprovalPorts) -> None:
        invoice_id = f"inv_{uuid.uuid4().hex}"
        later, earlier = new_request(invoice_id, 5), new_request(invoice_id, 2)
        ports.requests.save(later, META)
        ports.requests.save(earlier, META)

        assert [r["id"] for r in ports.requests.for_invoice(invoice_id)] == [earlier.id, later.id]
        latest = ports.requests.latest_for_invoice(invoice_id)
        assert latest is not None and latest["id"] == later.id
        assert ports.requests.latest_for_invoice("inv_none") is None

    def test_requests_are_found_by_who_they_wait_on_status_and_who_they_involve(
            self, ports: ApprovalPorts) -> None:
        tag = uuid.uuid4().hex[:8]
        mine = new_request(stages=[{"name": "s", "approvers": [f"user:a{tag}"], "mode": "any"}])
        other = new_request(cc=[f"user:c{tag}"])
        ports.requests.save(mine, META)
        ports.requests.save(other, META)

        assert [r["id"] for r in ports.requests.waiting_on_any([f"user:a{tag}", "user:nobody"])] == [mine.id]
        assert [r["id"] for r in ports.requests.find("pending", [f"user:c{tag}"])] == [other.id]
        assert ports.requests.find("approved", [f"user:a{tag}", f"user:c{tag}"]) == []
        found = {r["id"] for r in ports.requests.find(None, None)}
        assert {mine.id, other.id} <= found

    def test_a_request_is_due_once_its_stage_timeout_has_passed(self, ports: ApprovalPorts) -> None:
        timed = new_request(stages=[{"name": "s", "approvers": ["role:finance"], "mode": "any",
                                     "due_in_hours": 1}])
        untimed = new_request()
        ports.requests.save(timed, META)
        ports.requests.save(untimed, META)

        assert timed.id in ports.requests.due(FAR_AHEAD) and untimed.id not in ports.requests.due(FAR_AHEAD)
        assert timed.id not in ports.requests.due(LONG_AGO)

    def test_a_save_notifies_and_a_reader_marks_only_what_they_may_see_read(
            self, ports: ApprovalPorts) -> None:
        request = new_request(cc=[f"user:cc{uuid.uuid4().hex[:8]}"])
        ports.requests.save(request, META)
        cc = request.cc[0]

        finance = ports.notifications.for_recipients(["role:finance"], "f1", unread_only=False)
        mine = [n for n in finance if n["request_id"] == request.id]
        assert [(n["kind"], n["stage"], n["read"]) for n in mine] == [("approval_needed", 0, False)]
        told = ports.notifications.for_recipients([cc], "c1", unread_only=False)
        assert [n["kind"] for n in told] == ["request_opened"]

        assert ports.notifications.mark_read([mine[0]["id"], told[0]["id"]], ["role:finance"], "f1") == 1
        assert ports.notifications.for_recipients(["role:finance"], "f1", unread_only=True) == []
        assert ports.notifications.for_recipients(["role:finance"], "f2", unread_only=True) != []
        assert ports.notifications.for_recipients([cc], "c1", unread_only=True)[0]["read"] is False

    def test_webhooks_are_added_listed_oldest_first_and_deleted(self, ports: ApprovalPorts) -> None:
        first, second = webhook(created_at="2026-05-01T00:00:00.000Z"), webhook(created_at="2026-05-02T00:00:00.000Z")
        ports.webhooks.add(second)
        ports.webhooks.add(first)

        assert ports.webhooks.all() == [first, second]
        assert ports.webhooks.delete(first["id"]) is True and ports.webhooks.delete(first["id"]) is False
        assert ports.webhooks.all() == [second]

    def test_a_save_queues_one_delivery_per_listening_webhook_and_a_sender_leases_it(
            self, ports: ApprovalPorts) -> None:
        listening, deaf = webhook(), webhook(events=["request_rejected"])
        ports.webhooks.add(listening)
        ports.webhooks.add(deaf)
        request = new_request()
        ports.requests.save(request, META)

        queued = ports.deliveries.find("pending")
        assert [(d["id"], d["webhook_id"]) for d in queued] == [
            (f"{request.id}:1:approval_needed:{listening['id']}", listening["id"])]
        assert "body" not in queued[0]
        now = str(queued[0]["next_at"])
        claimed = ports.deliveries.claim_due(now, FAR_AHEAD)
        assert claimed is not None and claimed["_id"] == queued[0]["id"] and '"approval_needed"' in claimed["body"]
        assert ports.deliveries.claim_due(now, FAR_AHEAD) is None  # leased

        ports.deliveries.finish(claimed["_id"], {"status": "delivered", "attempts": 1})

        assert ports.deliveries.find("pending") == [] and ports.deliveries.claim_due(FAR_AHEAD, FAR_AHEAD) is None
        assert [d["attempts"] for d in ports.deliveries.find("delivered")] == [1]

    def test_a_lease_that_ran_out_lets_another_sender_claim_the_delivery(
            self, ports: ApprovalPorts) -> None:
        ports.webhooks.add(webhook())
        ports.requests.save(new_request(), META)
        due = str(ports.deliveries.find("pending")[0]["next_at"])
        lease_end = "2999-01-01T00:00:00.000Z"
        first = ports.deliveries.claim_due(due, lease_end)

        again = ports.deliveries.claim_due("2999-01-01T00:00:00.001Z", "2999-01-02T00:00:00.000Z")

        assert first is not None and again is not None and again["_id"] == first["_id"]
