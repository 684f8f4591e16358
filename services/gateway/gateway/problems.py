"""Errors as ``application/problem+json`` (RFC 9457): the contract's RPC error types and
the gateway's own refusals, mapped to one status each.

Nothing but the contract's messages reaches a client: a non-contract failure is a 500
with a generic title, logged with the request id.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from shared.errors import (
    ConcurrencyConflict,
    Conflict,
    Forbidden,
    NotFound,
    ServiceError,
    Unauthorized,
    ValidationError,
)

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_SECONDS = 5


class HttpProblem(Exception):
    """Raised by the gateway itself to answer with a problem document."""

    def __init__(self, status: int, title: str, detail: str = "", *, slug: str | None = None,
                 errors: Mapping[str, Any] | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.slug = slug or title.lower().replace(" ", "-")
        self.errors = dict(errors) if errors is not None else None
        self.headers = dict(headers or {})

    def response(self) -> Response:
        body: dict[str, Any] = {"type": f"urn:crm:problem:{self.slug}", "title": self.title,
                                "status": self.status, "detail": self.detail,
                                "errors": self.errors}
        return Response(json.dumps(body, ensure_ascii=False), status=self.status,
                        headers=self.headers, content_type=PROBLEM_JSON)


class ServiceUnavailable(Exception):
    """Raised when a service does not answer in time (or is not running at all)."""

    def __init__(self, service: str, method: str = "") -> None:
        super().__init__(f"{service}.{method}" if method else service)
        self.service = service
        self.method = method


def bad_request(detail: str, errors: Mapping[str, Any] | None = None) -> HttpProblem:
    return HttpProblem(400, "Bad Request", detail, errors=errors)


def unauthorized(detail: str) -> HttpProblem:
    return HttpProblem(401, "Unauthorized", detail,
                       headers={"WWW-Authenticate": 'Bearer realm="crm"'})


def from_contract_error(exc: ServiceError, *, had_if_match: bool) -> HttpProblem:
    """The contract's table: RPC ``exc_type`` → status."""
    detail = _message(exc)
    if isinstance(exc, ValidationError):
        return HttpProblem(422, "Validation Error", "the request has invalid fields",
                           slug="validation-error", errors=exc.messages)
    if isinstance(exc, ConcurrencyConflict):
        errors = {"current_version": exc.current_version}
        if had_if_match:
            return HttpProblem(412, "Precondition Failed",
                               "If-Match names a version that is no longer current",
                               errors=errors)
        return HttpProblem(409, "Conflict", "the resource changed meanwhile",
                           slug="concurrency-conflict", errors=errors)
    for kind, status, title in ((Unauthorized, 401, "Unauthorized"),
                                (Forbidden, 403, "Forbidden"),
                                (NotFound, 404, "Not Found"),
                                (Conflict, 409, "Conflict")):
        if isinstance(exc, kind):
            problem = HttpProblem(status, title, detail)
            if status == 401:
                problem.headers["WWW-Authenticate"] = 'Bearer realm="crm"'
            return problem
    return HttpProblem(500, "Internal Server Error", "")


def problem_for(exc: BaseException, *, request_id: str, had_if_match: bool) -> HttpProblem:
    """What a client is told about ``exc``; anything unexpected is logged here."""
    if isinstance(exc, HttpProblem):
        return exc
    if isinstance(exc, ServiceError):
        return from_contract_error(exc, had_if_match=had_if_match)
    if isinstance(exc, HTTPException):   # e.g. a chunked body over the limit
        return HttpProblem(exc.code or 500, exc.name, exc.description or "")
    if isinstance(exc, ServiceUnavailable):
        log.warning("request %s: %s did not answer in time", request_id, exc)
        return HttpProblem(503, "Service Unavailable",
                           f"the {exc.service} service did not answer in time",
                           headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    log.error("request %s failed", request_id, exc_info=exc)
    return HttpProblem(500, "Internal Server Error",
                       f"an unexpected error occurred (request id {request_id})",
                       slug="internal-error")


def _message(exc: BaseException) -> str:
    if exc.args and isinstance(exc.args[0], str):
        return exc.args[0]
    if exc.args and isinstance(exc.args[0], Mapping):
        return str(exc.args[0].get("message") or "")
    return ""
