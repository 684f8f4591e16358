"""Open routes for operators and tools: health, metrics, the caller."""
from __future__ import annotations

import logging
from typing import Any

import eventlet
from werkzeug.wrappers import Request, Response

from gateway import metrics, openapi
from gateway.gatekeeper import required_caller
from gateway.http import json_response, route
from gateway.hub import SERVICES, ServiceHub
from gateway.problems import ServiceUnavailable

log = logging.getLogger(__name__)

# One cheap call per service (the same probes as scripts/wait_ready.py).
PROBES: dict[str, tuple[str, tuple[Any, ...], dict[str, Any]]] = {
    "customer": ("list_customers", (), {"limit": 1}),
    "invoice": ("list_invoice_types", (), {}),
    "approval": ("list_flows", (), {}),
    "search": ("projection_status", (), {}),
}


class SystemRoutes:
    services: ServiceHub
    health_timeout: float = 2.0

    @route("GET", "/api/health", auth="none", returns="Health")
    def health(self, request: Request) -> Response:
        """Each service answers a cheap call within 2 s: 200, else 503 naming it."""
        self.services.authorize_as_gateway()
        pool = eventlet.GreenPool()
        results = dict(pool.imap(self._probe, SERVICES))
        ok = all(state == "ok" for state in results.values())
        return json_response({"status": "ok" if ok else "unavailable", "services": results},
                             200 if ok else 503, {} if ok else {"Retry-After": "5"})

    def _probe(self, service: str) -> tuple[str, str]:
        method, args, kwargs = PROBES[service]
        try:
            self.services.call(service, method, *args, timeout=self.health_timeout, **kwargs)
        except ServiceUnavailable:
            return service, "unavailable"
        except Exception:  # noqa: BLE001 - answered, but not well: report it, not 500
            log.warning("health: %s answered with an error", service, exc_info=True)
            return service, "error"
        return service, "ok"

    @route("GET", "/api/openapi.json", auth="none", returns=None)
    def openapi_document(self, request: Request) -> Response:
        """This document (OpenAPI 3.0)."""
        return json_response(openapi.document_for(type(self)))

    @route("GET", "/api/docs", auth="none", returns="html")
    def openapi_page(self, request: Request) -> Response:
        """The document as a readable page (no JavaScript)."""
        return Response(openapi.render_html(openapi.document_for(type(self))),
                        content_type="text/html; charset=utf-8")

    @route("GET", "/metrics", auth="none")
    def metrics(self, request: Request) -> Response:
        """Prometheus text: requests by route and status, latencies, RPC errors."""
        body, content_type = metrics.exposition()
        return Response(body, content_type=content_type)

    @route("GET", "/api/me", returns="Me")
    def me(self, request: Request) -> Response:
        """The caller: ``{id, name, department, roles, via}``, plus ``csrf_token`` and
        ``username`` when signed in with the session cookie."""
        return json_response(required_caller(request).to_dict())
