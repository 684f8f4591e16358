"""Who is calling: a bearer token (API clients) or a session cookie (people), and the
CSRF check for cookie-authenticated unsafe requests.

A session becomes a short-lived JWT made with ``shared.auth.issue_token`` from the
users file, so the services see the same identity either way and stay the judges of
scope and permissions.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nameko.extensions import SharedExtension
from werkzeug.wrappers import Request

from gateway.database import GatewayDatabase
from gateway.problems import HttpProblem, unauthorized
from gateway.sessions import (
    COOKIE_NAME,
    CSRF_FIELD,
    CSRF_HEADER,
    LoginThrottle,
    Session,
    SessionStore,
)
from gateway.users import User, UsersFile
from shared.auth import Actor, bearer, issue_token, verify_authorization
from shared.errors import Unauthorized
from shared.rpc import auth_secret

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_TOKEN_TTL_SECONDS = 300
CALLER_KEY = "gateway.caller"


@dataclass(frozen=True)
class Caller:
    """The verified caller of one request."""

    actor: Actor
    authorization: str              # "Bearer <JWT>", sent as RPC context data
    session: Session | None = None  # set when signed in with the cookie
    user: User | None = None

    def to_dict(self) -> dict[str, Any]:
        data = self.actor.to_dict()
        data["via"] = "session" if self.session else "bearer"
        if self.session is not None:
            data["csrf_token"] = self.session.csrf_token
        if self.user is not None:
            data["username"] = self.user.username
        return data


def caller_of(request: Request) -> Caller | None:
    """The caller the entrypoint verified for this request (None on open routes)."""
    caller = request.environ.get(CALLER_KEY)
    return caller if isinstance(caller, Caller) else None


def required_caller(request: Request) -> Caller:
    caller = caller_of(request)
    if caller is None:
        raise unauthorized("sign in or send 'Authorization: Bearer <JWT>'")
    return caller


class Gatekeeper(SharedExtension):
    """The process's identity rules: auth secret, users file, sessions, throttle."""

    database = GatewayDatabase()

    def setup(self) -> None:
        config = self.container.config
        self.secret = auth_secret(config)
        self.session_secret = str(config.get("SESSION_SECRET") or f"session:{self.secret}")
        self.session_ttl = int(config.get("SESSION_TTL_SECONDS") or 28800)
        self.cookie_secure = str(config.get("COOKIE_SECURE")).lower() in ("true", "1", "yes")
        self.users = UsersFile(str(config.get("USERS_FILE") or "var/gateway-users.json"))
        self.max_body_bytes = int(config.get("MAX_BODY_BYTES") or 1_048_576)

    def start(self) -> None:
        self.sessions = SessionStore(self.database.db, self.session_secret, self.session_ttl)
        self.throttle = LoginThrottle(self.database.db)

    def identify(self, request: Request) -> Caller | None:
        """The caller, None when the request carries no credentials at all.

        A bearer header wins over a cookie; a bad one is refused (401), never ignored."""
        header = request.headers.get("Authorization")
        if header is not None:
            try:
                actor = verify_authorization(header, self.secret)
            except Unauthorized as exc:
                raise unauthorized(str(exc.args[0]) if exc.args else "invalid token") from None
            return Caller(actor=actor, authorization=header.strip())
        cookie = request.cookies.get(COOKIE_NAME)
        if not cookie:
            return None
        session = self.sessions.find(cookie)
        user = self.users.get(session.username) if session else None
        if session is None or user is None:
            return None
        return self.caller_for(user, session)

    def caller_for(self, user: User, session: Session | None) -> Caller:
        token = issue_token(self.secret, sub=user.sub, name=user.name,
                            department=user.department, roles=user.roles,
                            ttl_seconds=SESSION_TOKEN_TTL_SECONDS)
        actor = Actor(id=user.sub, name=user.name, department=user.department,
                      roles=user.roles)
        return Caller(actor=actor, authorization=bearer(token), session=session, user=user)

    @staticmethod
    def check_csrf(request: Request, caller: Caller) -> None:
        """Cookie-authenticated unsafe requests must prove they come from our pages:
        ``X-CSRF-Token`` header (``/api/``), or that or the form field (pages)."""
        if caller.session is None or request.method in SAFE_METHODS:
            return
        token = request.headers.get(CSRF_HEADER)
        if token is None and not request.path.startswith("/api/"):
            token = request.form.get(CSRF_FIELD)
        if not caller.session.csrf_matches(token):
            raise HttpProblem(403, "Forbidden", "missing or wrong CSRF token "
                              f"(send the {CSRF_HEADER} header the page was given)",
                              slug="csrf")

    def cookie_settings(self) -> dict[str, Any]:
        return {"key": COOKIE_NAME, "httponly": True, "samesite": "Lax", "path": "/",
                "secure": self.cookie_secure, "max_age": self.session_ttl}
