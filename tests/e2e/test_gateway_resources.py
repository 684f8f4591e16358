"""Customers, contracts, payments, settings and approval over HTTP: success and the
error statuses of each family."""
from __future__ import annotations

import uuid
from typing import Any

from tests.e2e.approval_support import flow_data
from tests.e2e.search_support import settled
from tests.support.factories import contract_data, customer_data, invoice_data, payment_data, unique
from tests.support.gateway import Api, problem
from tests.support.infra import wait_for


def test_customers_are_created_listed_read_and_changed(api: Api) -> None:
    tag = unique("网关客户")
    created = api.post("/api/customers", json=customer_data(name=f"{tag}甲"))
    customer = created.json()

    listed = api.get("/api/customers", params={"name_contains": tag, "limit": 10})
    read = api.get(f"/api/customers/{customer['id']}")
    changed = api.patch(f"/api/customers/{customer['id']}", json={"phone": "0571-1"},
                        headers={"If-Match": '"1"'})
    stale = api.patch(f"/api/customers/{customer['id']}", json={"phone": "0571-2"},
                      headers={"If-Match": '"1"'})
    racing = api.patch(f"/api/customers/{customer['id']}", json={"phone": "0571-3"})
    invalid = api.post("/api/customers", json={"name": ""})
    missing = api.get("/api/customers/cus_missing")

    assert created.status_code == 201 and created.headers["Location"] == f"/api/customers/{customer['id']}"
    assert [c["id"] for c in listed.json()["items"]] == [customer["id"]]
    assert read.json() == customer and read.headers["ETag"] == '"1"'
    assert changed.status_code == 200 and changed.json()["version"] == 2
    assert stale.status_code == 412 and problem(stale)["errors"]["current_version"] == 2
    assert racing.status_code == 200 and racing.json()["phone"] == "0571-3"
    assert invalid.status_code == 422 and "name" in problem(invalid)["errors"]
    assert missing.status_code == 404


def test_contracts_payments_and_reconciliation(api: Api, admin: Any) -> None:
    customer = api.post("/api/customers", json=customer_data()).json()
    contract_body = contract_data(customer["id"])
    contract = api.post("/api/contracts", json=contract_body)
    duplicate = api.post("/api/contracts", json=contract_body)
    payment = api.post("/api/payments", json=payment_data(contract.json()["id"]))
    bad_payment = api.post("/api/payments", json=payment_data(contract.json()["id"], amount="0"))
    invoice = api.post("/api/invoices", json=invoice_data(
        customer["id"], contract_id=contract.json()["id"], amount="10000.00")).json()
    settled(admin)

    read = api.get(f"/api/contracts/{contract.json()['id']}")
    of_customer = api.get(f"/api/customers/{customer['id']}/contracts")
    payments = api.get("/api/payments", params={"customer_id": customer["id"]})
    one_payment = api.get(payment.headers["Location"])
    uninvoiced = api.get("/api/payments/uninvoiced", params={"customer_id": customer["id"]})
    reconciliation = api.get("/api/reconciliation", params={"customer_id": customer["id"]})
    tab = api.get(f"/api/customers/{customer['id']}/invoices", params={"limit": 5})
    no_contracts = api.get("/api/customers/cus_missing/contracts")

    assert contract.status_code == 201 and duplicate.status_code == 409
    assert payment.status_code == 201 and payment.json()["customer_id"] == customer["id"]
    assert bad_payment.status_code == 422
    assert read.json()["number"] == contract_body["number"] and read.headers["ETag"] == '"1"'
    assert [c["id"] for c in of_customer.json()] == [contract.json()["id"]]
    assert [p["id"] for p in payments.json()] == [payment.json()["id"]]
    assert one_payment.status_code == 200 and one_payment.json()["id"] == payment.json()["id"]
    assert [p["id"] for p in uninvoiced.json()["items"]] == [payment.json()["id"]]
    assert reconciliation.json()[0]["invoiced_amount"] == "10000.00"
    assert tab.json()["count"] == 1 and tab.json()["items"][0]["id"] == invoice["id"]
    assert no_contracts.status_code == 404


