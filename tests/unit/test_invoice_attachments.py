"""Attachments over RPC: type from the content, size limit, the hash in the chain,
verify catches a changed or missing file, removal hidden but kept."""
from __future__ import annotations

import base64
import io
import zipfile
from typing import Any

import pytest

from invoice.domain.attachments import MAX_SIZE, sniff
from invoice.schemas import AttachmentInput
from shared.auth import Actor
from shared.errors import Conflict, NotFound, ValidationError
from shared.schemas import load
from tests.support.fakes import InMemoryAttachmentStore
from tests.unit.test_invoice_application import ADMIN, World, values

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 20
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20


def ofd() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("OFD.xml", "<ofd:OFD xmlns:ofd='http://www.ofdspec.org/2016'/>")
        archive.writestr("Doc_0/Document.xml", "<ofd:Document/>")
    return buffer.getvalue()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hi")
    return buffer.getvalue()


@pytest.mark.parametrize("content,kind", [
    (PDF, "application/pdf"), (PNG, "image/png"), (JPEG, "image/jpeg"), (ofd(), "application/ofd"),
])
def test_the_type_comes_from_the_content(content: bytes, kind: str) -> None:
    assert sniff(content) == kind


@pytest.mark.parametrize("content,reason", [
    (b"MZ\x90\x00\x03" + b"\x00" * 40, "executable"),
    (b"\x7fELF\x02\x01\x01" + b"\x00" * 40, "executable"),
    (b"#!/bin/sh\nrm -rf /\n", "executable"),
    (b"\xcf\xfa\xed\xfe" + b"\x00" * 40, "executable"),
    (plain_zip(), "PDF, OFD, JPEG or PNG"),
    (b"hello", "PDF, OFD, JPEG or PNG"),
    (b"", "empty"),
])
def test_executables_and_other_content_are_refused(content: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        sniff(content)


class AttachWorld(World):
    def __init__(self) -> None:
        super().__init__()
        self.files = InMemoryAttachmentStore()

    def app_as(self, actor: Any) -> Any:
        app = super().app_as(actor)
        app.attachments = self.files
        return app


@pytest.fixture
def world() -> AttachWorld:
    return AttachWorld()


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


def test_a_pdf_named_file_with_png_content_is_stored_as_png_and_hashed_into_the_chain(
        world: AttachWorld) -> None:
    app = world.app_as(ADMIN)
    invoice = app.create_invoice(values())

    added = app.add_attachment(invoice["id"], "scan.pdf", PNG)

    assert added["content_type"] == "image/png" and added["size"] == len(PNG)
    event = world.log.events[-1]
    assert event["type"] == "InvoiceAttachmentAdded"
    assert event["data"]["sha256"] == added["sha256"] and event["data"]["filename"] == "scan.pdf"
    assert world.files.get(added["attachment_id"]) == PNG
    assert [a["attachment_id"] for a in app.list_attachments(invoice["id"])] == [added["attachment_id"]]


def test_an_executable_or_an_oversized_file_is_refused_and_nothing_is_written(world: AttachWorld) -> None:
    app = world.app_as(ADMIN)
    invoice = app.create_invoice(values())
    before = len(world.log.events)

    with pytest.raises(ValidationError) as error:
        app.add_attachment(invoice["id"], "invoice.pdf", b"MZ" + b"\x00" * 100)
    assert "content" in error.value.messages
    with pytest.raises(ValidationError) as error:
        app.add_attachment(invoice["id"], "big.pdf", PDF + b"\x00" * MAX_SIZE)
    assert "content" in error.value.messages
    assert len(world.log.events) == before and world.files.files == {}


def test_the_base64_input_is_checked_before_decoding_a_too_large_body() -> None:
    too_long = "A" * (MAX_SIZE * 4 // 3 + 8)

    with pytest.raises(ValidationError) as error:
        load(AttachmentInput(), {"filename": "a.pdf", "content_base64": too_long})

    assert "content_base64" in error.value.messages
    with pytest.raises(ValidationError) as error:
        load(AttachmentInput(), {"filename": "a.pdf", "content_base64": "not base64!"})
    assert "content_base64" in error.value.messages
    with pytest.raises(ValidationError) as error:
        load(AttachmentInput(), {"filename": "../etc/passwd", "content_base64": b64(PDF)})
    assert "filename" in error.value.messages


def test_verify_reports_a_changed_and_a_missing_file(world: AttachWorld) -> None:
    app = world.app_as(ADMIN)
    invoice = app.create_invoice(values())
    changed = app.add_attachment(invoice["id"], "a.pdf", PDF)
    missing = app.add_attachment(invoice["id"], "b.png", PNG)
    assert app.verify(invoice["id"])["ok"]

    world.files.files[changed["attachment_id"]] = PDF + b"tampered"
    del world.files.files[missing["attachment_id"]]
    report = app.verify(invoice["id"])
    everything = app.verify(None)

    assert not report["ok"]
    reasons = {b["attachment_id"]: b["reason"] for b in report["broken"]}
    assert "changed" in reasons[changed["attachment_id"]]
    assert "missing" in reasons[missing["attachment_id"]]
    assert {b.get("attachment_id") for b in everything["broken"]} >= set(reasons)


def test_a_removed_attachment_is_hidden_but_kept_for_auditors(world: AttachWorld) -> None:
    app = world.app_as(ADMIN)
    invoice = app.create_invoice(values())
    added = app.add_attachment(invoice["id"], "a.pdf", PDF)

    app.remove_attachment(invoice["id"], added["attachment_id"])

    assert app.list_attachments(invoice["id"]) == []
    kept = app.list_attachments(invoice["id"], include_removed=True)
    assert kept[0]["removed"] is True and world.files.get(added["attachment_id"]) == PDF
    assert world.log.events[-1]["type"] == "InvoiceAttachmentRemoved"
    with pytest.raises(Conflict):
        app.remove_attachment(invoice["id"], added["attachment_id"])
    with pytest.raises(NotFound):
        app.remove_attachment(invoice["id"], "att_missing")
    assert app.verify(invoice["id"])["ok"]


def test_get_attachment_gives_the_bytes_within_view_scope_only(world: AttachWorld) -> None:
    alice = world.app_as(Actor("alice", "Alice", "east", ("sales",)))
    invoice = alice.create_invoice(values())
    added = alice.add_attachment(invoice["id"], "scan.pdf", PNG)
    hidden = alice.add_attachment(invoice["id"], "old.pdf", PDF)
    alice.remove_attachment(invoice["id"], hidden["attachment_id"])

    found = alice.get_attachment(invoice["id"], added["attachment_id"])

    assert found["content"] == PNG and found["content_type"] == "image/png"
    assert found["filename"] == "scan.pdf" and found["sha256"] == added["sha256"]
    for attachment_id in (hidden["attachment_id"], "att_missing"):
        with pytest.raises(NotFound):
            alice.get_attachment(invoice["id"], attachment_id)
    with pytest.raises(NotFound):   # another owner's invoice: as if it did not exist
        world.app_as(Actor("bob", "Bob", "east", ("sales",))).get_attachment(
            invoice["id"], added["attachment_id"])
    del world.files.files[added["attachment_id"]]
    with pytest.raises(NotFound):
        alice.get_attachment(invoice["id"], added["attachment_id"])
