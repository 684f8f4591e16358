"""The gateway's HTTP entrypoint: nameko's ``@http`` (werkzeug on eventlet) plus what
every route needs before and after its few lines — body limit, caller, CSRF, request
id, problem+json errors, metrics.

    @route("GET", "/api/invoices/<invoice_id>")            # bearer token or session
    @route("GET", "/api/health", auth="none")              # open
    @route("GET", "/login", auth="optional")               # caller if any

The route's worker gets the werkzeug request; its context data carries the caller's
``authorization`` and the request id as ``correlation_id``, which nameko passes on with
every RPC call the worker makes (``gateway.hub``).
"""
from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Mapping
from functools import partial
from typing import Any

from eventlet.event import Event
from marshmallow import Schema, fields
from marshmallow import ValidationError as SchemaError
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from gateway import metrics
from gateway.gatekeeper import CALLER_KEY, Gatekeeper
from gateway.problems import (
    HttpProblem,
    ServiceUnavailable,
    problem_for,
    unauthorized,
)
from shared.errors import ServiceError, ValidationError

log = logging.getLogger(__name__)

AUTH_MODES = ("required", "optional", "none")
REQUEST_ID_HEADER = "X-Request-Id"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
JSON = "application/json"
PARAMS_KEY = "gateway.params"


def request_id_of(request: Request) -> str:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    return given if _REQUEST_ID.match(given) else uuid.uuid4().hex


def load_query(request: Request, schema: Schema) -> dict[str, Any]:
    """Query parameters loaded with ``schema``; a bad or unknown one → 422 naming it."""
    lists = {name for name, field in schema.fields.items() if isinstance(field, fields.List)}
    raw = {key: request.args.getlist(key) if key in lists else value
           for key, value in request.args.items()}
    try:
        return dict(schema.load(raw))
    except SchemaError as exc:
        messages = exc.messages
        raise ValidationError(dict(messages) if isinstance(messages, Mapping)
                              else {"_schema": messages}) from None


def params(request: Request) -> dict[str, Any]:
    """The route's query parameters as its ``query`` schema loaded them."""
    return dict(request.environ.get(PARAMS_KEY) or {})


def json_response(payload: Any, status: int = 200,
                  headers: Mapping[str, str] | None = None) -> Response:
    return Response(json.dumps(payload, ensure_ascii=False), status=status,
                    headers=dict(headers or {}), content_type=JSON)


class GatewayWsgiApp(WsgiApp):
    """Unknown paths and methods answer with problem documents too."""

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ, shallow=True)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
            request.path_values = values  # type: ignore[attr-defined]
            response = provider.handle_request(request)
        except RequestEntityTooLarge:
            response = HttpProblem(413, "Content Too Large", "the body is too large").response()
        except HTTPException as exc:
            status = exc.code or 500
            allowed = getattr(exc, "valid_methods", None)
            headers = {"Allow": ", ".join(allowed)} if allowed else {}
            slug = "unknown-route" if status == 404 else None
            response = HttpProblem(status, exc.name, exc.description or "", slug=slug,
                                   headers=headers).response()
            metrics.observe_request("unmatched", request.method, status, 0.0)
        return response(environ, start_response)


class GatewayWebServer(WebServer):
    def get_wsgi_app(self) -> GatewayWsgiApp:
        return GatewayWsgiApp(self)


class GatewayHttp(HttpRequestHandler):
    """One HTTP route of the gateway."""

    server = GatewayWebServer()
    gate = Gatekeeper()

    def __init__(self, method: str, url: str, auth: str = "required", *,
                 query: Schema | None = None, body: Schema | None = None,
                 status: int = 200, returns: Any = None, tag: str = "",
                 max_body_bytes: int | None = None, body_media: str = JSON,
                 upload_field: str | None = None, **kwargs: Any) -> None:
        """``query``: the schema loading the query parameters (``params(request)``);
        ``body``, ``status``, ``returns``, ``tag``: what the OpenAPI document says;
        ``max_body_bytes``: this route's body limit instead of ``MAX_BODY_BYTES``;
        ``body_media``: the body's media type in the OpenAPI document;
        ``upload_field``: the form field a too large body is named by (413 ``errors``)."""
        if auth not in AUTH_MODES:
            raise ValueError(f"auth must be one of {AUTH_MODES}")
        self.auth = auth
        self.query = query
        self.body = body
        self.status = status
        self.returns = returns
        self.tag = tag
        self.max_body_bytes = max_body_bytes
        self.body_media = body_media
        self.upload_field = upload_field
        kwargs.setdefault("expected_exceptions", (ServiceError, HttpProblem, ServiceUnavailable))
        super().__init__(method, url, **kwargs)

    @property
    def route(self) -> str:
        return self.url

    def get_url_rule(self) -> Rule:
        return Rule(self.url, methods=self.method.split(","))

    def handle_request(self, request: Request) -> Response:
        started = time.perf_counter()
        request_id = request_id_of(request)
        request.shallow = False
        try:
            self._admit(request)
            if self.query is not None:
                request.environ[PARAMS_KEY] = load_query(request, self.query)
            context: dict[str, Any] = {"correlation_id": request_id}
            caller = request.environ.get(CALLER_KEY)
            if caller is not None:
                context["authorization"] = caller.authorization
            args, kwargs = self.get_entrypoint_parameters(request)
            self.check_signature(args, kwargs)
            event = Event()
            self.container.spawn_worker(self, args, kwargs, context_data=context,
                                        handle_result=partial(self.handle_result, event))
            response = self.response_from_result(event.wait())
        except Exception as exc:  # noqa: BLE001 - every failure becomes a problem document
            problem = problem_for(exc, request_id=request_id,
                                  had_if_match="If-Match" in request.headers)
            response = problem.response()
        response.headers[REQUEST_ID_HEADER] = request_id
        metrics.observe_request(self.route, request.method, response.status_code,
                                time.perf_counter() - started)
        return response

    def _admit(self, request: Request) -> None:
        """Refuse before any worker runs: oversize body, bad credentials, bad CSRF."""
        limit = self.max_body_bytes or self.gate.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            errors = {self.upload_field: [f"at most {limit} bytes"]} if self.upload_field else None
            raise HttpProblem(413, "Content Too Large",
                              f"the body may have at most {limit} bytes", errors=errors)
        request.max_content_length = limit   # a chunked body is cut off at the limit too
        if self.auth == "none":
            return
        caller = self.gate.identify(request)
        if caller is None and self.auth == "required":
            raise unauthorized("sign in or send 'Authorization: Bearer <JWT>'")
        if caller is not None:
            self.gate.check_csrf(request, caller)
            request.environ[CALLER_KEY] = caller

    def response_from_result(self, result: Any) -> Response:
        if isinstance(result, Response):
            return result
        return json_response(result)

    def response_from_exception(self, exc: Exception) -> Response:
        # Only reached for failures before handle_request's own handling.
        return problem_for(exc, request_id="-", had_if_match=False).response()


route = GatewayHttp.decorator
