"""The gateway's doors: health, bearer tokens, sign-in with sessions and CSRF."""
from __future__ import annotations

from typing import Any

import requests

from tests.support.actors import token_for
from tests.support.gateway import Api, problem


def test_health_names_every_service_as_ok(gateway: Any) -> None:
    response = requests.get(f"{gateway.url}/api/health", timeout=10)

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "services": {
        "customer": "ok", "invoice": "ok", "approval": "ok", "search": "ok"}}


def test_a_missing_forged_or_expired_token_is_refused_with_401(gateway: Any) -> None:
    forged = token_for(roles=["admin"], secret="not-the-secret-0123456789-0123456789")
    expired = token_for(roles=["admin"], ttl_seconds=-60)
    for authorization in (None, "Bearer not-a-jwt", "Basic YWRtaW46ZGVtbw==", forged, expired):
        client = Api(gateway.url, authorization)
        response = client.get("/api/me")
        assert response.status_code == 401, (authorization, response.text)
        assert problem(response)["title"] == "Unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_valid_token_names_the_caller(gateway: Any) -> None:
    client = Api.as_user(gateway.url, roles=["finance"], sub="fin-7", name="财务七")

    me = client.get("/api/me").json()

    assert me["id"] == "fin-7" and me["roles"] == ["finance"] and me["via"] == "bearer"
    assert "csrf_token" not in me


def test_signing_in_sets_an_httponly_lax_cookie_and_redirects_to_the_invoices(gateway: Any) -> None:
    client = Api(gateway.url)

    response = client.login("finance")

    assert response.status_code == 303 and response.headers["Location"] == "/invoices"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    me = client.get("/api/me").json()
    assert me["id"] == "gw-finance" and me["via"] == "session" and me["csrf_token"]


def test_a_wrong_password_shows_the_form_again_without_a_cookie(gateway: Any) -> None:
    client = Api(gateway.url)

    response = client.login("sales", "wrong")

    assert response.status_code == 401 and "Set-Cookie" not in response.headers
    assert 'name="password"' in response.text and "用户名或密码错误" in response.text
    assert client.get("/api/me").status_code == 401


def test_repeated_failures_are_slowed_down_for_that_username(gateway: Any) -> None:
    client = Api(gateway.url)
    statuses = [client.login("auditor", f"wrong-{n}").status_code for n in range(5)]

    locked = client.login("auditor")   # the right password, but still locked

    assert statuses[:4] == [401, 401, 401, 401]
    assert statuses[4] == 429 or locked.status_code == 429
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) >= 1
    assert "Set-Cookie" not in locked.headers


def test_a_cookie_request_that_writes_needs_the_csrf_header(gateway: Any) -> None:
    client = Api(gateway.url)
    client.login("admin")
    body = {"name": "CSRF 测试客户"}

    refused = client.post("/api/customers", json=body)
    wrong = client.post("/api/customers", json=body, headers={"X-CSRF-Token": "nope"})
    allowed = client.post("/api/customers", json=body,
                          headers={"X-CSRF-Token": client.csrf_token or ""})

    assert refused.status_code == 403 and problem(refused)["type"].endswith("csrf")
    assert wrong.status_code == 403
    assert allowed.status_code == 201, allowed.text


def test_logging_out_ends_the_session_for_that_cookie(gateway: Any) -> None:
    client = Api(gateway.url)
    client.login("finance")
    cookie = client.http.cookies.get("crm_session")

    refused = client.post("/logout")                                    # no CSRF token
    out = client.post("/logout", data={"csrf_token": client.csrf_token})
    replayed = requests.get(f"{gateway.url}/api/me", cookies={"crm_session": cookie}, timeout=10)

    assert refused.status_code == 403
    assert out.status_code == 303 and out.headers["Location"] == "/login"
    assert replayed.status_code == 401


def test_an_unknown_route_is_a_problem_document_with_404(gateway: Any) -> None:
    response = requests.get(f"{gateway.url}/api/nothing-here", timeout=10)
    wrong_method = requests.delete(f"{gateway.url}/api/health", timeout=10)

    assert response.status_code == 404 and problem(response)["title"] == "Not Found"
    assert wrong_method.status_code == 405 and "GET" in wrong_method.headers["Allow"]
