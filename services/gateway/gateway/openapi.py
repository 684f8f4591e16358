"""The OpenAPI 3 document of every ``/api/`` route, built with apispec and its
marshmallow plugin from the routes themselves (method, path, ``query`` schema, ``body``,
``status``, ``returns`` of each ``@route``), and a plain HTML rendering of it."""
from __future__ import annotations

import html
import inspect
import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema

from gateway.components import COMPONENTS
from gateway.http import GatewayHttp

TITLE = "CRM invoice management — HTTP API"
VERSION = "1.0.0"
_PATH_PARAM = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
ERRORS = {
    "400": "body not JSON, wrong content type, malformed header",
    "401": "missing, malformed, expired or forged token",
    "403": "not allowed, or a bad CSRF token",
    "404": "not found (or outside the caller's scope)",
    "409": "conflict; or Idempotency-Key reused with another body",
    "412": "If-Match names a stale version",
    "413": "body over the size limit",
    "422": "invalid fields: errors names each",
    "503": "a service did not answer in time (Retry-After)",
}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _schema_of(returns: Any) -> Any:
    if isinstance(returns, list):
        return {"type": "array", "items": _schema_of(returns[0])}
    if isinstance(returns, str):
        return ref(returns)
    return returns


def routes_of(service_cls: type) -> list[tuple[str, GatewayHttp, Any]]:
    """(name, entrypoint, function) for every route of the service class."""
    found = []
    for name, function in inspect.getmembers(service_cls, inspect.isfunction):
        for entrypoint in getattr(function, "nameko_entrypoints", ()):
            if isinstance(entrypoint, GatewayHttp):
                found.append((name, entrypoint, function))
    return sorted(found, key=lambda item: (item[1].url, item[1].method))


def openapi_path(url: str) -> tuple[str, list[dict[str, Any]]]:
    params = []
    for converter, name in _PATH_PARAM.findall(url):
        schema: dict[str, Any] = {"type": "integer"} if converter == "int" else {"type": "string"}
        choices = re.search(rf"<any\(([^)]*)\):{name}>", url)
        if choices:
            schema["enum"] = [c.strip() for c in choices.group(1).split(",")]
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return _PATH_PARAM.sub(lambda m: "{" + m.group(2) + "}", url), params


def operation(name: str, entrypoint: GatewayHttp, function: Any) -> dict[str, Any]:
    doc = inspect.getdoc(function) or name
    summary, _, description = doc.partition("\n")
    path, parameters = openapi_path(entrypoint.url)
    op: dict[str, Any] = {"operationId": name, "summary": summary.strip(),
                          "tags": [entrypoint.tag or "system"], "parameters": parameters}
    if description.strip():
        op["description"] = description.strip()
    if entrypoint.query is not None:
        op["parameters"].append({"in": "query", "schema": entrypoint.query})
    if entrypoint.body is not None:
        body = ref(entrypoint.body) if isinstance(entrypoint.body, str) else entrypoint.body
        op["requestBody"] = {"required": entrypoint.method != "POST" or not name.startswith("decide"),
                             "content": {entrypoint.body_media: {"schema": body}}}
    if entrypoint.method == "POST" and entrypoint.status == 201:
        op["parameters"].append({"name": "Idempotency-Key", "in": "header", "required": False,
                                 "schema": {"type": "string", "maxLength": 100},
                                 "description": "same key and body within 24 h: the first result (200)"})
    if entrypoint.method == "PATCH" or name in ("void_invoice", "update_flow"):
        op["parameters"].append({"name": "If-Match", "in": "header", "required": False,
                                 "schema": {"type": "string"}, "description": '"<version>"'})
    op["responses"] = _responses(entrypoint)
    op["security"] = [] if entrypoint.auth == "none" else [{"bearer": []}, {"session": []}]
    return op


def _responses(entrypoint: GatewayHttp) -> dict[str, Any]:
    returns = entrypoint.returns
    if returns == "csv":
        content: dict[str, Any] = {"text/csv": {"schema": {"type": "string"}}}
    elif returns == "xlsx":
        content = {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
                   {"schema": {"type": "string", "format": "binary"}}}
    elif returns == "binary":
        content = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
    elif returns == "html":
        content = {"text/html": {"schema": {"type": "string"}}}
    elif returns is None:
        content = {"application/json": {"schema": {"type": "object"}}}
    else:
        content = {"application/json": {"schema": _schema_of(returns)}}
    responses: dict[str, Any] = {str(entrypoint.status): {"description": "success", "content": content}}
    if entrypoint.status == 202:
        responses["200"] = {"description": "done at once (a small file)", "content": content}
    if entrypoint.status == 201:
        responses["200"] = {"description": "replayed for the same Idempotency-Key", "content": content}
    problem = {"application/problem+json": {"schema": ref("Problem")}}
    for status, description in ERRORS.items():
        if entrypoint.auth == "none" and status in ("401", "403", "409", "412"):
            continue
        responses.setdefault(status, {"description": description, "content": problem})
    return responses


