"""Attachments through the gateway: upload (multipart, type from the content, 10 MB on
this route only), list, download (scope checked), remove."""
from __future__ import annotations

import io
import json
import socket
import zipfile
from typing import Any
from urllib.parse import urlsplit

from tests.support.actors import token_for
from tests.support.factories import customer_data, invoice_data, unique
from tests.support.gateway import Api, problem

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def attachments(invoice_id: str) -> str:
    return f"/api/invoices/{invoice_id}/attachments"


def test_an_attachment_is_uploaded_listed_downloaded_and_removed(api: Api, gateway: Any) -> None:
    owner = Api.as_user(gateway.url, roles=["sales"], sub=unique("owner"))
    other = Api.as_user(gateway.url, roles=["sales"], sub=unique("other"))
    customer = api.post("/api/customers", json=customer_data()).json()
    invoice = owner.post("/api/invoices", json=invoice_data(customer["id"])).json()

    added = owner.post(attachments(invoice["id"]), files={"file": ("发票.pdf", PNG, "application/pdf")})
    attachment = added.json()
    listed = owner.get(attachments(invoice["id"]))
    download = owner.get(added.headers["Location"])
    by_other = other.get(added.headers["Location"])
    browser = Api(gateway.url)
    assert browser.login("admin").status_code == 303
    panel = browser.get(f"/invoices/{invoice['id']}")
    via_session = browser.get(added.headers["Location"])
    executable = owner.post(attachments(invoice["id"]), files={"file": ("setup.pdf", b"MZ" + b"\0" * 64)})
    no_file = owner.post(attachments(invoice["id"]), files={"other": ("x.png", PNG)})
    other_removes = other.request("DELETE", added.headers["Location"])
    removed = owner.request("DELETE", added.headers["Location"])
    after = owner.get(attachments(invoice["id"]))
    gone = owner.get(added.headers["Location"])

    assert added.status_code == 201, added.text
    assert attachment["filename"] == "发票.pdf" and attachment["content_type"] == "image/png"
    assert attachment["size"] == len(PNG)
    assert [a["attachment_id"] for a in listed.json()] == [attachment["attachment_id"]]
    assert download.status_code == 200 and download.content == PNG
    assert download.headers["Content-Type"] == "image/png"
    assert download.headers["Content-Disposition"].startswith("attachment; filename*=UTF-8''")
    assert by_other.status_code == 404 and problem(by_other)["status"] == 404
    link = f'href="{added.headers["Location"]}" download="发票.pdf">发票.pdf</a>'
    assert panel.status_code == 200 and link in panel.text
    assert via_session.content == PNG   # the link works with a session
    assert executable.status_code == 422 and "content" in problem(executable)["errors"]
    assert no_file.status_code == 422 and "file" in problem(no_file)["errors"]
    assert other_removes.status_code == 404
    assert removed.status_code == 200 and removed.json()["attachments"] == []
    assert after.json() == [] and gone.status_code == 404
    assert 'data-attachment-id=' not in browser.get(f"/invoices/{invoice['id']}").text
    browser.close()


def test_more_than_10_mb_is_refused_from_content_length_before_the_body_is_read(
        api: Api, gateway: Any) -> None:
    customer = api.post("/api/customers", json=customer_data()).json()
    invoice = api.post("/api/invoices", json=invoice_data(customer["id"])).json()
    url = urlsplit(gateway.url)
    head = (f"POST {attachments(invoice['id'])} HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Authorization: {token_for(roles=['admin'], sub='admin-1')}\r\n"
            "Content-Type: multipart/form-data; boundary=x\r\n"
            f"Content-Length: {11 * 1024 * 1024}\r\nConnection: close\r\n\r\n")

    with socket.create_connection((url.hostname, url.port), timeout=20) as conn:
        conn.sendall(head.encode() + b"--x\r\n" + b"\0" * 1024)   # 1 KB of the 11 MB announced
        answer = b""
        while b"\r\n\r\n" not in answer and (chunk := conn.recv(4096)):
            answer += chunk

    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    head_end = answer.index(b"\r\n\r\n") + 4
    with socket.create_connection((url.hostname, url.port), timeout=20) as conn:
        conn.sendall(head.encode() + b"--x\r\n" + b"\0" * 1024)
        while chunk := conn.recv(4096):
            answer += chunk
    refusal = json.loads(answer[answer.index(b"\r\n\r\n", head_end) + 4:])
    assert "file" in refusal["errors"]   # the pages name the form field they sent
    # over the global 1 MB, within this route's 10 MB: taken
    scan = PNG + b"\0" * (3 * 1024 * 1024)
    taken = api.post(attachments(invoice["id"]), files={"file": ("scan.png", scan)})
    assert taken.status_code == 201 and taken.json()["size"] == len(scan)
    assert api.get(taken.headers["Location"]).content == scan
    # the 10 MB limit is this route's only: JSON elsewhere still has the global 1 MB
    big_json = api.post("/api/invoices", data=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                        headers={"Content-Type": "application/json"})
    assert big_json.status_code == 413


def ofd() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("OFD.xml", "<ofd:OFD xmlns:ofd='http://www.ofdspec.org/2016'/>")
    return buffer.getvalue()


def test_inline_shows_a_pdf_or_image_in_the_browser_and_keeps_the_scope_check(
        api: Api, gateway: Any) -> None:
    owner = Api.as_user(gateway.url, roles=["sales"], sub=unique("owner"))
    other = Api.as_user(gateway.url, roles=["sales"], sub=unique("other"))
    customer = api.post("/api/customers", json=customer_data()).json()
    invoice = owner.post("/api/invoices", json=invoice_data(customer["id"])).json()
    pdf = b"%PDF-1.4\n%%EOF\n"
    image = owner.post(attachments(invoice["id"]), files={"file": ("扫描.png", PNG)}).headers["Location"]
    document = owner.post(attachments(invoice["id"]), files={"file": ("发票.pdf", pdf)}).headers["Location"]
    package = owner.post(attachments(invoice["id"]), files={"file": ("发票.ofd", ofd())}).headers["Location"]

    shown_image = owner.get(image + "?inline=1")
    shown_pdf = owner.get(document + "?inline=true")
    not_shown = owner.get(package + "?inline=1")
    by_other = other.get(document + "?inline=1")
    bad_flag = owner.get(document + "?inline=maybe")
    unknown = owner.get(document + "?preview=1")

    assert shown_image.status_code == 200 and shown_image.content == PNG
    assert shown_image.headers["Content-Disposition"] == "inline; filename*=UTF-8''%E6%89%AB%E6%8F%8F.png"
    assert shown_pdf.headers["Content-Type"] == "application/pdf" and shown_pdf.content == pdf
    assert shown_pdf.headers["Content-Disposition"].startswith("inline; ")
    assert shown_pdf.headers["X-Content-Type-Options"] == "nosniff"
    # a type the browser does not show itself is still saved, never displayed
    assert not_shown.headers["Content-Type"] == "application/ofd"
    assert not_shown.headers["Content-Disposition"].startswith("attachment; ")
    assert by_other.status_code == 404
    assert bad_flag.status_code == 422 and "inline" in problem(bad_flag)["errors"]
    assert unknown.status_code == 422
