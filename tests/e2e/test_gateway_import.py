"""Bulk import through the gateway: a dry run with mixed rows, a commit, a re-send that
creates nothing twice, a job whose gateway was killed with -9 mid-run resumed by the next,
jobs with progress and paged rows, exports imported back, and bad files refused
naming the field ``file``."""
from __future__ import annotations

import csv
import io
import json
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from pymongo import MongoClient

from gateway.export import COLUMNS
from tests.e2e.search_support import settled
from tests.support.actors import token_for
from tests.support.factories import contract_data, customer_data, invoice_data, unique
from tests.support.gateway import TEST_ACCOUNTS, Api, GatewayProcess, problem
from tests.support.infra import wait_for

IMPORT = "/api/invoices/import"
HEADER = ["external_id", *COLUMNS]


def csv_file(rows: list[dict[str, str]], header: list[str] = HEADER) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def row(customer: dict[str, Any], **overrides: str) -> dict[str, str]:
    return {"external_id": unique("erp"), "title": "导入的发票", "type": "receipt",
            "amount": "100.50", "issued_on": "2026-04-02", "customer_name": customer["name"],
            **overrides}


def send(api: Api, content: bytes, commit: bool = False, name: str = "invoices.csv") -> Any:
    return api.post(IMPORT, params={"commit": "true"} if commit else None,
                    files={"file": (name, content, "text/csv")})


def invoices_of(api: Api, admin: Any, customer_id: str) -> list[dict[str, Any]]:
    settled(admin, timeout=120)
    return api.get("/api/invoices", params={"customer_id": customer_id, "limit": 500}).json()["items"]


def finished(api: Api, location: str, timeout: float = 120) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        job = api.get(location, params={"limit": 1}).json()
        return job if job["status"] in ("done", "failed") else None
    return wait_for(done, timeout=timeout, interval=1.0, message="the import job to finish")


@pytest.fixture
def customer(api: Api) -> dict[str, Any]:
    found = api.post("/api/customers", json=customer_data(name=unique("导入客户"))).json()
    found["contract"] = api.post("/api/contracts", json=contract_data(found["id"])).json()
    return found


def test_a_dry_run_answers_every_row_by_field_and_creates_nothing(
        api: Api, admin: Any, customer: dict[str, Any]) -> None:
    contract = customer["contract"]
    repeated = unique("erp")
    rows = [
        row(customer, external_id=repeated, contract_number=contract["number"]),
        row(customer, customer_name="", customer_id=customer["id"], title="'=SUM(A1) 公式"),
        row(customer, amount="-5", issued_on="2026-02-30"),
        row(customer, customer_name="没有这个客户"),
        row(customer, external_id=repeated),
        row(customer, contract_number="HT-none"),
        row(customer, type="vat_special"),
    ]

    answer = send(api, csv_file(rows))

    assert answer.status_code == 200, answer.text
    job = answer.json()
    assert (job["status"], job["commit"], job["total"], job["processed"]) == ("done", False, 7, 7)
    results = job["rows"]
    assert [r["status"] for r in results] == ["ok", "ok", "error", "error", "error", "error", "error"]
    assert [r["line"] for r in results] == [2, 3, 4, 5, 6, 7, 8]
    assert set(results[2]["errors"]) == {"amount", "issued_on"}
    assert list(results[3]["errors"]) == ["customer_name"]
    assert results[4]["errors"] == {"external_id": ["repeats row 2 of this file"]}
    assert list(results[5]["errors"]) == ["contract_number"]
    assert {"buyer_name", "buyer_tax_id"} <= set(results[6]["errors"])   # vat_special requires them
    assert results[1]["values"]["title"] == "=SUM(A1) 公式"             # the export's defusing undone
    assert job["summary"] == {"ok": 2, "created": 0, "skipped": 0, "error": 5}
    assert invoices_of(api, admin, customer["id"]) == []


def test_a_commit_creates_the_valid_rows_and_sending_it_again_creates_nothing_twice(
        api: Api, admin: Any, customer: dict[str, Any]) -> None:
    rows = [row(customer, title=f"导入 {n}", contract_number=customer["contract"]["number"])
            for n in range(3)] + [row(customer, amount="abc")]
    content = csv_file(rows)

    first = send(api, content, commit=True).json()
    again = send(api, content, commit=True).json()

    assert [r["status"] for r in first["rows"]] == ["created", "created", "created", "error"]
    assert [r["status"] for r in again["rows"]] == ["skipped", "skipped", "skipped", "error"]
    assert [r["invoice_id"] for r in again["rows"][:3]] == [r["invoice_id"] for r in first["rows"][:3]]
    stored = invoices_of(api, admin, customer["id"])
    assert sorted(i["title"] for i in stored) == ["导入 0", "导入 1", "导入 2"]
    assert {i["contract_id"] for i in stored} == {customer["contract"]["id"]}
    one = api.get(f"/api/invoices/{first['rows'][0]['invoice_id']}").json()
    assert (one["amount"], one["number"]) == ("100.50", first["rows"][0]["number"])


