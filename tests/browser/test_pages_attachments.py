"""Attachments in the detail panel, in a real browser: upload with the file input and by
dropping a file on the drop zone, an image previewed inline and a PDF in a frame (both
through the download route), a refused file's error in the page's language, removal,
and no upload or removal for who may only read. (Named to run after test_pages.py: the
invoices it creates stay out of that file's counts.)"""
from __future__ import annotations

import base64
import struct
import zlib
from pathlib import Path
from typing import Any

from tests.browser.conftest import Web
from tests.support.factories import unique

CSS = "css selector"


def png(width: int = 3, height: int = 2) -> bytes:
    """A real (decodable) PNG of red pixels: the thumbnail must load, not just exist."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\0" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
       b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
       b"trailer<</Root 1 0 R>>\n%%EOF\n")

DROP = """
var zone = document.getElementById("attachment-upload"), bytes = arguments[0];
var data = new DataTransfer();
data.items.add(new File([new Uint8Array(bytes)], arguments[1], {type: "application/pdf"}));
["dragenter", "dragover", "drop"].forEach(function (type) {
  zone.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: data}));
});
"""


def listed(web: Web) -> dict[str, Any]:
    """The attachments the panel lists, by file name."""
    return {li.get_attribute("data-filename"): li for li in web.all("#attachments li[data-attachment-id]")}


def new_invoice(hubs: Any) -> dict[str, Any]:
    customer = hubs["admin"].customer.create_customer({"name": unique("附件测试客户"), "code": unique("C")})
    return hubs["sales"].invoice.create_invoice({  # type: ignore[no-any-return]
        "title": "附件样例", "type": "receipt", "amount": "10.00", "issued_on": "2025-11-03",
        "customer_id": customer["id"]})


def session_get(web: Web, path: str) -> Any:
    import requests
    cookies = {c["name"]: c["value"] for c in web.driver.get_cookies()}
    return requests.get(web.base_url + path, cookies=cookies, timeout=10)


def test_a_png_uploaded_with_the_file_input_shows_as_a_thumbnail_and_can_be_removed(
        web: Web, hubs: Any, tmp_path: Path) -> None:
    invoice = new_invoice(hubs)
    scan = tmp_path / "扫描件.png"
    scan.write_bytes(png())
    web.sign_in("sales")
    web.open(f"/invoices/{invoice['id']}")
    chooser = web.css("#attachment-file")
    assert chooser.is_displayed() and chooser.is_enabled()   # the keyboard's way in

    chooser.send_keys(str(scan))
    item = web.wait(lambda: listed(web).get("扫描件.png"), "the PNG in the list")
    thumb = item.find_element(CSS, "img.attachment-thumb")
    stored = hubs["sales"].invoice.list_attachments(invoice["id"])
    assert [(a["filename"], a["content_type"]) for a in stored] == [("扫描件.png", "image/png")]
    assert thumb.get_attribute("src").endswith(
        f"/api/invoices/{invoice['id']}/attachments/{stored[0]['attachment_id']}?inline=1")
    web.wait(lambda: web.driver.execute_script(
        "return arguments[0].complete && arguments[0].naturalWidth", thumb) == 3, "the thumbnail to load")
    assert not web.css("#attachment-error").is_displayed()
    web.driver.execute_script("arguments[0].scrollIntoView()", web.css("#attachments-title"))
    web.screenshot("invoice-panel-attachments")

    item.find_element(CSS, "button.attachment-remove").click()
    web.driver.switch_to.alert.accept()
    web.wait(lambda: "扫描件.png" not in listed(web), "the PNG to leave the list")
    assert hubs["sales"].invoice.list_attachments(invoice["id"]) == []
    assert web.css("#attachments .empty").is_displayed()


def test_a_pdf_dropped_on_the_drop_zone_is_uploaded_and_previewed_in_a_frame(
        web: Web, hubs: Any) -> None:
    invoice = new_invoice(hubs)
    web.sign_in("sales")
    web.open(f"/invoices/{invoice['id']}")

    web.driver.execute_script(DROP, list(PDF), "电子发票.pdf")
    item = web.wait(lambda: listed(web).get("电子发票.pdf"), "the dropped PDF in the list")
    preview = item.find_element(CSS, "a.attachment-preview")
    inline_url = preview.get_attribute("href")
    preview.click()
    frame = web.wait(lambda: item.find_elements(CSS, "iframe.attachment-frame"), "the PDF's frame")[0]
    web.driver.execute_script("arguments[0].scrollIntoView()", web.css("#attachments-title"))
    web.screenshot("invoice-panel-attachment-pdf")

    assert frame.get_attribute("src") == inline_url and inline_url.endswith("?inline=1")
    shown = session_get(web, inline_url.removeprefix(web.base_url))
    assert shown.status_code == 200 and shown.content == PDF
    assert shown.headers["Content-Type"] == "application/pdf"
    assert shown.headers["Content-Disposition"].startswith("inline;")
    download = item.find_element(CSS, "a[download]").get_attribute("href")
    assert session_get(web, download.removeprefix(web.base_url)).headers[
        "Content-Disposition"].startswith("attachment;")
    [stored] = hubs["sales"].invoice.list_attachments(invoice["id"])
    assert (stored["filename"], stored["content_type"], stored["size"]) == ("电子发票.pdf", "application/pdf",
                                                                            len(PDF))


def test_a_refused_file_shows_the_reason_in_the_pages_language_and_is_not_listed(
        web: Web, hubs: Any, tmp_path: Path) -> None:
    invoice = new_invoice(hubs)
    program = tmp_path / "setup.pdf"
    program.write_bytes(b"MZ" + b"\0" * 64)
    too_big = tmp_path / "big.png"
    too_big.write_bytes(png() + b"\0" * (10 * 1024 * 1024))
    web.sign_in("sales")
    web.open(f"/invoices/{invoice['id']}")

    web.css("#attachment-file").send_keys(str(program))
    error = web.wait(lambda: [e for e in web.all("#attachment-error") if e.is_displayed()],
                     "the refusal")[0]
    assert "setup.pdf" in error.text and "PDF、OFD、JPEG 或 PNG" in error.text
    assert "executable" in error.text     # the service's own reason, naming what was wrong
    web.driver.execute_script("arguments[0].scrollIntoView()", web.css("#attachments-title"))
    web.screenshot("invoice-panel-attachment-refused")

    web.open(f"/invoices/{invoice['id']}?lang=en")
    web.css("#attachment-file").send_keys(str(too_big))
    error = web.wait(lambda: [e for e in web.all("#attachment-error") if e.is_displayed()],
                     "the size refusal")[0]
    assert "big.png" in error.text and "larger than 10 MB" in error.text
    assert listed(web) == {} and hubs["sales"].invoice.list_attachments(invoice["id"]) == []
    web.open(f"/invoices/{invoice['id']}?lang=zh_CN")


def test_who_may_only_read_sees_the_previews_but_no_upload_or_remove(web: Web, hubs: Any) -> None:
    invoice = new_invoice(hubs)
    hubs["sales"].invoice.add_attachment(invoice["id"], "回执.png", base64.b64encode(png()).decode())
    web.sign_in("auditor")
    web.open(f"/invoices/{invoice['id']}")
    item = web.wait(lambda: listed(web).get("回执.png"), "the attachment in the list")
    assert item.find_elements(CSS, "img.attachment-thumb")
    assert not item.find_elements(CSS, "button.attachment-remove")
    assert not web.all("#attachment-upload") and not web.all("#attachment-file")
