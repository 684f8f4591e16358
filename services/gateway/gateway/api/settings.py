"""``/api/invoice-types`` and ``/api/custom-fields`` (admins change them)."""
from __future__ import annotations

from werkzeug.wrappers import Request, Response

from gateway.api.common import create, json_object, resource_response
from gateway.http import json_response, params, route
from gateway.hub import ServiceHub
from gateway.idempotency import IdempotencyStore
from gateway.schemas import IncludeInactiveQuery

TAG = "settings"


class SettingsRoutes:
    services: ServiceHub
    idempotency: IdempotencyStore

    @route("GET", "/api/invoice-types", query=IncludeInactiveQuery(), returns=["InvoiceType"], tag=TAG)
    def list_invoice_types(self, request: Request) -> Response:
        """The invoice types (票据类型) with label and colour."""
        include = bool(params(request).get("include_inactive"))
        return json_response(self.services.invoice.list_invoice_types(include))

    @route("POST", "/api/invoice-types", status=201, body="InvoiceType", returns="InvoiceType", tag=TAG)
    def create_invoice_type(self, request: Request) -> Response:
        """Admin: ``{key, label, color}``."""
        body = json_object(request)
        return create(request, self.idempotency, body,
                      lambda: self.services.invoice.create_invoice_type(body),
                      lambda kind: f"/api/invoice-types/{kind['key']}")

    @route("PATCH", "/api/invoice-types/<key>", body="InvoiceType", returns="InvoiceType", tag=TAG)
    def update_invoice_type(self, request: Request, key: str) -> Response:
        """Admin: ``label``, ``color``, ``active``."""
        return resource_response(request, self.services.invoice.update_invoice_type(
            key, json_object(request)))

    @route("GET", "/api/custom-fields", returns=["CustomField"], tag=TAG)
    def list_custom_fields(self, request: Request) -> Response:
        """The custom field definitions."""
        return json_response(self.services.invoice.list_custom_fields())

    @route("POST", "/api/custom-fields", status=201, body="CustomField", returns="CustomField", tag=TAG)
    def define_custom_field(self, request: Request) -> Response:
        """Admin: ``{key, label, kind, options, required}``."""
        body = json_object(request)
        return create(request, self.idempotency, body,
                      lambda: self.services.invoice.define_custom_field(body),
                      lambda field: f"/api/custom-fields/{field['key']}")

    @route("PATCH", "/api/custom-fields/<key>", body="CustomField", returns="CustomField", tag=TAG)
    def update_custom_field(self, request: Request, key: str) -> Response:
        """Admin: ``label``, ``options``, ``required``, ``active``."""
        return resource_response(request, self.services.invoice.update_custom_field(
            key, json_object(request)))
