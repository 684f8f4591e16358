"""``/api/invoices``: create, read, edit, void, history, events, search, list, export,
stats, calendar, audit. Each route: parse → one service call → render."""
from __future__ import annotations

import base64
from urllib.parse import quote

from werkzeug.wrappers import Request, Response

from gateway import export
from gateway.api.common import (
    create,
    expected_version,
    json_body,
    json_object,
    keyed,
    resource_response,
)
from gateway.http import json_response, params, route
from gateway.hub import ServiceHub
from gateway.idempotency import IdempotencyStore
from gateway.schemas import (
    AttachmentQuery,
    EventsQuery,
    ExportQuery,
    InvoiceGetQuery,
    InvoiceListQuery,
    StatsQuery,
    VerifyQuery,
    VoidBody,
    as_of_arg,
    search_query,
)
from shared.errors import ValidationError

TAG = "invoices"
MB = 1024 * 1024
# An attachment may have 10 MB (the invoice service checks the file itself; the pages
# check it before sending); the form's boundaries and headers get a little more.
ATTACHMENT_MAX_BYTES = 10 * MB
ATTACHMENT_BODY_BYTES = ATTACHMENT_MAX_BYTES + 64 * 1024
# What a browser shows itself (the panel's previews): only these go out ``inline``. The
# stored type was decided from the content, and ``nosniff`` keeps the browser to it.
PREVIEWABLE = ("application/pdf", "image/jpeg", "image/png")


