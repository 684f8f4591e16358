"""The invoice routes of the HTTP contract, through a real gateway and services."""
from __future__ import annotations

import uuid
from typing import Any

from tests.e2e.search_support import settled
from tests.support.factories import customer_data, invoice_data, unique
from tests.support.gateway import Api, problem


def new_customer(api: Api, **overrides: Any) -> dict[str, Any]:
    response = api.post("/api/customers", json=customer_data(**overrides))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def new_invoice(api: Api, customer_id: str, **overrides: Any) -> dict[str, Any]:
    response = api.post("/api/invoices", json=invoice_data(customer_id, **overrides))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_an_invoice_is_created_read_changed_and_voided_over_http(api: Api) -> None:
    customer = new_customer(api)

    created = api.post("/api/invoices", json=invoice_data(customer["id"], title="HTTP 发票"))
    invoice = created.json()
    read = api.get(f"/api/invoices/{invoice['id']}")
    changed = api.patch(f"/api/invoices/{invoice['id']}", json={"courier": "SF"},
                        headers={"If-Match": read.headers["ETag"]})
    voided = api.post(f"/api/invoices/{invoice['id']}/void", json={"reason": "开错"},
                      headers={"If-Match": changed.headers["ETag"]})
    history = api.get(f"/api/invoices/{invoice['id']}/history")
    events = api.get(f"/api/invoices/{invoice['id']}/events")
    as_of = api.get(f"/api/invoices/{invoice['id']}?as_of=1&only_filled=true")

    assert created.status_code == 201
    assert created.headers["Location"] == f"/api/invoices/{invoice['id']}"
    assert created.headers["ETag"] == '"1"' and invoice["title"] == "HTTP 发票"
    assert read.status_code == 200 and read.json() == invoice and read.headers["ETag"] == '"1"'
    assert changed.status_code == 200 and changed.json()["courier"] == "SF"
    assert changed.headers["ETag"] == '"2"'
    assert voided.status_code == 200 and voided.json()["status"] == "void"
    assert [h["version"] for h in history.json()] == [1, 2, 3]
    assert [e["version"] for e in events.json()] == [1, 2, 3]
    assert as_of.json()["version"] == 1 and "courier" not in as_of.json()
    assert read.headers["Content-Type"] == "application/json"
    assert read.headers["X-Request-Id"]


def test_a_stale_if_match_is_412_and_writes_nothing(api: Api) -> None:
    invoice = new_invoice(api, new_customer(api)["id"])
    api.patch(f"/api/invoices/{invoice['id']}", json={"courier": "EMS"})

    stale = api.patch(f"/api/invoices/{invoice['id']}", json={"courier": "SF"},
                      headers={"If-Match": '"1"'})
    stale_void = api.post(f"/api/invoices/{invoice['id']}/void", json={"reason": "x"},
                          headers={"If-Match": '"1"'})
    after = api.get(f"/api/invoices/{invoice['id']}").json()

    assert stale.status_code == 412 and problem(stale)["errors"] == {"current_version": 2}
    assert stale_void.status_code == 412
    assert after["version"] == 2 and after["courier"] == "EMS" and after["status"] == "active"


def test_a_malformed_if_match_is_400(api: Api) -> None:
    invoice = new_invoice(api, new_customer(api)["id"])

    response = api.patch(f"/api/invoices/{invoice['id']}", json={"courier": "SF"},
                         headers={"If-Match": "3"})

    assert response.status_code == 400 and "If-Match" in problem(response)["errors"]


def test_a_matching_if_none_match_is_304(api: Api) -> None:
    invoice = new_invoice(api, new_customer(api)["id"])

    response = api.get(f"/api/invoices/{invoice['id']}", headers={"If-None-Match": '"1"'})

    assert response.status_code == 304 and response.headers["ETag"] == '"1"'


def test_contract_errors_map_to_their_statuses(api: Api, gateway: Any) -> None:
    customer = new_customer(api)
    sales = Api.as_user(gateway.url, roles=["sales"])
    auditor = Api.as_user(gateway.url, roles=["auditor"])
    number = unique("NO")
    new_invoice(api, customer["id"], invoice_no=number)

    invalid = api.post("/api/invoices", json=invoice_data(customer["id"], amount="-1", title=""))
    missing = api.get("/api/invoices/inv_doesnotexist")
    taken = api.post("/api/invoices", json=invoice_data(customer["id"], invoice_no=number))
    forbidden = auditor.post("/api/invoices", json=invoice_data(customer["id"]))
    not_void = sales.post(f"/api/invoices/{new_invoice(sales, customer['id'])['id']}/void",
                          json={"reason": "x"})

    assert invalid.status_code == 422
    assert set(problem(invalid)["errors"]) >= {"amount", "title"}
    assert missing.status_code == 404 and problem(missing)["title"] == "Not Found"
    assert taken.status_code == 409 and problem(taken)["title"] == "Conflict"
    assert forbidden.status_code == 403 and problem(forbidden)["title"] == "Forbidden"
    assert not_void.status_code == 403


def test_a_body_that_is_not_json_or_not_declared_json_is_400(api: Api) -> None:
    customer = new_customer(api)

    broken = api.post("/api/invoices", data=b'{"title": ', headers={"Content-Type": "application/json"})
    form = api.post("/api/invoices", data={"title": "x"})
    array = api.post("/api/invoices", json=[invoice_data(customer["id"])])

    assert broken.status_code == 400 and "JSON" in problem(broken)["detail"]
    assert form.status_code == 400 and problem(form)["title"] == "Bad Request"
    assert array.status_code == 400


