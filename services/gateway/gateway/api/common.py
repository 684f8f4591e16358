"""What the API routes share: JSON bodies, query parameters, ETag / If-Match, and
creating with an Idempotency-Key."""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from werkzeug.wrappers import Request, Response

from gateway.gatekeeper import required_caller
from gateway.http import json_response
from gateway.idempotency import Claim, IdempotencyStore, check_key, request_hash
from gateway.problems import HttpProblem, bad_request
from shared.errors import ServiceError

_ETAG = re.compile(r'^\s*(?:W/)?"(\d{1,18})"\s*$')


def json_body(request: Request) -> Any:
    """The parsed JSON body; 400 for another content type or a body that is not JSON."""
    if request.mimetype != "application/json":
        raise bad_request("send the body as application/json")
    raw = request.get_data(cache=True)
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise bad_request(f"the body is not valid JSON: {exc}") from None


def json_object(request: Request) -> dict[str, Any]:
    body = json_body(request)
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object")
    return body


def expected_version(request: Request) -> int | None:
    """The version named by ``If-Match: "<version>"`` (None without the header or ``*``)."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    match = _ETAG.match(header)
    if not match:
        raise bad_request('If-Match must be one entity tag: "<version>"',
                          errors={"If-Match": ['expected "<version>"']})
    return int(match.group(1))


def etag_of(resource: Any) -> str | None:
    version = resource.get("version") if isinstance(resource, Mapping) else None
    return f'"{version}"' if isinstance(version, int) else None


def resource_response(request: Request, resource: Any, status: int = 200,
                      headers: Mapping[str, str] | None = None) -> Response:
    """A single resource with its ``ETag``; 304 for a matching ``If-None-Match``."""
    all_headers = dict(headers or {})
    etag = etag_of(resource)
    if etag is not None:
        all_headers["ETag"] = etag
        if status == 200 and request.method == "GET" and \
                etag in (request.headers.get("If-None-Match") or ""):
            return Response(status=304, headers=all_headers)
    return json_response(resource, status, all_headers)


def keyed(request: Request, body: dict[str, Any]) -> dict[str, Any]:
    """The body for a service create that takes ``idempotency_key`` (invoice, customer,
    contract, payment): with the request's ``Idempotency-Key`` as that key, so a retry
    that the gateway runs again (its first attempt died unrecorded) still creates
    nothing twice. The gateway's own fingerprint is of the body as sent."""
    key = request.headers.get("Idempotency-Key")
    return body if key is None else dict(body, idempotency_key=key)


def create(request: Request, keys: IdempotencyStore, body: Any,
           make: Callable[[], Any], location: Callable[[Any], str]) -> Response:
    """201 with ``Location`` for a new resource; with ``Idempotency-Key``, the same key
    and body again answer 200 with the first result and create nothing."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        created = make()
        return resource_response(request, created, 201, {"Location": location(created)})
    caller = required_caller(request)
    found = keys.claim(caller.actor.id, check_key(key),
                       request_hash(request.method, request.path, body))
    if not isinstance(found, Claim):
        headers = {"Idempotent-Replayed": "true"}
        if found.location:
            headers["Location"] = found.location
        return resource_response(request, found.body, 200, headers)
    try:
        created = make()
    except ServiceError:
        keys.release(found)      # refused: nothing was created, the key may be used again
        raise
    except HttpProblem:
        keys.release(found)
        raise
    where = location(created)
    keys.complete(found, 201, created, where)
    return resource_response(request, created, 201, {"Location": where})