def build(service_cls: type) -> dict[str, Any]:
    spec = APISpec(title=TITLE, version=VERSION, openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
                   info={"description": "See docs/http.md. JSON in and out; errors are "
                                        "application/problem+json."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer",
                                               "bearerFormat": "JWT"})
    spec.components.security_scheme("session", {"type": "apiKey", "in": "cookie",
                                                "name": "crm_session"})
    for component, schema in COMPONENTS.items():
        spec.components.schema(component, schema=schema)
    by_path: dict[str, dict[str, Any]] = {}
    for name, entrypoint, function in routes_of(service_cls):
        if not entrypoint.url.startswith("/api/"):
            continue
        path, _ = openapi_path(entrypoint.url)
        for method in entrypoint.method.split(","):
            by_path.setdefault(path, {})[method.lower()] = operation(name, entrypoint, function)
    for path, operations in by_path.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _schema_name(schema: Any) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    for component, known in COMPONENTS.items():
        if known is cls:
            return component
    name = cls.__name__
    return name[:-6] if name.endswith("Schema") else name


def render_html(document: dict[str, Any]) -> str:
    """The document as one page, no JavaScript: each operation with its parameters,
    body and responses (schemas as links to their component)."""
    esc = html.escape
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{esc(TITLE)}</title>"
             "<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:70em}"
             "h2{border-bottom:1px solid #ccc}code{background:#f4f4f4;padding:0 .2em}"
             ".op{margin:1em 0;padding:.5em 1em;border-left:4px solid #4a7}"
             ".m{font-weight:bold;text-transform:uppercase;display:inline-block;width:5em}"
             "table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left}"
             "</style></head><body>",
             f"<h1>{esc(TITLE)}</h1><p>{esc(document['info'].get('description', ''))} "
             "Machine-readable: <a href='/api/openapi.json'>/api/openapi.json</a>.</p>"]
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            parts.append(f"<div class='op' id='{esc(op['operationId'])}'><span class='m'>{esc(method)}</span>"
                         f"<code>{esc(path)}</code> — {esc(op.get('summary', ''))}")
            if op.get("description"):
                parts.append(f"<p>{esc(op['description'])}</p>")
            params = op.get("parameters") or []
            if params:
                parts.append("<table><tr><th>parameter</th><th>in</th><th>type</th></tr>")
                for p in params:
                    kind = (p.get("schema") or {}).get("type", "")
                    parts.append(f"<tr><td>{esc(p['name'])}{' *' if p.get('required') else ''}</td>"
                                 f"<td>{esc(p['in'])}</td><td>{esc(str(kind))}</td></tr>")
                parts.append("</table>")
            body = (op.get("requestBody") or {}).get("content", {}).get("application/json")
            if body:
                parts.append(f"<p>body: {_schema_link(body['schema'])}</p>")
            statuses = ", ".join(f"{code}" for code in op["responses"])
            ok = next(iter(op["responses"].values()))
            contents: list[dict[str, Any]] = list(ok.get("content", {}).values())
            schema = contents[0].get("schema", {}) if contents else {}
            parts.append(f"<p>answers: {esc(statuses)}; success body: {_schema_link(schema)}</p></div>")
    parts.append("<h2>Schemas</h2>")
    for name, schema in document["components"]["schemas"].items():
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        rows = "".join(f"<tr><td>{esc(k)}{' *' if k in required else ''}</td><td>{_schema_link(v)}</td></tr>"
                       for k, v in props.items())
        parts.append(f"<h3 id='schema-{esc(name)}'>{esc(name)}</h3><table>{rows}</table>")
    parts.append("</body></html>")
    return "".join(parts)


def _schema_link(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"<a href='#schema-{html.escape(name)}'>{html.escape(name)}</a>"
    if schema.get("type") == "array":
        return f"list of {_schema_link(schema.get('items', {}))}"
    if "allOf" in schema:
        return " & ".join(_schema_link(s) for s in schema["allOf"])
    return html.escape(str(schema.get("type") or schema.get("format") or "object"))


_CACHE: dict[type, dict[str, Any]] = {}


def document_for(service_cls: type) -> dict[str, Any]:
    if service_cls not in _CACHE:
        _CACHE[service_cls] = build(service_cls)
    return _CACHE[service_cls]


__all__ = ["build", "document_for", "render_html", "routes_of", "Schema"]