VAT_LINES = [{"name": "软件", "spec": "v1", "unit": "套", "quantity": "2", "unit_price": "50.00",
              "amount": "100.00", "tax_rate": "0.13"},
             {"name": "服务", "spec": "", "unit": "次", "quantity": "1", "unit_price": "10.60",
              "amount": "10.60", "tax_rate": "0.06"}]


def test_an_export_imports_back_as_csv_and_as_xlsx(api: Api, admin: Any, customer: dict[str, Any]) -> None:
    for n in range(2):
        made = api.post("/api/invoices", json=invoice_data(customer["id"], title=f"导出 {n}",
                                                           type="receipt", amount=f"{n + 1}.25"))
        assert made.status_code == 201, made.text
    vat = api.post("/api/invoices", json=invoice_data(
        customer["id"], title="导出 专票", amount="110.60", issued_on="2026-03-01",
        buyer_address_phone="福州市 0591-1234567", buyer_bank_account="工行 1234", tax_rate="mixed",
        lines=VAT_LINES))
    assert vat.status_code == 201, vat.text
    settled(admin)
    exported_csv = api.get("/api/invoices/export.csv", params={"customer_id": customer["id"]})
    exported_xlsx = api.get("/api/invoices/export.xlsx", params={"customer_id": customer["id"]})

    from_csv = send(api, exported_csv.content).json()
    from_xlsx = api.post(IMPORT, files={"file": ("x.xlsx", exported_xlsx.content)}).json()

    for job in (from_csv, from_xlsx):
        assert [r["status"] for r in job["rows"]] == ["ok", "ok", "ok"], job["rows"]
        assert job["ignored_columns"] == []
        values = job["rows"][-1]["values"]
        assert (values["buyer_tax_id"], values["buyer_bank_account"], values["tax_rate"]) == (
            "91350100M000100Y43", "工行 1234", "mixed")
        assert [line["amount"] for line in json.loads(values["lines"])] == ["100.00", "10.60"]
    assert (from_csv["format"], from_xlsx["format"]) == ("csv", "xlsx")
    assert {r["values"]["amount"] for r in from_xlsx["rows"]} == {"1.25", "2.25", "110.6"}


def test_a_bad_file_is_refused_naming_the_field(api: Api, customer: dict[str, Any]) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    not_a_workbook = b"PK\x03\x04" + b"\0" * 64
    no_amount = csv_file([row(customer)], [c for c in HEADER if c != "amount"])
    header_only = csv_file([])

    answers = [send(api, png, name="x.csv"), send(api, not_a_workbook, name="x.xlsx"),
               send(api, no_amount), send(api, header_only),
               api.post(IMPORT, files={"other": ("x.csv", csv_file([row(customer)]))})]

    for answer in answers:
        assert answer.status_code == 422 and list(problem(answer)["errors"]) == ["file"], answer.text
    assert "amount" in problem(answers[2])["errors"]["file"][0]


def test_more_than_20_mb_is_refused_from_content_length_before_the_body_is_read(gateway: Any) -> None:
    url = urlsplit(gateway.url)
    head = (f"POST {IMPORT} HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Authorization: {token_for(roles=['admin'], sub='admin-1')}\r\n"
            "Content-Type: multipart/form-data; boundary=x\r\n"
            f"Content-Length: {21 * 1024 * 1024}\r\nConnection: close\r\n\r\n")

    with socket.create_connection((url.hostname, url.port), timeout=20) as conn:
        conn.sendall(head.encode() + b"--x\r\n" + b"\0" * 1024)
        answer = b""
        while b"\r\n\r\n" not in answer and (chunk := conn.recv(4096)):
            answer += chunk
        while b'"errors"' not in answer and (chunk := conn.recv(4096)):
            answer += chunk

    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"file"' in answer


def test_an_auditor_may_not_import(gateway: Any, customer: dict[str, Any]) -> None:
    auditor = Api.as_user(gateway.url, roles=["auditor"], sub=unique("auditor"))

    answer = send(auditor, csv_file([row(customer)]))

    assert answer.status_code == 403
    auditor.close()


# -- jobs: a gateway answering at most 5 rows at once, 10 rows per batch --------------
@pytest.fixture
def job_gateway(system: Any, users_file: Any) -> Iterator[GatewayProcess]:
    process = GatewayProcess(system.env, system.log_dir, users_file,
                             GATEWAY_IMPORT_SYNC_ROWS="5", GATEWAY_IMPORT_BATCH_ROWS="10",
                             GATEWAY_IMPORT_STALE_SECONDS="5").start()
    yield process
    process.stop()