def test_invoice_types_and_custom_fields_are_admin_settings(api: Api, gateway: Any) -> None:
    sales = Api.as_user(gateway.url, roles=["sales"])
    key = f"t_{uuid.uuid4().hex[:6]}"

    created = api.post("/api/invoice-types", json={"key": key, "label": "凭证", "color": "#aa66cc"})
    again = api.post("/api/invoice-types", json={"key": key, "label": "凭证", "color": "#aa66cc"})
    relabelled = api.patch(f"/api/invoice-types/{key}", json={"label": "新凭证"})
    refused = sales.post("/api/invoice-types", json={"key": f"{key}x", "label": "x", "color": "#000000"})
    listed = sales.get("/api/invoice-types")
    field = api.post("/api/custom-fields", json={"key": f"f_{key}", "label": "字段", "kind": "text"})
    bad_field = api.post("/api/custom-fields", json={"key": f"g_{key}", "label": "x", "kind": "select"})
    changed_field = api.patch(f"/api/custom-fields/f_{key}", json={"label": "改名"})
    fields = api.get("/api/custom-fields")
    unknown = api.patch("/api/invoice-types/nope_nope", json={"label": "x"})

    assert created.status_code == 201 and created.json()["color"] == "#AA66CC"
    assert created.headers["Location"] == f"/api/invoice-types/{key}"
    assert again.status_code == 409
    assert relabelled.status_code == 200 and relabelled.json()["label"] == "新凭证"
    assert refused.status_code == 403
    assert key in [t["key"] for t in listed.json()]
    assert field.status_code == 201 and bad_field.status_code == 422
    assert changed_field.json()["label"] == "改名"
    assert f"f_{key}" in [f["key"] for f in fields.json()]
    assert unknown.status_code == 404


def test_an_approval_request_is_seen_in_the_inbox_and_approved_over_http(gateway: Any, api: Api) -> None:
    sales_id, finance_id = unique("sales"), unique("fin")
    sales = Api.as_user(gateway.url, roles=["sales"], sub=sales_id)
    finance = Api.as_user(gateway.url, roles=["finance"], sub=finance_id)
    customer = api.post("/api/customers", json=customer_data()).json()
    flow = api.post("/api/approval/flows", json=flow_data(customer["id"]))
    invoice = sales.post("/api/invoices", json=invoice_data(customer["id"])).json()
    sales.patch(f"/api/invoices/{invoice['id']}", json={"amount": "99999.00"})

    inbox = wait_for(lambda: [r for r in finance.get("/api/approval/requests",
                                                     params={"mine": "true"}).json()
                              if r["invoice_id"] == invoice["id"]], timeout=30, message="inbox")
    request_id = inbox[0]["id"]
    read = finance.get(f"/api/approval/requests/{request_id}")
    by_submitter = sales.post(f"/api/approval/requests/{request_id}/approve", json={})
    reject_without_comment = finance.post(f"/api/approval/requests/{request_id}/reject", json={})
    approved = finance.post(f"/api/approval/requests/{request_id}/approve", json={"comment": "好"})
    notes = sales.get("/api/notifications", params={"unread_only": "true"})
    flows = api.get("/api/approval/flows")
    flow_read = api.get(f"/api/approval/flows/{flow.json()['id']}")
    flow_changed = api.patch(f"/api/approval/flows/{flow.json()['id']}", json={"name": "改名的流程"},
                             headers={"If-Match": flow_read.headers["ETag"]})
    flow_v1 = api.get(f"/api/approval/flows/{flow.json()['id']}", params={"version": 1})
    bad_flow = api.post("/api/approval/flows", json={"name": "x"})

    assert flow.status_code == 201
    assert read.status_code == 200 and read.json()["id"] == request_id
    assert by_submitter.status_code in (403, 409)
    assert reject_without_comment.status_code == 422
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert flow.json()["id"] in [f["id"] for f in flows.json()]
    assert flow_changed.status_code == 200 and flow_changed.json()["version"] == 2
    assert flow_v1.json()["version"] == 1 and flow_v1.json()["name"] != "改名的流程"
    assert bad_flow.status_code == 422
    unread = wait_for(lambda: [n for n in sales.get("/api/notifications").json()
                               if n["request_id"] == request_id and not n["read"]] or None,
                      timeout=30, message="the submitter's notification")
    marked = sales.post("/api/notifications/read", json={"ids": [unread[0]["id"]]})
    assert notes.status_code == 200
    assert [n for n in marked.json() if n["id"] == unread[0]["id"]][0]["read"] is True
    assert sales.post("/api/notifications/read", json={"ids": "x"}).status_code == 400
    assert finance.get("/api/approval/requests/apr_missing").status_code == 404
