"""The approval actions over HTTP (加签, 退回, resubmit, 催办, approve_many) and the
webhooks: each route's success and one refusal status."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.approval_support import flow_data
from tests.support.factories import customer_data, invoice_data, unique
from tests.support.gateway import Api, problem
from tests.support.infra import wait_for


@dataclass
class Callers:
    sales: Api
    finance: Api
    manager: Api
    manager_id: str


@pytest.fixture
def callers(gateway: Any) -> Callers:
    manager_id = unique("mgr")
    return Callers(sales=Api.as_user(gateway.url, roles=["sales"], sub=unique("sales")),
                   finance=Api.as_user(gateway.url, roles=["finance"], sub=unique("fin")),
                   manager=Api.as_user(gateway.url, roles=["sales_manager"], sub=manager_id),
                   manager_id=manager_id)


def open_request(api: Api, who: Callers, **flow: Any) -> str:
    """A held amount change by ``who.sales`` waiting on the flow's first stage."""
    customer = api.post("/api/customers", json=customer_data()).json()
    assert api.post("/api/approval/flows",
                    json=flow_data(customer["id"], **{"hold": True, **flow})).status_code == 201
    invoice = who.sales.post("/api/invoices", json=invoice_data(customer["id"], amount="1000.00")).json()
    assert who.sales.patch(f"/api/invoices/{invoice['id']}", json={"amount": "1500.00"}).ok
    found = wait_for(lambda: [r for r in api.get("/api/approval/requests").json()
                              if r["invoice_id"] == invoice["id"]], timeout=30,
                     message="the approval request")
    return str(found[0]["id"])


def path(request_id: str, action: str) -> str:
    return f"/api/approval/requests/{request_id}/{action}"


def test_approvers_are_added_over_http(api: Api, callers: Callers) -> None:
    request_id = open_request(api, callers)

    by_submitter = callers.sales.post(path(request_id, "add_approvers"), json={
        "approvers": [f"user:{callers.manager_id}"], "where": "after"})
    bad_where = callers.finance.post(path(request_id, "add_approvers"), json={
        "approvers": [f"user:{callers.manager_id}"], "where": "around"})
    added = callers.finance.post(path(request_id, "add_approvers"), json={
        "approvers": [f"user:{callers.manager_id}"], "where": "before", "comment": "请经理先看"})

    assert by_submitter.status_code == 403
    assert bad_where.status_code == 422 and "where" in problem(bad_where)["errors"]
    assert added.status_code == 200 and added.headers["ETag"]
    assert [s["name"] for s in added.json()["stages"]] == ["加签", "财务审核"]
    assert added.json()["waiting_on"] == [f"user:{callers.manager_id}"]


def test_sent_back_to_the_submitter_and_resubmitted_over_http(api: Api, callers: Callers) -> None:
    request_id = open_request(api, callers)

    later_stage = callers.finance.post(path(request_id, "send_back"), json={"to_stage": 1})
    returned = callers.finance.post(path(request_id, "send_back"), json={"comment": "金额写错了"})
    by_approver = callers.finance.post(path(request_id, "resubmit"), json={})
    bad_change = callers.sales.post(path(request_id, "resubmit"), json={"changes": {"amount": "-5"}})
    again = callers.sales.post(path(request_id, "resubmit"),
                               json={"changes": {"amount": "1200.00"}, "comment": "改为1200"})

    assert later_stage.status_code == 422 and "to_stage" in problem(later_stage)["errors"]
    assert returned.status_code == 200 and returned.json()["status"] == "returned"
    assert by_approver.status_code == 403
    assert bad_change.status_code == 422 and "amount" in problem(bad_change)["errors"]
    assert again.status_code == 200 and again.json()["status"] == "pending"
    assert again.json()["changed_fields"]["amount"] == {"from": "1000.00", "to": "1200.00"}


def test_a_reminder_over_http_is_refused_within_the_interval(api: Api, callers: Callers) -> None:
    request_id = open_request(api, callers)

    by_approver = callers.finance.post(path(request_id, "remind"))
    reminded = callers.sales.post(path(request_id, "remind"))
    again = callers.sales.post(path(request_id, "remind"))

    assert by_approver.status_code == 403
    assert reminded.status_code == 200 and reminded.json()["last_reminded_at"]
    assert again.status_code == 409
    assert any(n["kind"] == "reminder" and n["request_id"] == request_id
               for n in callers.finance.get("/api/notifications").json())


def test_approve_many_answers_each_request_over_http(api: Api, callers: Callers) -> None:
    first = open_request(api, callers)
    second = open_request(api, callers, stages=[
        {"name": "经理", "approvers": [f"user:{callers.manager_id}"], "mode": "any"}])
    missing = f"apr_{unique('none')}"

    results = callers.finance.post("/api/approval/requests/approve_many",
                                   json={"request_ids": [first, second, missing], "comment": "批量"})
    not_a_list = callers.finance.post("/api/approval/requests/approve_many",
                                      json={"request_ids": "x"})

    assert results.status_code == 200
    assert results.json()[first] == {"status": "approved"}
    assert results.json()[second]["error"] == "Forbidden"
    assert results.json()[missing]["error"] == "NotFound"
    assert not_a_list.status_code == 422 and "request_ids" in problem(not_a_list)["errors"]


def test_webhooks_are_defined_listed_and_deleted_by_an_admin(api: Api, callers: Callers) -> None:
    body = {"url": "http://127.0.0.1:9/hook", "secret": "s3cret-value", "events": ["reminder"],
            "format": "wecom"}

    refused = callers.sales.post("/api/approval/webhooks", json=body)
    bad = api.post("/api/approval/webhooks", json={**body, "secret": "short"})
    created = api.post("/api/approval/webhooks", json=body)
    hook = created.json()
    listed = api.get("/api/approval/webhooks")
    list_refused = callers.sales.get("/api/approval/webhooks")
    delete_refused = callers.sales.request("DELETE", f"/api/approval/webhooks/{hook['id']}")
    deleted = api.request("DELETE", f"/api/approval/webhooks/{hook['id']}")
    gone = api.request("DELETE", f"/api/approval/webhooks/{hook['id']}")

    assert refused.status_code == 403
    assert bad.status_code == 422 and "secret" in problem(bad)["errors"]
    assert created.status_code == 201 and "secret" not in hook
    assert created.headers["Location"] == f"/api/approval/webhooks/{hook['id']}"
    assert hook["id"] in [h["id"] for h in listed.json()]
    assert list_refused.status_code == 403 and delete_refused.status_code == 403
    assert deleted.status_code == 200 and deleted.json() == {"id": hook["id"], "deleted": True}
    assert gone.status_code == 404
    assert hook["id"] not in [h["id"] for h in api.get("/api/approval/webhooks").json()]