def test_an_oversize_body_is_refused_with_413_before_it_is_read(api: Api, gateway: Any) -> None:
    import socket
    host, port = "127.0.0.1", gateway.port
    token = api.http.headers["Authorization"]
    with socket.create_connection((host, port), timeout=10) as sock:
        # announce 50 MB but send only the headers: the answer must come anyway
        sock.sendall((f"POST /api/invoices HTTP/1.1\r\nHost: {host}\r\n"
                      f"Authorization: {token}\r\nContent-Type: application/json\r\n"
                      f"Content-Length: {50 * 1024 * 1024}\r\n\r\n").encode())
        answer = sock.recv(4096).decode(errors="replace")

    small_but_over = api.post("/api/invoices", data=b" " * (1024 * 1024 + 1),
                              headers={"Content-Type": "application/json"})

    assert answer.startswith("HTTP/1.1 413")
    assert small_but_over.status_code == 413 and problem(small_but_over)["status"] == 413


def test_invoices_are_listed_searched_and_counted_by_query_parameters(api: Api, admin: Any) -> None:
    customer = new_customer(api)
    first = new_invoice(api, customer["id"], issued_on="2026-02-03", type="receipt")
    second = new_invoice(api, customer["id"], issued_on="2026-02-20", type="vat_special")
    settled(admin)

    listed = api.get("/api/invoices", params={"customer_id": customer["id"], "limit": 1})
    page_two = api.get("/api/invoices", params={"customer_id": customer["id"], "limit": 1,
                                                "cursor": listed.json()["next_cursor"]})
    typed = api.get("/api/invoices", params={"customer_id": customer["id"], "type": "receipt"})
    ranged = api.get("/api/invoices", params={"customer_id": customer["id"],
                                              "issued_from": "2026-02-10", "issued_to": "2026-02-28"})
    searched = api.post("/api/invoices/search", json={"filters": [
        {"field": "customer_id", "op": "eq", "value": customer["id"]}], "sort": [
        {"field": "issued_on", "dir": "asc"}]})
    stats = api.get("/api/stats", params={"customer_id": customer["id"], "group_by": "type,month"})
    calendar = api.get("/api/calendar/2026/2", params={"customer_id": customer["id"]})

    assert listed.status_code == 200 and listed.json()["total"] == 2
    assert [i["id"] for i in listed.json()["items"] + page_two.json()["items"]] == [second["id"], first["id"]]
    assert [i["id"] for i in typed.json()["items"]] == [first["id"]]
    assert [i["id"] for i in ranged.json()["items"]] == [second["id"]]
    assert [i["id"] for i in searched.json()["items"]] == [first["id"], second["id"]]
    assert {(r["type"], r["month"], r["count"]) for r in stats.json()["rows"]} == {
        ("receipt", "2026-02", 1), ("vat_special", "2026-02", 1)}
    no_tax = {"count": 1, "amount": "30000.00", "tax_amount": "0.00",  # issue 15's tax sums
              "amount_excluding_tax": "30000.00"}
    assert calendar.json() == [{"date": "2026-02-03", **no_tax}, {"date": "2026-02-20", **no_tax}]


def test_bad_query_parameters_are_422_naming_them(api: Api) -> None:
    bad_limit = api.get("/api/invoices", params={"limit": "lots"})
    bad_date = api.get("/api/invoices", params={"issued_from": "2026-02-30"})
    unknown = api.get("/api/invoices", params={"colour": "red"})
    bad_query = api.post("/api/invoices/search", json={"filters": [{"field": "x", "op": "$where"}]})

    assert bad_limit.status_code == 422 and "limit" in problem(bad_limit)["errors"]
    assert bad_date.status_code == 422 and "issued_from" in problem(bad_date)["errors"]
    assert unknown.status_code == 422 and "colour" in problem(unknown)["errors"]
    assert bad_query.status_code == 422


def test_a_sales_user_cannot_reach_another_owners_invoice(gateway: Any, api: Api, admin: Any) -> None:
    owner = Api.as_user(gateway.url, roles=["sales"], sub=f"s-{uuid.uuid4().hex[:6]}")
    other = Api.as_user(gateway.url, roles=["sales"], sub=f"s-{uuid.uuid4().hex[:6]}")
    customer = new_customer(api)
    invoice = new_invoice(owner, customer["id"], title="别人的发票")
    settled(admin)

    by_id = other.get(f"/api/invoices/{invoice['id']}")
    listed = other.get("/api/invoices", params={"customer_id": customer["id"]})
    exported = other.get("/api/invoices/export.csv", params={"customer_id": customer["id"]})
    history = other.get(f"/api/invoices/{invoice['id']}/history")
    own_list = owner.get("/api/invoices", params={"customer_id": customer["id"]})

    assert by_id.status_code == 404
    assert listed.json()["items"] == [] and listed.json()["total"] == 0
    assert exported.status_code == 200 and invoice["id"] not in exported.text
    assert exported.text.lstrip("\ufeff").count("\n") == 1       # the header only
    assert history.status_code in (403, 404)
    assert [i["id"] for i in own_list.json()["items"]] == [invoice["id"]]


def test_audit_verify_answers_for_one_invoice(api: Api) -> None:
    invoice = new_invoice(api, new_customer(api)["id"])

    verified = api.get("/api/audit/verify", params={"invoice_id": invoice["id"]})

    assert verified.status_code == 200 and verified.json()["ok"] is True
