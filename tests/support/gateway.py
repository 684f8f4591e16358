"""The HTTP gateway in tests: a process on a free port, its users file, and clients."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import requests

from tests.support.actors import token_for
from tests.support.infra import GaveUp, ServiceProcess, free_port, wait_for

# Test accounts of the users file the gateway fixture writes (password "pw-<username>").
TEST_ACCOUNTS: dict[str, dict[str, Any]] = {
    "admin": {"sub": "gw-admin", "name": "管理员", "department": "dept-1", "roles": ["admin"]},
    "finance": {"sub": "gw-finance", "name": "财务", "department": "dept-1", "roles": ["finance"]},
    "sales": {"sub": "gw-sales", "name": "销售", "department": "dept-2", "roles": ["sales"]},
    "sales2": {"sub": "gw-sales2", "name": "销售二", "department": "dept-2", "roles": ["sales"]},
    "auditor": {"sub": "gw-auditor", "name": "审计", "department": "dept-1", "roles": ["auditor"]},
}


def password_of(username: str) -> str:
    return f"pw-{username}"


def write_users_file(path: Path) -> Path:
    from gateway.users import User, hash_password, write_users
    write_users(path, [User(username=name, password_hash=hash_password(password_of(name)),
                            sub=claims["sub"], name=claims["name"],
                            department=claims["department"], roles=tuple(claims["roles"]))
                       for name, claims in TEST_ACCOUNTS.items()])
    return path


class GatewayProcess:
    """One ``nameko run gateway.service`` on its own port."""

    def __init__(self, env: dict[str, str], log_dir: str, users_file: Path,
                 port: int | None = None, **overrides: str) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "GATEWAY_PORT": str(self.port), "GATEWAY_HOST": "127.0.0.1",
                    "GATEWAY_USERS_FILE": str(users_file), **overrides}
        self.process = ServiceProcess("gateway", self.env, log_dir)

    def start(self, wait: bool = True) -> GatewayProcess:
        self.process.start()
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self) -> None:
        def answers() -> bool:
            if not self.process.alive():
                raise GaveUp(f"gateway died:\n{self.process.log_tail()}")
            return requests.get(f"{self.url}/api/health", timeout=5).status_code == 200
        wait_for(answers, timeout=60, interval=0.3, message="the gateway to answer")

    def stop(self) -> None:
        self.process.stop()

    def kill9(self) -> None:
        self.process.kill9()

    def log_text(self) -> str:
        try:
            return self.process.log_path.read_text(errors="replace")
        except OSError:
            return ""


class Api:
    """``requests`` against one gateway, as one caller (bearer token or session)."""

    def __init__(self, base_url: str, authorization: str | None = None) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        self.csrf_token: str | None = None
        if authorization is not None:
            self.http.headers["Authorization"] = authorization

    @classmethod
    def as_user(cls, base_url: str, **claims: Any) -> Api:
        return cls(base_url, token_for(**claims))

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        kwargs.setdefault("allow_redirects", False)
        return self.http.request(method, self.base_url + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def login(self, username: str, password: str | None = None) -> requests.Response:
        response = self.post("/login", data={"username": username,
                                             "password": password or password_of(username)})
        if response.status_code == 303:
            self.csrf_token = self.get("/api/me").json()["csrf_token"]
        return response

    def close(self) -> None:
        self.http.close()


def problem(response: requests.Response) -> dict[str, Any]:
    assert response.headers["Content-Type"].startswith("application/problem+json"), response.text
    body: dict[str, Any] = json.loads(response.text)
    assert body["status"] == response.status_code
    return body


def environ_without_proxy() -> None:
    """requests honours *_proxy variables; the tests talk to 127.0.0.1 directly."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        os.environ.pop(name, None)
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
