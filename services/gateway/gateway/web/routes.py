"""The pages' routes, a mixin of the gateway service (``class GatewayService(WebPages)``).

Every page needs a signed-in person (else it redirects to ``/login``); it gets the
gateway's RPC helper calling as that person, and renders HTML. Writes happen in the
browser through ``/api/`` with the ``X-CSRF-Token`` the page carries.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from werkzeug.utils import redirect, send_from_directory
from werkzeug.wrappers import Request, Response

from gateway.gatekeeper import caller_of
from gateway.http import route
from gateway.web.page import Page, Session
from gateway.web.pages import approvals, customers, imports, invoices, settings, stats

STATIC = Path(__file__).with_name("static")


def page_for(request: Request, services: Any) -> Page | None:
    caller = caller_of(request)
    if caller is None:
        return None
    csrf = caller.session.csrf_token if caller.session is not None else ""
    return Page(request, Session(actor=caller.actor, csrf_token=csrf, rpc=services))


def show(request: Request, services: Any, handler: Callable[..., Response], *args: Any) -> Response:
    page = page_for(request, services)
    if page is None:
        target = request.full_path.rstrip("?")
        return redirect(f"/login?next={quote(target)}", 303)
    return handler(page, *args)


class WebPages:
    """Server-rendered pages (zh-CN by default, ``?lang=en`` or the browser's language)."""

    services: Any  # the gateway's RPC helper (gateway.hub.Services), given by the service class

    @route("GET", "/", auth="optional")
    def home_page(self, request: Request) -> Response:
        return redirect("/invoices", 303)

    @route("GET", "/invoices", auth="optional")
    def invoices_page(self, request: Request) -> Response:
        return show(request, self.services, invoices.invoice_list)

    @route("GET", "/invoices/calendar", auth="optional")
    def calendar_page(self, request: Request) -> Response:
        return show(request, self.services, invoices.invoice_calendar)

    @route("GET", "/invoices/new", auth="optional")
    def invoice_new_page(self, request: Request) -> Response:
        return show(request, self.services, invoices.invoice_new)

    @route("GET", "/invoices/import", auth="optional")
    def invoice_import_page(self, request: Request) -> Response:
        return show(request, self.services, imports.import_page)

    @route("GET", "/invoices/<invoice_id>", auth="optional")
    def invoice_page(self, request: Request, invoice_id: str) -> Response:
        return show(request, self.services, invoices.invoice_list, invoice_id)

    @route("GET", "/customers", auth="optional")
    def customers_page(self, request: Request) -> Response:
        return show(request, self.services, customers.customer_list)

    @route("GET", "/customers/<customer_id>", auth="optional")
    def customer_page(self, request: Request, customer_id: str) -> Response:
        return show(request, self.services, customers.customer_detail, customer_id)

    @route("GET", "/approvals", auth="optional")
    def approvals_page(self, request: Request) -> Response:
        return show(request, self.services, approvals.approval_list)

    @route("GET", "/approvals/<request_id>", auth="optional")
    def approval_page(self, request: Request, request_id: str) -> Response:
        return show(request, self.services, approvals.approval_detail, request_id)

    @route("GET", "/stats", auth="optional")
    def stats_page(self, request: Request) -> Response:
        return show(request, self.services, stats.stats_page)

    @route("GET", "/settings", auth="optional")
    def settings_page(self, request: Request) -> Response:
        return show(request, self.services, settings.settings_page)

    @route("GET", "/static/<path:name>", auth="none")
    def static_file(self, request: Request, name: str) -> Response:
        response = send_from_directory(STATIC, name, request.environ, max_age=3600)
        return response