def test_a_large_file_runs_as_a_job_with_progress_and_paged_rows(
        job_gateway: GatewayProcess, customer: dict[str, Any]) -> None:
    api = Api.as_user(job_gateway.url, roles=["admin"], sub="admin-1")
    other = Api.as_user(job_gateway.url, roles=["admin"], sub=unique("admin"))
    rows = [row(customer, amount="0" if n % 10 == 3 else "1.00") for n in range(42)]

    started = send(api, csv_file(rows))
    job = finished(api, started.headers["Location"])
    first = api.get(started.headers["Location"], params={"limit": 25}).json()
    second = api.get(started.headers["Location"], params={"offset": first["next_offset"]}).json()
    errors = api.get(started.headers["Location"], params={"status": "error"}).json()

    assert started.status_code == 202 and started.json()["id"] == job["id"]
    assert started.headers["Location"] == f"/api/imports/{job['id']}"
    assert (job["status"], job["processed"], job["total"]) == ("done", 42, 42)
    assert job["summary"] == {"ok": 38, "created": 0, "skipped": 0, "error": 4}
    assert [r["index"] for r in first["rows"]] == list(range(25)) and first["next_offset"] == 25
    assert [r["index"] for r in second["rows"]] == list(range(25, 42)) and second["next_offset"] is None
    assert [r["line"] for r in errors["rows"]] == [5, 15, 25, 35]
    assert other.get(started.headers["Location"]).status_code == 404   # someone else's job
    api.close()
    other.close()


def stored_owners(mongo_server: Any, customer_id: str) -> list[tuple[str, str]]:
    """``(title, owner_id)`` from the invoice service's own state documents (the truth,
    not a projection)."""
    client: MongoClient[Any] = MongoClient(mongo_server.url)
    try:
        found = client["e2e_invoice"]["invoices"].find({"customer_id": customer_id},
                                                       {"title": 1, "owner_id": 1})
        return [(doc["title"], doc.get("owner_id")) for doc in found]
    finally:
        client.close()


@pytest.mark.timeout(600)
def test_an_import_killed_mid_run_resumes_on_restart_and_creates_each_row_once(
        system: Any, users_file: Any, job_gateway: GatewayProcess, mongo_server: Any,
        customer: dict[str, Any]) -> None:
    # 100 rows in batches of 10, every other one without an external_id: the kill lands once
    # 2 batches are stored, up to 8 to go (a job that finished first fails ``resumed`` below)
    total = 100
    content = csv_file([row(customer, title=f"续传 {n}",
                            external_id=f"{customer['id']}-{n}" if n % 2 else "")
                        for n in range(total)])
    first_api = Api(job_gateway.url)
    assert first_api.login("admin").status_code == 303   # a person: the job runs on as them
    first_api.http.headers["X-CSRF-Token"] = str(first_api.csrf_token)
    started = send(first_api, content, commit=True)
    location = started.headers["Location"]
    wait_for(lambda: first_api.get(location, params={"limit": 1}).json()["processed"] >= 20,
             timeout=120, interval=0.05, message="the job to be under way")

    job_gateway.kill9()
    restarted = GatewayProcess(system.env, system.log_dir, users_file,
                               GATEWAY_IMPORT_SYNC_ROWS="5", GATEWAY_IMPORT_STALE_SECONDS="5").start()
    try:
        second_api = Api(restarted.url)
        assert second_api.login("admin").status_code == 303
        resumed = finished(second_api, location, timeout=120)
        rows = second_api.get(location, params={"limit": total}).json()["rows"]
    finally:
        restarted.stop()

    assert resumed["status"] == "done" and resumed["resumed"] == 1, resumed
    assert (resumed["processed"], resumed["summary"]["error"]) == (total, 0)
    assert resumed["summary"]["created"] + resumed["summary"]["skipped"] == total
    assert [r["index"] for r in rows] == list(range(total))
    assert all(r.get("invoice_id") for r in rows), rows
    owners = stored_owners(mongo_server, customer["id"])
    assert sorted(title for title, _ in owners) == sorted(f"续传 {n}" for n in range(total))
    assert {owner for _, owner in owners} == {TEST_ACCOUNTS["admin"]["sub"]}


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_ten_thousand_rows_dry_run_as_a_job(api: Api, customer: dict[str, Any]) -> None:
    rows = [row(customer, amount=f"{1 + n % 97}.00", issued_on=f"2026-{1 + n % 12:02d}-10")
            for n in range(10_000)]
    rows[9_999]["amount"] = "x"

    started = send(api, csv_file(rows))
    began = time.monotonic()
    job = finished(api, started.headers["Location"], timeout=1080)

    assert started.status_code == 202
    assert (job["status"], job["processed"]) == ("done", 10_000), job
    assert job["summary"]["ok"] == 9_999 and job["summary"]["error"] == 1
    errors = api.get(started.headers["Location"], params={"status": "error"}).json()["rows"]
    assert [(r["line"], list(r["errors"])) for r in errors] == [(10_001, ["amount"])]
    print(f"10,000-row dry run: {time.monotonic() - began:.1f} s")
