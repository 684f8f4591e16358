"""The served OpenAPI document: valid, and every documented route answers."""
from __future__ import annotations

from typing import Any

import requests
from openapi_spec_validator import validate

from tests.support.factories import customer_data, invoice_data
from tests.support.gateway import Api


def test_the_document_is_valid_openapi_3(gateway: Any) -> None:
    response = requests.get(f"{gateway.url}/api/openapi.json", timeout=10)

    document = response.json()
    validate(document)
    assert document["openapi"].startswith("3.")
    assert "/api/invoices/{invoice_id}" in document["paths"]
    assert "patch" in document["paths"]["/api/invoices/{invoice_id}"]
    assert document["paths"]["/api/invoices"]["post"]["responses"]["201"]


def test_every_documented_route_answers(gateway: Any, api: Api) -> None:
    document = requests.get(f"{gateway.url}/api/openapi.json", timeout=10).json()
    customer = api.post("/api/customers", json=customer_data()).json()
    invoice = api.post("/api/invoices", json=invoice_data(customer["id"])).json()
    values = {"invoice_id": invoice["id"], "customer_id": customer["id"], "contract_id": "con_x",
              "payment_id": "pay_x", "key": "vat_special", "flow_id": "flow_x",
              "request_id": "apr_x", "webhook_id": "whk_x", "attachment_id": "att_x", "job_id": "imp_x", "year": "2026", "month": "5", "decision": "approve"}
    answered = {}
    for path, operations in document["paths"].items():
        url = path.format(**values)
        for method in operations:
            body = None if method == "get" else {}
            response = api.request(method.upper(), url, json=body)
            answered[(method, path)] = response.status_code
            assert response.status_code not in (405, 500, 503), (method, path, response.text)
            if response.status_code == 404:
                assert not response.json()["type"].endswith("unknown-route"), (method, path)
    assert len(answered) >= 45


def test_the_docs_page_renders_every_operation(gateway: Any) -> None:
    document = requests.get(f"{gateway.url}/api/openapi.json", timeout=10).json()

    page = requests.get(f"{gateway.url}/api/docs", timeout=10)

    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    for operations in document["paths"].values():
        for op in operations.values():
            assert f"id='{op['operationId']}'" in page.text
    assert "<script" not in page.text


def test_metrics_count_requests_by_route_and_status(gateway: Any, api: Api) -> None:
    api.get("/api/invoices/inv_missing_for_metrics")

    text = requests.get(f"{gateway.url}/metrics", timeout=10).text

    assert 'gateway_requests_total{method="GET",route="/api/invoices/<invoice_id>",status="404"}' in text
    assert 'gateway_request_seconds_bucket{' in text
    assert 'gateway_rpc_errors_total{error="NotFound",method="get_invoice",service="invoice"}' in text