class InvoiceRoutes:
    services: ServiceHub
    idempotency: IdempotencyStore

    @route("POST", "/api/invoices", status=201, body="InvoiceInput", returns="Invoice", tag=TAG)
    def create_invoice(self, request: Request) -> Response:
        """Record an invoice (``invoice.create_invoice``); ``Idempotency-Key`` honoured."""
        body = json_object(request)
        return create(request, self.idempotency, body,
                      lambda: self.services.invoice.create_invoice(keyed(request, body)),
                      lambda invoice: f"/api/invoices/{invoice['id']}")

    @route("GET", "/api/invoices/<invoice_id>", query=InvoiceGetQuery(), returns="Invoice", tag=TAG)
    def get_invoice(self, request: Request, invoice_id: str) -> Response:
        """One invoice, now or ``as_of`` a version or time; ``ETag: "<version>"``."""
        args = params(request)
        invoice = self.services.invoice.get_invoice(
            invoice_id, only_filled=bool(args.get("only_filled")), as_of=as_of_arg(args.get("as_of")))
        return resource_response(request, invoice)

    @route("PATCH", "/api/invoices/<invoice_id>", body="InvoiceChanges", returns="Invoice", tag=TAG)
    def update_invoice(self, request: Request, invoice_id: str) -> Response:
        """Change fields in one event (``custom.<key>`` keys allowed); ``If-Match``."""
        changes = json_object(request)
        invoice = self.services.invoice.update_invoice(invoice_id, changes,
                                                       expected_version=expected_version(request))
        return resource_response(request, invoice)

    @route("POST", "/api/invoices/<invoice_id>/void", body=VoidBody(), returns="Invoice", tag=TAG)
    def void_invoice(self, request: Request, invoice_id: str) -> Response:
        """Void (作废) with a ``reason``; ``If-Match``."""
        body = json_object(request)
        invoice = self.services.invoice.void_invoice(invoice_id, body.get("reason"),
                                                     expected_version=expected_version(request))
        return resource_response(request, invoice)

    @route("POST", "/api/invoices/<invoice_id>/attachments", status=201, body="AttachmentUpload",
           body_media="multipart/form-data", returns="Attachment", tag=TAG,
           max_body_bytes=ATTACHMENT_BODY_BYTES, upload_field="file")
    def add_attachment(self, request: Request, invoice_id: str) -> Response:
        """Upload a file (form field ``file``, at most 10 MB); its type is decided from the
        content (PDF, OFD, JPEG, PNG)."""
        upload = request.files.get("file")
        if upload is None:
            raise ValidationError.field("file", "send the file as multipart/form-data field 'file'")
        content = base64.b64encode(upload.read()).decode("ascii")
        attachment = self.services.invoice.add_attachment(invoice_id, upload.filename or "", content)
        return json_response(attachment, 201, {
            "Location": f"/api/invoices/{invoice_id}/attachments/{attachment['attachment_id']}"})

    @route("GET", "/api/invoices/<invoice_id>/attachments", returns=["Attachment"], tag=TAG)
    def list_attachments(self, request: Request, invoice_id: str) -> Response:
        """The invoice's attachments (metadata)."""
        return json_response(self.services.invoice.list_attachments(invoice_id))

    @route("GET", "/api/invoices/<invoice_id>/attachments/<attachment_id>", query=AttachmentQuery(),
           returns="binary", tag=TAG)
    def get_attachment(self, request: Request, invoice_id: str, attachment_id: str) -> Response:
        """Download one attachment (its stored type; ``Content-Disposition: attachment``;
        ``?inline=true``: ``inline`` for a PDF, JPEG or PNG, the pages' previews)."""
        found = self.services.invoice.get_attachment(invoice_id, attachment_id)
        inline = params(request).get("inline") and found["content_type"] in PREVIEWABLE
        disposition = f"{'inline' if inline else 'attachment'}; filename*=UTF-8''{quote(found['filename'])}"
        return Response(base64.b64decode(found["content_base64"]), content_type=found["content_type"],
                        headers={"Content-Disposition": disposition,
                                 "X-Content-Type-Options": "nosniff", "ETag": f'"{found["sha256"]}"'})

    @route("DELETE", "/api/invoices/<invoice_id>/attachments/<attachment_id>", returns="Invoice",
           tag=TAG)
    def remove_attachment(self, request: Request, invoice_id: str, attachment_id: str) -> Response:
        """Hide an attachment (kept for auditors); answers the invoice."""
        return resource_response(request, self.services.invoice.remove_attachment(invoice_id,
                                                                                   attachment_id))

    @route("GET", "/api/invoices/<invoice_id>/history", returns=["HistoryEntry"], tag=TAG)
    def invoice_history(self, request: Request, invoice_id: str) -> Response:
        """Who changed what, when."""
        return json_response(self.services.invoice.get_history(invoice_id))

    @route("GET", "/api/invoices/<invoice_id>/events", query=EventsQuery(), returns=["Event"], tag=TAG)
    def invoice_events(self, request: Request, invoice_id: str) -> Response:
        """The stored event envelopes (their hashes verify)."""
        after = params(request).get("after_version", 0)
        return json_response(self.services.invoice.get_events(invoice_id, after))

    @route("POST", "/api/invoices/search", body="SearchQuery", returns="SearchPage", tag=TAG)
    def search_invoices(self, request: Request) -> Response:
        """The search service's query language as the body."""
        return json_response(self.services.search.search(json_body(request)))

    @route("GET", "/api/invoices", query=InvoiceListQuery(), returns="SearchPage", tag=TAG)
    def list_invoices(self, request: Request) -> Response:
        """Filters as query parameters; ``next_cursor`` for the next page."""
        return json_response(self.services.search.search(search_query(params(request))))

    @route("GET", "/api/invoices/export.csv", query=ExportQuery(), returns="csv", tag=TAG)
    def export_csv(self, request: Request) -> Response:
        """Every match as CSV (UTF-8 with BOM), streamed page by page."""
        return export.csv_response(self.services, search_query(params(request), paged=False))

    @route("GET", "/api/invoices/export.xlsx", query=ExportQuery(), returns="xlsx", tag=TAG)
    def export_xlsx(self, request: Request) -> Response:
        """Every match as an Excel workbook (written in constant memory)."""
        return export.xlsx_response(self.services, search_query(params(request), paged=False))

    @route("GET", "/api/stats", query=StatsQuery(), returns="Stats", tag=TAG)
    def stats(self, request: Request) -> Response:
        """Counts and sums grouped by ``group_by`` (``type,month`` …); ``as_of``: as they
        stood then (a timestamp or a position; the answer names it in ``as_of``)."""
        args = params(request)
        group_by = [g.strip() for g in str(args.get("group_by") or "type").split(",") if g.strip()]
        return json_response(self.services.search.stats(search_query(args, paged=False), group_by,
                                                        as_of=as_of_arg(args.get("as_of"))))

    @route("GET", "/api/calendar/<int:year>/<int:month>", query=StatsQuery(),
           returns=["CalendarDay"], tag=TAG)
    def calendar(self, request: Request, year: int, month: int) -> Response:
        """Per day of the month: ``{date, count, amount}``; with ``as_of``, ``{days: [...],
        as_of: {...}}`` as they stood then."""
        args = params(request)
        return json_response(self.services.search.calendar(
            year, month, search_query(args, paged=False), as_of=as_of_arg(args.get("as_of"))))

    @route("GET", "/api/audit/verify", query=VerifyQuery(), returns="Verification", tag="audit")
    def verify(self, request: Request) -> Response:
        """Recompute the hash chains (one invoice or all)."""
        return json_response(self.services.invoice.verify(params(request).get("invoice_id")))
